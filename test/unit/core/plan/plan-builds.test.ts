// The pure planner: snapshots in, plans out. No files, no git.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { contextDirsFor, planBuilds, planFromAnalysis, platformWarnings } from "../../../../src/core/plan/plan-builds.js";
import { determineBuilds } from "../../../../src/core/plan/determine-builds.js";
import { analyzeRepository } from "../../../../src/core/plan/analyze-repository.js";
import { basesNotBuilt } from "../../../../src/core/plan/bases-not-built.js";
import { checkImageNames, readLayers, type RawLayerFiles } from "../../../../src/core/parse/layer-config.js";
import { compareVersions } from "../../../../src/core/parse/versions.js";
import { parseRef } from "../../../../src/core/parse/revision-range.js";
import { InputError, type ChangeSet, type Plan, type RepoSnapshot } from "../../../../src/core/model.js";

const GIT = { commit: "f90dbd6aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", shortCommit: "f90dbd6", buildNumber: 42 };

/** A science layer; every image:version has a final layer, which needs a compat: "base" unless given. */
function sci(dir: string, meta: Record<string, unknown>, dockerfile: string): RawLayerFiles {
  return { kind: "science", dir, config: JSON.stringify({ compat: "base", ...meta }), dockerfile };
}
function cmp(dir: string, includes: string[], dockerfile = `COPY ${dir}.txt /${dir}.txt\n`): RawLayerFiles {
  return { kind: "compat", dir, config: JSON.stringify({ includes }), dockerfile };
}
function changes(partial: Partial<ChangeSet>): ChangeSet {
  return { all: false, science: [], compat: [], why: "changed since HEAD^", ...partial };
}
function plan(raw: RawLayerFiles[], ch: Partial<ChangeSet>, buildArgs: Record<string, string> = {}): Plan {
  const snapshot: RepoSnapshot = readLayers(raw);
  return planBuilds(snapshot, { repo: "reg.example.org/ci", git: GIT, changes: changes(ch), buildTime: 1700000000, buildArgs });
}
function ids(p: Plan): string[] {
  return p.builds.map((b) => b.id);
}
function throwsInput(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, InputError);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected an InputError matching ${pattern}`);
}

// nist-basic 1.0 <- nist-basic-2 (2.0), as in the seed README.
const NIST = [
  sci("nist-basic", { image: "nist-basic", version: "1.0", compat: "jupyter" }, "FROM busybox:stable\n"),
  sci("nist-basic-2", { image: "nist-basic", version: "2.0", compat: "jupyter" }, "FROM sci/nist-basic:1.0\nRUN true\n"),
  cmp("base", []),
  cmp("jupyter", ["base"]),
];

test("a changed parent rebuilds its child and both final images get compat builds, parents first", () => {
  const p = plan(NIST, { science: ["nist-basic"] });
  assert.equal(ids(p), ["sci/nist-basic", "sci/nist-basic-2", "rel/nist-basic:1.0", "rel/nist-basic:2.0"]);
  const child = p.builds[1];
  assert.equal(child.dependsOn, ["sci/nist-basic"]);
  assert.equal(child.reasons, ["built on sci/nist-basic"]);
  assert.equal(p.builds[3].dependsOn, ["sci/nist-basic-2"]);
  assert.equal(p.builds[3].finalImages, ["nist-basic:2.0-42-f90dbd6", "nist-basic:2.0"]);
});

test("tags, labels and build-number names follow the seed", () => {
  const p = plan(NIST, { science: ["nist-basic-2"] });
  const [s, c] = p.builds;
  assert.equal(s.request.tags, ["reg.example.org/ci/sci/nist-basic-2:2.0", "reg.example.org/ci/sci/nist-basic-2:2.0-42-f90dbd6"]);
  assert.equal(s.request.labels, {
    "org.sciserver.science.nist-basic-2.version": "2.0-42-f90dbd6",
    "org.sciserver.science.nist-basic-2.buildtime": "1700000000",
    "org.sciserver.science.nist-basic-2.inputs": s.request.inputsDigest,
  });
  assert.equal(c.request.tags, ["reg.example.org/ci/rel/nist-basic:2.0", "reg.example.org/ci/rel/nist-basic:2.0-42-f90dbd6"]);
  assert.equal(c.request.labels, {
    "org.sciserver.compat.version": "nist-basic:2.0-42-f90dbd6",
    "org.sciserver.compat.buildtime": "1700000000",
    "org.sciserver.compat.inputs": c.request.inputsDigest,
  });
  assert.equal(p.repo, "reg.example.org/ci");
  assert.equal(p.buildNumber, 42);
  assert.equal(p.commit, GIT.commit);
});

test("a parent's reference is pointed at this run's repo whatever registry it spells", () => {
  const raw = [
    sci("a", { image: "a", version: "1.0" }, "FROM busybox:stable\n"),
    sci("b", { image: "b", compat: "base" }, "FROM prod.example.org:5000/x/sci/a:1.0 AS a\nFROM a\n"),
    cmp("base", []),
  ];
  const p = plan(raw, { science: ["a"] });
  const b = p.builds.find((x) => x.id === "sci/b")!;
  assert.equal(b.dependsOn, ["sci/a"]);
  assert.equal(b.request.imageRewrites, { "prod.example.org:5000/x/sci/a:1.0": "reg.example.org/ci/sci/a:1.0" });
  assert.match(b.request.dockerfile, /^FROM reg\.example\.org\/ci\/sci\/a:1\.0 AS a$/m);
  assert.not.match(b.request.dockerfile, /prod\.example\.org/);
});

test("dependencies come from every stage, COPY --from and ARG defaults, not only the first FROM", () => {
  const raw = [
    sci("a", { image: "a" }, "FROM busybox:stable\n"),
    sci("b", { image: "b" }, "FROM busybox:stable\n"),
    sci("c", { image: "c" }, "FROM busybox:stable\n"),
    sci("d", { image: "d", compat: "base" }, [
      "ARG TOOLS=registry.example.org/sci/b:1.0",
      "FROM sci/a:1.0 AS first",
      "FROM ${TOOLS} AS tools",
      "FROM busybox:stable",
      "COPY --from=sci/c:1.0 /x /x",
      "COPY --from=tools /y /y",
      "",
    ].join("\n")),
    cmp("base", []),
  ];
  for (const changed of ["a", "b", "c"]) {
    const p = plan(raw, { science: [changed] });
    assert.ok(ids(p).includes("sci/d"), `changing ${changed} rebuilds d`);
    assert.equal(p.builds.find((x) => x.id === "sci/d")!.dependsOn, [`sci/${changed}`]);
  }
});

test("--build-arg overrides an ARG default used in FROM", () => {
  const raw = [
    sci("a", { image: "a" }, "FROM busybox:stable\n"),
    sci("b", { image: "b" }, "FROM busybox:stable\n"),
    sci("d", { image: "d", compat: "base" }, "ARG BASE=sci/a:1.0\nFROM $BASE\n"),
    cmp("base", []),
  ];
  assert.ok(ids(plan(raw, { science: ["a"] })).includes("sci/d"));
  assert.not.ok(ids(plan(raw, { science: ["a"] }, { BASE: "sci/b:1.0" })).includes("sci/d"));
  assert.ok(ids(plan(raw, { science: ["b"] }, { BASE: "sci/b:1.0" })).includes("sci/d"));
});

test("a FROM naming another version of a target is not a dependency", () => {
  const raw = [
    sci("a", { image: "a", version: "2.0" }, "FROM busybox:stable\n"),
    sci("b", { image: "b", compat: "base" }, "FROM sci/a:1.0\n"),
    cmp("base", []),
  ];
  assert.equal(ids(plan(raw, { science: ["a"] })), ["sci/a", "rel/a:2.0"]);
});

test("add without changing version: only the top layer of an image:version is final", () => {
  const raw = [
    sci("ess", { image: "ess", version: "2.4", compat: "base" }, "FROM busybox:stable\n"),
    sci("ess-more", { image: "ess", version: "2.4", compat: "base" }, "FROM sci/ess:2.4\n"),
    cmp("base", []),
  ];
  assert.equal(ids(plan(raw, { science: ["ess"] })), ["sci/ess", "sci/ess-more", "rel/ess:2.4"]);
  // The lower layer does not need a compat: it is never final.
  const noCompat = [sci("ess", { image: "ess", version: "2.4", compat: undefined }, "FROM busybox:stable\n"), ...raw.slice(1)];
  assert.equal(ids(plan(noCompat, { science: ["ess"] })), ["sci/ess", "sci/ess-more", "rel/ess:2.4"]);
});

test("a changed compat layer, or one it includes at any depth, rebuilds compat of every final image using it", () => {
  const raw = [
    sci("x", { image: "x", compat: "lab" }, "FROM busybox:stable\n"),
    sci("y", { image: "y", compat: "jupyter" }, "FROM busybox:stable\n"),
    sci("z", { image: "z", compat: "other" }, "FROM busybox:stable\n"),
    cmp("base", []),
    cmp("jupyter", ["base"]),
    cmp("lab", ["jupyter"]),
    cmp("other", []),
  ];
  const p = plan(raw, { compat: ["base"] });
  assert.equal(ids(p), ["rel/x:1.0", "rel/y:1.0"]);
  assert.equal(p.builds[0].reasons, ["compat base changed since HEAD^ (included by lab)"]);
  assert.equal(p.builds[0].dependsOn, []);
  assert.equal(ids(plan(raw, { compat: ["lab"] })), ["rel/x:1.0"]);
});

test("transitive includes are resolved depth first, each once, the layer itself last", () => {
  const raw = [
    sci("x", { image: "x", compat: "top" }, "FROM busybox:stable\n"),
    cmp("base", []),
    cmp("auth", ["base"]),
    cmp("ui", ["base"]),
    cmp("top", ["auth", "ui"]),
  ];
  const b = plan(raw, { compat: ["top"] }).builds[0];
  assert.equal(b.request.contexts, ["compat/base", "compat/auth", "compat/ui", "compat/top"]);
  const df = b.request.dockerfile;
  const order = ["FROM reg.example.org/ci/sci/x:1.0", "COPY base.txt", "COPY auth.txt", "COPY ui.txt", "COPY top.txt", "ENV SCISERVER_IMAGE=x:1.0-42-f90dbd6"];
  const at = order.map((s) => df.indexOf(s));
  assert.ok(at.every((i) => i >= 0), df);
  assert.equal([...at].sort((m, n) => m - n), at, "sections in overlay order");
  assert.is(df.split("COPY base.txt").length, 2, "base appears once");
});

test("each build appears once even when reached along several paths", () => {
  const raw = [
    sci("a", { image: "a" }, "FROM busybox:stable\n"),
    sci("b", { image: "b" }, "FROM sci/a:1.0\n"),
    sci("c", { image: "c" }, "FROM sci/a:1.0\n"),
    sci("d", { image: "d", compat: "base" }, "FROM sci/b:1.0\nCOPY --from=sci/c:1.0 / /\n"),
    cmp("base", []),
  ];
  const p = plan(raw, { science: ["a", "b"], compat: ["base"] });
  assert.equal(ids(p), ["sci/a", "sci/b", "sci/c", "sci/d", "rel/a:1.0", "rel/b:1.0", "rel/c:1.0", "rel/d:1.0"]);
  assert.equal(p.builds[3].dependsOn, ["sci/b", "sci/c"]);
  assert.equal(p.builds[3].reasons, ["built on sci/b", "built on sci/c"]);
  assert.equal(p.builds[1].reasons, ["changed since HEAD^", "built on sci/a"]);
  assert.equal(p.builds[7].reasons, ["science layer sci/d rebuilt", "compat base changed since HEAD^"]);
});

test("--all plans every layer and every final image", () => {
  const p = plan(NIST, { all: true, why: "--all" });
  assert.equal(ids(p), ["sci/nist-basic", "sci/nist-basic-2", "rel/nist-basic:1.0", "rel/nist-basic:2.0"]);
});

test("nothing changed: empty plan", () => {
  assert.equal(plan(NIST, {}).builds, []);
});

test("versions compare numerically: 2.10 > 2.9", () => {
  assert.is(compareVersions("2.10", "2.9"), 1);
  assert.is(compareVersions("2.9", "2.10"), -1);
  assert.is(compareVersions("2.0", "2"), 0);
  assert.is(compareVersions("1.2.3.10", "1.2.3.9"), 1);
  assert.is(compareVersions("2.010", "2.9"), 1);
  // parts beyond 2^53 keep their order
  assert.is(compareVersions("20261123000000000001", "20261123000000000000"), 1);
  const ok = [
    sci("old", { image: "ess", version: "2.9" }, "FROM busybox:stable\n"),
    sci("new", { image: "ess", version: "2.10", compat: "base" }, "FROM sci/old:2.9\n"),
    cmp("base", []),
  ];
  assert.equal(ids(plan(ok, { science: ["old"] })), ["sci/old", "sci/new", "rel/ess:2.9", "rel/ess:2.10"]);
  const bad = [
    sci("old", { image: "ess", version: "2.10" }, "FROM busybox:stable\n"),
    sci("new", { image: "ess", version: "2.9", compat: "base" }, "FROM sci/old:2.10\n"),
    cmp("base", []),
  ];
  throwsInput(() => plan(bad, {}), /science\/new\/Dockerfile: ess:2.9 builds on a higher version of the same image \(old:2.10\)/);
});

test("a numeric version keeps its spelling: 2.10 stays 2.10", () => {
  const raw: RawLayerFiles[] = [
    { kind: "science", dir: "a", config: '{"image": "a", "version": 2.10, "compat": "base"}', dockerfile: "FROM busybox:stable\n" },
    cmp("base", []),
  ];
  assert.equal(plan(raw, { science: ["a"] }).builds[1].finalImages, ["a:2.10-42-f90dbd6", "a:2.10"]);
});

test("# comments in sciserver-image.json are accepted", () => {
  const raw: RawLayerFiles[] = [
    { kind: "science", dir: "a", config: '{\n  # the image\n  "image": "a", # trailing\n  "compat": "base" # "x"\n}\n', dockerfile: "FROM busybox:stable\n" },
    cmp("base", []),
  ];
  assert.equal(ids(plan(raw, { science: ["a"] })), ["sci/a", "rel/a:1.0"]);
});

test("target defaults to the directory name and version to 1.0", () => {
  const p = plan([sci("my-layer", { image: "img", compat: "base" }, "FROM busybox:stable\n"), cmp("base", [])], { science: ["my-layer"] });
  assert.is(p.builds[0].target, "my-layer");
  assert.is(p.builds[0].version, "1.0");
});

test("errors name the file and the problem", () => {
  const base = cmp("base", []);
  const cases: [RawLayerFiles[], RegExp][] = [
    [[sci("a", { image: "x", target: "t", compat: "base" }, "FROM busybox:stable\n"), sci("b", { image: "y", target: "t", compat: "base" }, "FROM busybox:stable\n"), base],
      /^science\/b\/sciserver-image\.json: duplicate target "t" \(also used by science\/a\)$/],
    [[sci("a", { image: "a", compat: "base" }, "FROM sci/a:1.0\n"), base], /^science\/a\/Dockerfile: layer builds on itself/],
    [[sci("a", { image: "a", compat: "base" }, "FROM sci/b:1.0\n"), sci("b", { image: "b", compat: "base" }, "FROM sci/c:1.0\n"), sci("c", { image: "c", compat: "base" }, "FROM sci/a:1.0\n"), base],
      /^science\/a\/Dockerfile: dependency cycle: a:1.0 -> b:1.0 -> c:1.0 -> a:1.0$/],
    [[sci("a", { image: "a", compat: "nope" }, "FROM busybox:stable\n"), base], /^science\/a\/sciserver-image\.json: unknown compat "nope"/],
    [[sci("a", { image: "a", compat: "base" }, "FROM busybox:stable\n"), cmp("base", ["ghost"])], /^compat\/base\/sciserver-image\.json: unknown include "ghost"/],
    [[sci("a", { image: "a", compat: "p" }, "FROM busybox:stable\n"), cmp("p", ["q"]), cmp("q", ["p"])], /^compat\/p\/sciserver-image\.json: include cycle: p -> q -> p$/],
    [[sci("a", { image: "a", compat: "base" }, "FROM busybox:stable\n"), cmp("base", ["../x"])], /^compat\/base\/sciserver-image\.json: invalid include "\.\.\/x"/],
    [[{ kind: "science", dir: "a", config: '{"image": "a"}' }], /^science\/a\/Dockerfile: missing Dockerfile$/],
    [[{ kind: "compat", dir: "c", config: '{}' }], /^compat\/c\/Dockerfile: missing Dockerfile$/],
    [[sci("a", { image: "a", compat: "base" }, "# only a comment\nRUN true\n"), base], /^science\/a\/Dockerfile: no FROM instruction$/],
    [[sci("a", { image: "Bad Name" }, "FROM busybox:stable\n")], /^science\/a\/sciserver-image\.json: invalid image "Bad Name"/],
    [[sci("a", { image: "a", target: "x/y" }, "FROM busybox:stable\n")], /^science\/a\/sciserver-image\.json: invalid target "x\/y"/],
    [[sci("a", { version: "2.4" }, "FROM busybox:stable\n")], /^science\/a\/sciserver-image\.json: missing required field "image"$/],
    [[sci("a", { image: "a", version: "2.4-beta" }, "FROM busybox:stable\n")], /^science\/a\/sciserver-image\.json: invalid version "2.4-beta"/],
    [[sci("a", { image: "a", compat: undefined }, "FROM busybox:stable\n")], /^science\/a\/sciserver-image\.json: final layer of a:1\.0 must name its "compat" layer$/],
    [[sci("a", { image: "a", compat: "base" }, "FROM busybox:stable\n"), sci("b", { image: "a", compat: "base" }, "FROM busybox:stable\n"), base],
      /image a:1\.0 has several final layers \(science\/a, science\/b\)/],
    [[{ kind: "science", dir: "a", config: '{\n  "image": "a",\n  "version": "1.0"\n  "compat": "base"\n}' , dockerfile: "FROM x\n" }],
      /^science\/a\/sciserver-image\.json: invalid JSON at line 4, column 3: comma expected$/],
    [[sci("a", { image: "a", compat: "base" }, "FROM busybox:stable\n"), cmp("base", [], "FROM busybox:stable\nRUN true\n")],
      /^compat\/base\/Dockerfile: line 1: compat Dockerfiles are fragments/],
    // a directory name with a line end would add an instruction to the generated compat Dockerfile's first line
    [[{ kind: "science", dir: "x\nRUN evil", config: '{"image": "a", "target": "x", "compat": "base"}', dockerfile: "FROM busybox:stable\n" }, base],
      /^science\/x\nRUN evil: a layer directory whose name has a control character or a line end: rename it$/],
    [[sci("a", { image: "a", compat: "base\u001b" }, "FROM busybox:stable\n"), { kind: "compat", dir: "base\u001b", config: "{}", dockerfile: "ENV X=1\n" }],
      /^compat\/base\u001b: a layer directory whose name has a control character/],
  ];
  for (const [raw, pattern] of cases) throwsInput(() => plan(raw, { all: true }), pattern);
});

test("a compat fragment that ends inside an instruction is refused, naming file and line, however it is hidden", () => {
  const a = sci("a", { image: "a", compat: "base" }, "FROM busybox:stable\n");
  const cases: [string, RegExp][] = [
    ["RUN echo x \\\n# done\n", /^compat\/base\/Dockerfile: line 1: the fragment's last instruction ends in a line continuation/],
    ["RUN echo x \\\n\n   \n", /^compat\/base\/Dockerfile: line 1: the fragment's last instruction ends in a line continuation/],
    ["COPY a /a\r\nRUN echo x \\\r\n  && y \\ \t\r\n  # done\r\n", /^compat\/base\/Dockerfile: line 3: the fragment's last instruction ends in a line continuation/],
    ["RUN echo a\\\\\n# c\n", /^compat\/base\/Dockerfile: line 1: the fragment's last instruction ends in a doubled escape character/],
    ["RUN <<EOF\necho hi\n", /^compat\/base\/Dockerfile: line 1: unterminated heredoc <<EOF$/],
    ["# escape=`\nRUN dir c:\\ `\n", /^compat\/base\/Dockerfile: line 1: parser directive "escape" has no effect/],
    ["\n\n# escape=`\nRUN dir c:\\ `\n", /^compat\/base\/Dockerfile: line 3: parser directive "escape" has no effect/],
  ];
  for (const [fragment, pattern] of cases) throwsInput(() => plan([a, cmp("base", [], fragment)], { all: true }), pattern);
  // Continuations that end before the fragment does are fine, and what follows stays an instruction.
  for (const fragment of ["RUN echo x \\\n  && echo y\n# done \\\n", "RUN <<EOF\nx \\\nEOF\n", "RUN echo `\n"]) {
    const p = plan([a, cmp("base", [], fragment)], { all: true });
    assert.match(p.builds[1].request.dockerfile, /\n\nENV SCISERVER_IMAGE=a:1\.0-42-f90dbd6\n$/);
  }
  // A byte order mark starts a file, not the middle of the generated one.
  const bom = plan([a, cmp("base", [], "\uFEFFRUN true\n")], { all: true });
  assert.match(bom.builds[1].request.dockerfile, /----\nRUN true\n/);
});

