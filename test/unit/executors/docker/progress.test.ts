import { lstatSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tempDir } from "../../../helpers/temp.js";
import { formatDuration, logFileName, Progress } from "../../../../src/executors/docker/progress.js";
import { SecretSet } from "../../../../src/core/report/redaction.js";

function sink() {
  let text = "";
  const stream = new Writable({ write(c, _e, done) { text += c.toString(); done(); } });
  return { stream, text: () => text };
}

const redact = (t: string) => t.split("s3cret").join("***");

test("plain: every line prefixed with the build id; partial lines joined; logs complete after close", async () => {
  const out = sink();
  using logDir = tempDir("ib-progress-");
  const p = new Progress({ out: out.stream, live: false, logDir: logDir.path, redact });
  p.begin("sci/a", ["build sci/a"]);
  p.output("sci/a", "Step 1/2 : FROM x\n ---> 12");
  p.output("sci/a", "34\nno newline at the end");
  p.line("sci/a", "token s3cret here");
  p.result("sci/a", "FAILED: boom", p.tail("sci/a"));
  await p.close();
  const text = out.text();
  assert.match(text, /^\[sci\/a\] Step 1\/2 : FROM x\n\[sci\/a\]  ---> 1234\n\[sci\/a\] no newline at the end\n/);
  assert.match(text, /\[sci\/a\] token \*\*\* here/);
  assert.match(text, /\[sci\/a\] FAILED: boom\n\[sci\/a\] \| build sci\/a\n/);
  assert.not.match(text, /s3cret/);
  const log = readFileSync(join(logDir.path, "sci_a.log"), "utf8");
  assert.is(log, "build sci/a\nStep 1/2 : FROM x\n ---> 1234\nno newline at the end\ntoken *** here\nFAILED: boom\n");
});

test("a log file's name that is a symbolic link (a checkout's `logs/sci_a.log -> ~/.bashrc`): replaced by the log, its target untouched; an earlier run's log replaced", async () => {
  using logDir = tempDir("ib-progress-");
  const victim = join(logDir.path, "victim");
  writeFileSync(victim, "keep me\n");
  symlinkSync(victim, join(logDir.path, "sci_a.log"));
  writeFileSync(join(logDir.path, "sci_b.log"), "an earlier run's log, longer than this one's\n");
  const p = new Progress({ out: sink().stream, live: false, logDir: logDir.path, redact });
  p.begin("sci/a", ["build sci/a"]);
  p.begin("sci/b", ["build sci/b"]);
  p.result("sci/a", "built");
  p.result("sci/b", "built");
  await p.close();
  assert.is(readFileSync(victim, "utf8"), "keep me\n");
  assert.ok(lstatSync(join(logDir.path, "sci_a.log")).isFile());
  assert.is(readFileSync(join(logDir.path, "sci_a.log"), "utf8"), "build sci/a\nbuilt\n");
  assert.is(readFileSync(join(logDir.path, "sci_b.log"), "utf8"), "build sci/b\nbuilt\n");
});

