// Plans as artifacts: waves, --only selections, results merging, plan files, the graph.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { determineChanges } from "../../src/core/plan/changes.js";
import { groupIntoWaves } from "../../src/core/plan/waves.js";
import { selectBuilds } from "../../src/core/plan/select-builds.js";
import { mergeResults, parseResultsFile, type ResultsFile } from "../../src/core/report/results.js";
import { parsePlanFile } from "../../src/core/requests/plan-file.js";
import { planBuilds } from "../../src/core/plan/plan-builds.js";
import { readLayers, type RawLayerFiles } from "../../src/core/parse/layer-config.js";
import { analyzeRepository } from "../../src/core/plan/analyze-repository.js";
import { renderGraph } from "../../src/core/report/render-graph.js";
import { InputError, type Plan } from "../../src/core/model.js";

const sci = (dir: string, meta: Record<string, unknown>, df: string): RawLayerFiles =>
  ({ kind: "science", dir, config: JSON.stringify({ compat: "base", ...meta }), dockerfile: df });
const RAW: RawLayerFiles[] = [
  sci("a", { image: "a" }, "FROM busybox:stable\n"),
  sci("b", { image: "b" }, "FROM sci/a:1.0\n"),
  sci("c", { image: "c" }, "FROM busybox:stable\n"),
  { kind: "compat", dir: "base", config: "{}", dockerfile: "RUN true\n" },
];
const GIT = { commit: "c0ffee".padEnd(40, "0"), shortCommit: "c0ffee0", buildNumber: 3 };

function makePlan(changes: { science?: string[]; compat?: string[] }): Plan {
  return planBuilds(readLayers(RAW), {
    repo: "127.0.0.1:5055/x", git: GIT, buildTime: 1, buildArgs: {},
    changes: { all: false, science: changes.science ?? [], compat: changes.compat ?? [], why: "changed" },
  });
}

test("waves: each build depends only on builds of earlier waves", () => {
  const plan = makePlan({ science: ["a", "c"] });
  assert.equal(plan.waves, [["sci/a", "sci/c"], ["sci/b", "rel/a:1.0", "rel/c:1.0"], ["rel/b:1.0"]]);
  assert.equal(groupIntoWaves([]), []);
});

test("--only keeps the named builds and lists the parents they need from the registry", () => {
  const plan = makePlan({ science: ["a"] });
  const { plan: part, prebuiltParents: external } = selectBuilds(plan, ["sci/b", "rel/b:1.0"], "plan.json");
  assert.equal(part.builds.map((b) => b.id), ["sci/b", "rel/b:1.0"]);
  assert.equal(part.builds[0].dependsOn, []);
  assert.equal(part.builds[1].dependsOn, ["sci/b"]);
  assert.equal(external, [{ id: "sci/a", baseTag: "127.0.0.1:5055/x/sci/a:1.0", buildTag: "127.0.0.1:5055/x/sci/a:1.0-3-c0ffee0" }]);
  assert.equal(part.waves, [["sci/b"], ["rel/b:1.0"]]);
  assert.throws(() => selectBuilds(plan, ["sci/nope"], "plan.json"), (e: Error) => e instanceof InputError
    && e.message === "plan.json: --only sci/nope: no such build in the plan; its builds are sci/a, sci/b, rel/a:1.0, rel/b:1.0");
  assert.is(selectBuilds(plan, [], "p").plan, plan);
});

test("--include and --ignore of something that is not a layer directory list the layer directories", () => {
  const flags = { all: false, include: ["science/nope"], ignore: [], why: "changed" };
  assert.throws(() => determineChanges(readLayers(RAW), [], flags), (e: Error) => e instanceof InputError
    && e.message === "--include science/nope: not a layer directory (expected science/NAME or compat/NAME with a sciserver-image.json); the layer directories are compat/base, science/a, science/b, science/c");
});

test("results of several runs merge; results of another plan are refused", () => {
  const base = { repo: "r", commit: "c", buildNumber: 1 };
  const a: ResultsFile = { ...base, results: [
    { id: "sci/a", status: "built", durationMs: 5, pushed: true, outputs: { "docker-image-hash": "sha256:1", "docker-image-repo-tag": ["r/sci/a:1.0"], "docker-image-timestamp": "t" } },
    { id: "sci/b", status: "skipped", reason: "parent sci/x failed", durationMs: 0, pushed: false },
  ] };
  const b: ResultsFile = { ...base, results: [{ id: "sci/b", status: "built", durationMs: 7, pushed: true }] };
  const merged = mergeResults([{ file: "a.json", results: a }, { file: "b.json", results: b }]);
  assert.equal(merged.results.map((r) => [r.id, r.status]), [["sci/a", "built"], ["sci/b", "built"]]);
  assert.throws(() => mergeResults([{ file: "a.json", results: a }, { file: "z.json", results: { ...b, commit: "other" } }]), /z\.json: results of another plan/);
  assert.throws(() => mergeResults([{ file: "a.json", results: a }, { file: "n.json", results: { ...b, buildNumber: 2 } }]), /n\.json: results of another plan .*build 2/);
});

