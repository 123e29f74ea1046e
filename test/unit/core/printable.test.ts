import { test } from "uvu";
import * as assert from "uvu/assert";
import { oneLine, printable } from "../../../src/core/printable.js";
import { table } from "../../../src/cli/commands/registry.js";

test("text from images is printed with what could move the cursor, end a line or reorder it escaped; the rest as it is", () => {
  assert.is(printable("1.26.4\x1b[2K"), "1.26.4\\x1b[2K");
  assert.is(printable("evil\nconda  numpy  1.26.4"), "evil\\nconda  numpy  1.26.4");
  assert.is(printable("a\tb\rc\x7f\x9bd"), "a\\tb\\rc\\x7f\\x9bd");
  assert.is(printable("abc\u202edcb"), "abc\\u202edcb");
  assert.is(printable("naïve 数 1.0~rc1+cpu"), "naïve 数 1.0~rc1+cpu");
});

test("a table's cells are escaped: a forged row or an erased line stays inside its cell", () => {
  const out = table(["TYPE", "NAME", "VERSION"], [["conda", "numpy", "1.25.0\x1b[2K"], ["conda", "x\nconda  numpy  1.26.4", "1.0"]]);
  assert.equal(out.split("\n").filter(Boolean).length, 3);
  assert.not.ok(out.includes("\x1b"));
  assert.match(out, /numpy +1\.25\.0\\x1b\[2K/);
});

test("oneLine: what could break or reorder a line escaped, backslashes as they are (messages quote values already)", () => {
  assert.is(oneLine('invalid platform "linux\\amd64"'), 'invalid platform "linux\\amd64"');
  assert.is(oneLine("--root C:\\repo: x\ny \u001b[2K \u202e"), "--root C:\\repo: x\\ny \\x1b[2K \\u202e");
});

test.run();
