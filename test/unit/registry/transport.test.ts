import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DockerCredentials, SEEN_CREDENTIALS } from "../../../src/registry/credentials.js";
import { errorSummary, RegistryError, RegistryTransport } from "../../../src/registry/transport.js";

const transport = async () => new RegistryTransport(await DockerCredentials.load("/nonexistent-docker-config", {}));
const req = { registry: "r.example", what: "config sha256:abc of r.example/x" };

/** A body of `total` bytes in 64 KiB chunks, and how many were pulled from it. */
function body(total: number) {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled >= total) return c.close();
      const n = Math.min(64 * 1024, total - pulled);
      pulled += n;
      c.enqueue(new Uint8Array(n));
    },
  });
  return { stream, pulled: () => pulled };
}

test("an answer read whole stops at 4 MiB, naming the registry and what was read; a declared larger one is not read at all", async () => {
  const t = await transport();
  assert.is((await t.readWhole(new Response(body(1000).stream), req)).length, 1000);
  const big = body(64 * 1024 * 1024);
  const e = await t.readWhole(new Response(big.stream), req).then(() => undefined, (err: Error) => err);
  assert.instance(e, RegistryError);
  assert.is(e!.message, "config sha256:abc of r.example/x: registry r.example answered with more than 4194304 bytes, more than the 4 MiB read at most");
  assert.ok(big.pulled() <= 4 * 1024 * 1024 + 2 * 64 * 1024, `${big.pulled()} bytes read`);
  const declared = body(10);
  const d = await t.readWhole(new Response(declared.stream, { headers: { "content-length": String(5 * 1024 * 1024) } }), req).then(() => undefined, (err: Error) => err);
  assert.match(d!.message, /answered with 5242880 bytes, more than the 4 MiB read at most/);
});

test("an error answer: the registry's first error, from at most 64 KiB of it", async () => {
  assert.is(await errorSummary(new Response(JSON.stringify({ errors: [{ code: "DENIED", message: "no" }] }))), "DENIED: no");
  const endless = body(1024 * 1024 * 1024);
  assert.is(await errorSummary(new Response(endless.stream)), "\0".repeat(200));
  assert.ok(endless.pulled() < 256 * 1024, `${endless.pulled()} bytes read`);
});

test("stop ends the requests in flight and those waiting for a slot at once, each saying so, none retried; later ones are not sent", async () => {
  // A registry that never answers: each request ends only when its signal does.
  let sent = 0;
  const hung = ((_url: URL, init: RequestInit) => {
    sent++;
    return new Promise<Response>((_resolve, reject) => init.signal?.addEventListener("abort", () => reject(init.signal!.reason), { once: true }));
  }) as unknown as typeof fetch;
  const t = new RegistryTransport(await DockerCredentials.load("/nonexistent-docker-config", {}), { fetch: hung, concurrency: 1, timeoutMs: 600_000 });
  const get = (n: number) => t.exchange({ registry: "127.0.0.1:1", path: `/v2/x/manifests/${n}`, scope: "repository:x:pull", what: `manifest of x:${n}` }, async () => "answered")
    .then(() => "answered", (e: Error) => e);
  const inFlight = get(1);
  const waiting = get(2);
  for (let i = 0; sent === 0 && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
  assert.is(sent, 1);
  const t0 = Date.now();
  t.stop();
  const [first, second] = await Promise.all([inFlight, waiting]);
  assert.ok(Date.now() - t0 < 1000);
  for (const [e, n] of [[first, 1], [second, 2]] as const) {
    assert.instance(e, RegistryError);
    assert.is((e as Error).message, `manifest of x:${n}: stopped waiting for registry 127.0.0.1:1 (the run was interrupted)`);
  }
  const later = await get(3);
  assert.instance(later, RegistryError);
  assert.is(sent, 1, "only the request in flight at the stop was ever sent");
});

/** An HTTP server on `host` (a loopback address) answering with `handle`, and the requests it had (with their bodies). */
async function server(host: string, handle: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const seen: { url: string; method: string; authorization?: string; body: string }[] = [];
  const srv: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      seen.push({ url: req.url ?? "", method: req.method ?? "", authorization: req.headers.authorization, body });
      handle(req, res, body);
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, host, resolve));
  const address = `${host}:${(srv.address() as AddressInfo).port}`;
  return { address, seen, [Symbol.asyncDispose]: () => new Promise<void>((resolve) => { srv.closeAllConnections(); srv.close(() => setImmediate(resolve)); }) };
}

