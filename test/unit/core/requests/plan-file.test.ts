// Plan files are checked before anything runs, each field in the format it implies; a plan written
// by an older image-builder, before fields were renamed, still reads.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parsePlanFile } from "../../../../src/core/requests/plan-file.js";
import { InputError } from "../../../../src/core/model.js";
import { makePlan } from "../../../helpers/small-plan.js";
import { planBuilds } from "../../../../src/core/plan/plan-builds.js";
import { readLayers } from "../../../../src/core/parse/layer-config.js";

test("plan files are checked before anything runs", () => {
  const plan = makePlan({ science: ["a"] });
  assert.equal(parsePlanFile(JSON.stringify(plan), "p.json"), plan);
  const bad = (text: string, re: RegExp) => assert.throws(() => parsePlanFile(text, "p.json"), (e: Error) => e instanceof InputError && re.test(e.message));
  bad("{", /^p\.json: invalid JSON/);
  bad("{}", /^p\.json: not an image-builder plan: repo: required$/);
  bad("[]", /^p\.json: not an image-builder plan: expected an object, got an array$/);
  const outside = structuredClone(plan);
  outside.builds[0].request.contexts = ["../../etc"];
  bad(JSON.stringify(outside), /^p\.json: builds\[0\]\.request\.contexts\[0\]: "\.\.\/\.\.\/etc" is outside the repository$/);
  const reordered = structuredClone(plan);
  reordered.builds.reverse();
  bad(JSON.stringify(reordered), /^p\.json: builds\[0\]\.dependsOn\[0\]: sci\/b does not come before rel\/b:1\.0$/);
});

test("a malformed plan names the file and the first field that is wrong", () => {
  const bad = (change: (p: any) => void, re: RegExp) => {
    const p: any = structuredClone(withCompat);
    change(p);
    assert.throws(() => parsePlanFile(JSON.stringify(p), "plan.json"), (e: Error) => e instanceof InputError && re.test(e.message), re.source);
  };
  bad((p) => delete p.builds[1].request.dockerfile, /^plan\.json: builds\[1\]\.request\.dockerfile: required$/);
  bad((p) => delete p.builds[0].request.tags, /^plan\.json: builds\[0\]\.request\.tags: required$/);
  bad((p) => (p.builds[0].request.tags = []), /^plan\.json: builds\[0\]\.request\.tags: expected at least 1 entry$/);
  bad((p) => (p.builds[0].kind = "sciense"), /^plan\.json: builds\[0\]\.kind: expected "science" or "compat", got "sciense"$/);
  bad((p) => (p.builds[0].request.labels["org.sciserver.science.a.version"] = 3), /^plan\.json: builds\[0\]\.request\.labels\["org\.sciserver\.science\.a\.version"\]: expected a string, got number 3$/);
  bad((p) => (p.builds[0].request.inputs.parents = []), /^plan\.json: builds\[0\]\.request\.inputs\.parents: expected an object, got an array$/);
  bad((p) => delete p.builds[1].finalImages, /^plan\.json: builds\[1\]\.finalImages: required for a compat build$/);
  bad((p) => (p.buildNumber = "7"), /^plan\.json: not an image-builder plan: buildNumber: expected a number, got string "7"$/);
  bad((p) => (p.waves = null), /^plan\.json: not an image-builder plan: waves: expected an array, got null$/);
});

test("a plan file from before inputs digests, with a stored command line, still reads", () => {
  const old = JSON.parse(JSON.stringify(withCompat));
  for (const b of old.builds) {
    b.request.command = ["docker", "build", "--tag", b.request.tags[0], b.source];
    delete b.request.inputsDigest;
    delete b.request.inputs;
  }
  const read = parsePlanFile(JSON.stringify(old), "old.json");
  assert.equal(read.builds.map((b) => b.id), withCompat.builds.map((b) => b.id));
  assert.is(read.builds[0].request.inputsDigest, undefined);
});

const OPTIONS = {
  repo: "127.0.0.1:5055/x", git: { commit: "c0ffee".padEnd(40, "0"), shortCommit: "c0ffee0", buildNumber: 3 },
  buildTime: 1, buildArgs: { GREETING: "hi" }, changes: { all: true, science: [], compat: [], why: "--all" },
};

const withCompat = planBuilds(readLayers([
  { kind: "science", dir: "a", config: JSON.stringify({ image: "a", compat: "base" }), dockerfile: "FROM busybox:stable\n" },
  { kind: "compat", dir: "base", config: "{}", dockerfile: "RUN true\n" },
]), OPTIONS);

test("a plan file with the old field names (request.environment, finalImage) reads as today's plan", () => {
  const old = JSON.parse(JSON.stringify(withCompat));
  for (const b of old.builds) {
    b.request.environment = b.request.buildArgs;
    delete b.request.buildArgs;
    if (b.finalImages) {
      b.finalImage = b.finalImages;
      delete b.finalImages;
    }
  }
  assert.ok(old.builds.some((b: { finalImage?: string[] }) => b.finalImage), "the example has a compat build");
  assert.equal(parsePlanFile(JSON.stringify(old), "old.json"), withCompat);
});

test("today's plan file reads back as written", () => {
  assert.equal(parsePlanFile(JSON.stringify(withCompat), "p.json"), withCompat);
  assert.equal(withCompat.builds[0].request.buildArgs, { GREETING: "hi" });
});


