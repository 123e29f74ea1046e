// A registry fault injector for tests: an HTTP proxy on loopback in front of a real registry that
// answers chosen requests itself (refuses one tag's manifest, drops a connection, stalls a layer,
// sends an endless answer, rewrites a header), holds them back until the test lets them go, or
// forwards them and loses the registry's reply; everything else is forwarded.
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { rawTarEntry } from "./tar.js";

/** Closed when disposed: `await using proxy = await startFaultProxy(…)`. */
export interface FaultProxy extends AsyncDisposable {
  /** `127.0.0.1:PORT`: use it as the registry host. */
  address: string;
  /** Requests answered by a fault so far (`METHOD path`). */
  refused: string[];
  /** Requests forwarded to the registry so far, in the order they arrived (`METHOD path`). */
  forwarded: string[];
  /** Requests whose registry reply was dropped (`dropReply`). */
  dropped: string[];
  close(): Promise<void>;
}

/** A request handled by the test: `forward()` sends it on to the registry and gives the registry's answer, not yet relayed. */
export type FaultHandler = (req: IncomingMessage, res: ServerResponse, forward: () => Promise<IncomingMessage>) => void;

/** What to do with a forwarded request other than forwarding it at once. */
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

/** A status code to answer with instead of forwarding, a handler, an action, or undefined to forward. */
export type Fault = number | FaultHandler | FaultAction | undefined;

/** `fault(req)` says what to do with each request (see Fault); `listenPort`: 0 for any. */
export async function startFaultProxy(target: string, fault: (req: IncomingMessage) => Fault, listenPort = 0): Promise<FaultProxy> {
  const [host, port] = target.split(":");
  const refused: string[] = [];
  const forwarded: string[] = [];
  const dropped: string[] = [];
  const upstream = (req: IncomingMessage) => new Promise<IncomingMessage>((resolve, reject) => {
    // The Host header is kept, so the registry's upload locations point back at the proxy.
    const up = request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, resolve);
    up.on("error", reject);
    req.pipe(up);
  });
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
    if (typeof action === "function") {
      refused.push(what);
      action(req, res, () => upstream(req));
      return;
    }
    const forward = () => {
      forwarded.push(what);
      upstream(req).then((up) => {
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
      }, () => res.destroy());
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

/** The connection closes under the request, before any answer (`EOF` to Go, `socket hang up` to Node). */
export const dropConnection: FaultHandler = (req) => {
  req.resume();
  req.on("end", () => req.socket.destroy());
};

/** The registry's answer, cut after `bytes` bytes of its body: the connection then closes (`drop`) or stays open sending nothing (a stall). */
export function cutAnswer(bytes: number, then: "drop" | "stall"): FaultHandler {
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
export function endlessAnswer(headers: Record<string, string>): FaultHandler & { sent: () => number } {
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
  }) as unknown as FaultHandler & { sent: () => number };
  f.sent = () => total;
  return f;
}

/**
 * An endless layer that is a valid one as far as it goes: gzip of a tar whose one file declares 8
 * GiB, then zeros for ever. A reader stops only at the layer's declared size (spaces, which are no
 * gzip, are refused at once).
 */
export function endlessGzipLayer(headers: Record<string, string>): FaultHandler & { sent: () => number } {
  let total = 0;
  const f = ((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    res.writeHead(200, headers);
    const zeros = Buffer.alloc(64 * 1024);
    const source = Readable.from((function* () {
      yield rawTarEntry("opt/conda/conda-meta/endless-1.0-0.json", "0", "", 8 * 1024 * 1024 * 1024 - 1);
      for (;;) yield zeros;
    })());
    const gzip = createGzip();
    gzip.on("data", (c: Buffer) => (total += c.length));
    res.on("close", () => source.destroy());
    pipeline(source, gzip, res).catch(() => undefined);
  }) as unknown as FaultHandler & { sent: () => number };
  f.sent = () => total;
  return f;
}

/** The registry's answer with `headers` changed (`rewrite` gets and returns them). */
export function rewriteHeaders(rewrite: (headers: IncomingMessage["headers"]) => IncomingMessage["headers"]): FaultHandler {
  return (_req, res, forward) => {
    forward().then((up) => {
      res.writeHead(up.statusCode ?? 502, rewrite({ ...up.headers }));
      up.pipe(res);
    }, () => res.destroy());
  };
}
