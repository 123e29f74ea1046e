// The registry client's HTTP: fetch's interface (a Response, its redirect behaviour, a signal
// for the time limit), carried over node:http(s) with keep-alive agents. Two reasons:
// - fetch refuses the WHATWG "bad ports" (6000, 6665-6669, 10080, …) before connecting, though
//   the engine pushes to a registry there;
// - fetch costs about 1.5 times the CPU per request (measured on the registry's loopback: 0.9 to 1.2
//   ms against 0.6 to 0.75 ms, see BENCH.md), and a push with attestations makes ~25 small
//   requests per image while the engine builds on the same cores.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { Readable } from "node:stream";

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
// Connections kept open between requests, as fetch does (idle ones don't keep the process alive).
const agents = { "http:": new HttpAgent({ keepAlive: true }), "https:": new HttpsAgent({ keepAlive: true }) };

/** `fetch`'s interface over node:http(s): any port, connections kept open. */
export function anyPortFetch(url: URL, init: RequestInit): Promise<Response> {
  return nodeFetch(url, init, 0);
}

async function nodeFetch(url: URL, init: RequestInit, hops: number): Promise<Response> {
  const [request, agent] = url.protocol === "https:" ? [httpsRequest, agents["https:"]] : [httpRequest, agents["http:"]];
  const method = init.method ?? "GET";
  const headers = { ...(init.headers as Record<string, string> | undefined) };
  const signal = init.signal ?? undefined;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { method, headers, signal, agent }, resolve);
    // A kept-open connection never holds the process (fetch's never did): one whose answer's body
    // was left unread (a 404's) would otherwise stay in use, and a command or a test process that
    // read a registry would not end. While a request is under way its deadline's timer holds it.
    req.on("socket", (socket) => socket.unref());
    // As fetch: a timeout rejects with the signal's reason (a TimeoutError).
    req.on("error", (e) => reject(signal?.aborted ? signal.reason : e));
    req.end(typeof init.body === "string" || init.body instanceof Uint8Array ? init.body : undefined);
  });
  const status = res.statusCode ?? 0;
  const location = REDIRECTS.has(status) && res.headers.location && init.redirect !== "manual" && hops < MAX_REDIRECTS ? new URL(res.headers.location, url) : undefined;
  const asGet = status === 303 || ((status === 301 || status === 302) && method === "POST");
  // Unlike fetch, a body is never sent on to another origin (a 307/308 keeps it): a token request's
  // body holds a refresh token. The redirect is the answer then, which callers report as a failure.
  const keepsBody = init.body !== undefined && init.body !== null && !asGet;
  if (location && !(keepsBody && location.origin !== url.origin)) {
    res.resume();
    // As fetch: credentials are not sent to another origin (blob storage redirects carry their own).
    if (location.origin !== url.origin) delete headers.authorization;
    return nodeFetch(location, { ...init, headers, ...(asGet ? { method: "GET", body: undefined } : {}) }, hops + 1);
  }
  const answer = new Headers();
  for (const [name, value] of Object.entries(res.headers)) for (const v of [value ?? []].flat()) answer.append(name, v);
  const noBody = method === "HEAD" || status === 204 || status === 304;
  if (noBody) res.resume();
  const response = new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, headers: answer });
  // As fetch's: the URL that answered, after redirects (the transport takes no challenge from another origin).
  Object.defineProperty(response, "url", { value: url.href });
  return response;
}
