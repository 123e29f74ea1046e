// Output paths (--out, --results, --log-dir) are checked before any work, truthfully, creating nothing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tempDir } from "../../helpers/temp.js";
import { chmodSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkOutputDir, checkOutputFile, writingOutputFile } from "../../../src/cli/output-paths.js";
import { InputError } from "../../../src/core/model.js";

function refusal(check: () => void): string {
  try {
    check();
  } catch (e) {
    assert.instance(e, InputError);
    return (e as Error).message;
  }
  return assert.unreachable("expected the path to be refused") as never;
}

test("paths nothing can be created under are refused, naming the flag, even for root (/proc)", () => {
  // root may write everywhere as far as access(2) is concerned, but /proc takes no new files
  assert.is(refusal(() => checkOutputDir("--log-dir", "/proc/ib-nowhere/logs")), "--log-dir /proc/ib-nowhere/logs: cannot create /proc/ib-nowhere (ENOENT)");
  assert.match(refusal(() => checkOutputDir("--log-dir", "/proc")), /^--log-dir \/proc: cannot create files in it \(E[A-Z]+\)$/);
  assert.is(refusal(() => checkOutputFile("--results", "/proc/ib-nowhere.json")), "--results /proc/ib-nowhere.json: cannot create it (ENOENT)");
  assert.is(refusal(() => checkOutputFile("--out", "/proc/ib-nowhere/plan.json")), "--out /proc/ib-nowhere/plan.json: cannot create /proc/ib-nowhere (ENOENT)");
});

test("writable paths pass and nothing is left behind; files and directories in the way are named", () => {
  using dir = tempDir("ib-out-");
  writeFileSync(join(dir.path, "file"), "keep");
  checkOutputDir("--log-dir", join(dir.path, "a", "b", "c"));
  checkOutputDir("--log-dir", dir.path);
  checkOutputFile("--results", join(dir.path, "x", "results.json"));
  checkOutputFile("--results", join(dir.path, "results.json"));
  checkOutputFile("--results", join(dir.path, "file"));
  assert.equal(readdirSync(dir.path), ["file"]);
  assert.is(refusal(() => checkOutputDir("--log-dir", join(dir.path, "file"))), `--log-dir ${join(dir.path, "file")}: is not a directory`);
  assert.is(refusal(() => checkOutputDir("--log-dir", join(dir.path, "file", "logs"))), `--log-dir ${join(dir.path, "file", "logs")}: a parent is not a directory`);
  assert.is(refusal(() => checkOutputFile("--results", dir.path)), `--results ${dir.path}: is a directory`);
  assert.is(refusal(() => checkOutputFile("--out", join(dir.path, "file", "plan.json"))), `--out ${join(dir.path, "file", "plan.json")}: a parent is not a directory`);
  if (process.getuid?.() !== 0) {
    chmodSync(dir.path, 0o500);
    assert.match(refusal(() => checkOutputDir("--log-dir", join(dir.path, "logs"))), /cannot create .*logs \(EACCES\)$/);
    chmodSync(dir.path, 0o700);
  }
  assert.ok(existsSync(join(dir.path, "file")));
});

test("an output file is written once its directories are made; a write that fails on the path names it", async () => {
  using dir = tempDir("ib-out-");
  const file = join(dir.path, "a", "b", "x.tar");
  assert.is(await writingOutputFile("--out", file, async () => (writeFileSync(file, "x"), 1)), 1);
  assert.ok(existsSync(file));
  try {
    await writingOutputFile("--out", file, () => Promise.reject(Object.assign(new Error("EACCES: permission denied, open '/x/.tmp'"), { code: "EACCES" })));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, InputError);
    assert.is((e as Error).message, `--out ${file}: cannot write (EACCES)`);
  }
  // anything else (the registry's errors) is not about the path
  const other = new Error("registry down");
  try {
    await writingOutputFile("--out", file, () => Promise.reject(other));
    assert.unreachable();
  } catch (e) {
    assert.is(e, other);
  }
});

test.run();
