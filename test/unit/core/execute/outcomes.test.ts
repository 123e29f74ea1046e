import { test } from "uvu";
import * as assert from "uvu/assert";
import { footer, indexSummaryRow, runSucceeded, summaryRow } from "../../../../src/core/execute/outcomes.js";

test("the run's last line says what happened at a glance", () => {
  const built = { status: "built" as const, pushed: true };
  assert.equal(footer([built, built, { status: "built", pushed: false }, { status: "failed", pushed: false }], true, false), ["3 built, 1 failed, 1 not pushed"]);
  assert.equal(footer([{ status: "reused", pushed: true }], true, false), ["1 reused"]);
  assert.equal(footer([{ status: "built", pushed: false }], false, false), ["1 built", "Note: images were built but not pushed (use --push to push them)."]);
  // An image not pushed is counted as its row in the table says it: its push failed, another run's was published, or not pushed (a parent's was not).
  const unpushed = { status: "built" as const, pushed: false };
  assert.equal(footer([built, unpushed, unpushed, unpushed, unpushed], true, false, [], ["pushed", "push failed", "not pushed", "superseded", undefined]), ["5 built, 1 push failed, 1 superseded, 2 not pushed"]);
  // no "built but not pushed" note after a failed run
  assert.equal(footer([{ status: "built", pushed: false }, { status: "failed", pushed: false }], false, false), ["1 built, 1 failed"]);
});

test("an interrupted run says what is certain: no push started after it (issue 16, item 5); without --push nothing about pushes", () => {
  const built = { status: "built" as const, pushed: false };
  assert.equal(footer([built], false, true), ["1 built", "Interrupted: builds in flight were cancelled."]);
  assert.equal(footer([built], true, true), ["1 built, 1 not pushed", "Interrupted: builds in flight were cancelled and no push started after the interrupt."]);
});

test("moving tags left on a newer build are counted", () => {
  const tags = [{ tag: "r/a:1.0-7-abc", pushed: true }, { tag: "r/a:1.0", pushed: false, reason: "not moved: r/a:1.0 is at 1.0-9-def, newer" }];
  assert.equal(footer([{ status: "reused", pushed: true, tags }], true, false), ["1 reused, 1 moving tag not moved"]);
  // and marked in the summary table, whose TAGS say what the registry holds
  assert.equal(summaryRow({ id: "sci/a", status: "reused", durationMs: 1, pushed: true, tags }, ["r/a:1.0", "r/a:1.0-7-abc"], "pushed").tags, ["r/a:1.0 (not moved)", "r/a:1.0-7-abc"]);
  const index = indexSummaryRow({ id: "sci/a", status: "pushed", tags: [{ tag: "r/a:1.0", pushed: false, reason: "not moved: another run wrote r/a:1.0 at the same time" }, { tag: "r/a:1.0-7-abc", pushed: true }] });
  assert.equal(index.tags, ["r/a:1.0 (not moved)", "r/a:1.0-7-abc"]);
});

test("the summary table shows tags only for images that exist", () => {
  const tags = ["r/sci/x:1.0", "r/sci/x:1.0-7-abc"];
  assert.equal(summaryRow({ id: "sci/x", status: "failed", durationMs: 1, pushed: false, reason: "boom" }, tags).tags, []);
  assert.equal(summaryRow({ id: "sci/x", status: "skipped", durationMs: 0, pushed: false }, tags).tags, []);
  const built = summaryRow({ id: "sci/x", status: "built", durationMs: 1, pushed: false }, tags, "push failed");
  assert.equal([built.result, built.tags], ["push failed", tags]);
  assert.is(summaryRow({ id: "sci/x", status: "reused", durationMs: 1, pushed: true }, tags, "pushed").result, "reused");
});

test("a run succeeds when every build has its image, pushed when pushing, and it was not interrupted", () => {
  const built = { status: "built" as const, pushed: false };
  assert.ok(runSucceeded([built, { status: "reused", pushed: false }], false, false));
  assert.not.ok(runSucceeded([built], true, false));
  assert.ok(runSucceeded([{ status: "built", pushed: true }], true, false));
  assert.not.ok(runSucceeded([built, { status: "skipped", pushed: false }], false, false));
  assert.not.ok(runSucceeded([built], false, true));
});

