import { test } from "uvu";
import * as assert from "uvu/assert";
import { expectedParents, judgeOwnBuild, judgeParent, ownBuildTags } from "../../../../src/core/verify/checks.js";

const ref = (repository: string) => ({ registry: "127.0.0.1:5167", repository });
const labels = {
  "org.sciserver.science.essentials-2-4.version": "2.4-5-aaaaaaa",
  "org.sciserver.science.essentials-2-4.buildtime": "1763900000.1",
  "org.sciserver.science.essentials-2-4.inputs": `sha256:${"1".repeat(64)}`,
  "org.sciserver.science.essentials-2-5.version": "2.5-5-aaaaaaa",
  "org.sciserver.science.essentials-2-5.buildtime": "1763900100.2",
  "org.sciserver.science.essentials-2-5.inputs": `sha256:${"2".repeat(64)}`,
  "org.sciserver.compat.version": "essentials:2.5-5-aaaaaaa",
};

test("a final image was built on every science layer in its labels, published under their build tags", () => {
  const parents = expectedParents(ref("t/rel/essentials"), labels);
  assert.equal(parents.map((p) => p.buildTag), ["127.0.0.1:5167/t/sci/essentials-2-4:2.4-5-aaaaaaa", "127.0.0.1:5167/t/sci/essentials-2-5:2.5-5-aaaaaaa"]);
  assert.equal(parents[0].labels, {
    "org.sciserver.science.essentials-2-4.version": "2.4-5-aaaaaaa",
    "org.sciserver.science.essentials-2-4.buildtime": "1763900000.1",
    "org.sciserver.science.essentials-2-4.inputs": `sha256:${"1".repeat(64)}`,
  });
});

test("a science layer's parents are the layers below it, not itself; an image outside sci/ and rel/ has none", () => {
  assert.equal(expectedParents(ref("sci/essentials-2-5"), labels).map((p) => p.name), ["sci/essentials-2-4:2.4-5-aaaaaaa"]);
  assert.equal(expectedParents(ref("t/other/x"), labels), []);
});

test("the parent's build tag holding the build the image inherited passes; another build, or nothing, fails naming it", () => {
  const [parent] = expectedParents(ref("t/rel/essentials"), labels);
  assert.ok(judgeParent(parent, { ...labels, extra: "x" }).ok);
  const rebuilt = judgeParent(parent, { ...labels, "org.sciserver.science.essentials-2-4.buildtime": "1763999999.0" });
  assert.equal(rebuilt, {
    check: "parent", subject: "sci/essentials-2-4:2.4-5-aaaaaaa", ok: false,
    detail: "the registry holds another build under 127.0.0.1:5167/t/sci/essentials-2-4:2.4-5-aaaaaaa (buildtime 1763999999.0) than the one this image was built on (buildtime 1763900000.1)",
  });
  assert.equal(judgeParent(parent, undefined, "linux/arm64").detail, "the registry has no 127.0.0.1:5167/t/sci/essentials-2-4:2.4-5-aaaaaaa");
  assert.is(judgeParent(parent, undefined, "linux/arm64").subject, "sci/essentials-2-4:2.4-5-aaaaaaa (linux/arm64)");
});

test("build: the image under a build tag is that build (its own version label); an older build copied under a newer build tag fails", () => {
  const image = [{ platform: "linux/amd64", labels }];
  const ok = (repository: string, tag: string) => judgeOwnBuild({ repository, tag }, image).map((c) => [c.ok, c.detail]);
  assert.equal(ok("t/sci/essentials-2-5", "2.5-5-aaaaaaa"), [[true, "its version label names build 2.5-5-aaaaaaa, the tag's"]]);
  assert.equal(ok("t/rel/essentials", "2.5-5-aaaaaaa"), [[true, "its version label names build 2.5-5-aaaaaaa, the tag's"]]);
  assert.equal(ok("t/sci/essentials-2-5", "2.5-5-aaaaaaa-linux-amd64"), [[true, "its version label names build 2.5-5-aaaaaaa, the tag's"]], "a platform tag");
  assert.equal(ok("t/sci/essentials-2-5", "2.5"), [[true, "its version label names build 2.5-5-aaaaaaa, of version 2.5"]], "a moving tag");
  assert.equal(ok("t/sci/essentials-2-5", "2.5-6-bbbbbbb"), [[false, "its version label names build 2.5-5-aaaaaaa, not 2.5-6-bbbbbbb: another build is under this tag"]]);
  assert.equal(ok("t/sci/essentials-2-5", "2.6"), [[false, "its version label names build 2.5-5-aaaaaaa, not a build of version 2.6: another build is under this tag"]]);
  // The amd64 image under the arm64 platform tag of its own build; a build number written otherwise.
  assert.equal(ok("t/sci/essentials-2-5", "2.5-5-aaaaaaa-linux-arm64"), [[false, "a linux/amd64 image under the linux/arm64 platform tag"]]);
  // The same platform spelled otherwise (an arm64 image's config says variant v8) is that platform.
  assert.equal(judgeOwnBuild({ repository: "t/sci/essentials-2-5", tag: "2.5-5-aaaaaaa-linux-arm64" }, [{ platform: "linux/arm64/v8", labels }]).map((c) => c.ok), [true]);
  assert.equal(ok("t/sci/essentials-2-5", "2.5-05-aaaaaaa")[0][0], false);
  // Another image's (rel/astro's) final image under rel/essentials, and a science layer's image under another's name.
  assert.equal(ok("t/rel/astro", "2.5-5-aaaaaaa")[0][0], false);
  assert.match(String(ok("t/sci/other", "2.5-5-aaaaaaa")[0][1]), /^its version label \(none\) names no build of sci\/other/);
  // Nothing to judge: by digest, or not image-builder's names.
  assert.equal(judgeOwnBuild({ repository: "t/sci/essentials-2-5", tag: undefined }, image), []);
  assert.equal(judgeOwnBuild({ repository: "t/other/x", tag: "2.5" }, image), []);
});

test("a moving tag's own build tag: what verify asks the registry for, of the build its label names", () => {
  const image = [{ labels }];
  assert.equal(ownBuildTags({ repository: "t/sci/essentials-2-5", tag: "2.5" }, image), ["2.5-5-aaaaaaa"]);
  assert.equal(ownBuildTags({ repository: "t/sci/essentials-2-5", tag: "2.5-linux-amd64" }, image), ["2.5-5-aaaaaaa-linux-amd64"]);
  assert.equal(ownBuildTags({ repository: "t/rel/essentials", tag: "2.5" }, image), ["2.5-5-aaaaaaa"]);
  // A build tag (judged by the build check itself), another version's build, no label, no tag: nothing to ask.
  assert.equal(ownBuildTags({ repository: "t/sci/essentials-2-5", tag: "2.5-5-aaaaaaa" }, image), []);
  assert.equal(ownBuildTags({ repository: "t/sci/essentials-2-5", tag: "2.6" }, image), []);
  assert.equal(ownBuildTags({ repository: "t/sci/other", tag: "2.5" }, image), []);
  assert.equal(ownBuildTags({ repository: "t/sci/essentials-2-5", tag: undefined }, image), []);
});

test.run();
