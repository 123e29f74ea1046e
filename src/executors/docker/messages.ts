// The Engine API's streamed JSON messages (build, push): one object per line. Failures arrive
// as an `error`/`errorDetail` message inside a stream that otherwise ends normally, so every
// message has to be looked at (dockerode's promises resolve regardless).
import { StringDecoder } from "node:string_decoder";

export interface EngineMessage {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
}

/** The failure a message reports, if it reports one. */
export function messageError(m: EngineMessage): string | undefined {
  const text = m.errorDetail?.message || m.error;
  return text ? text.trim() : undefined;
}

/**
 * Calls `onMessage` for each message until the stream ends. Rejects if the connection breaks
 * before a clean end, and when `signal` aborts: the stream is then destroyed, which closes the
 * connection and makes the engine cancel the build or push.
 */
export function readMessages(
  stream: NodeJS.ReadableStream,
  onMessage: (m: EngineMessage) => void,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // The unfinished message's pieces: joined once, when its newline comes (re-joining them per
    // chunk was quadratic in a long message).
    let pending: string[] = [];
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve();
    };
    const emit = (line: string) => {
      const text = line.trim();
      if (!text) return;
      let m: EngineMessage;
      try {
        m = JSON.parse(text) as EngineMessage;
      } catch {
        // Not from the engine itself (a proxy's error page, say): still worth showing.
        m = { stream: `${text}\n` };
      }
      try {
        onMessage(m);
      } catch (e) {
        finish(e as Error);
      }
    };
    const onAbort = () => {
      (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
      finish(abortError(signal));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort);

    // A multi-byte character may be split across chunks: decode them as one stream.
    const decoder = new StringDecoder("utf8");
    stream.on("data", (chunk: Buffer | string) => {
      const text = typeof chunk === "string" ? chunk : decoder.write(chunk);
      let start = 0;
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
        pending.push(text.slice(start, nl));
        const line = pending.join("");
        pending = [];
        start = nl + 1;
        emit(line);
      }
      if (start < text.length) pending.push(text.slice(start));
    });
    stream.on("end", () => {
      emit(pending.join("") + decoder.end());
      finish();
    });
    stream.on("error", (e: Error) => finish(e));
    stream.on("close", () => finish(new Error("the connection to the engine closed before the operation finished")));
  });
}

export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  const err = new Error(reason instanceof Error ? reason.message : typeof reason === "string" ? reason : "aborted");
  err.name = "AbortError";
  return err;
}

/**
 * dockerode's errors for non-2xx answers read "(HTTP code 500) server error - <message> ";
 * keep the engine's message first.
 */
export function engineErrorMessage(e: unknown): string {
  const err = e as { message?: string; statusCode?: number; json?: { message?: string } };
  if (err?.statusCode && err.json?.message) return `${err.json.message.trim()} (engine answered HTTP ${err.statusCode})`;
  return (err?.message ?? String(e)).trim();
}