test("the summary and a build's result line show what they quote (a failing step's text) escaped: none can end a line or move the cursor", async () => {
  const out = sink();
  // a secret with a backslash is masked before the text is escaped (escaping doubled it, and it no longer matched)
  const masking = (t: string) => redact(t).split("hunter\\2pass").join("***");
  const p = new Progress({ out: out.stream, live: false, redact: masking });
  p.begin("sci/hx", []);
  const reason = "[2/2] RUN echo \u001b[2Kfake line \u202eevil\nforged: ok me:hunter\\2pass";
  p.result("sci/hx", `FAILED: ${reason}`);
  p.summary([{ id: "sci/hx", result: "failed", durationMs: 1, tags: [], reason }], ["1 failed"]);
  await p.close();
  const text = out.text();
  assert.not.match(text, /\u001b|\u202e/);
  assert.not.match(text, /^forged: ok/m);
  assert.match(text, /^\[sci\/hx\] FAILED: \[2\/2\] RUN echo \\x1b\[2Kfake line \\u202eevil\\nforged: ok me:\*\*\*$/m);
  assert.match(text, /^ {2}sci\/hx: \[2\/2\] RUN echo \\x1b\[2Kfake line \\u202eevil\\nforged: ok me:\*\*\*$/m);
  assert.not.match(text, /hunter/);
});

test("a line of megabytes without a newline: handled in linear time, shown and logged cut, saying how much; a secret at the cut still redacted", async () => {
  const out = sink();
  using logDir = tempDir("ib-progress-");
  const p = new Progress({ out: out.stream, live: false, logDir: logDir.path, redact });
  p.begin("sci/big", []);
  // 16 MB in the 32 KiB chunks the engine streams, a secret just before the cut (64 KiB)
  const chunk = "x".repeat(32 * 1024);
  const head = `${"x".repeat(64 * 1024 - 3)}s3cret`;
  const chunks = 16 * 32 - 2;
  const started = process.hrtime.bigint();
  p.output("sci/big", head);
  for (let i = 0; i < chunks; i++) p.output("sci/big", chunk);
  p.output("sci/big", "\nnext line\n");
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  p.result("sci/big", "built");
  await p.close();
  const total = head.length + chunks * chunk.length;
  const shown = `${"x".repeat(64 * 1024 - 3)}***`;
  const line = `${shown} [… line cut: ${total - shown.length - 3} more characters]`;
  assert.is(out.text(), `[sci/big] ${line}\n[sci/big] next line\n[sci/big] built\n`);
  assert.is(readFileSync(join(logDir.path, "sci_big.log"), "utf8"), `${line}\nnext line\nbuilt\n`);
  // Re-joining the open line per chunk took 15 s here (105 s for 60 MB); linear, it is milliseconds.
  assert.ok(ms < 2000, `${ms} ms`);
});

test("a secret longer than what is held beyond the cut, starting in the part shown: masked whole, none of it shown", async () => {
  const secrets = new SecretSet([`S${"k".repeat(20 * 1024)}E`]);
  const out = sink();
  const p = new Progress({ out: out.stream, live: false, redact: secrets.redact, longestSecret: () => secrets.longest() });
  p.begin("sci/long", []);
  const line = `${"x".repeat(62_000)}${secrets.all()[0]}${"y".repeat(100)}`;
  for (let i = 0; i < line.length; i += 32 * 1024) p.output("sci/long", line.slice(i, i + 32 * 1024));
  p.output("sci/long", "\n");
  await p.close();
  assert.not.match(out.text(), /kkkk/);
  assert.match(out.text(), /^\[sci\/long\] x{62000}\*\*\*y{100}\n/);
});

test("the tail keeps the last 20 lines", () => {
  const p = new Progress({ out: sink().stream, live: false, redact });
  p.begin("x", []);
  for (let i = 1; i <= 30; i++) p.output("x", `line ${i}\n`);
  const tail = p.tail("x");
  assert.is(tail.length, 20);
  assert.is(tail[0], "line 11");
  assert.is(tail[19], "line 30");
});

test("live: build output is not printed; status lines are drawn and erased", async () => {
  const out = sink();
  const p = new Progress({ out: out.stream, live: true, redact });
  p.begin("sci/a", []);
  p.output("sci/a", "Step 2/5 : RUN make\nlots of compiler output\n");
  p.phase("sci/a", "pushing");
  p.result("sci/a", "built");
  await p.close();
  const text = out.text();
  assert.not.match(text, /compiler output/);
  assert.match(text, /  sci\/a  starting  0\.\ds\n/);
  assert.match(text, /\x1b\[1A\r\x1b\[J\[sci\/a\] built\n/);
});

test("live: the status lines are redacted too", async () => {
  const out = sink();
  const p = new Progress({ out: out.stream, live: true, redact });
  p.begin("sci/a", []);
  p.phase("sci/a", "[2/3] RUN echo s3cret");
  await p.close();
  assert.not.match(out.text(), /s3cret/);
  assert.match(out.text(), /RUN echo \*\*\*/);
});

test("summary table and footer", () => {
  const out = sink();
  const p = new Progress({ out: out.stream, live: false, redact });
  p.summary([
    { id: "sci/a", result: "pushed", durationMs: 1500, imageId: "sha256:0123456789abcdef", tags: ["r/sci/a:1", "r/sci/a:1-2-h"] },
    { id: "sci/longer-name", result: "skipped", durationMs: 0, tags: ["r/sci/b:1"], reason: "parent sci/x failed" },
  ], ["1 built, 1 skipped"]);
  assert.equal(out.text().split("\n"), [
    "",
    "BUILD            RESULT   DURATION  IMAGE         TAGS",
    "sci/a            pushed   1.5s      0123456789ab  r/sci/a:1, r/sci/a:1-2-h",
    "sci/longer-name  skipped  0.0s      -             r/sci/b:1",
    "",
    "  sci/longer-name: parent sci/x failed",
    "1 built, 1 skipped",
    "",
  ]);
});

test("names and durations", () => {
  assert.is(logFileName("sci/foo"), "sci_foo.log");
  assert.is(logFileName("../../etc/passwd"), ".._.._etc_passwd.log");
  assert.is(formatDuration(61_000), "1m01s");
  assert.is(formatDuration(999), "1.0s");
});

test.run();
