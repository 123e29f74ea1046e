// A registry fault injector for tests: an HTTP proxy on loopback in front of a real registry that
// answers chosen requests itself (e.g. refuses one tag's manifest) and forwards everything else.
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
  close(): Promise<void>;
}

/** `refuse(req)` returns a status code to answer with instead of forwarding, or undefined; `listenPort`: 0 for any. */
export async function startFaultProxy(target: string, refuse: (req: IncomingMessage) => number | undefined, listenPort = 0): Promise<FaultProxy> {
  const [host, port] = target.split(":");
  const refused: string[] = [];
  const forwarded: string[] = [];
  const server = createServer((req, res) => {
    const status = refuse(req);
    if (status !== undefined) {
      refused.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "DENIED", message: "refused by the test's fault proxy" }] }));
      return;
    }
    forwarded.push(`${req.method} ${req.url}`);
    // The Host header is kept, so the registry's upload locations point back at the proxy.
    const upstream = request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((ok, fail) => server.once("error", fail).listen(listenPort, "127.0.0.1", ok));
  const { port: own } = server.address() as AddressInfo;
  const close = () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); });
  return { address: `127.0.0.1:${own}`, refused, forwarded, close, [Symbol.asyncDispose]: close };
}

/** A manifest upload (`PUT /v2/NAME/manifests/TAG`) for a tag matching `tag`. */
export function isManifestPut(req: IncomingMessage, tag: RegExp): boolean {
  const m = /^\/v2\/.+\/manifests\/([^/?]+)$/.exec(req.url ?? "");
  return req.method === "PUT" && m !== null && tag.test(m[1]);
}
