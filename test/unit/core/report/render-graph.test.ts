// The graph of layers, includes and final images, as Mermaid and DOT.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderGraph } from "../../../../src/core/report/render-graph.js";
import { planBuilds } from "../../../../src/core/plan/plan-builds.js";
import { analyzeRepository } from "../../../../src/core/plan/analyze-repository.js";
import { layerPlatforms } from "../../../../src/core/plan/layer-platforms.js";
import { readLayers, type RawLayerFiles } from "../../../../src/core/parse/layer-config.js";
import { GIT, makePlan, RAW, sci } from "../../../helpers/small-plan.js";

test("the graph shows layers, includes and final images, with touched ones marked", () => {
  const snapshot = readLayers(RAW);
  const plan = makePlan({ science: ["a"] });
  const changes = { all: false, science: ["a"], compat: [], why: "changed" };
  const mermaid = renderGraph(snapshot, analyzeRepository(snapshot), plan, changes, "mermaid");
  assert.match(mermaid, /^graph LR\n/);
  assert.match(mermaid, '  sci_a --> sci_b\n');
  assert.match(mermaid, '  sci_b --> rel_b_1_0\n');
  assert.match(mermaid, '  compat_base -.-> rel_b_1_0\n');
  assert.match(mermaid, "  class sci_a changed\n");
  assert.match(mermaid, "  class sci_b,rel_a_1_0,rel_b_1_0 rebuilt\n");
  assert.not.match(mermaid, /class [^\n]*sci_c/);
  const dot = renderGraph(snapshot, analyzeRepository(snapshot), plan, changes, "dot");
  assert.match(dot, '"sci/a" -> "sci/b";');
  assert.match(dot, '"sci/a" [label="sci/a:1.0", shape=box, style=filled, fillcolor="#ff9966"];');
  assert.match(dot, '"sci/c" [label="sci/c:1.0", shape=box];');
  assert.match(dot, '"rel/a:1.0" [label="rel/a:1.0", shape=box, style="rounded,filled", fillcolor="#ffee99"];');
});

test("the graph draws a compat fragment's COPY --from a science layer", () => {
  const raw: RawLayerFiles[] = [
    sci("a", { image: "a", compat: "ui" }, "FROM busybox:stable\n"),
    sci("tools", { image: "tools", compat: "ui" }, "FROM busybox:stable\n"),
    { kind: "compat", dir: "ui", config: "{}", dockerfile: "COPY --from=sci/tools:1.0 /t /t\n" },
  ];
  const snapshot = readLayers(raw);
  const changes = { all: false, science: ["tools"], compat: [], why: "changed" };
  const plan = planBuilds(snapshot, { repo: "r", git: GIT, buildTime: 1, buildArgs: {}, changes });
  const mermaid = renderGraph(snapshot, analyzeRepository(snapshot), plan, changes, "mermaid");
  assert.match(mermaid, "  sci_tools --> compat_ui\n");
  assert.match(mermaid, /class [^\n]*rel_a_1_0[^\n]* rebuilt/);
});

test("names that would break Mermaid or DOT are escaped in the graph", () => {
  // Compat directory names are whatever the file system allows, short of a slash (and of control
  // characters and line ends, refused when planning).
  const raw: RawLayerFiles[] = [
    sci("a", { image: "a", compat: 'we"ird [x] #1 <b>' }, "FROM busybox:stable\n"),
    { kind: "compat", dir: 'we"ird [x] #1 <b>', config: "{}", dockerfile: "RUN true\n" },
    { kind: "compat", dir: "back\\slash", config: "{}", dockerfile: "RUN true\n" },
  ];
  const snapshot = readLayers(raw);
  const plan = planBuilds(snapshot, {
    repo: "127.0.0.1:5055/x", git: GIT, buildTime: 1, buildArgs: {},
    changes: { all: false, science: [], compat: ['we"ird [x] #1 <b>'], why: "changed" },
  });
  const changes = { all: false, science: [], compat: ['we"ird [x] #1 <b>'], why: "changed" };
  const mermaid = renderGraph(snapshot, analyzeRepository(snapshot), plan, changes, "mermaid");
  assert.match(mermaid, '  compat_we_ird__x___1__b_[/"compat/we#34;ird #91;x#93; #35;1 #60;b#62;"/]\n');
  assert.match(mermaid, '  compat_back_slash[/"compat/back#92;slash"/]\n');
  assert.match(mermaid, "  compat_we_ird__x___1__b_ -.-> rel_a_1_0\n");
  const dot = renderGraph(snapshot, analyzeRepository(snapshot), plan, changes, "dot");
  assert.match(dot, '  "compat/we\\"ird [x] #1 <b>" [label="compat/we\\"ird [x] #1 <b>", shape=parallelogram, style=filled, fillcolor="#ff9966"];\n');
  assert.match(dot, '  "compat/back\\\\slash" [label="compat/back\\\\slash", shape=parallelogram];\n');
  assert.match(dot, '  "compat/we\\"ird [x] #1 <b>" -> "rel/a:1.0" [style=dashed];\n');
  // Every line of the graph is one statement: nothing a name holds starts a new one.
  assert.is(mermaid.split("\n").length, 12, mermaid);
});

test("the graph shows each layer's and final image's platforms, and marks a layer built per platform", () => {
  const raw = [sci("a", { image: "a", platforms: ["linux/amd64", "linux/arm64"] }, "FROM busybox:stable\n"), ...RAW.slice(1)];
  const snapshot = readLayers(raw);
  const analysis = analyzeRepository(snapshot);
  const changes = { all: false, science: ["a"], compat: [], why: "changed" };
  const plan = planBuilds(snapshot, { repo: "r", git: GIT, buildTime: 1, buildArgs: {}, changes });
  const dot = renderGraph(snapshot, analysis, plan, changes, "dot", layerPlatforms(snapshot, analysis));
  assert.match(dot, '"sci/b" [label="sci/b:1.0 (linux/amd64, linux/arm64)", shape=box, style=filled, fillcolor="#ffee99"];');
  assert.match(dot, '"rel/a:1.0" [label="rel/a:1.0 (linux/amd64, linux/arm64)"');
  assert.match(dot, '"sci/c" [label="sci/c:1.0", shape=box];');
});

test.run();