function checkCompatCopiesFromTools(p: Plan): void {
  assert.equal(ids(p).sort(), ["rel/a:1.0", "rel/tools:1.0", "sci/tools"]);
  const rel = p.builds.find((b) => b.id === "rel/a:1.0")!;
  assert.equal(rel.dependsOn, ["sci/tools"]);
  assert.equal(rel.reasons, ["science layer sci/tools rebuilt (compat base copies from it, included by jupyter)"]);
  assert.equal(rel.request.imageRewrites, { "prod.example.org:5000/x/sci/tools:1.0": "reg.example.org/ci/sci/tools:1.0" });
  assert.match(rel.request.dockerfile, /^(COPY --from=|RUN --mount=type=bind,from=)reg\.example\.org\/ci\/sci\/tools:1\.0[ ,]/m);
  assert.not.match(rel.request.dockerfile, /prod\.example\.org/);
}

test("a compat fragment's COPY --from a science layer: pointed at --repo, a dependency, a reason to rebuild, a base to pull", () => {
  const raw = [
    sci("tools", { image: "tools", compat: "plain" }, "FROM busybox:stable\n"),
    sci("a", { image: "a", compat: "jupyter" }, "FROM busybox:stable\n"),
    cmp("plain", []),
    cmp("base", [], "COPY --from=prod.example.org:5000/x/sci/tools:1.0 /t /t\n"),
    cmp("jupyter", ["base"]),
  ];
  const p = plan(raw, { science: ["tools"] });
  checkCompatCopiesFromTools(p);
  // A RUN --mount from= the layer is the same kind of reference.
  raw[3] = cmp("base", [], "RUN --mount=type=bind,from=prod.example.org:5000/x/sci/tools:1.0,target=/t cp -r /t /t2\n");
  checkCompatCopiesFromTools(plan(raw, { science: ["tools"] }));
  const sciMount = plan([...raw, sci("b", { image: "b" }, "FROM busybox:stable\nRUN --mount=from=sci/tools:1.0,target=/t true\n")], { science: ["tools"] });
  assert.equal(sciMount.builds.find((b) => b.id === "sci/b")!.dependsOn, ["sci/tools"]);
  assert.match(sciMount.builds.find((b) => b.id === "sci/b")!.request.dockerfile, /--mount=from=reg\.example\.org\/ci\/sci\/tools:1\.0,/);
  raw[3] = cmp("base", [], "COPY --from=prod.example.org:5000/x/sci/tools:1.0 /t /t\n");

  // Not built by the plan: pulled from this run's registry before building.
  const compatOnly = plan(raw, { compat: ["base"] });
  assert.equal(ids(compatOnly), ["rel/a:1.0"]);
  assert.equal(compatOnly.builds[0].dependsOn, []);
  assert.equal(basesNotBuilt(compatOnly).sort(), ["reg.example.org/ci/sci/a:1.0", "reg.example.org/ci/sci/tools:1.0"]);
});

