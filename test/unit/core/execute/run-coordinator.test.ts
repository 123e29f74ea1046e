import { test } from "uvu";
import * as assert from "uvu/assert";
import { RunCoordinator, type RunAction, type RunCoordinatorOptions } from "../../../../src/core/execute/run-coordinator.js";

const REPO = "reg.example:5000/ci";
const build = (id: string, ...dependsOn: string[]) => ({ id, dependsOn, request: { tags: [`${REPO}/sci/${id}:1.0`, `${REPO}/sci/${id}:1.0-1-abc`] } });
const moving = (id: string) => `${REPO}/sci/${id}:1.0`;

// a -> b -> c, a -> d; e independent
const dag = () => [build("a"), build("b", "a"), build("c", "b"), build("d", "a"), build("e")];
const coordinator = (opts: Partial<RunCoordinatorOptions> = {}, builds = dag()) =>
  new RunCoordinator(builds, { jobs: 4, push: false, failFast: false, ...opts });

const started = (actions: RunAction[]) => actions.flatMap((a) => (a.type === "build" ? [a.id] : []));
const pushed = (actions: RunAction[]) => actions.flatMap((a) => (a.type === "push" ? [a.step] : []));
const of = <T extends RunAction["type"]>(actions: RunAction[], type: T) => actions.filter((a): a is Extract<RunAction, { type: T }> => a.type === type);

test("parents build before children, at most `jobs` at once, in plan order", () => {
  const run = coordinator({ jobs: 1 });
  assert.equal(started(run.next()), ["a"]);
  assert.equal(run.next(), [], "the one slot is taken");
  assert.equal(run.imageReady({ id: "a", imageId: "sha256:a" }), []);
  assert.equal(started(run.next()), ["b"]);
  run.imageReady({ id: "b", imageId: "sha256:b" });
  assert.equal(started(run.next()), ["c"]);
  run.imageReady({ id: "c", imageId: "sha256:c" });
  assert.equal(started(run.next()), ["d"]);
  run.imageReady({ id: "d", imageId: "sha256:d" });
  assert.equal(started(run.next()), ["e"]);
  run.imageReady({ id: "e", imageId: "sha256:e" });
  assert.equal(run.next(), [{ type: "finished" }]);
});

test("with more jobs, independent builds start together and children as their parents are built", () => {
  const run = coordinator({ jobs: 2 });
  assert.equal(started(run.next()), ["a", "e"]);
  run.imageReady({ id: "e", imageId: "sha256:e" });
  assert.equal(started(run.next()), [], "b and d wait for a");
  run.imageReady({ id: "a", imageId: "sha256:a" });
  assert.equal(started(run.next()), ["b", "d"]);
  assert.equal(started(run.next()), []);
});

test("a child gets its parent's image id among the pins, with the bases found before the run", () => {
  const run = coordinator();
  run.pinBases({ "python:3.11": "sha256:py" });
  run.next();
  run.imageReady({ id: "a", imageId: "sha256:aaa" });
  const [b] = of(run.next(), "build").filter((a) => a.id === "b");
  assert.equal(b.pins, { "python:3.11": "sha256:py", [moving("a")]: "sha256:aaa" });
});

test("builds for named platforms: each child is pinned to its own platform's parent image", () => {
  const onPlatform = (id: string, platform: string, ...dependsOn: string[]) => ({
    id: `${id}@${platform}`, dependsOn: dependsOn.map((d) => `${d}@${platform}`),
    request: { platform, tags: [`${REPO}/sci/${id}:1.0-${platform.replace("/", "-")}`, `${REPO}/sci/${id}:1.0-1-abc-${platform.replace("/", "-")}`] },
  });
  const run = coordinator({}, [onPlatform("a", "linux/amd64"), onPlatform("a", "linux/arm64"), onPlatform("b", "linux/arm64", "a")]);
  run.next();
  run.imageReady({ id: "a@linux/amd64", imageId: "sha256:amd" });
  run.imageReady({ id: "a@linux/arm64", imageId: "sha256:arm" });
  const [b] = of(run.next(), "build");
  // Both under the reference the child's FROM names, told apart by platform (pinParents picks its own).
  assert.equal(b.pins, { [`${moving("a")}@linux/amd64`]: "sha256:amd", [`${moving("a")}@linux/arm64`]: "sha256:arm" });
});

