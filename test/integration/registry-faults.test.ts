// The registry client against a registry that misbehaves (a real registry behind the fault
// proxy): stalled and dropped downloads, endless answers, pagination loops, token realms that
// must not get credentials. Each ends in a clear error naming the registry, or succeeds on retry.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseImageReference } from "../../src/core/parse/image-reference.js";
import { exportImage } from "../../src/registry/archive.js";
import { anyPortFetch } from "../../src/registry/any-port-fetch.js";
import { RegistryClient, RegistryError } from "../../src/registry/client.js";
import { DockerCredentials } from "../../src/registry/credentials.js";
import { pushTags } from "../../src/executors/docker/push.js";
import { MAIN, runCliAsync, within } from "../helpers/cli.js";
import { registryImage, registryTags, requireEngine, uniqueRepo, waitFor } from "../helpers/engine.js";
import { cutAnswer, dropConnection, endlessAnswer, endlessGzipLayer, isManifestPut, rewriteHeaders, startFaultProxy, type FaultHandler } from "../helpers/fault-proxy.js";
import { authEntry, buildImage, dockerConfigDir, publish, startTokenRegistry } from "../helpers/registry.js";
import { tempDir } from "../helpers/temp.js";

const noCreds = dockerConfigDir({});
test.after(() => noCreds.cleanup());
const client = async (options: ConstructorParameters<typeof RegistryClient>[1] = {}, config = noCreds.dir) =>
  new RegistryClient(await DockerCredentials.load(config), { backoffMs: 10, ...options });

/** `p`, or a failure saying what hung: what a test of a hang must not do is hang itself. */

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(() => assert.unreachable("expected a rejection") as never, (e: Error) => e);
}

/** An image of two layers in the plain registry: `repo` (host/path) and its tag. */
let published: { repo: string; path: string; ref: string; config: string } | undefined;
async function image() {
  if (published) return published;
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  const ref = `${repo}/rel/faults:1.0`;
  // a layer large enough to arrive in several chunks
  await publish(docker, [ref], "FROM busybox:stable\nRUN head -c 300000 /dev/urandom > /noise\n");
  published = { repo, path: repo.slice(registry.length + 1), ref, config: (await registryImage(ref)).configDigest };
  return published;
}
const viaProxy = (ref: string, proxy: string) => ref.replace(requireEngine().registry, proxy);

test("a layer download that stalls: export fails naming the registry and the blob, and leaves no file", async () => {
  const { registry } = requireEngine();
  const { ref, config } = await image();
  await using proxy = await startFaultProxy(registry, (req) =>
    req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "") && !req.url!.endsWith(config) ? cutAnswer(1000, "stall") : undefined);
  using dir = tempDir("ib-stall-");
  const c = await client({ idleTimeoutMs: 500 });
  const manifest = (await c.getManifest(viaProxy(ref, proxy.address)))!;
  const e = await within(rejection(exportImage(c, manifest, join(dir.path, "x.tar"), "docker-archive", ref)), 20_000, "export of a stalled layer");
  assert.instance(e, RegistryError);
  assert.match(e.message, new RegExp(`^blob sha256:[0-9a-f]{64} of ${proxy.address}/\\S+/rel/faults: registry ${proxy.address} sent nothing for 0\\.5s \\(after \\d+ bytes\\); given up$`));
  assert.equal(readdirSync(dir.path), []);
});

test("a layer longer than its manifest says (an endless one): export and sbom stop at its declared size, naming the blob, and export leaves no file", async () => {
  const { registry } = requireEngine();
  const { ref, config } = await image();
  const endless = endlessAnswer({ "content-type": "application/octet-stream" });
  await using proxy = await startFaultProxy(registry, (req) =>
    req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "") && !req.url!.endsWith(config) ? endless : undefined);
  using dir = tempDir("ib-endless-layer-");
  const out = join(dir.path, "x.tar");
  const exported = await within(runCliAsync(["export", viaProxy(ref, proxy.address), "-o", out], { env: { DOCKER_CONFIG: noCreds.dir } }), 30_000, "export of an endless layer");
  assert.is(exported.code, 1, exported.stderr);
  assert.match(exported.stderr, new RegExp(`blob sha256:[0-9a-f]{64} of ${proxy.address}/\\S+/rel/faults: the registry sent more than its \\d+ bytes`));
  assert.equal(readdirSync(dir.path), []);
  // What the proxy could send before the client stopped reading: the layer and socket buffers, not gigabytes.
  assert.ok(endless.sent() < 64 * 1024 * 1024, `${endless.sent()} bytes sent`);
  // sbom of a layer that is valid gzip and tar as far as it goes (spaces would be refused as no gzip at once)
  const valid = endlessGzipLayer({ "content-type": "application/octet-stream" });
  await using gzipProxy = await startFaultProxy(registry, (req) =>
    req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "") && !req.url!.endsWith(config) ? valid : undefined);
  const sbom = await within(runCliAsync(["sbom", viaProxy(ref, gzipProxy.address)], { env: { DOCKER_CONFIG: noCreds.dir, IMAGE_BUILDER_CACHE: "none" } }), 30_000, "sbom of an endless layer");
  assert.is(sbom.code, 1, sbom.stderr);
  assert.match(sbom.stderr, new RegExp(`^image-builder: error: (layer|blob) sha256:[0-9a-f]{64} of ${gzipProxy.address}/\\S+/rel/faults: .*the registry sent more than its \\d+ bytes`, "m"), sbom.stderr);
  assert.ok(valid.sent() < 64 * 1024 * 1024, `${valid.sent()} bytes sent`);
});

