// BuildKit's StatusResponse messages, encoded and decoded.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeStatus, encodeStatus } from "../../../../src/executors/docker/buildkit-status.js";

test("a StatusResponse survives encoding and decoding", () => {
  const status = decodeStatus(encodeStatus({
    vertexes: [{ digest: "sha256:a", inputs: [], name: "[1/2] FROM busybox", cached: true, started: 1_700_000_000_000, completed: 1_700_000_000_250, error: "" }],
    logs: [{ vertex: "sha256:a", stream: 1, msg: Buffer.from("hello\n") }],
  }));
  assert.is(status.vertexes[0].name, "[1/2] FROM busybox");
  assert.is(status.vertexes[0].completed, 1_700_000_000_250);
  assert.is(status.logs[0].msg.toString(), "hello\n");
  assert.equal(status.statuses, []);
});

test.run();
