import { test } from "uvu";
import * as assert from "uvu/assert";
import { reportStatus, runPushed, timeline, touchedByChange } from "../../../../../src/core/report/html/report-model.js";
import type { BuildResult, Plan } from "../../../../../src/core/model.js";
import { resultsFile } from "../../../../../src/core/report/results.js";
import { GIT, makePlan, RAW } from "../../../../helpers/small-plan.js";
import { planBuilds } from "../../../../../src/core/plan/plan-builds.js";
import { readLayers } from "../../../../../src/core/parse/layer-config.js";

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

test("status: the results' own; a built or reused image a push left out is `not pushed`; no result is `planned`", () => {
  assert.is(reportStatus(undefined), "planned");
  assert.is(reportStatus({ id: "a", status: "built", durationMs: 1, pushed: false }), "built");
  assert.is(reportStatus({ id: "a", status: "built", durationMs: 1, pushed: false, tags: [{ tag: "x:1", pushed: false }] }), "not pushed");
  assert.is(reportStatus({ id: "a", status: "reused", durationMs: 1, pushed: false, tags: [{ tag: "x:1", pushed: true }, { tag: "x:1-2-h", pushed: false }] }), "not pushed");
  assert.is(reportStatus({ id: "a", status: "reused", durationMs: 1, pushed: true, tags: [] }), "reused");
  assert.is(reportStatus({ id: "a", status: "failed", durationMs: 1, pushed: false }), "failed");
});

test("status in a run that pushed: an image held back (parent not pushed, no tags) is `not pushed`, one whose build tag holds another run's image `superseded`, never `built`", () => {
  const pushedA: BuildResult = { id: "sci/a", status: "built", durationMs: 1, pushed: true, tags: [{ tag: "r/sci/a:1.0-1-h", pushed: true, digest: "sha256:a" }] };
  const heldBack: BuildResult = { id: "sci/b", status: "built", durationMs: 1, pushed: false, reason: "not pushed: parent sci/a was not pushed" };
  const reusedHeldBack: BuildResult = { id: "rel/a:1.0", status: "reused", durationMs: 1, pushed: false, reason: "not pushed: parent sci/a was not pushed" };
  const superseded: BuildResult = {
    id: "sci/a", status: "built", durationMs: 1, pushed: false, reason: "not published: another run of this commit pushed r/sci/a:1.0-1-h too",
    tags: [{ tag: "r/sci/a:1.0-1-h", pushed: false, registryDigest: "sha256:other" }, { tag: "r/sci/a:1.0", pushed: false }],
  };
  const run = (...results: BuildResult[]) => resultsFile(makePlan({ science: ["a"] }), results);
  // Every image of the run held back, none with tags: the reasons say the run pushed.
  assert.ok(runPushed(run(heldBack, reusedHeldBack)));
  assert.ok(runPushed(run(pushedA, { ...heldBack, reason: undefined })));
  assert.not.ok(runPushed(run({ ...heldBack, reason: undefined })));
  assert.not.ok(runPushed(undefined));
  assert.is(reportStatus(heldBack, true), "not pushed");
  assert.is(reportStatus(reusedHeldBack, true), "not pushed");
  assert.is(reportStatus(superseded, true), "superseded");
  assert.is(reportStatus(superseded), "superseded");
  // Without --push, an image not pushed is simply built.
  assert.is(reportStatus({ ...heldBack, reason: undefined }, false), "built");
});

test("changed: a build whose own layer changed, not one only rebuilt for what is below it", () => {
  const plan = makePlan({ science: ["a"] });
  const touched = Object.fromEntries(plan.builds.map((b) => [b.id, touchedByChange(b)]));
  assert.equal(touched, { "sci/a": true, "sci/b": false, "rel/a:1.0": false, "rel/b:1.0": false });
  // --all plans every layer, with --ignore too: none of them is changed for it (planned as the planner does).
  for (const ignore of [false, true]) {
    const all = planBuilds(readLayers(RAW), {
      repo: "127.0.0.1:5055/x", git: GIT, buildTime: 1, buildArgs: {}, changes: { all: !ignore, science: ignore ? ["a", "b"] : [], compat: ignore ? ["base"] : [], why: "--all" },
    });
    assert.ok(all.builds.length >= 4);
    assert.equal(all.builds.filter(touchedByChange).map((b) => b.id), [], JSON.stringify(all.builds.map((b) => b.reasons)));
  }
  // A compat build rebuilt because a science layer it copies from is: not changed either.
  assert.not.ok(touchedByChange({ ...plan.builds[0], reasons: ["science layer sci/p rebuilt (compat c copies from it)"] }));
});

function timedRun(plan: Plan, times: Record<string, [number, number, number?, number?]>): ReturnType<typeof timeline> {
  const results: BuildResult[] = plan.builds.map((b) => {
    const [s, e, ps, pe] = times[b.id];
    return { id: b.id, status: "built", durationMs: (e - s) * 1000, pushed: true, startedAt: at(s), finishedAt: at(e),
      ...(ps !== undefined && { pushStartedAt: at(ps), pushFinishedAt: at(pe!) }) };
  });
  return timeline(plan, resultsFile(plan, results, 2));
}

test("timeline: times from the first start, a wait for a slot as queue, slots never shared at once, the critical path", () => {
  // a <- b, c alone; compat builds rel/a, rel/b, rel/c. Two slots: rel/c waits for one.
  const plan = makePlan({ science: ["a", "c"] });
  const t = timedRun(plan, {
    "sci/a": [10, 20, 20, 22], "sci/c": [10, 12], "sci/b": [20, 30, 30, 31], "rel/a:1.0": [20, 25], "rel/b:1.0": [30, 40, 40, 45], "rel/c:1.0": [25, 27],
  })!;
  assert.is(t.startedAt, at(10));
  assert.is(t.totalMs, 35_000);
  const bar = (id: string) => t.bars.find((b) => b.id === id)!;
  assert.equal([bar("sci/b").ready, bar("sci/b").start, bar("sci/b").pushStart, bar("sci/b").pushEnd], [10_000, 10_000, 20_000, 21_000]);
  // rel/c could start when sci/c ended (2 s) but got a slot at 15 s.
  assert.equal([bar("rel/c:1.0").ready, bar("rel/c:1.0").start], [2_000, 15_000]);
  assert.is(t.slots, 2);
  assert.is(t.jobs, 2);
  for (const x of t.bars) for (const y of t.bars) {
    if (x !== y && x.slot === y.slot) assert.ok(x.end <= y.start || y.end <= x.start, `${x.id} and ${y.id} share slot ${x.slot}`);
  }
  assert.equal(t.criticalPath, ["sci/a", "sci/b", "rel/b:1.0"]);
  assert.equal(t.bars.filter((b) => b.critical).map((b) => b.id).sort(), ["rel/b:1.0", "sci/a", "sci/b"]);
});

test("timeline: none for a plan, nor for results without times (written before they were recorded)", () => {
  const plan = makePlan({ science: ["a"] });
  assert.is(timeline(plan, undefined), undefined);
  assert.is(timeline(plan, resultsFile(plan, plan.builds.map((b) => ({ id: b.id, status: "built", durationMs: 5, pushed: false })))), undefined);
});

test.run();
