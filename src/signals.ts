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