test("a failure skips what depends on it, directly or not, and the rest goes on", () => {
  const run = coordinator();
  run.next();
  run.imageReady({ id: "a", imageId: "sha256:a" });
  assert.equal(started(run.next()), ["b", "d"]);
  assert.equal(run.buildFailed("b"), [{ type: "settle", id: "c", state: "skipped", reason: "parent b failed" }]);
  run.imageReady({ id: "d", imageId: "sha256:d" });
  run.imageReady({ id: "e", imageId: "sha256:e" });
  assert.equal(run.next(), [{ type: "finished" }]);
  assert.is(run.stopped, undefined);
});

test("an ancestor's failure names the ancestor", () => {
  const run = coordinator();
  run.next();
  const settled = of(run.buildFailed("a"), "settle");
  assert.equal(settled.map((s) => [s.id, s.reason]), [["b", "parent a failed"], ["c", "ancestor a failed"], ["d", "parent a failed"]]);
});

test("--fail-fast: a failure cancels the pending builds and aborts those in flight, with the reason", () => {
  const run = coordinator({ failFast: true, jobs: 2 });
  run.next(); // a, e
  run.imageReady({ id: "a", imageId: "sha256:a" });
  assert.equal(started(run.next()), ["b"]);
  const reason = "b failed (--fail-fast)";
  assert.equal(run.buildFailed("b"), [
    { type: "settle", id: "c", state: "skipped", reason: "parent b failed" },
    { type: "settle", id: "d", state: "cancelled", reason },
    { type: "abort build", id: "e", reason },
  ]);
  assert.is(run.stopped, reason);
  assert.equal(run.next(), [], "nothing starts; e is still in flight");
  assert.equal(run.buildAborted("e"), [{ type: "cancelled", id: "e", reason }]);
  assert.equal(run.next(), [{ type: "finished" }]);
  assert.is(run.interrupted, false);
});

test("--fail-fast: a failed push stops the run; pushes held back are not pushed, with the reason", () => {
  const run = coordinator({ failFast: true, push: true, jobs: 1 });
  run.next();
  const [pushA] = pushed(run.imageReady({ id: "a", imageId: "sha256:a" }));
  assert.equal(pushA, { id: "a", action: "push" });
  run.next(); // b
  assert.equal(pushed(run.imageReady({ id: "b", imageId: "sha256:b" })), [], "b's push waits for a's");
  run.next(); // c
  const reason = "push of a failed (--fail-fast)";
  const actions = run.pushEnded(pushA, "push failed");
  assert.equal(of(actions, "settle").map((s) => [s.id, s.state, s.reason]), [["d", "cancelled", reason], ["e", "cancelled", reason]]);
  assert.equal(of(actions, "abort build"), [{ type: "abort build", id: "c", reason }]);
  // b is released, and told when it begins that the run stopped.
  assert.equal(pushed(actions), [{ id: "b", action: "push" }]);
  assert.is(run.pushBegins("b"), `not pushed: ${reason}`);
  assert.is(run.pushResult("a"), "push failed");
});

test("without --fail-fast a failed push only holds back the children's pushes", () => {
  const run = coordinator({ push: true });
  run.next();
  const [pushA] = pushed(run.imageReady({ id: "a", imageId: "sha256:a" }));
  run.next();
  assert.equal(pushed(run.imageReady({ id: "b", imageId: "sha256:b" })), []);
  assert.equal(run.pushEnded(pushA, "push failed"), [
    { type: "push", step: { id: "b", action: "not pushed", reason: "not pushed: parent a was not pushed" }, registryDigest: undefined },
  ]);
  assert.is(run.pushResult("b"), "not pushed");
  assert.is(run.stopped, undefined);
});