test("a plan's fields have the formats they imply: image references, digests, build ids, the repo; each wrong one is named", () => {
  const bad = (change: (p: any) => void, message: string) => {
    const p: any = structuredClone(withCompat);
    change(p);
    assert.throws(() => parsePlanFile(JSON.stringify(p), "plan.json"), (e: Error) => e instanceof InputError && e.message === message, message);
  };
  // Image references: what docker would refuse when building or pushing, refused when reading.
  bad((p) => (p.builds[0].request.tags[0] = "UPPER/x:y z"), 'plan.json: builds[0].request.tags[0]: invalid image reference "UPPER/x:y z": "y z" is not a valid tag');
  bad((p) => (p.builds[0].request.tags[0] = "127.0.0.1:5055/x/sci/A:1.0"), 'plan.json: builds[0].request.tags[0]: invalid image reference "127.0.0.1:5055/x/sci/A:1.0": "A" is not a valid name component (lowercase letters, digits, separators)');
  bad((p) => (p.builds[0].request.tags[1] = "127.0.0.1:5055/x/sci/a"), 'plan.json: builds[0].request.tags[1]: invalid image reference "127.0.0.1:5055/x/sci/a": no tag');
  bad((p) => (p.builds[1].finalImages[0] = "a:1.0 "), 'plan.json: builds[1].finalImages[0]: invalid image reference "a:1.0 ": spaces around it');
  bad((p) => (p.builds[1].finalImages[1] = `a:${"x".repeat(129)}`), `plan.json: builds[1].finalImages[1]: invalid image reference "a:${"x".repeat(129)}": "${"x".repeat(129)}" is not a valid tag`);
  bad((p) => (p.builds[1].request.inputs.parents = { "sci/a:1.0?": p.builds[0].request.inputsDigest }), 'plan.json: builds[1].request.inputs.parents["sci/a:1.0?"]: invalid image reference "sci/a:1.0?": "1.0?" is not a valid tag');
  // Every tag under the plan's repo: a cross-field check, naming the field.
  bad((p) => (p.builds[1].request.tags[1] = "elsewhere.example/x/rel/a:1.0"), "plan.json: builds[1].request.tags[1]: elsewhere.example/x/rel/a:1.0 is not under the plan's repo 127.0.0.1:5055/x");
  bad((p) => (p.repo = "127.0.0.1:5055/y"), "plan.json: builds[0].request.tags[0]: 127.0.0.1:5055/x/sci/a:1.0 is not under the plan's repo 127.0.0.1:5055/y");
  bad((p) => (p.repo = "https://r.example/x"), 'plan.json: not an image-builder plan: repo: expected a registry location such as registry.example.org/team/images (lowercase, no scheme or tag), got "https://r.example/x"');
  // Digests.
  bad((p) => (p.builds[0].request.inputsDigest = "md5:abc"), 'plan.json: builds[0].request.inputsDigest: expected a digest (sha256: and 64 lowercase hex digits), got "md5:abc"');
  bad((p) => (p.builds[0].request.inputs.context = "sha256:ABC"), 'plan.json: builds[0].request.inputs.context: expected a digest (sha256: and 64 lowercase hex digits), got "sha256:ABC"');
  bad((p) => (p.builds[1].request.inputs.parents["sci/a:1.0"] = "x"), 'plan.json: builds[1].request.inputs.parents["sci/a:1.0"]: expected a digest (sha256: and 64 lowercase hex digits), got "x"');
  // Build ids: named as the id's field, before the ordering of dependsOn that mentions it.
  const idShape = 'expected a build id such as sci/{target} or rel/{image}:{version} (no "." or ".." parts, no leading "/")';
  bad((p) => (p.builds[0].id = "../../x"), `plan.json: builds[0].id: ${idShape}, got "../../x"`);
  bad((p) => (p.builds[0].id = "/sci/a"), `plan.json: builds[0].id: ${idShape}, got "/sci/a"`);
  bad((p) => (p.builds[0].id = "sci/../a"), `plan.json: builds[0].id: ${idShape}, got "sci/../a"`);
  bad((p) => (p.builds[1].dependsOn = ["sci/./a"]), `plan.json: builds[1].dependsOn[0]: ${idShape}, got "sci/./a"`);
  // Waves name the plan's builds, each once, after what it depends on.
  bad((p) => (p.waves = [["nope"]]), "plan.json: waves[0][0]: nope is not a build of the plan");
  bad((p) => (p.waves = [["sci/a"], ["rel/a:1.0", "sci/a"]]), "plan.json: waves[1][1]: sci/a comes twice");
  bad((p) => (p.waves = [["sci/a"]]), "plan.json: waves: builds[1] rel/a:1.0 is in no wave");
  bad((p) => (p.waves = [["sci/a", "rel/a:1.0"]]), "plan.json: waves[0]: rel/a:1.0 is not in a later wave than sci/a, which it depends on");
  bad((p) => (p.waves = [["../x"]]), `plan.json: waves[0][0]: ${idShape}, got "../x"`);
});

test("every plan the planner writes reads: hosts with ports, localhost and plain names", () => {
  for (const repo of ["127.0.0.1:5055/x", "localhost:5000", "localhost/team", "registry.example.org", "containers.repo.sciserver.org/compute-images", "my-registry:5000/a_b/c--d"]) {
    const p = planBuilds(readLayers([
      { kind: "science", dir: "a-1_x", config: JSON.stringify({ image: "a", version: "2.4.1", compat: "base" }), dockerfile: "FROM busybox:stable\n" },
      { kind: "science", dir: "b", config: JSON.stringify({ image: "b", compat: "base" }), dockerfile: "FROM x/sci/a-1_x:2.4.1\n" },
      { kind: "compat", dir: "base", config: "{}", dockerfile: "RUN true\n" },
    ]), { ...OPTIONS, repo });
    assert.equal(parsePlanFile(JSON.stringify(p), "p.json"), p, repo);
  }
});

test.run();