test("a manifest naming a digest that is no sha256 (sha512:../../…): inspect and export refuse it before asking for it or writing anything", async () => {
  const { registry } = requireEngine();
  const { ref } = await image();
  const hostile = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    config: { mediaType: "application/vnd.docker.container.image.v1+json", size: 10, digest: "sha512:../../../../../tmp/ib-escaped" }, layers: [],
  }));
  await using proxy = await startFaultProxy(registry, (req) => (req.method === "GET" && /\/manifests\//.test(req.url ?? "") ? (_req, res) => {
    res.writeHead(200, { "content-type": "application/vnd.docker.distribution.manifest.v2+json" });
    res.end(hostile);
  } : undefined));
  using dir = tempDir("ib-hostile-digest-");
  for (const args of [["inspect", viaProxy(ref, proxy.address)], ["export", viaProxy(ref, proxy.address), "-o", join(dir.path, "x.tar"), "--format", "oci"]]) {
    const r = await within(runCliAsync(args, { env: { DOCKER_CONFIG: noCreds.dir } }), 30_000, args[0]);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /names "sha512:\.\.\/\.\.\/.*", not a sha256 digest/);
  }
  assert.equal(readdirSync(dir.path), []);
  assert.not.ok(proxy.forwarded.some((f) => f.includes("ib-escaped")) || proxy.refused.some((f) => f.includes("ib-escaped")), "no request for it");
});

test("a registry that echoes the credentials it got in its error: every command masks them, as a run does", async () => {
  const { registry } = requireEngine();
  const { ref } = await image();
  const pass = `echoed-${Date.now()}-secret`;
  const echo: FaultHandler = (req, res) => {
    req.resume();
    if (!req.headers.authorization) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="echo"', "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
      return;
    }
    const basic = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString();
    res.writeHead(403, { "content-type": "application/json" });
    res.end(JSON.stringify({ errors: [{ code: "DENIED", message: `user/password ${basic} not allowed` }] }));
  };
  await using proxy = await startFaultProxy(registry, () => echo);
  const target = viaProxy(ref, proxy.address);
  // Also a password with a tab and a bidi mark: an error line escapes them before the output is
  // masked, so the escaped form must be masked too.
  const marked = `pw\tTABBED-${Date.now()}-secret\u202eRLO`;
  for (const password of [pass, marked]) {
    using config = dockerConfigDir({ auths: { [proxy.address]: authEntry("echo-user", password) } });
    for (const args of [["inspect", target], ["images", "--repo", target.slice(0, target.indexOf("/rel/")), "--json"], ["sbom", target], ["export", target, "-o", "/dev/null"]]) {
      const r = await within(runCliAsync(args, { env: { DOCKER_CONFIG: config.dir } }), 60_000, args[0]);
      assert.is.not(r.code, 0, `${args[0]}: ${r.stderr}`);
      assert.ok(proxy.refused.length > 0);
      const printed = `${r.stdout}${r.stderr}`;
      assert.not.ok(printed.includes(password) || printed.includes(password.slice(3, 20)), `${args[0]} printed the password: ${printed}`);
    }
  }
});

/** Serves the registry's blob with byte 4 flipped: the gzip header's mtime, so it still decompresses but has another digest. */
const alteredBlob: FaultHandler = (_req, res, forward) => {
  forward().then(async (up) => {
    const chunks: Buffer[] = [];
    for await (const c of up) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    body[4] ^= 0xff;
    res.writeHead(up.statusCode ?? 502, up.headers);
    res.end(body);
  }, () => res.destroy());
};