test("an image whose signature could not be written fails the run, though its tags are there", () => {
  const d = `sha256:${"a".repeat(64)}`;
  const signed = { status: "reused" as const, pushed: true, signature: { status: "signed" as const, digest: d, tag: "r/x:sha256-a.sig", manifestDigest: d } };
  const unsigned = { status: "reused" as const, pushed: true, signature: { status: "failed" as const, digest: d, reason: "HTTP 500" } };
  assert.ok(runSucceeded([signed], true, false));
  assert.not.ok(runSucceeded([signed, unsigned], true, false));
});

test("an image whose attestations could not be uploaded is not fully published: counted, and the run fails", () => {
  const d = `sha256:${"a".repeat(64)}`;
  const unattested = { status: "built" as const, pushed: true, attestation: { status: "failed" as const, subject: d, reason: "HTTP 500" } };
  const attested = { status: "reused" as const, pushed: true, attestation: { status: "already there" as const, subject: d, mediaType: "m", digest: d, size: 1 } };
  assert.equal(footer([unattested, attested], true, false), ["1 built, 1 reused, 1 without its attestations"]);
  assert.equal(footer([unattested, unattested], true, false), ["2 built, 2 without their attestations"]);
  assert.not.ok(runSucceeded([unattested, attested], true, false));
  assert.ok(runSucceeded([attested], true, false));
});

test("image indexes: counted in the last line, a row each in the summary, and a run with one not pushed fails", () => {
  const image = { status: "reused" as const, pushed: true };
  const pushed = { status: "pushed" as const, tags: [{ tag: "r/sci/a:1.0-1-h", pushed: true }, { tag: "r/sci/a:1.0", pushed: false, reason: "not moved: r/sci/a:1.0 is at 1.0-9-bbb, newer" }] };
  const failed = { status: "not pushed" as const, tags: [{ tag: "r/sci/b:1.0-1-h", pushed: false }, { tag: "r/sci/b:1.0", pushed: false }] };
  assert.equal(footer([image, image], true, false, [pushed, pushed]), ["2 reused, 2 indexes pushed, 2 moving tags not moved"]);
  assert.equal(footer([image], true, false, [pushed, failed]), ["1 reused, 1 index pushed, 1 index not pushed, 1 moving tag not moved"]);
  assert.ok(runSucceeded([image], true, false, [pushed]));
  assert.not.ok(runSucceeded([image], true, false, [pushed, failed]));
  // Each not written as its row says it.
  const refused = { ...failed, status: "push failed" as const };
  const superseded = { ...failed, status: "superseded" as const };
  assert.equal(footer([image], true, false, [refused, superseded, failed, failed]), ["1 reused, 1 index push failed, 1 index superseded, 2 indexes not pushed"]);
  assert.equal(indexSummaryRow({ id: "sci/b", ...failed, reason: "index not written: …" }),
    { id: "sci/b (index)", result: "index not pushed", durationMs: 0, tags: ["r/sci/b:1.0-1-h", "r/sci/b:1.0"], reason: "index not written: …" });
});

test("an index the registry held already (a rerun) is not counted as pushed: nothing was written", () => {
  const image = { status: "reused" as const, pushed: true };
  const tags = [{ tag: "r/sci/a:1.0-1-h", pushed: true }, { tag: "r/sci/a:1.0", pushed: true }];
  const there = { status: "pushed" as const, tags, already: true };
  const written = { status: "pushed" as const, tags };
  assert.equal(footer([image, image], true, false, [there, written]), ["2 reused, 1 index pushed, 1 index already there"]);
  assert.equal(footer([image], true, false, [there]), ["1 reused, 1 index already there"]);
  assert.ok(runSucceeded([image], true, false, [there]));
  assert.is(indexSummaryRow({ id: "sci/a", ...there }).result, "index already there");
  assert.is(indexSummaryRow({ id: "sci/a", ...written }).result, "index pushed");
});

test.run();