test("results files are checked entry by entry", () => {
  const file = (results: unknown[]) => JSON.stringify({ repo: "r", commit: "c", buildNumber: 1, results });
  const bad = (text: string, re: RegExp) => assert.throws(() => parseResultsFile(text, "r.json"), (e: Error) => e instanceof InputError && re.test(e.message));
  bad(file([null]), /^r\.json: results\[0\]: not an object$/);
  bad(file([{ status: "built", pushed: true }]), /^r\.json: results\[0\]: no build id$/);
  bad(file([{ id: "sci/a", status: "built", pushed: true }, { id: "sci/b", status: "weird", pushed: false }]), /^r\.json: results\[1\]: sci\/b: unknown status "weird"/);
  bad(JSON.stringify({ repo: "r", commit: "c", results: [] }), /^r\.json: not an image-builder results file/);
  assert.is(parseResultsFile(file([{ id: "sci/a", status: "skipped", reason: "x", durationMs: 0, pushed: false }]), "r.json").results.length, 1);
});

test("plan files are checked before anything runs", () => {
  const plan = makePlan({ science: ["a"] });
  assert.equal(parsePlanFile(JSON.stringify(plan), "p.json"), plan);
  const bad = (text: string, re: RegExp) => assert.throws(() => parsePlanFile(text, "p.json"), (e: Error) => e instanceof InputError && re.test(e.message));
  bad("{", /^p\.json: invalid JSON/);
  bad("{}", /^p\.json: not an image-builder plan/);
  const outside = structuredClone(plan);
  outside.builds[0].request.contexts = ["../../etc"];
  bad(JSON.stringify(outside), /outside the repository/);
  const reordered = structuredClone(plan);
  reordered.builds.reverse();
  bad(JSON.stringify(reordered), /does not come before it/);
});

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
  // Compat directory names are whatever the file system allows, short of a slash.
  const raw: RawLayerFiles[] = [
    sci("a", { image: "a", compat: 'we"ird [x] #1 <b>' }, "FROM busybox:stable\n"),
    { kind: "compat", dir: 'we"ird [x] #1 <b>', config: "{}", dockerfile: "RUN true\n" },
    { kind: "compat", dir: "back\\slash\nnewline", config: "{}", dockerfile: "RUN true\n" },
  ];
  const snapshot = readLayers(raw);
  const plan = planBuilds(snapshot, {
    repo: "127.0.0.1:5055/x", git: GIT, buildTime: 1, buildArgs: {},
    changes: { all: false, science: [], compat: ['we"ird [x] #1 <b>'], why: "changed" },
  });
  const changes = { all: false, science: [], compat: ['we"ird [x] #1 <b>'], why: "changed" };
  const mermaid = renderGraph(snapshot, analyzeRepository(snapshot), plan, changes, "mermaid");
  assert.match(mermaid, '  compat_we_ird__x___1__b_[/"compat/we#34;ird #91;x#93; #35;1 #60;b#62;"/]\n');
  assert.match(mermaid, '  compat_back_slash_newline[/"compat/back#92;slash#10;newline"/]\n');
  assert.match(mermaid, "  compat_we_ird__x___1__b_ -.-> rel_a_1_0\n");
  const dot = renderGraph(snapshot, analyzeRepository(snapshot), plan, changes, "dot");
  assert.match(dot, '  "compat/we\\"ird [x] #1 <b>" [label="compat/we\\"ird [x] #1 <b>", shape=parallelogram, style=filled, fillcolor="#ff9966"];\n');
  assert.match(dot, '  "compat/back\\\\slash\\nnewline" [label="compat/back\\\\slash\\nnewline", shape=parallelogram];\n');
  assert.match(dot, '  "compat/we\\"ird [x] #1 <b>" -> "rel/a:1.0" [style=dashed];\n');
  // Every line of the graph is one statement: nothing a name holds starts a new one.
  assert.is(mermaid.split("\n").length, 12, mermaid);
});

test.run();
