import { createServer } from "node:net";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DockerCredentials } from "../../../src/registry/credentials.js";
import { RegistryClient, readImageConfig } from "../../../src/registry/client.js";
import { sha256Digest } from "../../../src/core/digest.js";

/** A WHATWG bad port (one fetch refuses) that nothing listens on. */
async function closedBadPort(): Promise<number> {
  for (const port of [6665, 6666, 6667, 6668, 6669, 10080, 6000]) {
    const server = createServer();
    const bound = await new Promise<boolean>((ok) => server.once("error", () => ok(false)).listen(port, "127.0.0.1", () => ok(true)));
    if (bound) {
      await new Promise((ok) => server.close(ok));
      return port;
    }
  }
  throw new Error("every bad port tried is in use");
}

test("a registry on a port Node's fetch refuses (WHATWG bad ports) is still connected to: closed, it says ECONNREFUSED", async () => {
  const port = await closedBadPort();
  const client = new RegistryClient(await DockerCredentials.load("/nonexistent-docker-config", {}));
  const e = await client.getImage(`127.0.0.1:${port}/x/rel/a:1`).then(() => undefined, (err: Error) => err);
  assert.is(e?.name, "RegistryError");
  assert.is(e?.message, `registry 127.0.0.1:${port} cannot be reached (http://127.0.0.1:${port}): ECONNREFUSED`);
});

/** A registry on loopback answering each request with `answer` (status 200, JSON). */
async function fakeRegistry(answer: (path: string) => unknown): Promise<{ host: string; close: () => Promise<void> }> {
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const body = Buffer.from(JSON.stringify(answer(req.url ?? "")));
    const digest = sha256Digest(body);
    const type = /\/manifests\//.test(req.url ?? "") ? "application/vnd.oci.image.manifest.v1+json" : "application/json";
    res.writeHead(200, { "content-type": type, "docker-content-digest": digest, "content-length": body.length });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  return { host: `127.0.0.1:${port}`, close: () => new Promise((ok) => { server.closeAllConnections(); server.close(() => ok()); }) };
}

test("tag and catalog lists of the wrong shape are an error naming the list, not names read from them (a string spread into its characters read as 'nothing published'); a repository listed twice is read once", async () => {
  const client = new RegistryClient(await DockerCredentials.load("/nonexistent-docker-config", {}));
  for (const tags of ["1.0", [1, "1.0"], [null], { a: 1 }]) {
    const registry = await fakeRegistry(() => ({ name: "x/sci/a", tags }));
    const e = await client.listTags(`${registry.host}/x/sci/a`).then(() => undefined, (err: Error) => err);
    await registry.close();
    assert.is(e?.message, `tags of ${registry.host}/x/sci/a: not a list of names`, JSON.stringify(tags));
  }
  const many = Array.from({ length: 300000 }, (_, i) => `1.${i}`);
  const big = await fakeRegistry(() => ({ tags: many }));
  assert.is((await client.listTags(`${big.host}/x/sci/a`)).length, many.length, "a page of 300,000 tags (a spread overflowed the stack)");
  await big.close();
  const dup = await fakeRegistry(() => ({ repositories: ["x/sci/a", "x/sci/a", "x/rel/b"] }));
  assert.equal(await client.catalog(dup.host), ["x/sci/a", "x/rel/b"]);
  await dup.close();
});

test("an image config of the wrong shape is a content error naming the field, not a crash where it is used", () => {
  const config = (value: unknown) => Buffer.from(JSON.stringify(value));
  for (const [value, field] of [
    [{ history: "nope" }, "history"], [{ history: [null] }, "history[0]"], [{ created: 12345 }, "created"],
    [{ architecture: 5 }, "architecture"], [{ config: { Labels: { a: 1 } } }, 'config.Labels.a'], [{ rootfs: { diff_ids: "x" } }, "rootfs.diff_ids"],
  ] as const) {
    try {
      readImageConfig(config(value), "config sha256:c of r/x");
      assert.unreachable(JSON.stringify(value));
    } catch (e) {
      assert.is((e as { content?: boolean }).content, true, JSON.stringify(value));
      assert.match((e as Error).message, `config sha256:c of r/x: not an image config: ${field}: `);
    }
  }
  assert.equal(readImageConfig(config({ architecture: "amd64", config: { Labels: null }, history: [{ created_by: "x" }], extra: [1] }), "c").architecture, "amd64");
  // null for absent, as Go's decoder (Docker's) takes it
  assert.equal(readImageConfig(config({ created: null, variant: null, history: [{ created: null }] }), "c").created, undefined);
});

test.run();