test("a child's push waits for its parents' pushes", () => {
  const run = coordinator({ push: true, jobs: 1 });
  run.next();
  const [pushA] = pushed(run.imageReady({ id: "a", imageId: "sha256:a" }));
  run.next();
  assert.equal(pushed(run.imageReady({ id: "b", imageId: "sha256:b" })), []);
  assert.equal(pushed(run.pushEnded(pushA, "pushed")), [{ id: "b", action: "push" }]);
  assert.is(run.pushBegins("b"), undefined);
});

test("a reused build the registry has: its moving tag is checked, with the registry's digest", () => {
  const run = coordinator({ push: true });
  run.next();
  assert.equal(run.imageReady({ id: "a", imageId: "sha256:a", reused: { push: false, registryDigest: "sha256:reg" } }), [
    { type: "push", step: { id: "a", action: "check moving tag" }, registryDigest: "sha256:reg" },
  ]);
  run.imageReady({ id: "e", imageId: "sha256:e", reused: { push: true } });
});

test("without --push nothing is pushed", () => {
  const run = coordinator();
  run.next();
  assert.equal(run.imageReady({ id: "a", imageId: "sha256:a" }), []);
  assert.is(run.pushResult("a"), undefined);
});

test("interrupt: builds in flight are aborted, pending ones cancelled, pushes stopped", () => {
  const run = coordinator({ push: true, jobs: 3 });
  run.next(); // a, e
  const [pushA] = pushed(run.imageReady({ id: "a", imageId: "sha256:a" }));
  run.next(); // b, d
  assert.equal(run.interrupt(), [
    { type: "settle", id: "c", state: "cancelled", reason: "interrupted" },
    { type: "abort build", id: "e", reason: "interrupted" },
    { type: "abort build", id: "b", reason: "interrupted" },
    { type: "abort build", id: "d", reason: "interrupted" },
    { type: "abort pushes", reason: "interrupted" },
  ]);
  assert.is(run.interrupted, true);
  assert.is(run.stopped, "interrupted");
  assert.equal(run.buildAborted("b"), [{ type: "cancelled", id: "b", reason: "interrupted" }]);
  // a build that got its image all the same: its push is told the run stopped
  assert.equal(pushed(run.imageReady({ id: "d", imageId: "sha256:d" })), []);
  assert.is(run.pushBegins("a"), "not pushed: interrupted");
  run.pushEnded(pushA, "not pushed");
  run.buildAborted("e");
  assert.equal(run.next(), [{ type: "finished" }]);
});

test("interrupt before any build: every build is cancelled and the run is finished", () => {
  const run = coordinator();
  const actions = run.interrupt();
  assert.equal(of(actions, "settle").map((s) => s.id), ["a", "b", "c", "d", "e"]);
  assert.equal(run.next(), [{ type: "finished" }]);
});

test("interrupt after --fail-fast stopped the run: pushes are stopped, nothing is cancelled twice", () => {
  const run = coordinator({ failFast: true });
  run.next();
  run.buildFailed("a");
  assert.equal(run.interrupt(), [{ type: "abort pushes", reason: "interrupted" }]);
  assert.is(run.stopped, "a failed (--fail-fast)");
  assert.is(run.interrupted, true);
});

test("jobs below 1 mean 1; a plan that can't run is refused", () => {
  assert.equal(started(coordinator({ jobs: 0 }).next()), ["a"]);
  assert.throws(() => coordinator({}, [build("x", "y")]), /depends on y/);
});

