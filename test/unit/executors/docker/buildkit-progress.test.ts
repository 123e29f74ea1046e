// BuildKit's status messages as the run shows them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BuildkitProgress } from "../../../../src/executors/docker/buildkit-progress.js";
import { decodeStatus, encodeStatus } from "../../../../src/executors/docker/buildkit-status.js";

test("BuildKit progress: numbered steps, their output, CACHED, DONE with duration, the failing step", () => {
  const lines: string[] = [];
  const p = new BuildkitProgress((l) => lines.push(l));
  const t = 1_700_000_000_000;
  const v = (digest: string, name: string, extra: object) => ({ digest, inputs: [], name, cached: false, started: t, completed: undefined, error: "", ...extra });
  p.update(decodeStatus(encodeStatus({ vertexes: [v("a", "[1/3] FROM busybox", { cached: true, completed: t }), v("b", "[2/3] RUN make", {})] })));
  // one step counter in the live view: BuildKit's own, of the running step
  assert.is(p.state(), "[2/3] RUN make (1 cached)");
  p.update(decodeStatus(encodeStatus({ logs: [{ vertex: "b", stream: 1, msg: Buffer.from("compiling\npart") }] })));
  p.update(decodeStatus(encodeStatus({ logs: [{ vertex: "b", stream: 2, msg: Buffer.from("ial\n") }] })));
  p.update(decodeStatus(encodeStatus({ vertexes: [v("b", "[2/3] RUN make", { completed: t + 1500 }), v("c", "[3/3] RUN false", { completed: t + 1600, error: "exit code: 1" })] })));
  assert.equal(lines, ["#1 [1/3] FROM busybox", "#1 CACHED", "#2 [2/3] RUN make", "#2 compiling", "#2 partial", "#2 DONE 1.5s",
    "#3 [3/3] RUN false", "#3 ERROR: exit code: 1"]);
  assert.is(p.failedStep("executor failed running [/bin/sh -c false]: exit code: 1"), "[3/3] RUN false");
  assert.is(p.state(), "3/3 steps, 1 cached");
});

test("BuildKit progress: a step's output line of megabytes is passed on bounded, saying how much was cut", () => {
  const lines: string[] = [];
  const p = new BuildkitProgress((l) => lines.push(l));
  const msg = Buffer.from("w".repeat(1024 * 1024));
  const status = decodeStatus(encodeStatus({ logs: [{ vertex: "v", stream: 1, msg }] }));
  for (let i = 0; i < 6; i++) p.update(status);
  p.end();
  assert.is(lines.length, 1);
  assert.is(lines[0], `#1 ${"w".repeat(4 * 1024 * 1024)} [… line cut: ${2 * 1024 * 1024} more characters]`);
});

test("a character split across log chunks reaches the output whole (a secret line with one stays maskable)", () => {
  const lines: string[] = [];
  const p = new BuildkitProgress((l) => lines.push(l));
  const text = Buffer.from("clé-secrète\n");
  const cut = text.indexOf(Buffer.from("é")) + 1; // inside the two bytes of the first é
  p.update(decodeStatus(encodeStatus({ logs: [{ vertex: "b", stream: 1, msg: text.subarray(0, cut) }] })));
  p.update(decodeStatus(encodeStatus({ logs: [{ vertex: "b", stream: 1, msg: text.subarray(cut) }] })));
  assert.equal(lines, ["#1 clé-secrète"]);
});

test.run();
