// Inputs digests (issue 9, rule 2): equal for equal inputs whatever the run's names and times,
// different when anything that determines the image differs, propagated down the graph by value.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tempDir } from "../../../helpers/temp.js";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { CONTEXTS, file, plan, RAW } from "../../../helpers/inputs-fixture.js";
import { withBuildArgs } from "../../../../src/core/requests/inputs-digest.js";
import type { ContextFile, Plan, PlanOptions } from "../../../../src/core/model.js";
import { readContextListings } from "../../../../src/read/context-files.js";

const digests = (p: Plan) => Object.fromEntries(p.builds.map((b) => [b.id, b.request.inputsDigest]));
const changed = (a: Plan, b: Plan) => Object.keys(digests(a)).filter((id) => digests(a)[id] !== digests(b)[id]).sort();

test("the run's names and times (repo, build number, commit, buildtime) leave the digest alone", () => {
  const a = plan();
  const b = plan({ repo: "other.example.org/test", git: { commit: "e".repeat(40), shortCommit: "eeeeeee", buildNumber: 99 }, buildTime: 1800000000 });
  assert.equal(digests(a), digests(b));
  for (const d of Object.values(digests(a))) assert.match(d ?? "", /^sha256:[0-9a-f]{64}$/);
  assert.equal(new Set(Object.values(digests(a))).size, 4);
});

test("a context file's contents or mode change the layer, everything built on it and its final images", () => {
  const content = new Map(CONTEXTS).set("science/a", [file("Dockerfile", "1"), file("data.txt", "CHANGED")]);
  assert.equal(changed(plan(), plan({}, content)), ["rel/a:1.0", "rel/b:1.0", "sci/a", "sci/b"]);
  const mode = new Map(CONTEXTS).set("science/a", [file("Dockerfile", "1"), file("data.txt", "2", 0o755)]);
  assert.equal(changed(plan(), plan({}, mode)), ["rel/a:1.0", "rel/b:1.0", "sci/a", "sci/b"]);
});

test("a compat file that a later layer overrides does not count; the one that wins does", () => {
  const hidden = new Map(CONTEXTS).set("compat/base", [file("base.txt", "4"), file("shared.conf", "OTHER")]);
  assert.equal(changed(plan(), plan({}, hidden)), ["rel/a:1.0"]);
  const shown = new Map(CONTEXTS).set("compat/top", [file("top.txt", "6"), file("shared.conf", "OTHER")]);
  assert.equal(changed(plan(), plan({}, shown)), ["rel/b:1.0"]);
});

test("build arguments and Dockerfile text count; the final image's SCISERVER_IMAGE build number does not", () => {
  assert.equal(changed(plan(), plan({ buildArgs: { X: "1" } })), ["rel/a:1.0", "rel/b:1.0", "sci/a", "sci/b"]);
  const raw = RAW.map((r) => (r.dir === "b" && r.kind === "science" ? { ...r, dockerfile: `${r.dockerfile}RUN echo more\n` } : r));
  assert.equal(changed(plan(), plan({}, CONTEXTS, raw)), ["rel/b:1.0", "sci/b"]);
  const compat = plan().builds.find((b) => b.id === "rel/b:1.0")!;
  assert.match(compat.request.dockerfile, /SCISERVER_IMAGE=b:1\.0-42-fffffff/);
});

test("the digest is a label of the image, and a plan of one changed child still digests its unplanned parent", () => {
  const whole = plan();
  const only = plan({ changes: { all: false, science: ["b"], compat: [], why: "changed since HEAD^" } });
  assert.equal(only.builds.map((b) => b.id), ["sci/b", "rel/b:1.0"]);
  assert.equal(digests(only)["sci/b"], digests(whole)["sci/b"]);
  const b = only.builds[0].request;
  assert.equal(b.labels["org.sciserver.science.b.inputs"], b.inputsDigest);
  assert.equal(b.inputs!.parents, { "sci/a:1.0": digests(whole)["sci/a"] });
  assert.equal(only.builds[1].request.labels["org.sciserver.compat.inputs"], only.builds[1].request.inputsDigest);
});

test("read from disk: .dockerignore'd files do not count, file contents and modes do", () => {
  using root = tempDir("ib-inputs-");
  mkdirSync(join(root.path, "science/a/sub"), { recursive: true });
  writeFileSync(join(root.path, "science/a/Dockerfile"), "FROM busybox:stable\n");
  writeFileSync(join(root.path, "science/a/.dockerignore"), "*.log\n");
  writeFileSync(join(root.path, "science/a/sub/x.txt"), "x");
  const read = () => readContextListings(root.path, ["science/a"]).get("science/a")!;
  const before = read();
  assert.equal(before.map((e) => e.name).sort(), ["Dockerfile", "sub", "sub/x.txt"]);
  writeFileSync(join(root.path, "science/a/build.log"), "noise");
  assert.equal(read(), before);
  writeFileSync(join(root.path, "science/a/sub/x.txt"), "y");
  assert.not.equal(read(), before);
});

test("read from disk: a file larger than the chunks it is read in is digested whole, as the executor's stream digests it", () => {
  using root = tempDir("ib-inputs-");
  mkdirSync(join(root.path, "science/a"), { recursive: true });
  // 2.5 MiB of varied bytes: three reads of the 1 MiB chunk, the last one short.
  const big = Buffer.alloc(2.5 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 13)) & 0xff;
  writeFileSync(join(root.path, "science/a/model.bin"), big);
  const entry = readContextListings(root.path, ["science/a"]).get("science/a")!.find((e) => e.name === "model.bin")!;
  assert.is(entry.sha256, createHash("sha256").update(big).digest("hex"));
});

test("run --build-arg: digests as if the plan had been made with the arguments, parents before children", () => {
  const made = plan({ buildArgs: { X: "1" } });
  const applied = withBuildArgs(plan(), { X: "1" });
  assert.equal(digests(applied), digests(made));
  for (const b of applied.builds) assert.is(b.request.labels[b.kind === "science" ? `org.sciserver.science.${b.target}.inputs` : "org.sciserver.compat.inputs"], b.request.inputsDigest);
  assert.equal(withBuildArgs(plan(), {}), plan());
});

test("run --build-arg on a plan of two platforms: each request takes its own platform's parent digest", () => {
  const platforms = ["linux/amd64", "linux/arm64"];
  const made = plan({ buildArgs: { X: "1" }, platforms });
  const applied = withBuildArgs(plan({ platforms }), { X: "1" });
  assert.equal(digests(applied), digests(made));
  assert.ok(applied.builds.some((b) => b.id.endsWith("@linux/arm64") && Object.keys(b.request.inputs!.parents).length > 0));
});

test.run();
