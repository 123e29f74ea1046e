// Output paths (--out, --results, --log-dir) are checked before any work, truthfully, creating nothing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tempDir } from "../../helpers/temp.js";
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync, spawnSync } from "node:child_process";
import { openSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { checkOutputDir, checkOutputFile, writeWhole, writingOutputFile } from "../../../src/cli/output-paths.js";
import { writeFreshFile } from "../../../src/files.js";
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

test("an output file is replaced whole: its mode kept, a link's file replaced and the link kept, a device written as it is; nothing left beside it", async () => {
  using dir = tempDir("ib-out-whole-");
  const file = join(dir.path, "results.json");
  writeFileSync(file, "old");
  chmodSync(file, 0o664);
  await writeWhole(file, "new");
  assert.is(readFileSync(file, "utf8"), "new");
  assert.is(statSync(file).mode & 0o777, 0o664, "its mode, not the umask's");
  // A dangling link: the file it names is made, the link stays.
  const dangling = join(dir.path, "dangling.json");
  symlinkSync(join(dir.path, "made.json"), dangling);
  await writeWhole(dangling, "made");
  assert.ok(lstatSync(dangling).isSymbolicLink());
  assert.is(readFileSync(join(dir.path, "made.json"), "utf8"), "made");
  const link = join(dir.path, "link.json");
  symlinkSync(file, link);
  await writeWhole(link, "through the link");
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.is(readlinkSync(link), file);
  assert.is(readFileSync(file, "utf8"), "through the link");
  // A device is written as it is (a FIFO too: --results /dev/stdout in a pipeline).
  await writeWhole("/dev/null", "to a device");
  assert.equal(readdirSync(dir.path).sort(), ["dangling.json", "link.json", "made.json", "results.json"]);
  // A process's own descriptor (a shell's `>> log`) is written as it is, not replaced.
  const log = join(dir.path, "log.txt");
  writeFileSync(log, "earlier lines\n");
  const shell = spawnSync(process.execPath, ["--input-type=module", "-e", `const { writeWhole } = await import(${JSON.stringify(fileURLToPath(new URL("../../../src/cli/output-paths.js", import.meta.url)))}); await writeWhole("/dev/stdout", "results\\n");`], { stdio: ["ignore", openSync(log, "a"), "inherit"] });
  assert.is(shell.status, 0);
  assert.is(readFileSync(log, "utf8"), "earlier lines\nresults\n");
});

test("on a full disk: an earlier results file stays whole (it was left at 0 bytes), and a report page is not left cut off", async () => {
  using dir = tempDir("ib-out-full-");
  // A 64 KiB file system of its own (the suite runs as root, as the engine does).
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir.path]);
  try {
    const file = join(dir.path, "results.json");
    const earlier = `{"results": "${"x".repeat(20_000)}"}`;
    await writeWhole(file, earlier);
    writeFileSync(join(dir.path, "filler"), Buffer.alloc(36 * 1024));
    const full = await writeWhole(file, `{"results": "${"y".repeat(20_000)}"}`).then(() => undefined, (e: NodeJS.ErrnoException) => e.code);
    assert.is(full, "ENOSPC");
    assert.is(readFileSync(file, "utf8"), earlier);
    const page = join(dir.path, "index.html");
    const cut = await writeFreshFile(page, "<html>".padEnd(20_000, "y")).then(() => undefined, (e: NodeJS.ErrnoException) => e.code);
    assert.is(cut, "ENOSPC");
    assert.equal(readdirSync(dir.path).sort(), ["filler", "results.json"]);
  } finally {
    execFileSync("umount", [dir.path]);
  }
});

test.run();
