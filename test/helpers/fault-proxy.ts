// A registry fault injector for tests: an HTTP proxy on loopback in front of a real registry that
// answers chosen requests itself (e.g. refuses one tag's manifest), holds them back until the test
// lets them go, or forwards them and loses the registry's reply; everything else is forwarded.
import { createServer, request, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/** Closed when disposed: `await using proxy = await startFaultProxy(…)`. */
export interface FaultProxy extends AsyncDisposable {
  /** `127.0.0.1:PORT`: use it as the registry host. */
  address: string;
  /** Requests refused so far (`METHOD path`). */
  refused: string[];
  /** Requests forwarded to the registry so far, in the order they arrived (`METHOD path`). */
  forwarded: string[];
  /** Requests forwarded whose reply the client never got (`METHOD path`). */
  dropped: string[];
  close(): Promise<void>;
}

/** What to do with a request other than forwarding it at once. */
export interface FaultAction {
  /** Forward it only once this settles. */
  hold?: Promise<unknown>;
  /** Forward it, then close the client's connection instead of passing on the registry's reply. */
  dropReply?: boolean;
  /** Called when the registry has answered it (with its status). */
  answered?: (status: number) => void;
  /** Pass the registry's reply on only once this settles (the registry has acted on the request). */
  holdReply?: Promise<unknown>;
}

/** A status code to answer with instead of forwarding, an action, or undefined to forward. */
export type Fault = number | FaultAction | undefined;

/** `fault(req)` says what to do with each request (see Fault); `listenPort`: 0 for any. */
export async function startFaultProxy(target: string, fault: (req: IncomingMessage) => Fault, listenPort = 0): Promise<FaultProxy> {
  const [host, port] = target.split(":");
  const refused: string[] = [];
  const forwarded: string[] = [];
  const dropped: string[] = [];
  const server = createServer((req, res) => {
    const action = fault(req);
    const what = `${req.method} ${req.url}`;
    if (typeof action === "number") {
      refused.push(what);
      req.resume();
      res.writeHead(action, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "DENIED", message: "refused by the test's fault proxy" }] }));
      return;
    }
    const forward = () => {
      forwarded.push(what);
      // The Host header is kept, so the registry's upload locations point back at the proxy.
      const upstream = request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (up) => {
        action?.answered?.(up.statusCode ?? 0);
        if (action?.dropReply) {
          dropped.push(what);
          up.resume();
          res.socket?.destroy();
          return;
        }
        const reply = () => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        };
        if (action?.holdReply) action.holdReply.then(reply, () => res.destroy());
        else reply();
      });
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    };
    if (action?.hold) {
      req.pause();
      action.hold.then(forward, () => res.destroy());
    } else forward();
  });
  await new Promise<void>((ok, fail) => server.once("error", fail).listen(listenPort, "127.0.0.1", ok));
  const { port: own } = server.address() as AddressInfo;
  const close = () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); });
  return { address: `127.0.0.1:${own}`, refused, forwarded, dropped, close, [Symbol.asyncDispose]: close };
}

/** A manifest upload (`PUT /v2/NAME/manifests/TAG`) for a tag matching `tag`. */
export function isManifestPut(req: IncomingMessage, tag: RegExp): boolean {
  return req.method === "PUT" && isManifest(req, tag);
}

/** A manifest request (any method) for a tag matching `tag`. */
export function isManifest(req: IncomingMessage, tag: RegExp): boolean {
  const m = /^\/v2\/.+\/manifests\/([^/?]+)$/.exec(req.url ?? "");
  return m !== null && tag.test(m[1]);
}

/**
 * Something a test waits for (a request arriving, stored): `promise` settles when `then()` is
 * called. Rejected after a generous bound, so that a run that never gets there fails the test
 * instead of hanging the suite.
 */
export function happening(what: string): { promise: Promise<void>; then: () => void } {
  let then!: () => void;
  const promise = new Promise<void>((resolve, reject) => {
    then = resolve;
    setTimeout(() => reject(new Error(`${what}: did not happen in 150 s`)), 150_000).unref();
  });
  promise.catch(() => undefined);
  return { promise, then };
}
