// Which commits a clone has, by the abbreviations build names carry.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fullCommits, unreachableCommits } from "../../../../src/core/plan/reachable-commits.js";

const a = "3f2a9c1".padEnd(40, "a");
const b = "0c1d2e3".padEnd(40, "b");
const twin = "0c1d2e3".padEnd(40, "c");

test("an abbreviation a commit of the history begins with names it in full; one two commits share names neither, yet is reached", () => {
  assert.equal(fullCommits([a, b], ["3f2a9c1", "0c1d2e3", "deadbee", a]), new Map([["3f2a9c1", a], ["0c1d2e3", b], [a, a]]));
  assert.equal(fullCommits([a, b, twin], ["0c1d2e3", "3f2a9c1"]), new Map([["3f2a9c1", a]]));
  assert.equal(unreachableCommits([a, b, twin], ["0c1d2e3", "3f2a9c1", "deadbee"]), new Set(["deadbee"]));
  assert.equal(fullCommits([], ["3f2a9c1"]), new Map());
});

test.run();
