// A run's shared abort signals take many listeners without Node's MaxListenersExceededWarning.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { sharedAbortController } from "../../src/signals.js";

test("a shared abort signal takes dozens of listeners (requests in flight, retries waiting) without a warning on stderr", async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on("warning", onWarning);
  try {
    const shared = sharedAbortController();
    for (let i = 0; i < 50; i++) shared.signal.addEventListener("abort", () => undefined);
    const plain = new AbortController();
    for (let i = 0; i < 50; i++) plain.signal.addEventListener("abort", () => undefined);
    await new Promise((r) => setImmediate(r));
    // The plain one warns (what a run printed); the shared one does not.
    assert.equal(warnings, ["MaxListenersExceededWarning"]);
  } finally {
    process.off("warning", onWarning);
  }
});

test.run();
