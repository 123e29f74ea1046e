// Build output split into lines: line ends of every kind across chunk boundaries, linear work and
// a bounded line however long the output's line is.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { HELD_LINE, LineSplitter, SHOWN_LINE, shownLine } from "../../../../src/executors/docker/output-lines.js";

function split(chunks: string[], keep?: number): [string, number][] {
  const lines: [string, number][] = [];
  const s = new LineSplitter((line, cut) => lines.push([line, cut]), keep);
  for (const c of chunks) s.write(c);
  s.flush();
  return lines;
}

test("\\n, \\r\\n and \\r end lines, also when split between chunks; an unfinished line ends with flush", () => {
  const whole = ["a\nb\r\nc\rd\n\ne"];
  const expected = [["a", 0], ["b", 0], ["c", 0], ["d", 0], ["", 0], ["e", 0]];
  assert.equal(split(whole), expected);
  assert.equal(split(["a\nb\r", "\nc\r", "d\n", "\ne"]), expected);
  assert.equal(split(["a", "\n", "b", "\r", "\n", "c", "\r", "d", "\n", "\n", "e"]), expected);
  assert.equal(split([]), []);
  assert.equal(split(["x\n"]), [["x", 0]]);
});

test("a long line is held up to `keep` characters and the rest counted; what is held stays bounded", () => {
  assert.equal(split(["abc", "defg", "h\nij"], 5), [["abcde", 3], ["ij", 0]]);
  const lines: [string, number][] = [];
  const s = new LineSplitter((line, cut) => lines.push([line, cut]));
  const chunk = "y".repeat(32 * 1024);
  let most = 0;
  for (let i = 0; i < 2048; i++) {
    s.write(chunk);
    most = Math.max(most, s.pending);
  }
  s.write("\n");
  assert.is(most, HELD_LINE);
  assert.is(lines.length, 1);
  assert.is(lines[0][0].length, HELD_LINE);
  assert.is(lines[0][1], 2048 * chunk.length - HELD_LINE);
});

test("a line is shown up to SHOWN_LINE characters, saying how many more there were", () => {
  assert.is(shownLine("short"), "short");
  assert.is(shownLine("z".repeat(SHOWN_LINE)), "z".repeat(SHOWN_LINE));
  assert.is(shownLine("z".repeat(SHOWN_LINE + 10), 90), `${"z".repeat(SHOWN_LINE)} [… line cut: 100 more characters]`);
});

test.run();