test("a layer whose content is not its digest: export and sbom refuse it, naming the blob, and export leaves no file", async () => {
  const { registry } = requireEngine();
  const { ref, config } = await image();
  await using proxy = await startFaultProxy(registry, (req) =>
    req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "") && !req.url!.endsWith(config) ? alteredBlob : undefined);
  using dir = tempDir("ib-altered-");
  const c = await client();
  const manifest = (await c.getManifest(viaProxy(ref, proxy.address)))!;
  const e = await within(rejection(exportImage(c, manifest, join(dir.path, "x.tar"), "docker-archive", ref)), 20_000, "export of an altered layer");
  assert.instance(e, RegistryError);
  assert.match(e.message, new RegExp(`^blob (sha256:[0-9a-f]{64}) of ${proxy.address}/\\S+/rel/faults:1\\.0: content has digest (?!\\1)sha256:[0-9a-f]{64}$`));
  assert.equal(readdirSync(dir.path), []);
  const sbom = await within(runCliAsync(["sbom", viaProxy(ref, proxy.address)], { env: { DOCKER_CONFIG: noCreds.dir } }), 30_000, "sbom of an altered layer");
  assert.is(sbom.code, 1, sbom.stderr);
  assert.match(sbom.stderr, new RegExp(`^image-builder: error: layer (sha256:[0-9a-f]{64}) of ${proxy.address}/\\S+/rel/faults:1\\.0: content has digest (?!\\1)sha256:[0-9a-f]{64}\n$`));
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  test(`${signal} during an export: exit 130, the partial file removed`, async () => {
    const { registry } = requireEngine();
    const { ref, config } = await image();
    await using proxy = await startFaultProxy(registry, (req) =>
      req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "") && !req.url!.endsWith(config) ? cutAnswer(1000, "stall") : undefined);
    using dir = tempDir("ib-export-signal-");
    const child = spawn(process.execPath, [MAIN, "export", viaProxy(ref, proxy.address), "-o", join(dir.path, "x.tar")], { env: { ...process.env, DOCKER_CONFIG: noCreds.dir } });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    // the download has started: the partial file is there, the layer request stalled
    await waitFor(() => readdirSync(dir.path).some((f) => f.endsWith(".partial")) && proxy.refused.length > 0, 20_000, () => `no partial file: ${stderr}`);
    child.kill(signal);
    const code = await within(exited, 20_000, "the interrupted export");
    assert.is(code, 130, stderr);
    assert.match(stderr, /interrupted: .*x\.tar not written/);
    assert.equal(readdirSync(dir.path), []);
  });
}

