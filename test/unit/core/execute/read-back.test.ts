// Issue 16, items 3 and 5: what the registry holds after a push decides what the run records.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { agreeWithRegistry, decideBeforePush, lostBuildTag, movedBackByOtherRun, pushedOtherImage, pushResultFromTags, tagFromRegistry } from "../../../../src/core/execute/read-back.js";

const IMG = "sha256:" + "1".repeat(64);
const OTHER = "sha256:" + "2".repeat(64);

test("a tag holding this image is pushed, whatever the push said (a stored PUT whose reply was lost)", () => {
  assert.equal(tagFromRegistry("r/a:1.0", IMG, { digest: "sha256:m", configDigest: IMG }, "EOF"), { tag: "r/a:1.0", pushed: true, digest: "sha256:m" });
});

test("a tag holding another image, or nothing, is not pushed: the registry's digest and the reason are kept", () => {
  assert.equal(tagFromRegistry("r/a:1.0", IMG, { digest: "sha256:o", configDigest: OTHER }), { tag: "r/a:1.0", pushed: false, registryDigest: "sha256:o" });
  assert.equal(tagFromRegistry("r/a:1.0", IMG, undefined, "HTTP 500"), { tag: "r/a:1.0", pushed: false, reason: "HTTP 500" });
  assert.match(lostBuildTag("r/a:1.0-7-abc", "sha256:o"), /another run of this commit pushed r\/a:1\.0-7-abc too, and the registry holds its image \(manifest sha256:o\), not this one/);
});

test("just before pushing a build tag: another run's image of the same inputs is the published one; other inputs are refused", () => {
  const q = { buildTag: "r/a:1.0-7-abc", imageId: IMG, inputsDigest: "sha256:in", overwrite: false };
  assert.equal(decideBeforePush(q), { action: "push" });
  assert.equal(decideBeforePush({ ...q, held: { digest: "sha256:m", configDigest: IMG, inputs: "sha256:in" } }), { action: "push" });
  const same = decideBeforePush({ ...q, held: { digest: "sha256:o", configDigest: OTHER, inputs: "sha256:in" } });
  assert.is(same.action, "superseded");
  assert.match((same as { reason: string }).reason, "another run of this commit published r/a:1.0-7-abc while this one built it (the registry holds its image, manifest sha256:o)");
  const other = decideBeforePush({ ...q, held: { digest: "sha256:o", configDigest: OTHER, inputs: "sha256:x" } });
  assert.is(other.action, "refuse");
  assert.match((other as { reason: string }).reason, "with inputs sha256:x while this build ran, but this build's inputs are sha256:in: build tags are immutable");
  assert.equal(decideBeforePush({ ...q, overwrite: true, held: { digest: "sha256:o", configDigest: OTHER, inputs: "sha256:x" } }), { action: "push" });
});

test("at the end of a run, each tag's result is what the registry holds under it now", () => {
  const mine = { digest: "sha256:m", configDigest: "sha256:img" };
  const theirs = { digest: "sha256:t", configDigest: "sha256:other" };
  // Recorded pushed, but another run pushed its image after this one's read-back.
  const lost = agreeWithRegistry({ tag: "r/a:1.0-1-h", pushed: true, digest: "sha256:m" }, "sha256:img", theirs);
  assert.equal([lost.pushed, lost.registryDigest, lost.digest], [false, "sha256:t", undefined]);
  assert.match(lost.reason!, /registry holds another image under r\/a:1\.0-1-h \(manifest sha256:t\), not this one/);
  // Recorded not pushed (an interrupted push the engine finished), and there.
  assert.equal(agreeWithRegistry({ tag: "r/a:1.0", pushed: false, reason: "not pushed: push interrupted" }, "sha256:img", mine), { tag: "r/a:1.0", pushed: true, digest: "sha256:m" });
  // A moving tag left on a newer build stays so, with what it holds now.
  const left = { tag: "r/a:1.0", pushed: false, registryDigest: "sha256:x", reason: "not moved: r/a:1.0 is at 1.0-9-f, newer" };
  assert.equal(agreeWithRegistry(left, "sha256:img", theirs), { ...left, registryDigest: "sha256:t" });
  const same = { tag: "r/a:1.0", pushed: true, digest: "sha256:m" };
  assert.is(agreeWithRegistry(same, "sha256:img", mine), same);
});

test("a build's push result follows its tags read back at the end", () => {
  const t = (pushed: boolean, extra = {}) => ({ tag: "x", pushed, ...extra });
  assert.is(pushResultFromTags([t(true), t(true)], [t(true), t(true)]), undefined);
  assert.is(pushResultFromTags([t(true), t(true)], [t(false, { registryDigest: "sha256:t" }), t(true)]), "superseded");
  assert.is(pushResultFromTags([t(true)], [t(false)]), "push failed");
  assert.is(pushResultFromTags([t(true), t(false)], [t(true), t(true)]), "pushed");
  assert.is(pushResultFromTags([t(true), t(false), t(false)], [t(true), t(true), t(false, { reason: "not moved: newer" })]), "pushed");
  assert.is(pushResultFromTags([t(false), t(false)], [t(true), t(false, { reason: "not pushed: push interrupted" })]), undefined);
  // A moving tag another run moved back to an older build after this run moved it: the run failed.
  const back = movedBackByOtherRun("r/a:1.0", "1.0-2-abc1234", "sha256:old");
  assert.is(back, "moved back by another run: r/a:1.0 to 1.0-2-abc1234, an older build (manifest sha256:old), after this run moved it (a run of an older commit, or a rollback with --allow-tag-rollback): unless it was rolled back on purpose, run this commit again, or --reconcile --push, to move it forward");
  assert.is(pushResultFromTags([t(true), t(true)], [t(true), t(false, { reason: back })]), "push failed");
});

test("a push that sent another image's manifest (its name retagged as it started) is told apart from another run's push", () => {
  const other = { digest: "sha256:m2", configDigest: "sha256:other" };
  assert.is(pushedOtherImage("sha256:img", other, undefined, "sha256:m2"), true);
  // Another run's push after this one: the registry holds a manifest this push did not send.
  assert.is(pushedOtherImage("sha256:img", other, undefined, "sha256:m1"), false);
  assert.is(pushedOtherImage("sha256:img", { digest: "sha256:m1", configDigest: "sha256:img" }, undefined, "sha256:m1"), false);
  assert.is(pushedOtherImage("sha256:img", other, "push failed", "sha256:m2"), false);
  assert.is(pushedOtherImage("sha256:img", undefined, undefined, "sha256:m2"), false);
});

test.run();
