// Abort signals that many requests and steps of one run listen to at once (a run's interrupt, the
// registry client's stop): without a listener limit. Dozens of requests in flight, each with its
// retry waiting while a registry is away, listen to the same one, and Node's warning at 11
// (MaxListenersExceededWarning) was noise in a CI log beside the run's real errors.
import { setMaxListeners } from "node:events";

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
