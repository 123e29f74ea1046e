// A registry fault injector for tests: an HTTP proxy on loopback in front of a real registry that
// answers chosen requests itself (refuses one tag's manifest, drops a connection, stalls a layer,
// sends an endless answer, rewrites a header) and forwards everything else.
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Closed when disposed: `await using proxy = await startFaultProxy(…)`. */
export interface FaultProxy extends AsyncDisposable {
  /** `127.0.0.1:PORT`: use it as the registry host. */
  address: string;
  /** Requests answered by a fault so far (`METHOD path`). */
  refused: string[];
  /** Requests forwarded to the registry so far, in the order they arrived (`METHOD path`). */
  forwarded: string[];
  close(): Promise<void>;
}

/**
 * What to do with a request instead of forwarding it: answer with this status, or handle it
 * (`forward()` sends it on to the registry and gives the registry's answer, not yet relayed).
 */
export type Fault = number | ((req: IncomingMessage, res: ServerResponse, forward: () => Promise<IncomingMessage>) => void);

/** `fault(req)` returns what to do instead of forwarding, or undefined; `listenPort`: 0 for any. */
export async function startFaultProxy(target: string, fault: (req: IncomingMessage) => Fault | undefined, listenPort = 0): Promise<FaultProxy> {
  const [host, port] = target.split(":");
  const refused: string[] = [];
  const forwarded: string[] = [];
  const upstream = (req: IncomingMessage) => new Promise<IncomingMessage>((resolve, reject) => {
    // The Host header is kept, so the registry's upload locations point back at the proxy.
    const up = request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, resolve);
    up.on("error", reject);
    req.pipe(up);
  });
  const server = createServer((req, res) => {
    const f = fault(req);
    if (f === undefined) {
      forwarded.push(`${req.method} ${req.url}`);
      upstream(req).then((up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      }, () => res.destroy());
      return;
    }
    refused.push(`${req.method} ${req.url}`);
    if (typeof f === "function") return f(req, res, () => upstream(req));
    req.resume();
    res.writeHead(f, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ errors: [{ code: "DENIED", message: "refused by the test's fault proxy" }] }));
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

/** The connection closes under the request, before any answer (`EOF` to Go, `socket hang up` to Node). */
export const dropConnection: Fault = (req) => {
  req.resume();
  req.on("end", () => req.socket.destroy());
};

/** The registry's answer, cut after `bytes` bytes of its body: the connection then closes (`drop`) or stays open sending nothing (a stall). */
export function cutAnswer(bytes: number, then: "drop" | "stall"): Fault {
  return (_req, res, forward) => {
    forward().then((up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      let sent = 0;
      up.on("data", (chunk: Buffer) => {
        if (sent >= bytes) return;
        const part = chunk.subarray(0, bytes - sent);
        sent += part.length;
        res.write(part);
        if (sent >= bytes) {
          up.destroy();
          if (then === "drop") res.socket?.destroy();
        }
      });
    }, () => res.destroy());
  };
}

/** An answer that never ends: `headers`, then 64 KiB chunks for as long as the client reads. `sent()` says how much went out. */
export function endlessAnswer(headers: Record<string, string>): Fault & { sent: () => number } {
  let total = 0;
  const chunk = Buffer.alloc(64 * 1024, " ");
  const f = ((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    res.writeHead(200, headers);
    const more = () => {
      while (!res.destroyed && res.write(chunk)) total += chunk.length;
      if (!res.destroyed) res.once("drain", more);
    };
    res.on("close", () => res.removeAllListeners("drain"));
    more();
  }) as unknown as Fault & { sent: () => number };
  f.sent = () => total;
  return f;
}

/** The registry's answer with `headers` changed (`rewrite` gets and returns them). */
export function rewriteHeaders(rewrite: (headers: IncomingMessage["headers"]) => IncomingMessage["headers"]): Fault {
  return (_req, res, forward) => {
    forward().then((up) => {
      res.writeHead(up.statusCode ?? 502, rewrite({ ...up.headers }));
      up.pipe(res);
    }, () => res.destroy());
  };
}
