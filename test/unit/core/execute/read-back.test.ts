// Issue 16, items 3 and 5: what the registry holds after a push decides what the run records.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decideBeforePush, lostBuildTag, tagFromRegistry } from "../../../../src/core/execute/read-back.js";

const IMG = "sha256:" + "1".repeat(64);
const OTHER = "sha256:" + "2".repeat(64);

test("a tag holding this image is pushed, whatever the push said (a stored PUT whose reply was lost)", () => {
  assert.equal(tagFromRegistry("r/a:1.0", IMG, { digest: "sha256:m", configDigest: IMG }, "EOF"), { tag: "r/a:1.0", pushed: true, digest: "sha256:m" });
});

test("a tag holding another image, or nothing, is not pushed: the registry's digest and the reason are kept", () => {
  assert.equal(tagFromRegistry("r/a:1.0", IMG, { digest: "sha256:o", configDigest: OTHER }), { tag: "r/a:1.0", pushed: false, registryDigest: "sha256:o" });
  assert.equal(tagFromRegistry("r/a:1.0", IMG, undefined, "HTTP 500"), { tag: "r/a:1.0", pushed: false, reason: "HTTP 500" });
  assert.match(lostBuildTag("r/a:1.0-7-abc", "sha256:o"), /another run of this commit pushed r\/a:1\.0-7-abc too, and the registry holds its image \(sha256:o\), not this one/);
});

test("just before pushing a build tag: another run's image of the same inputs is the published one; other inputs are refused", () => {
  const q = { buildTag: "r/a:1.0-7-abc", imageId: IMG, inputsDigest: "sha256:in", overwrite: false };
  assert.equal(decideBeforePush(q), { action: "push" });
  assert.equal(decideBeforePush({ ...q, held: { digest: "sha256:m", configDigest: IMG, inputs: "sha256:in" } }), { action: "push" });
  const same = decideBeforePush({ ...q, held: { digest: "sha256:o", configDigest: OTHER, inputs: "sha256:in" } });
  assert.is(same.action, "superseded");
  assert.match((same as { reason: string }).reason, "another run of this commit published r/a:1.0-7-abc while this one built it (the registry holds its image, sha256:o)");
  const other = decideBeforePush({ ...q, held: { digest: "sha256:o", configDigest: OTHER, inputs: "sha256:x" } });
  assert.is(other.action, "refuse");
  assert.match((other as { reason: string }).reason, "with inputs sha256:x while this build ran, but this build's inputs are sha256:in: build tags are immutable");
  assert.equal(decideBeforePush({ ...q, overwrite: true, held: { digest: "sha256:o", configDigest: OTHER, inputs: "sha256:x" } }), { action: "push" });
});

test.run();