/** A docker config holding `entry` for `registry`. */
async function credentialsFor(registry: string, entry: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), "ib-transport-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: { [registry]: entry } }));
  const creds = await DockerCredentials.load(dir, {});
  rmSync(dir, { recursive: true });
  return creds;
}

test("a host the registry redirects to gets no credentials: its 401 challenge is not taken for the registry's", async () => {
  // The other host answers 401 naming a token realm of its own, which would receive the registry's credentials.
  await using other = await server("127.0.0.2", (req, res) => {
    res.writeHead(401, { "www-authenticate": `Bearer realm="http://${req.headers.host}/token",service="other"` }).end();
  });
  await using registry = await server("127.0.0.1", (req, res) => {
    res.writeHead(307, { location: `http://${other.address}${req.url}` }).end();
  });
  const creds = await credentialsFor(registry.address, { auth: Buffer.from("user1:S3cr3t").toString("base64") });
  const t = new RegistryTransport(creds);
  const e = await t.exchange({ registry: registry.address, path: "/v2/x/manifests/1.0", scope: "repository:x:pull", what: "manifest of x:1.0" }, async () => "read")
    .then(() => undefined, (err: Error) => err);
  assert.instance(e, RegistryError);
  assert.is(e!.message, `manifest of x:1.0: ${registry.address} redirected the request to http://${other.address}, which answered HTTP 401; the registry's credentials are not sent to another host`);
  assert.equal(other.seen.map((r) => [r.url, r.authorization]), [["/v2/x/manifests/1.0", undefined]]);
});

test("a token request's body (a refresh token) is not sent on where the token service redirects to another host", async () => {
  await using other = await server("127.0.0.2", (_req, res) => res.writeHead(200).end('{"token":"t"}'));
  await using registry = await server("127.0.0.1", (req, res) => {
    if (req.url === "/token") res.writeHead(307, { location: `http://${other.address}/token` }).end();
    else res.writeHead(401, { "www-authenticate": `Bearer realm="http://${req.headers.host}/token",service="reg"` }).end();
  });
  const creds = await credentialsFor(registry.address, { auth: Buffer.from("<token>:").toString("base64"), identitytoken: "REFRESH-SECRET" });
  const t = new RegistryTransport(creds);
  const e = await t.exchange({ registry: registry.address, path: "/v2/x/manifests/1.0", scope: "repository:x:pull", what: "manifest of x:1.0" }, async () => "read")
    .then(() => undefined, (err: Error) => err);
  assert.match(e?.message ?? "", new RegExp(`the token service of ${registry.address} redirected the token request to http://${other.address.replace(/\./g, "\\.")}; its body \\(a refresh token\\) is not sent to another host`));
  assert.equal(other.seen, []);
  assert.ok(registry.seen.some((r) => r.url === "/token" && r.body.includes("REFRESH-SECRET")), "the realm itself got the token request");
});

test("requests sent at once to a Bearer registry share one token: each meets the first challenge, one token is fetched; a token refused is fetched again once", async () => {
  let refuse = "";
  await using registry = await server("127.0.0.1", (req, res) => {
    if (req.url?.startsWith("/token")) return void setTimeout(() => res.writeHead(200).end(JSON.stringify({ token: `t${registry.seen.filter((r) => r.url.startsWith("/token")).length}` })), 50);
    const sent = req.headers.authorization;
    if (sent && sent !== `Bearer ${refuse}`) return void res.writeHead(200).end("{}");
    res.writeHead(401, { "www-authenticate": `Bearer realm="http://${req.headers.host}/token",service="reg"` }).end();
  });
  const t = new RegistryTransport(await credentialsFor(registry.address, { auth: Buffer.from("ci:pw").toString("base64") }));
  const get = (n: number) => t.exchange({ registry: registry.address, path: `/v2/x/manifests/${n}`, scope: "repository:x:pull", what: `manifest of x:${n}` }, async (res) => res.status);
  assert.equal(await Promise.all([1, 2, 3, 4].map(get)), [200, 200, 200, 200]);
  const tokens = () => registry.seen.filter((r) => r.url.startsWith("/token")).length;
  assert.is(tokens(), 1);
  // The registry stops taking it (a token that lived less than it said): one new token, for all.
  refuse = "t1";
  assert.equal(await Promise.all([5, 6, 7].map(get)), [200, 200, 200]);
  assert.is(tokens(), 2);
});