test("an endless manifest: inspect stops at 4 MiB with one line naming the registry and the image; memory stays bounded", async () => {
  const { registry } = requireEngine();
  const { ref } = await image();
  const endless = endlessAnswer({ "content-type": "application/vnd.docker.distribution.manifest.v2+json" });
  await using proxy = await startFaultProxy(registry, (req) => (/\/manifests\//.test(req.url ?? "") ? endless : undefined));
  // not spawnSync: the proxy answers from this process
  const r = await within(runCliAsync(["inspect", viaProxy(ref, proxy.address)], { env: { DOCKER_CONFIG: noCreds.dir } }), 30_000, "inspect of an endless manifest");
  assert.is(r.code, 1, r.stderr);
  assert.is(r.stderr, `image-builder: error: manifest of ${viaProxy(ref, proxy.address)}: registry ${proxy.address} answered with more than 4194304 bytes, more than the 4 MiB read at most\n`);
  // what the proxy could send before the client stopped reading: the limit and socket buffers
  assert.ok(endless.sent() < 16 * 1024 * 1024, `${endless.sent()} bytes sent`);
});

test("a manifest answer that stops halfway: the timeout names the registry and the manifest", async () => {
  const { registry } = requireEngine();
  const { ref } = await image();
  await using proxy = await startFaultProxy(registry, (req) => (req.method === "GET" && /\/manifests\//.test(req.url ?? "") ? cutAnswer(20, "stall") : undefined));
  const c = await client({ timeoutMs: 500 });
  const e = await within(rejection(c.getImage(viaProxy(ref, proxy.address))), 20_000, "reading a stalled manifest");
  assert.is(e.message, `manifest of ${viaProxy(ref, proxy.address)}: registry ${proxy.address} did not answer within 0.5s`);
});

test("pagination that points back at itself: an error after one round, not an endless loop (tags, and images over the catalog)", async () => {
  const { registry } = requireEngine();
  const { repo, path } = await image();
  const loop = (req: { url?: string }) => rewriteHeaders((h) => ({ ...h, link: `<${req.url}>; rel="next"` }));
  await using proxy = await startFaultProxy(registry, (req) => (/\/tags\/list|\/_catalog/.test(req.url ?? "") ? loop(req) : undefined));
  const c = await client();
  const e = await within(rejection(c.listTags(`${proxy.address}/${path}/rel/faults`)), 10_000, "listTags");
  assert.match(e.message, new RegExp(`^tags of ${proxy.address}/${path}/rel/faults: the registry's next page \\(Link rel="next"\\) points back at /v2/${path}/rel/faults/tags/list\\?n=1000, already read: a pagination loop$`));
  assert.is(proxy.refused.length, 1);
  const images = await within(runCliAsync(["images", "--repo", viaProxy(repo, proxy.address)], { env: { DOCKER_CONFIG: noCreds.dir } }), 30_000, "images");
  assert.is(images.code, 1, images.stderr);
  assert.match(images.stderr, new RegExp(`^image-builder: error: catalog of ${proxy.address}: the registry's next page .* a pagination loop\\n$`));
  assert.is(proxy.refused.length, 2);
});

test("dropped connections of reads are retried: a manifest GET closed before its answer, a config cut halfway", async () => {
  const { registry } = requireEngine();
  const { ref, config } = await image();
  const dropped = new Set<string>();
  const once = (key: string) => !dropped.has(key) && dropped.add(key) !== undefined;
  await using proxy = await startFaultProxy(registry, (req) => {
    if (req.method === "GET" && /\/manifests\//.test(req.url ?? "") && once("manifest")) return dropConnection;
    if (req.method === "GET" && req.url?.endsWith(config) && once("config")) return cutAnswer(100, "drop");
    return undefined;
  });
  const image_ = await (await client()).getImage(viaProxy(ref, proxy.address));
  assert.is(image_?.configDigest, config);
  assert.is(proxy.refused.length, 2);
  assert.ok(proxy.forwarded.some((r) => r.endsWith(config)), "the config was asked again");
});

test("a busy registry (429, 5xx) is asked again, 3 times at most, and then named with what it said; a 400 is not asked again", async () => {
  const { registry } = requireEngine();
  const { ref } = await image();
  let busy = 2;
  let status = 503;
  await using proxy = await startFaultProxy(registry, (req) => (req.method === "GET" && /\/manifests\//.test(req.url ?? "") && busy-- > 0 ? status : undefined));
  const image_ = await (await client()).getImage(viaProxy(ref, proxy.address));
  assert.ok(image_, "read after two 503s");
  assert.is(proxy.refused.length, 2);
  busy = Infinity;
  for (const [answer, attempts] of [[429, 4], [500, 4], [400, 1]] as const) {
    status = answer;
    proxy.refused.length = 0;
    const e = await rejection((await client()).getImage(viaProxy(ref, proxy.address)));
    assert.instance(e, RegistryError);
    assert.is(e.message, `manifest of ${viaProxy(ref, proxy.address)}: registry ${proxy.address} answered HTTP ${answer} (DENIED: refused by the test's fault proxy)`);
    assert.is(proxy.refused.length, attempts, `HTTP ${answer}: ${proxy.refused.join(", ")}`);
  }
});

test("a plain EOF on the engine's manifest PUT is retried (a PUT is idempotent): the tag lands", async () => {
  const { docker, registry } = requireEngine();
  let first = true;
  await using proxy = await startFaultProxy(registry, (req) => {
    if (!isManifestPut(req, /^1\.0$/) || !first) return undefined;
    first = false;
    return dropConnection;
  });
  const ref = `${uniqueRepo(proxy.address)}/sci/eof:1.0`;
  await buildImage(docker, ref, "FROM busybox:stable\nRUN echo eof > /eof\n");
  const lines: string[] = [];
  const digests = await pushTags(docker, [ref], { creds: await DockerCredentials.load(noCreds.dir), signal: new AbortController().signal, line: (l) => lines.push(l), backoffMs: 10 });
  assert.match(lines.join("\n"), /push of \S+ failed \(.*EOF.*\); retry 1\/3/);
  assert.is(proxy.refused.length, 1);
  assert.equal(await registryTags(ref.slice(0, ref.lastIndexOf(":")).replace(proxy.address, registry)), ["1.0"]);
  assert.ok(digests[ref]?.startsWith("sha256:"));
});

test("the transport sends a manifest PUT again after a dropped connection (the write path's footing)", async () => {
  const { registry } = requireEngine();
  const { ref, path } = await image();
  // the image's own manifest, stored under another tag: the PUT a write path makes
  const manifest = Buffer.from(await (await fetch(`http://${registry}/v2/${path}/rel/faults/manifests/1.0`, { headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" } })).arrayBuffer());
  let first = true;
  await using proxy = await startFaultProxy(registry, (req) => {
    if (!isManifestPut(req, /^copy$/) || !first) return undefined;
    first = false;
    return dropConnection;
  });
  const c = await client();
  const req = {
    registry: proxy.address, path: `/v2/${path}/rel/faults/manifests/copy`, method: "PUT" as const, body: manifest,
    contentType: "application/vnd.docker.distribution.manifest.v2+json", scope: `repository:${path}/rel/faults:push,pull`, what: `manifest of ${proxy.address}/${path}/rel/faults:copy`,
  };
  const status = await c.transport.exchange(req, async (res) => res.status);
  assert.is(status, 201);
  assert.is(proxy.refused.length, 1);
  assert.is(proxy.forwarded.filter((r) => r.startsWith("PUT ")).length, 1);
  assert.is((await registryImage(`${ref.replace(/:1\.0$/, "")}:copy`)).digest, (await registryImage(ref)).digest);
  // POST (an upload session) is never sent twice
  first = true;
  await using postProxy = await startFaultProxy(registry, (r) => (r.method === "POST" ? dropConnection : undefined));
  const e = await rejection(c.transport.exchange({ ...req, registry: postProxy.address, method: "POST", path: `/v2/${path}/rel/faults/blobs/uploads/`, body: undefined }, async (res) => res.status));
  assert.match(e.message, new RegExp(`registry ${postProxy.address} dropped the connection`));
  assert.is(postProxy.refused.length, 1);
});

// The realm "elsewhere" is a name no resolver knows: the client's fetch (its `fetch` option) sends
// what is meant for it to the token service on loopback, recording what it was given. No traffic
// leaves this machine's loopback.
const ELSEWHERE = "auth.elsewhere.test";

test("a Bearer realm over plain http elsewhere gets no credentials: the token is asked for without them, and the refusal says why", async () => {
  const tokens = await startTokenRegistry();
  try {
    const { registry, user, pass } = tokens;
    await publish(requireEngine().docker, [`${registry}/team/rel/realm:1.0`], "FROM busybox:stable\n", { username: user, password: pass });
    const realm = new URL(tokens.realm);
    const elsewhereRealm = `http://${ELSEWHERE}:${realm.port}${realm.pathname}`;
    const seen: (string | null)[] = [];
    const relayingFetch = ((input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : input);
      if (url.hostname !== ELSEWHERE) return anyPortFetch(url, init ?? {});
      seen.push(new Headers(init?.headers).get("authorization"));
      url.hostname = realm.hostname;
      return anyPortFetch(url, init ?? {});
    }) as typeof fetch;
    await using proxy = await startFaultProxy(registry, (req) => (req.url?.startsWith("/v2/") ? rewriteHeaders((h) => ({
      ...h, ...(h["www-authenticate"] ? { "www-authenticate": String(h["www-authenticate"]).replace(/realm="[^"]+"/, `realm="${elsewhereRealm}"`) } : {}),
    })) : undefined));
    using creds = dockerConfigDir({ auths: { [proxy.address]: authEntry(user, pass) } });
    const c = await client({ fetch: relayingFetch }, creds.dir);
    const e = await rejection(c.getImage(`${proxy.address}/team/rel/realm:1.0`));
    assert.equal(seen, [null], "the token service elsewhere was asked once, without credentials");
    assert.match(e.message, new RegExp(`^manifest of ${proxy.address}/team/rel/realm:1\\.0: access denied by ${proxy.address} \\(HTTP 401.*\\); the credentials from the docker config were not sent: the token realm http://${ELSEWHERE.replace(/\./g, "\\.")} is not https$`));
    assert.not.ok(e.message.includes(pass));
    // the realm of the registry itself (loopback, for a loopback registry) gets them, as before
    using directCreds = dockerConfigDir({ auths: { [registry]: authEntry(user, pass) } });
    const direct = await client({}, directCreds.dir);
    assert.ok(await direct.getImage(`${registry}/team/rel/realm:1.0`));
  } finally {
    await tokens.stop();
  }
});

test.run();
