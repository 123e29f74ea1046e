import { PassThrough } from "node:stream";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { engineErrorMessage, messageError, readMessages, type EngineMessage } from "../../../../src/executors/docker/messages.js";

test("messages split across chunks are reassembled; non-JSON lines become text", async () => {
  const s = new PassThrough();
  const got: EngineMessage[] = [];
  const done = readMessages(s, (m) => got.push(m), new AbortController().signal);
  s.write('{"stream":"Step 1/2 : FR');
  s.write('OM x\\n"}\r\n{"aux":{"ID":"sha256:1"}}\r\n');
  s.end("<html>bad gateway</html>");
  await done;
  assert.equal(got, [{ stream: "Step 1/2 : FROM x\n" }, { aux: { ID: "sha256:1" } }, { stream: "<html>bad gateway</html>\n" }]);
});

test("a message of megabytes in many chunks is read in linear time", async () => {
  const s = new PassThrough();
  const got: EngineMessage[] = [];
  const done = readMessages(s, (m) => got.push(m), new AbortController().signal);
  const chunk = "x".repeat(16 * 1024);
  const started = process.hrtime.bigint();
  s.write('{"stream":"');
  for (let i = 0; i < 1024; i++) s.write(chunk);
  s.end('"}\n{"stream":"next"}\n');
  await done;
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(got.map((m) => m.stream!.length), [1024 * chunk.length, 4]);
  // Re-splitting the growing message per chunk took seconds; linear, it is milliseconds.
  assert.ok(ms < 2000, `${ms} ms`);
});

test("error messages: errorDetail wins over error", () => {
  assert.is(messageError({ errorDetail: { message: "detailed " }, error: "short" }), "detailed");
  assert.is(messageError({ error: "short" }), "short");
  assert.is(messageError({ stream: "fine" }), undefined);
});

test("a connection closed before the end rejects", async () => {
  const s = new PassThrough();
  const done = readMessages(s, () => undefined, new AbortController().signal);
  s.write('{"stream":"x"}\n');
  s.destroy();
  try {
    await done;
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /closed before the operation finished/);
  }
});

test("abort destroys the stream and rejects with an AbortError", async () => {
  const s = new PassThrough();
  const ctl = new AbortController();
  const done = readMessages(s, () => undefined, ctl.signal);
  ctl.abort("interrupted");
  try {
    await done;
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).name, "AbortError");
    assert.is((e as Error).message, "interrupted");
  }
  assert.ok(s.destroyed);
});

test("engine HTTP errors keep the engine's message first", () => {
  const e = Object.assign(new Error("(HTTP code 400) unexpected - dockerfile parse error "), {
    statusCode: 400, json: { message: "dockerfile parse error line 2: unknown instruction: FOO" },
  });
  assert.is(engineErrorMessage(e), "dockerfile parse error line 2: unknown instruction: FOO (engine answered HTTP 400)");
  assert.is(engineErrorMessage(new Error(" connect ENOENT /x ")), "connect ENOENT /x");
});

test.run();
