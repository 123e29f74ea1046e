import { test } from "uvu";
import * as assert from "uvu/assert";
import { Schedule } from "../../../../src/core/execute/schedule.js";

const node = (id: string, ...dependsOn: string[]) => ({ id, dependsOn });

// a -> b -> c, a -> d; e independent
const dag = () => new Schedule([node("a"), node("b", "a"), node("c", "b"), node("d", "a"), node("e")]);

test("only builds whose parents are built are ready, in plan order, up to the limit", () => {
  const s = dag();
  assert.equal(s.ready(10), ["a", "e"]);
  assert.equal(s.ready(1), ["a"]);
  s.start("a");
  assert.equal(s.ready(10), ["e"]);
  s.succeed("a");
  assert.equal(s.ready(10), ["b", "d", "e"]);
  assert.equal(s.ready(0), []);
});

test("a build with several parents waits for all of them", () => {
  const s = new Schedule([node("p1"), node("p2"), node("child", "p1", "p2")]);
  s.start("p1");
  s.succeed("p1");
  assert.equal(s.ready(10), ["p2"]);
  s.start("p2");
  s.succeed("p2");
  assert.equal(s.ready(10), ["child"]);
});

test("a failure skips everything below it, transitively, and nothing else", () => {
  const s = dag();
  s.start("a");
  s.start("e");
  const skipped = s.fail("a");
  assert.equal(skipped, [
    { id: "b", state: "skipped", reason: "parent a failed" },
    { id: "c", state: "skipped", reason: "ancestor a failed" },
    { id: "d", state: "skipped", reason: "parent a failed" },
  ]);
  assert.is(s.state("a"), "failed");
  assert.is(s.state("e"), "running");
  assert.not.ok(s.done());
  s.succeed("e");
  assert.ok(s.done());
});

test("a diamond is skipped once", () => {
  const s = new Schedule([node("a"), node("l", "a"), node("r", "a"), node("j", "l", "r")]);
  s.start("a");
  assert.equal(s.fail("a").map((x) => x.id), ["l", "j", "r"]);
});

test("cancelPending stops the rest; running builds are cancelled separately", () => {
  const s = dag();
  s.start("a");
  s.start("e");
  assert.equal(s.cancelPending("stop").map((x) => x.id), ["b", "c", "d"]);
  assert.is(s.state("a"), "running");
  s.cancel("a");
  s.succeed("e");
  assert.ok(s.done());
  assert.is(s.state("a"), "cancelled");
  assert.equal(s.ready(10), []);
});

test("invalid plans are refused up front", () => {
  assert.throws(() => new Schedule([node("a", "ghost")]), /depends on ghost, which is not in the plan/);
  assert.throws(() => new Schedule([node("a"), node("a")]), /two builds with id a/);
  assert.throws(() => new Schedule([node("a", "c"), node("b", "a"), node("c", "b")]), /dependency cycle: a -> c -> b -> a/);
  assert.throws(() => new Schedule([node("a", "a")]), /cycle: a -> a/);
});

test("state transitions are checked", () => {
  const s = dag();
  assert.throws(() => s.succeed("a"), /a is pending, expected running/);
  s.start("a");
  assert.throws(() => s.start("a"), /a is running, expected pending/);
  assert.throws(() => s.state("nope"), /unknown build nope/);
});

test("an empty plan is done at once", () => {
  const s = new Schedule([]);
  assert.ok(s.done());
  assert.equal(s.ready(4), []);
});

test.run();
