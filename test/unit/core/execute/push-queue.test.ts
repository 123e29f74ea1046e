import { test } from "uvu";
import * as assert from "uvu/assert";
import { PushQueue } from "../../../../src/core/execute/push-queue.js";

const node = (id: string, ...dependsOn: string[]) => ({ id, dependsOn });

// a -> b -> c, a -> d; e independent
const dag = () => new PushQueue([node("a"), node("b", "a"), node("c", "b"), node("d", "a"), node("e")]);

test("a build without parents in the run is pushed as soon as its image is there", () => {
  const q = dag();
  assert.equal(q.add("e"), [{ id: "e", action: "push" }]);
  assert.equal(q.add("a"), [{ id: "a", action: "push" }]);
  assert.is(q.begin("a"), undefined);
  assert.is(q.result("a"), undefined);
});

test("a child's push waits until its parent's push ended pushed", () => {
  const q = dag();
  q.add("a");
  assert.equal(q.add("b"), []);
  assert.equal(q.add("d"), []);
  assert.equal(q.end("a", "pushed"), [{ id: "b", action: "push" }, { id: "d", action: "push" }]);
  assert.is(q.result("a"), "pushed");
  // b's push already ended: c goes at once
  q.end("b", "pushed");
  assert.equal(q.add("c"), [{ id: "c", action: "push" }]);
});

test("a build with several parents waits for all of their pushes", () => {
  const q = new PushQueue([node("p1"), node("p2"), node("child", "p1", "p2")]);
  q.add("p1");
  q.add("p2");
  assert.equal(q.add("child"), []);
  assert.equal(q.end("p2", "pushed"), []);
  assert.equal(q.end("p1", "pushed"), [{ id: "child", action: "push" }]);
});

test("a parent not pushed: its children are not pushed, and theirs neither, each naming its parent", () => {
  const q = dag();
  q.add("a");
  q.add("b");
  q.add("d");
  q.add("c");
  assert.equal(q.end("a", "push failed"), [
    { id: "b", action: "not pushed", reason: "not pushed: parent a was not pushed" },
    { id: "d", action: "not pushed", reason: "not pushed: parent a was not pushed" },
    // after its siblings: released in rounds
    { id: "c", action: "not pushed", reason: "not pushed: parent b was not pushed" },
  ]);
  assert.equal(["a", "b", "c", "d"].map((id) => q.result(id)), ["push failed", "not pushed", "not pushed", "not pushed"]);
  // the first parent not pushed, in the order of dependsOn
  const two = new PushQueue([node("p1"), node("p2"), node("child", "p1", "p2")]);
  two.add("p1");
  two.add("p2");
  two.add("child");
  two.end("p2", "not pushed");
  assert.equal(two.end("p1", "push failed"), [{ id: "child", action: "not pushed", reason: "not pushed: parent p1 was not pushed" }]);
});

test("a stopped run: what waits for its turn is not pushed, saying why, whatever the parents did", () => {
  const q = dag();
  q.add("a");
  q.add("b");
  q.stop("interrupted");
  q.stop("a failed (--fail-fast)");
  assert.is(q.begin("a"), "not pushed: interrupted");
  // the parent's push failed, but the reason given is the run's
  assert.equal(q.end("a", "not pushed"), [{ id: "b", action: "push" }]);
  assert.is(q.begin("b"), "not pushed: interrupted");
  q.end("b", "not pushed");
  assert.is(q.result("b"), "not pushed");
});

test("a reused build whose build tag is published: only its moving tag is checked, and children wait for that", () => {
  const q = dag();
  assert.equal(q.add("a", true), [{ id: "a", action: "check moving tag" }]);
  assert.equal(q.add("b", true), []);
  assert.equal(q.end("a", "pushed"), [{ id: "b", action: "check moving tag" }]);
});

test("results are per build; a build is queued once and ends once", () => {
  const q = dag();
  q.add("e");
  assert.throws(() => q.add("e"), /already/);
  q.end("e", "pushed");
  assert.throws(() => q.end("e", "pushed"), /ended already/);
  assert.throws(() => q.add("x"), /unknown build x/);
  q.add("a");
  q.add("b");
  assert.throws(() => q.end("b", "pushed"), /has not started/);
  assert.is(q.result("a"), undefined);
});

test("a parent whose build tag holds another run's image: its children are not pushed, saying so", () => {
  const q = dag();
  q.add("a");
  q.add("b");
  assert.equal(q.end("a", "superseded"), [{
    id: "b", action: "not pushed",
    reason: "not pushed: built on parent a's image of this run, but the registry's build tag of a holds another run's (a rerun takes that one)",
  }]);
});

test.run();
