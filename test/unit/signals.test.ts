// A run's shared abort signals take many listeners without Node's MaxListenersExceededWarning.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { interruptWaitMs } from "../../src/signals.js";
import { InputError } from "../../src/core/model.js";

test("a shared abort signal takes dozens of listeners (requests in flight, retries waiting) without a warning on stderr", () => {
  // In a child process: the warning is printed by Node itself, which a listener can't stop, and
  // this suite's own output must not show it.
  const module = fileURLToPath(new URL("../../src/signals.js", import.meta.url));
  const stderrOf = (make: string) => spawnSync(process.execPath, ["--input-type=module", "-e",
    `const { sharedAbortController } = await import(${JSON.stringify(module)}); const c = ${make}; for (let i = 0; i < 50; i++) c.signal.addEventListener("abort", () => undefined); await new Promise((r) => setImmediate(r));`,
  ], { encoding: "utf8" }).stderr;
  assert.not.match(stderrOf("sharedAbortController()"), /MaxListenersExceededWarning/);
  // What a run printed before: a plain one warns.
  assert.match(stderrOf("new AbortController()"), /MaxListenersExceededWarning/);
});

test("SIGHUP (the session closing) stops a run as an interrupt, under nohup too (Node resets the disposition nohup set): the process does not just end", async () => {
  const module = fileURLToPath(new URL("../../src/signals.js", import.meta.url));
  const script = `const { onHangUp } = await import(${JSON.stringify(module)}); onHangUp(() => { console.log("stopped"); process.exit(0); }); console.log("ready"); setTimeout(() => { console.log("went on"); process.exit(0); }, 1500);`;
  for (const [shell, expected] of [["exec \"$0\" --input-type=module -e \"$1\"", "stopped"], ["trap '' HUP; exec \"$0\" --input-type=module -e \"$1\"", "stopped"]]) {
    const child = spawn("sh", ["-c", shell, process.execPath, script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    await new Promise<void>((ready) => child.stdout.on("data", (d) => { out += d; if (out.includes("ready")) ready(); }));
    child.kill("SIGHUP");
    await new Promise((done) => child.on("close", done));
    assert.match(out, new RegExp(`ready\\n${expected}\\n`), `${shell}: ${out}`);
  }
});

test("an interrupted run waits 30 s for its pushes in flight, or IMAGE_BUILDER_INTERRUPT_WAIT seconds (0: not at all); anything else is bad input naming the variable", () => {
  assert.is(interruptWaitMs({}), 30_000);
  assert.is(interruptWaitMs({ IMAGE_BUILDER_INTERRUPT_WAIT: "" }), 30_000);
  assert.is(interruptWaitMs({ IMAGE_BUILDER_INTERRUPT_WAIT: "5" }), 5_000);
  assert.is(interruptWaitMs({ IMAGE_BUILDER_INTERRUPT_WAIT: " 2.5 " }), 2_500);
  assert.is(interruptWaitMs({ IMAGE_BUILDER_INTERRUPT_WAIT: "0" }), 0);
  assert.is(interruptWaitMs({ IMAGE_BUILDER_INTERRUPT_WAIT: "99999999" }), 2 ** 31 - 1, "a timer's longest");
  assert.is(interruptWaitMs({ IMAGE_BUILDER_INTERRUPT_WAIT: ".5" }), 500);
  for (const bad of ["5s", "-1", "ten", "1e3", "Infinity", "."]) {
    assert.throws(() => interruptWaitMs({ IMAGE_BUILDER_INTERRUPT_WAIT: bad }), (e: unknown) => e instanceof InputError && e.message.startsWith(`IMAGE_BUILDER_INTERRUPT_WAIT=${bad}: not a number of seconds`), bad);
  }
});

test.run();