test("only a path ending in sci/{target} with tag {version} names a science layer", () => {
  const raw = [
    sci("python", { image: "python", version: "3.11", compat: "base" }, "FROM python:3.11\n"),
    sci("essentials", { image: "essentials", version: "2.4" }, "FROM busybox:stable\n"),
    sci("user", { image: "user" }, "FROM reg.example.org/x/rel/essentials:2.4\nCOPY --from=python:3.11 /a /a\n"),
    cmp("base", [], "COPY --from=essentials:2.4 /e /e\n"),
  ];
  const p = plan(raw, { all: true });
  for (const b of p.builds) {
    assert.equal(b.request.imageRewrites, {}, b.id);
    assert.equal(b.dependsOn, b.kind === "compat" ? [`sci/${b.target}`] : [], b.id);
  }
  assert.match(p.builds.find((b) => b.id === "sci/user")!.request.dockerfile, /^FROM reg\.example\.org\/x\/rel\/essentials:2\.4$/m);
  assert.equal(ids(plan(raw, { science: ["essentials"] })), ["sci/essentials", "rel/essentials:2.4"]);
  assert.equal(analyzeRepository(readLayers(raw)).warnings, []);
});

test("a layer named where the plan can't point it at this run's build is refused, naming the file and line: a --mount from= it can't find, an ONBUILD trigger", () => {
  const base = sci("b", { image: "b" }, "FROM busybox:stable\n");
  throwsInput(() => analyzeRepository(readLayers([base, sci("m", { image: "m" }, 'FROM busybox:stable\nRUN --mount=type=bind,fr"om"=reg.example.org/x/sci/b:1.0,target=/m true\n')])),
    /^science\/m\/Dockerfile: line 2: reg\.example\.org\/x\/sci\/b:1\.0 names layer sci\/b:1\.0 inside a --mount value written so that image-builder can't point it at this run's build: write its from= plainly/);
  throwsInput(() => analyzeRepository(readLayers([base, sci("p", { image: "p" }, "FROM busybox:stable\nONBUILD COPY --from=reg.example.org/x/sci/b:1.0 /b /b\n")])),
    /^science\/p\/Dockerfile: line 2: an ONBUILD trigger's --from=reg\.example\.org\/x\/sci\/b:1\.0 names layer sci\/b:1\.0, in the builds of the images built on this one, where image-builder can't point it at this run's build nor rebuild them when it changes/);
  throwsInput(() => analyzeRepository(readLayers([base, sci("p", { image: "p" }, "FROM busybox:stable\nONBUILD RUN --mount=from=sci/nothing:1.0,target=/m true\n")])),
    /^science\/p\/Dockerfile: line 2: an ONBUILD trigger's --mount from=sci\/nothing:1\.0 would be pulled from Docker Hub \(docker\.io\/sci\/nothing:1\.0\)/);
  throwsInput(() => analyzeRepository(readLayers([base, cmp("c", [], "ONBUILD COPY --from=sci/b:1.0 /b /b\n")])), /^compat\/c\/Dockerfile: line 1: an ONBUILD trigger's --from=sci\/b:1\.0 names layer/);
  // A trigger naming another registry's image, or a stage, is the children's business.
  const fine = [base, cmp("base", []), sci("p", { image: "p" }, "FROM busybox:stable\nONBUILD COPY --from=reg.example.org/other/tools:2 /t /t\nONBUILD COPY --from=build /x /x\n")];
  assert.equal(analyzeRepository(readLayers(fine)).warnings, []);
});

test("a reference that looks like a science layer but names none is a warning naming the closest layer", () => {
  const digest = "sha256:" + "0".repeat(64);
  const raw = [
    sci("tools", { image: "tools", version: "1.0" }, "FROM busybox:stable\n"),
    sci("astro-base", { image: "astro", version: "2.0", compat: undefined }, "FROM busybox:stable\n"),
    sci("a", { image: "a" }, [
      "FROM reg.example.org/x/sci/tols:1.0",
      "COPY --from=sci/tools:1.1 /a /a",
      "COPY --from=sci/astro-base /b /b",
      `COPY --from=sci/tools:1.0@${digest} /c /c`,
      "",
    ].join("\n")),
    sci("astro", { image: "astro", version: "2.0" }, "FROM sci/astro-base:2.0\n"),
    cmp("base", [], "RUN true\nCOPY --from=sci/toolz:1.0 /d /d\n"),
  ];
  const warnings = analyzeRepository(readLayers(raw)).warnings;
  assert.equal(warnings.length, 5, warnings.join("\n"));
  assert.match(warnings[0], /^science\/a\/Dockerfile: line 1: reg\.example\.org\/x\/sci\/tols:1\.0 names no science layer of this repository, so it is pulled as written \(did you mean sci\/tools:1\.0\?\)$/);
  assert.match(warnings[1], /^science\/a\/Dockerfile: line 2: sci\/tools:1\.1 names no .*\(did you mean sci\/tools:1\.0\?\)$/);
  assert.match(warnings[2], /^science\/a\/Dockerfile: line 3: sci\/astro-base names no .*\(did you mean sci\/astro-base:2\.0\?\)$/);
  assert.match(warnings[3], /^science\/a\/Dockerfile: line 4: sci\/tools:1\.0@sha256:0+ is pinned by digest, so it is pulled as written: not this run's sci\/tools:1\.0, and not rebuilt with it$/);
  assert.match(warnings[4], /^compat\/base\/Dockerfile: line 2: sci\/toolz:1\.0 names no .*\(did you mean sci\/tools:1\.0\?\)$/);
  // None of them is a dependency or rewritten.
  const a = plan(raw, { science: ["tools"] }).builds.find((b) => b.id === "sci/a");
  assert.is(a, undefined);
  const all = plan(raw, { all: true });
  assert.equal(all.builds.find((b) => b.id === "sci/a")!.request.imageRewrites, {});
  assert.equal(all.builds.find((b) => b.id === "rel/a:1.0")!.request.imageRewrites, {});
  // A typo that breaks the graph (two final layers of astro:2.0) explains itself in the error.
  const broken = raw.map((r) => (r.dir === "astro" ? { ...r, dockerfile: "FROM sci/astro-bse:2.0\n" } : r));
  throwsInput(() => analyzeRepository(readLayers(broken)), /several final layers .*\(note: .*sci\/astro-bse:2\.0 names no science layer .*did you mean sci\/astro-base:2\.0\?/);
});

test("a plan serializes to JSON and back unchanged", () => {
  const p = plan(NIST, { all: true });
  assert.equal(JSON.parse(JSON.stringify(p)), p);
});

test("--ref: a revision, or a range and the commit it ends at", () => {
  assert.equal(parseRef("HEAD~3"), { kind: "revision", ref: "HEAD~3" });
  assert.equal(parseRef("v1..v2"), { kind: "range", ref: "v1..v2", end: "v2", start: "v1" });
  assert.equal(parseRef("main...feature"), { kind: "range", ref: "main...feature", end: "feature" });
  // no end, or HEAD: the checkout itself
  assert.equal(parseRef("abc123.."), { kind: "range", ref: "abc123..", end: undefined, start: "abc123" });
  assert.equal(parseRef("abc123..HEAD"), { kind: "range", ref: "abc123..HEAD", end: undefined, start: "abc123" });
  assert.equal(parseRef("..v2"), { kind: "range", ref: "..v2", end: "v2", start: "HEAD" });
  // a tag with dots is a revision; git's shorthands for one commit's changes are ranges
  assert.equal(parseRef("v1.2.3"), { kind: "revision", ref: "v1.2.3" });
  assert.equal(parseRef("v2^!"), { kind: "range", ref: "v2^!", end: "v2", ownChanges: { revision: "v2", parent: 1 } });
  assert.equal(parseRef("HEAD^-"), { kind: "range", ref: "HEAD^-", end: undefined, ownChanges: { revision: "HEAD", parent: 1 } });
  assert.equal(parseRef("main^-2"), { kind: "range", ref: "main^-2", end: "main", ownChanges: { revision: "main", parent: 2 } });
  // what git would take for several revisions
  for (const ref of ["^v1", "v2^@", "main^-0"]) assert.throws(() => parseRef(ref), (e: Error) => e instanceof InputError && e.message.startsWith(`--ref ${ref}: `), ref);
});

test("a version or name that makes a tag docker refuses is bad input naming the layer's file", () => {
  const git = { commit: "c0ffee".padEnd(40, "0"), shortCommit: "c0ffee0", buildNumber: 1234 };
  const layer = (meta: Record<string, unknown>): RawLayerFiles[] => [
    { kind: "science", dir: "x", config: JSON.stringify({ image: "x", compat: "base", ...meta }), dockerfile: "FROM busybox:stable\n" },
  ];
  const refusal = (meta: Record<string, unknown>, repo = "registry.example.org/images") => {
    try {
      checkImageNames(readLayers(layer(meta)), repo, git);
    } catch (e) {
      assert.instance(e, InputError);
      return (e as Error).message;
    }
    return undefined;
  };
  // The tag is {version}-{n}-{h} and a push adds the platform (the engine's, -linux-ppc64le at the
  // longest): 128 characters at most, so the version gets what n, h and the platform leave.
  const fits = "1" + ".0".repeat((128 - "-1234-c0ffee0-linux-ppc64le".length - 1) / 2);
  assert.is(`${fits}-1234-c0ffee0-linux-ppc64le`.length, 128);
  assert.is(refusal({ version: fits }), undefined);
  assert.is(refusal({ version: `${fits}.0` }),
    `science/x/sciserver-image.json: version ${fits}.0 makes the tag "${fits}.0-1234-c0ffee0-linux-ppc64le" 130 characters long (with the platform suffix a push adds), over docker's limit of 128`);
  // A layer's own platforms count: linux/arm64/v8 adds one more.
  assert.match(refusal({ version: fits, platforms: ["linux/arm64/v8"] }) ?? "", /-linux-arm64-v8" 129 characters long/);
  // A name, registry included, is 255 characters at most.
  const long = "t".repeat(255 - "registry.example.org/images/sci/".length);
  assert.is(refusal({ target: long }), undefined);
  assert.is(refusal({ target: `${long}t` }),
    `science/x/sciserver-image.json: target makes the image name "registry.example.org/images/sci/${long}t" 256 characters long, over docker's limit of 255 (with repo registry.example.org/images)`);
  assert.match(refusal({ image: `${long}t` })!, /^science\/x\/sciserver-image\.json: image makes the image name "registry\.example\.org\/images\/rel\/t+" 256 characters long/);
});


// Multi-platform plans (issue 17): a request per layer and platform.
function planOn(raw: RawLayerFiles[], ch: Partial<ChangeSet>, platforms?: string[], buildArgs: Record<string, string> = {}): Plan {
  return planBuilds(readLayers(raw), { repo: "reg.example.org/ci", git: GIT, changes: changes(ch), buildTime: 1700000000, buildArgs, platforms });
}
const TWO = ["linux/amd64", "linux/arm64"];
const NIST_ON_TWO = [
  sci("nist-basic", { image: "nist-basic", version: "1.0", compat: "jupyter", platforms: TWO }, "FROM busybox:stable\n"),
  ...NIST.slice(1),
];

test("declared platforms: a request per layer and platform, parents pinned to the same platform's", () => {
  const p = planOn(NIST_ON_TWO, { all: true, why: "--all" });
  assert.equal(ids(p), [
    "sci/nist-basic@linux/amd64", "sci/nist-basic@linux/arm64",
    "sci/nist-basic-2@linux/amd64", "sci/nist-basic-2@linux/arm64",
    "rel/nist-basic:1.0@linux/amd64", "rel/nist-basic:1.0@linux/arm64",
    "rel/nist-basic:2.0@linux/amd64", "rel/nist-basic:2.0@linux/arm64",
  ]);
  const byId = new Map(p.builds.map((b) => [b.id, b]));
  const child = byId.get("sci/nist-basic-2@linux/arm64")!;
  assert.equal(child.dependsOn, ["sci/nist-basic@linux/arm64"]);
  assert.is(child.request.platform, "linux/arm64");
  assert.equal(child.request.inputs!.parents, { "sci/nist-basic:1.0": byId.get("sci/nist-basic@linux/arm64")!.request.inputsDigest });
  // Each platform's image has tags of its own; the final image names stay the image's.
  assert.equal(child.request.tags, ["reg.example.org/ci/sci/nist-basic-2:2.0-linux-arm64", "reg.example.org/ci/sci/nist-basic-2:2.0-42-f90dbd6-linux-arm64"]);
  const rel = byId.get("rel/nist-basic:2.0@linux/arm64")!;
  assert.equal(rel.dependsOn, ["sci/nist-basic-2@linux/arm64"]);
  assert.equal(rel.finalImages, ["nist-basic:2.0-42-f90dbd6", "nist-basic:2.0"]);
  assert.equal(rel.request.tags, ["reg.example.org/ci/rel/nist-basic:2.0-linux-arm64", "reg.example.org/ci/rel/nist-basic:2.0-42-f90dbd6-linux-arm64"]);
  assert.match(rel.request.dockerfile, "ENV SCISERVER_IMAGE=nist-basic:2.0-42-f90dbd6\n");
  // The platform is part of the inputs digest (and the label), so the two images never pass for each other.
  const amd = byId.get("sci/nist-basic-2@linux/amd64")!;
  assert.is.not(amd.request.inputsDigest, child.request.inputsDigest);
  assert.is(child.request.labels["org.sciserver.science.nist-basic-2.inputs"], child.request.inputsDigest);
  assert.equal(p.waves[0], ["sci/nist-basic@linux/amd64", "sci/nist-basic@linux/arm64"]);
});

test("without platforms the plan is exactly as before: no platform field, ids and digests unchanged", () => {
  const before = plan(NIST, { all: true, why: "--all" });
  assert.ok(before.builds.every((b) => !("platform" in b.request)));
  assert.equal(ids(before), ["sci/nist-basic", "sci/nist-basic-2", "rel/nist-basic:1.0", "rel/nist-basic:2.0"]);
  // A platform named for the run changes the digests: the engine's own platform is not assumed.
  const on = planOn(NIST, { all: true, why: "--all" }, ["linux/amd64"]);
  assert.equal(ids(on), ["sci/nist-basic@linux/amd64", "sci/nist-basic-2@linux/amd64", "rel/nist-basic:1.0@linux/amd64", "rel/nist-basic:2.0@linux/amd64"]);
  assert.is.not(on.builds[0].request.inputsDigest, before.builds[0].request.inputsDigest);
});

test("--platform overrides what the layers declare, for the run", () => {
  const p = planOn(NIST_ON_TWO, { science: ["nist-basic"] }, ["linux/arm64"]);
  assert.equal(ids(p), ["sci/nist-basic@linux/arm64", "sci/nist-basic-2@linux/arm64", "rel/nist-basic:1.0@linux/arm64", "rel/nist-basic:2.0@linux/arm64"]);
});

test("TARGETARCH in a FROM line resolves per platform, to the same platform's parent", () => {
  const raw = [
    sci("base-amd64", { image: "base-amd64", platforms: TWO }, "FROM busybox:stable\n"),
    sci("base-arm64", { image: "base-arm64", platforms: TWO }, "FROM busybox:stable\n"),
    sci("top", { image: "top" }, "ARG TARGETARCH\nFROM --platform=$TARGETPLATFORM sci/base-${TARGETARCH}:1.0\n"),
    cmp("base", []),
  ];
  // Without a platform the reference names no layer (a warning); each platform's names its own.
  const p = planOn(raw, { all: true, why: "--all" }, TWO);
  const byId = new Map(p.builds.map((b) => [b.id, b]));
  const arm = byId.get("sci/top@linux/arm64")!;
  assert.equal(arm.dependsOn, ["sci/base-arm64@linux/arm64"]);
  assert.match(arm.request.dockerfile, "FROM --platform=$TARGETPLATFORM reg.example.org/ci/sci/base-arm64:1.0\n");
  assert.equal(byId.get("sci/top@linux/amd64")!.dependsOn, ["sci/base-amd64@linux/amd64"]);
  assert.equal(Object.keys(arm.request.inputs!.parents), ["sci/base-arm64:1.0"]);
  // The platform's TARGET* args are the engine's to set: not build arguments of the request.
  assert.equal(arm.request.buildArgs, {});
});

test("a layer built for the engine's own platform whose FROM names a layer of this repository only with the platform args: refused, naming the line and the layer (hunter22)", () => {
  const raw = [
    sci("base-amd64", { image: "base-amd64" }, "FROM busybox:stable\n"),
    sci("top", { image: "top" }, "FROM registry.example/prod/sci/base-${TARGETARCH}:1.0\n"),
    cmp("base", []),
  ];
  assert.throws(() => planOn(raw, { all: true, why: "--all" }), (e: Error) => e instanceof InputError
    && /science\/top\/Dockerfile: line 1: with the platform args \(TARGETARCH …\) of linux\/amd64 this reference is registry\.example\/prod\/sci\/base-amd64:1\.0, layer sci\/base-amd64:1\.0; .*declare its platforms in science\/top\/sciserver-image\.json \(or give --platform\)/.test(e.message));
  // So does a compat fragment's COPY --from.
  const compat = [raw[0], sci("app", { image: "app", compat: "ui" }, "FROM busybox:stable\n"), cmp("base", []), cmp("ui", [], "COPY --from=sci/base-${TARGETARCH}:1.0 /a /a\n")];
  assert.throws(() => planOn(compat, { all: true, why: "--all" }), /compat\/ui\/Dockerfile: line 1: with the platform args .* layer sci\/base-amd64:1\.0/);
  // Declared platforms, or --platform: each platform's analysis resolves it.
  assert.equal(planOn(raw, { all: true, why: "--all" }, ["linux/amd64"]).builds.find((b) => b.id === "sci/top@linux/amd64")!.dependsOn, ["sci/base-amd64@linux/amd64"]);
  // The second reference of a line is judged as itself, not as the first (reviewer12 M1).
  const twoOnALine = [raw[0], sci("top", { image: "top" }, "FROM busybox:stable\nRUN --mount=type=bind,from=registry.example/sci/x-${TARGETARCH}:1.0,target=/y --mount=type=bind,from=registry.example/sci/base-${TARGETARCH}:1.0,target=/x true\n"), raw[2]];
  assert.throws(() => planOn(twoOnALine, { all: true, why: "--all" }), /line 2: with the platform args .* this reference is registry\.example\/sci\/base-amd64:1\.0, layer sci\/base-amd64:1\.0/);
  // The BUILD* args are the building engine's platform, whatever the layer declares: refused for any layer (reviewer12 M2).
  for (const platforms of [undefined, ["linux/amd64"]]) {
    const build = [raw[0], sci("top", { image: "top", ...(platforms ? { platforms } : {}) }, "FROM registry.example/prod/sci/base-${BUILDARCH}:1.0\n"), raw[2]];
    assert.throws(() => planOn(build, { all: true, why: "--all" }), /science\/top\/Dockerfile: line 1: with the build platform args \(BUILDARCH …\) of linux\/amd64 this reference is registry\.example\/prod\/sci\/base-amd64:1\.0, layer sci\/base-amd64:1\.0/);
  }
  // One that names no layer of this repository for any platform is an image like any other.
  const external = [raw[0], sci("top", { image: "top" }, "FROM registry.example/prod/sci/python-${TARGETARCH}:3.11\n"), raw[2]];
  assert.equal(ids(planOn(external, { all: true, why: "--all" })).filter((id) => id.startsWith("sci/")), ["sci/base-amd64", "sci/top"]);
});

test("a change to a parent named per platform (TARGETARCH) rebuilds what builds on it for that platform, parents first, saying why", () => {
  const raw = [
    sci("base-amd64", { image: "base-amd64", platforms: ["linux/amd64"] }, "FROM busybox:stable\n"),
    sci("base-arm64", { image: "base-arm64", platforms: ["linux/arm64"] }, "FROM busybox:stable\n"),
    sci("app", { image: "app", platforms: TWO }, "FROM sci/base-${TARGETARCH}:1.0\n"),
    cmp("base", []),
  ];
  const p = planOn(raw, { science: ["base-arm64"], why: "changed since HEAD^" });
  const sciIds = ids(p).filter((id) => id.startsWith("sci/"));
  assert.ok(sciIds.includes("sci/base-arm64@linux/arm64"), sciIds.join(" "));
  assert.ok(sciIds.some((id) => id.startsWith("sci/app@")), `sci/app is not rebuilt: ${sciIds.join(" ")}`);
  assert.ok(sciIds.indexOf("sci/base-arm64@linux/arm64") < sciIds.findIndex((id) => id.startsWith("sci/app@")), "parents first");
  assert.ok(p.builds.find((b) => b.id === "sci/app@linux/arm64")!.reasons.includes("built on sci/base-arm64"));
  assert.ok(ids(p).some((id) => id.startsWith("rel/app:1.0@")), "its final image too");
  // Read without a platform, sci/base-${TARGETARCH}:1.0 names nothing yet: no look-alike warning (each platform's analysis resolves it).
  assert.equal(analyzeRepository(readLayers(raw)).warnings, []);
  const typo = raw.map((l) => (l === raw[2] ? sci("app", { image: "app", platforms: TWO }, "FROM sci/base-${TARGETARCH}:1.0\nCOPY --from=sci/bse-amd64:1.0 /x /x\n") : l));
  assert.equal(analyzeRepository(readLayers(typo)).warnings.length, 1, "a reference the platform does not change is still judged");
  // A misspelt per-platform reference is warned of by the analyses of the platforms it is built for, each once.
  const misspelt = readLayers(raw.map((l) => (l === raw[2] ? sci("app", { image: "app", platforms: TWO }, "FROM sci/bse-${TARGETARCH}:1.0\n") : l)));
  const analysis = analyzeRepository(misspelt);
  const options = { repo: "reg.example.org/ci", git: GIT, changes: changes({ all: true, why: "--all" }), buildTime: 1700000000, buildArgs: {} };
  planFromAnalysis(misspelt, analysis, options, determineBuilds(misspelt.science, analysis, options.changes));
  assert.equal(platformWarnings(analysis).map((w) => /sci\/bse-\w+:1\.0 names no science layer .*\(did you mean (sci\/\S+)\?\)/.exec(w)?.[1]), ["sci/base-amd64:1.0", "sci/base-arm64:1.0"]);
});

test("a parent named per platform must be built for that platform; the contexts read include every platform's parents", () => {
  const raw = (armPlatforms: string[]) => [
    sci("base-amd64", { image: "base-amd64", platforms: ["linux/amd64"] }, "FROM busybox:stable\n"),
    sci("base-arm64", { image: "base-arm64", platforms: armPlatforms }, "FROM busybox:stable\n"),
    sci("top", { image: "top", platforms: TWO }, "FROM sci/base-${TARGETARCH}:1.0\n"),
    cmp("base", []),
  ];
  const p = planOn(raw(["linux/arm64"]), { science: ["top"] });
  assert.equal(ids(p).filter((id) => id.startsWith("sci/")), ["sci/top@linux/amd64", "sci/top@linux/arm64"]);
  const snapshot = readLayers(raw(["linux/arm64"]));
  const analysis = analyzeRepository(snapshot);
  const selection = determineBuilds(snapshot.science, analysis, changes({ science: ["top"] }));
  assert.equal(contextDirsFor(snapshot, analysis, selection, { buildArgs: {} }).sort(), ["compat/base", "science/base-amd64", "science/base-arm64", "science/top"]);
  throwsInput(() => planOn(raw(["linux/amd64"]), { science: ["top"] }),
    /^science\/top\/sciserver-image\.json: for linux\/arm64 it builds on sci\/base-arm64, which is built for linux\/amd64 only \(science\/base-arm64\/sciserver-image\.json\)/);
});

test("each platform's analysis is made once per repository analysis: planning after contextDirsFor parses no Dockerfile again", () => {
  const snapshot = readLayers(NIST_ON_TWO);
  // Every read of a science layer's Dockerfile, which each analysis parses.
  let reads = 0;
  for (const layer of snapshot.science) {
    const text = layer.dockerfile;
    Object.defineProperty(layer, "dockerfile", { get: () => (reads++, text), enumerable: true });
  }
  const options = { repo: "reg.example.org/ci", git: GIT, changes: changes({ all: true, why: "--all" }), buildTime: 1700000000, buildArgs: {} };
  // As the shell plans: the directories to read first, then the plan, with one analysis.
  const planning = (dirsFirst: boolean) => {
    const analysis = analyzeRepository(snapshot);
    const selection = determineBuilds(snapshot.science, analysis, options.changes);
    if (dirsFirst) contextDirsFor(snapshot, analysis, selection, options);
    reads = 0;
    return { plan: planFromAnalysis(snapshot, analysis, options, selection), reads };
  };
  const alone = planning(false);
  const after = planning(true);
  assert.equal(after.plan, alone.plan);
  assert.ok(after.reads < alone.reads, `${after.reads} reads after contextDirsFor, ${alone.reads} alone`);
});

test.run();