test("a layer's index step comes once every platform image of it is pushed; a platform not pushed gives none; a part of the layer's platforms, none", () => {
  const platforms = [build("a@linux/amd64"), build("a@linux/arm64")];
  const layer = { id: "a", buildTag: `${REPO}/sci/a:1.0-1-abc`, movingTag: moving("a"), members: [{ platform: "linux/amd64", id: "a@linux/amd64" }, { platform: "linux/arm64", id: "a@linux/arm64" }] };
  const run = coordinator({ push: true }, platforms);
  run.publishIndexes([layer]);
  run.next();
  const [amd] = pushed(run.imageReady({ id: "a@linux/amd64", imageId: "sha256:1" }));
  const [arm] = pushed(run.imageReady({ id: "a@linux/arm64", imageId: "sha256:2" }));
  assert.equal(of(run.pushEnded(amd, "pushed"), "index"), [], "the arm64 image is not pushed yet");
  assert.equal(of(run.pushEnded(arm, "pushed"), "index"), [{ type: "index", layer }]);

  const failed = coordinator({ push: true }, platforms);
  failed.publishIndexes([layer]);
  failed.next();
  const [amd2] = pushed(failed.imageReady({ id: "a@linux/amd64", imageId: "sha256:1" }));
  const [arm2] = pushed(failed.imageReady({ id: "a@linux/arm64", imageId: "sha256:2" }));
  failed.pushEnded(amd2, "pushed");
  assert.equal(of(failed.pushEnded(arm2, "push failed"), "index"), []);

  const part = coordinator({ push: true }, [build("a@linux/arm64")]);
  part.publishIndexes([layer]);
  assert.equal(part.indexLayers, [], "a run of one platform of the layer leaves its index to merge-platforms");
  const notPushing = coordinator({ push: false }, platforms);
  notPushing.publishIndexes([layer]);
  assert.equal(notPushing.indexLayers, []);
});

test("a layer's index waits for the indexes of the layers it builds on: written, it is written; not written (refused, or a platform not pushed), it is withheld, and so are its children's", () => {
  // a -> b -> c, one-platform indexes (as with attestations)
  const builds = [build("a"), build("b", "a"), build("c", "b")];
  const layerOf = (id: string) => ({ id, buildTag: `${REPO}/sci/${id}:1.0-1-abc`, movingTag: moving(id), members: [{ platform: "linux/amd64", id }] });
  const [a, b, c] = ["a", "b", "c"].map(layerOf);
  /** Every image ready, then every push ended as `results` says (a child's push starts once its parent's ended): the index actions on the way. */
  const drive = (results: Record<string, "pushed" | "push failed">, written: Record<string, boolean>, layers = [a, b, c]) => {
    const run = coordinator({ push: true }, builds);
    run.publishIndexes(layers);
    const actions: RunAction[] = [];
    const steps = [];
    run.next();
    for (const id of ["a", "b", "c"]) {
      steps.push(...pushed(run.imageReady({ id, imageId: `sha256:${id}` })));
      run.next();
    }
    const seen: string[] = [];
    while (steps.length) {
      const step = steps.shift()!;
      const after = run.pushEnded(step, results[step.id] ?? "pushed");
      steps.push(...pushed(after));
      actions.push(...after);
      // each index step ends as `written` says, which may give the next ones
      for (let i = 0; i < actions.length; i++) {
        const x = actions[i];
        if (x.type === "index" && !seen.includes(x.layer.id)) {
          seen.push(x.layer.id);
          actions.push(...run.indexEnded(x.layer.id, written[x.layer.id] ?? true));
        }
      }
    }
    return actions.filter((x) => x.type.startsWith("index")).map((x) => (x.type === "index" ? `index ${x.layer.id}` : `withheld ${(x as { layer: { id: string } }).layer.id}: ${(x as { reason: string }).reason}`));
  };
  assert.equal(drive({}, {}), ["index a", "index b", "index c"]);
  // a's index refused (its build tag holds another build's): b's and c's withheld, each naming the one it builds on
  assert.equal(drive({}, { a: false }), [
    "index a",
    `withheld b: index not written: the index of a, which it builds on, was not; ${b.buildTag} and ${b.movingTag} are left as they were`,
    `withheld c: index not written: the index of b, which it builds on, was not; ${c.buildTag} and ${c.movingTag} are left as they were`,
  ]);
  // the layers listed children first (a per-platform parent's order): the same
  assert.equal(drive({}, { a: false }, [c, b, a]).map((x) => x.split(":")[0]), ["index a", "withheld b", "withheld c"]);
  assert.equal(drive({}, {}, [c, b, a]), ["index a", "index b", "index c"]);
  // b's image not pushed: a's index written; b gets none, nor c, whose image is not pushed either
  assert.equal(drive({ b: "push failed" }, {}), ["index a"]);
});

test.run();
