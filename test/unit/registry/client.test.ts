import { spawn } from "node:child_process";
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

/**
 * A registry that starts every upload (202, a Location) and answers its cancel (DELETE) with
 * `cancel`: a status, or "hang" (never); counts the DELETEs.
 */
async function uploadRegistry(cancel: number | "hang"): Promise<{ host: string; deletes: () => number; close: () => Promise<void> }> {
  let deletes = 0;
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "POST") {
      res.writeHead(202, { location: "/v2/x/sci/a/blobs/uploads/u-1", "content-length": 0 });
      return void res.end();
    }
    deletes++;
    if (cancel === "hang") return;
    const body = cancel >= 400 ? JSON.stringify({ errors: [{ code: "UNKNOWN", message: "storage failed" }] }) : "";
    res.writeHead(cancel, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  return { host: `127.0.0.1:${port}`, deletes: () => deletes, close: () => new Promise((ok) => { server.closeAllConnections(); server.close(() => ok()); }) };
}

test("the push check's cancel of its upload is not waited for, ends within its bound, is not retried, and says why it failed (hunter19 F4)", async () => {
  const creds = await DockerCredentials.load("/nonexistent-docker-config", {});
  const client = new RegistryClient(creds, { cancelUploadMs: 300, backoffMs: 1 });
  const ref = (host: string) => ({ registry: host, repository: "x/sci/a" });
  for (const [status, said] of [[204, undefined], [202, undefined], [404, undefined]] as const) {
    const registry = await uploadRegistry(status);
    const { cancelled } = await client.checkPush(ref(registry.host));
    assert.is(await cancelled, said, `DELETE answered ${status}`);
    await registry.close();
  }
  // Refused (a 5xx, which an idempotent request would retry): said once, naming the repository.
  const refused = await uploadRegistry(500);
  const check = await client.checkPush(ref(refused.host));
  assert.is(await check.cancelled, `cancel of the upload in ${refused.host}/x/sci/a: registry ${refused.host} answered HTTP 500 (UNKNOWN: storage failed)`);
  assert.is(refused.deletes(), 1, "the cancel was retried");
  await refused.close();
  // Never answered: checkPush resolved before, and the cancel ends at its bound, not the 60 s request bound.
  const hung = await uploadRegistry("hang");
  const started = Date.now();
  const { cancelled } = await client.checkPush(ref(hung.host));
  assert.is(await cancelled, `cancel of the upload in ${hung.host}/x/sci/a: no answer within 0.3 s`);
  assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
  await hung.close();
});

test("a cancel never answered does not keep the process alive: a command that is done exits before the cancel's bound (hunter21 F2)", async () => {
  const hung = await uploadRegistry("hang");
  // A process that starts the check and is then done, as a run is at its end; the bound is 10 s.
  const script = `
    const { DockerCredentials } = await import(${JSON.stringify(new URL("../../../src/registry/credentials.js", import.meta.url).href)});
    const { RegistryClient } = await import(${JSON.stringify(new URL("../../../src/registry/client.js", import.meta.url).href)});
    const client = new RegistryClient(await DockerCredentials.load("/nonexistent-docker-config", {}), { cancelUploadMs: 10000 });
    await client.checkPush({ registry: ${JSON.stringify(hung.host)}, repository: "x/sci/a" });
    // Some work after it, as a run's builds (the cancel is sent meanwhile); then the command is done.
    await new Promise((ok) => setTimeout(ok, 500));
    console.log("checked");`;
  const started = Date.now();
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const code = await new Promise<number | null>((ok) => child.on("exit", ok));
  const took = Date.now() - started;
  await hung.close();
  assert.is(code, 0, out);
  assert.is(out.trim(), "checked");
  assert.is(hung.deletes(), 1, "the cancel was not sent");
  assert.ok(took < 6000, `the process waited for the cancel: it exited after ${took} ms`);
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
