// Issue 16, item 2: a moving tag `{version}` only moves forward.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decideBuildMovingTag, decideFollowingPlatformTag, decideMovingTag, isOlderBuild, parseBuildName, platformTagToFollow } from "../../../../src/core/execute/moving-tag.js";

const T = "r/sci/x:1.0";
const ask = (ours: string | undefined, label: string | undefined, o: { isThisImage?: boolean; allowRollback?: boolean } = {}) =>
  decideMovingTag({ movingTag: T, ours, held: { isThisImage: o.isThisImage ?? false, label }, allowRollback: o.allowRollback ?? false });

test("version labels name a build: science `{version}-{n}-{h}`, compat `{image}:{version}-{n}-{h}`", () => {
  assert.equal(parseBuildName("2.4-7-3f2a9c1"), { name: "2.4-7-3f2a9c1", buildNumber: 7, hash: "3f2a9c1" });
  assert.equal(parseBuildName("essentials:2.4-12-3f2a9c1"), { name: "2.4-12-3f2a9c1", buildNumber: 12, hash: "3f2a9c1" });
  assert.is(parseBuildName("latest"), undefined);
  assert.is(parseBuildName(undefined), undefined);
});

test("the moving tag moves to a later build, or where the registry has none", () => {
  assert.equal(decideMovingTag({ movingTag: T, ours: "1.0-7-aaa", allowRollback: false }), { move: true });
  assert.equal(ask("1.0-8-bbb", "1.0-7-aaa"), { move: true });
  assert.equal(ask("1.0-7-aaa", "1.0-7-aaa", { isThisImage: true }), { move: true, already: true });
  // an image no build of this repository labelled can't be newer
  assert.equal(ask("1.0-7-aaa", undefined), { move: true });
  // the same build (another run of this commit): the build tag's read-back decided
  assert.equal(ask("1.0-7-aaa", "1.0-7-aaa"), { move: true });
});

test("an older build, or another commit with the same number, leaves the moving tag where it is, saying why", () => {
  assert.equal(ask("1.0-7-aaa", "1.0-9-ccc"), { move: false, reason: "not moved: r/sci/x:1.0 is at 1.0-9-ccc, newer" });
  assert.equal(ask("1.0-7-aaa", "1.0-7-ddd"), { move: false, reason: "not moved: r/sci/x:1.0 is at 1.0-7-ddd, another commit with the same build number 7" });
  // --overwrite is no part of it; --allow-tag-rollback moves it back, and says so
  assert.equal(ask("1.0-7-aaa", "1.0-9-ccc", { allowRollback: true }), { move: true, back: "moved back: r/sci/x:1.0 was at 1.0-9-ccc, newer (--allow-tag-rollback)" });
});

test("a build's moving tag is decided by its version label: a science layer's, or a compat build's", () => {
  const sci = { kind: "science" as const, target: "x", request: { labels: { "org.sciserver.science.x.version": "1.0-7-aaa" } } };
  const newer = { id: "sha256:other", labels: { "org.sciserver.science.x.version": "1.0-9-ccc" } };
  assert.equal(decideBuildMovingTag(sci, T, "sha256:img", newer, false), { move: false, reason: "not moved: r/sci/x:1.0 is at 1.0-9-ccc, newer" });
  assert.equal(decideBuildMovingTag(sci, T, "sha256:img", { id: "sha256:img" }, false), { move: true, already: true });
  assert.equal(decideBuildMovingTag(sci, T, "sha256:img", undefined, false), { move: true });
  const rel = { kind: "compat" as const, target: "", request: { labels: { "org.sciserver.compat.version": "x:1.0-7-aaa" } } };
  assert.equal(decideBuildMovingTag(rel, "r/rel/x:1.0", "sha256:img", { id: "sha256:o", labels: { "org.sciserver.compat.version": "x:1.0-8-bbb" } }, true),
    { move: true, back: "moved back: r/rel/x:1.0 was at 1.0-8-bbb, newer (--allow-tag-rollback)" });
});

test("an older build is one of a lower number; the same number (this commit's, an amend's), a newer one or an unlabelled image is not", () => {
  assert.ok(isOlderBuild("1.0-6-abc1234", "1.0-7-def5678"));
  assert.ok(isOlderBuild("img:1.0-6-abc1234", "img:1.0-7-def5678"));
  for (const [held, ours] of [["1.0-7-abc1234", "1.0-7-def5678"], ["1.0-8-abc1234", "1.0-7-def5678"], [undefined, "1.0-7-def5678"], ["latest", "1.0-7-def5678"], ["1.0-6-abc1234", undefined]]) {
    assert.not.ok(isOlderBuild(held, ours), `${held} vs ${ours}`);
  }
});

test("a plain push whose `{version}` holds its image (moved now, or there already) looks for the engine platform's moving tag, and only then (hunter18 F3)", () => {
  const plain = { tags: ["r/sci/x:1.0", "r/sci/x:1.0-7-aaa"] };
  assert.is(platformTagToFollow(plain, "linux/amd64", true), "r/sci/x:1.0-linux-amd64");
  assert.is(platformTagToFollow(plain, "linux/arm64/v8", true), "r/sci/x:1.0-linux-arm64-v8");
  // `{version}` left on a newer build (another run's): nothing more is read
  assert.is(platformTagToFollow(plain, "linux/amd64", false), undefined);
  // an attested run (attachments) pushes the platform tags itself
  assert.is(platformTagToFollow(plain, undefined, true), undefined);
  // a request for a named platform: its tags are that platform's, `{version}` is its index's
  assert.is(platformTagToFollow({ tags: ["r/sci/x:1.0-linux-arm64", "r/sci/x:1.0-7-aaa-linux-arm64"], platform: "linux/arm64" }, "linux/amd64", true), undefined);
});

test("that platform tag is written only where the registry holds it, and then only forward", () => {
  const sci = { kind: "science" as const, target: "x", request: { labels: { "org.sciserver.science.x.version": "1.0-7-aaa" } } };
  const P = "r/sci/x:1.0-linux-amd64";
  const at = (label: string) => ({ id: "sha256:other", labels: { "org.sciserver.science.x.version": label } });
  // absent: a layer never published with attestations gets no platform tag
  assert.is(decideFollowingPlatformTag(sci, P, "sha256:img", undefined, false), undefined);
  assert.equal(decideFollowingPlatformTag(sci, P, "sha256:img", at("1.0-4-ccc"), false), { move: true });
  assert.equal(decideFollowingPlatformTag(sci, P, "sha256:img", { id: "sha256:img" }, false), { move: true, already: true });
  assert.equal(decideFollowingPlatformTag(sci, P, "sha256:img", at("1.0-9-ccc"), false), { move: false, reason: `not moved: ${P} is at 1.0-9-ccc, newer` });
  assert.equal(decideFollowingPlatformTag(sci, P, "sha256:img", at("1.0-9-ccc"), true), { move: true, back: `moved back: ${P} was at 1.0-9-ccc, newer (--allow-tag-rollback)` });
});

test.run();
