// Abort signals that many requests and steps of one run listen to at once (a run's interrupt, the
// registry client's stop): without a listener limit. Dozens of requests in flight, each with its
// retry waiting while a registry is away, listen to the same one, and Node's warning at 11
// (MaxListenersExceededWarning) was noise in a CI log beside the run's real errors.
import { setMaxListeners } from "node:events";
import { InputError } from "./core/model.js";
import { printable } from "./core/printable.js";

export function sharedAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * Calls `stop` when the terminal or SSH session closes (SIGHUP), as an interrupt (output written
 * after it goes nowhere: the CLI ignores its write errors). Node sets every signal but SIGPIPE back
 * to its default as it starts, so `nohup` never kept a Node process alive through a hangup: without
 * this, a run ended at once, nothing read back or written. Returns what removes it.
 */
export function onHangUp(stop: () => void): () => void {
  process.on("SIGHUP", stop);
  return () => process.off("SIGHUP", stop);
}

/** How long an interrupted run waits for its pushes in flight to end, unless told otherwise. */
export const INTERRUPT_WAIT_SECONDS = 30;

/**
 * The wait of an interrupted run for its pushes in flight (ms): IMAGE_BUILDER_INTERRUPT_WAIT
 * seconds (0: stop them at once, as a second interrupt does; a CI agent that kills a job a few
 * seconds after its SIGTERM wants the results written within that), else 30. A value that is no
 * number of seconds is bad input, said before anything is built.
 */
export function interruptWaitMs(env: NodeJS.ProcessEnv): number {
  const text = env.IMAGE_BUILDER_INTERRUPT_WAIT?.trim();
  if (text === undefined || text === "") return INTERRUPT_WAIT_SECONDS * 1000;
  const seconds = Number(text);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text) || !Number.isFinite(seconds)) throw new InputError(`IMAGE_BUILDER_INTERRUPT_WAIT=${printable(text.slice(0, 40))}: not a number of seconds (30 when unset; 0 stops pushes in flight at once)`);
  // Node's timers take at most 2^31-1 ms (about 24 days); more would fire at once.
  return Math.min(seconds * 1000, 2 ** 31 - 1);
}