test("a bearer token the token service gave is masked as the credentials are: a registry echoing it in an error shows ***", async () => {
  await using registry = await server("127.0.0.1", (req, res) => {
    if (req.url?.startsWith("/token")) res.writeHead(200).end('{"token":"BEARER-TOKEN-SECRET-xyz789","refresh_token":"REFRESH-2-abcdef"}');
    else if (req.headers.authorization) res.writeHead(403).end(JSON.stringify({ errors: [{ code: "DENIED", message: `token rejected: ${req.headers.authorization}` }] }));
    else res.writeHead(401, { "www-authenticate": `Bearer realm="http://${req.headers.host}/token",service="reg"` }).end();
  });
  const creds = await credentialsFor(registry.address, { auth: Buffer.from("u:pw-abcd1234").toString("base64") });
  const t = new RegistryTransport(creds);
  const e = await t.exchange({ registry: registry.address, path: "/v2/x/manifests/1.0", scope: "repository:x:pull", what: "manifest of x:1.0" }, async () => "read")
    .then(() => undefined, (err: Error) => err);
  assert.match(e?.message ?? "", /BEARER-TOKEN-SECRET-xyz789/, "the registry echoed it");
  assert.not.match(creds.redact(e!.message), /BEARER-TOKEN-SECRET|REFRESH-2/);
  assert.not.match(SEEN_CREDENTIALS.redact("x BEARER-TOKEN-SECRET-xyz789 REFRESH-2-abcdef"), /BEARER|REFRESH/);
});

test("a Bearer refusal says what it was: no credentials for the registry, credentials allowed less than asked (insufficient_scope), refused ones; a token service down is not the registry", async () => {
  // As Debian's docker-registry with token auth: a challenge per request; with a token granting
  // only pull, a push is answered 401 with error="insufficient_scope".
  await using registry = await server("127.0.0.1", (req, res) => {
    const host = req.headers.host;
    if (req.url?.startsWith("/token")) {
      const user = Buffer.from((req.headers.authorization ?? "Basic ").slice(6), "base64").toString();
      if (user === "ci:wrong") return void res.writeHead(401).end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] }));
      return void res.writeHead(200).end(JSON.stringify({ token: user ? "pull-only" : "anonymous" }));
    }
    const challenge = `Bearer realm="http://${host}/token",service="reg",scope="repository:ns/rel/x:pull,push"`;
    res.writeHead(401, { "www-authenticate": req.headers.authorization ? `${challenge},error="insufficient_scope"` : challenge })
      .end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
  });
  const push = { registry: registry.address, method: "POST" as const, path: "/v2/ns/rel/x/blobs/uploads/", scope: "repository:ns/rel/x:pull,push", what: `a push to ${registry.address}/ns/rel/x` };
  const refusal = async (creds: DockerCredentials) => (await new RegistryTransport(creds).exchange(push, async () => "pushed").then(() => undefined, (e: Error) => e))?.message;
  const none = await credentialsFor("elsewhere.example", { auth: Buffer.from("u:p").toString("base64") });
  assert.match(await refusal(none) ?? "", new RegExp(`^a push to \\S+: access denied by \\S+ \\(HTTP 401: UNAUTHORIZED: authentication required\\); the registry requires credentials, and the docker config \\S+ has none for ${registry.address}$`));
  const reader = await credentialsFor(registry.address, { auth: Buffer.from("reader:pw").toString("base64") });
  assert.match(await refusal(reader) ?? "", /; the credentials from the docker config are not allowed to push to ns\/rel\/x$/);
  const wrong = await credentialsFor(registry.address, { auth: Buffer.from("ci:wrong").toString("base64") });
  assert.match(await refusal(wrong) ?? "", /the token service of \S+ refused the credentials from the docker config \(HTTP 401: UNAUTHORIZED: bad credentials\)$/);
  // The registry answers; its token service (another port) is down.
  await using down = await server("127.0.0.1", (req, res) => {
    res.writeHead(401, { "www-authenticate": `Bearer realm="http://127.0.0.1:9/token",service="reg"` }).end();
  });
  const e = await new RegistryTransport(reader).exchange({ ...push, registry: down.address, what: `a push to ${down.address}/ns/rel/x` }, async () => "pushed").then(() => undefined, (err: Error) => err);
  assert.is(e?.message, `a push to ${down.address}/ns/rel/x: the token service of ${down.address} cannot be reached (http://127.0.0.1:9): ECONNREFUSED`);
});

test.run();
