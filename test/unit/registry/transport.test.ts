import { test } from "uvu";
import * as assert from "uvu/assert";
import { DockerCredentials } from "../../../src/registry/credentials.js";
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

test.run();
