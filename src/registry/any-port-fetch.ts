// fetch refuses the WHATWG "bad ports" (6000, 6665-6669, 10080, …) before connecting, though the
// engine pushes to a registry there. For those ports only, the same request goes over node:http(s)
// with fetch's redirect behaviour; every other request is fetch's.
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

/** `fetch`, but a registry on a port fetch refuses is still reached. */
export async function anyPortFetch(url: URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    if ((e as Error & { cause?: Error }).cause?.message !== "bad port") throw e;
    return nodeFetch(url, init, 0);
  }
}

async function nodeFetch(url: URL, init: RequestInit, hops: number): Promise<Response> {
  const { request } = url.protocol === "https:" ? await import("node:https") : await import("node:http");
  const method = init.method ?? "GET";
  const headers = { ...(init.headers as Record<string, string> | undefined) };
  const signal = init.signal ?? undefined;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { method, headers, signal }, resolve);
    // As fetch: a timeout rejects with the signal's reason (a TimeoutError).
    req.on("error", (e) => reject(signal?.aborted ? signal.reason : e));
    req.end(typeof init.body === "string" || init.body instanceof Uint8Array ? init.body : undefined);
  });
  const status = res.statusCode ?? 0;
  if (REDIRECTS.has(status) && res.headers.location && init.redirect !== "manual" && hops < MAX_REDIRECTS) {
    res.resume();
    const next = new URL(res.headers.location, url);
    // As fetch: credentials are not sent to another origin (blob storage redirects carry their own).
    if (next.origin !== url.origin) delete headers.authorization;
    const asGet = status === 303 || ((status === 301 || status === 302) && method === "POST");
    return nodeFetch(next, { ...init, headers, ...(asGet ? { method: "GET", body: undefined } : {}) }, hops + 1);
  }
  const answer = new Headers();
  for (const [name, value] of Object.entries(res.headers)) for (const v of [value ?? []].flat()) answer.append(name, v);
  const noBody = method === "HEAD" || status === 204 || status === 304;
  if (noBody) res.resume();
  return new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, headers: answer });
}
