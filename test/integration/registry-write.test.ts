// The registry client's write path against real registries: blobs mounted across repositories or
// uploaded, manifests and indexes stored under tags, with push scope on a token registry, and a
// reply lost after the registry stored the upload.
import { createHash } from "node:crypto";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseImageReference } from "../../src/core/parse/image-reference.js";
import { MEDIA_TYPES, RegistryClient, RegistryError } from "../../src/registry/client.js";
import { DockerCredentials } from "../../src/registry/credentials.js";
import { registryImage, registryTags, requireEngine, uniqueRepo } from "../helpers/engine.js";
import { startFaultProxy, type Fault } from "../helpers/fault-proxy.js";
import { authEntry, dockerConfigDir, publish, startTokenRegistry } from "../helpers/registry.js";

const noCreds = dockerConfigDir({});
test.after(() => noCreds.cleanup());
const client = async (config = noCreds.dir) => new RegistryClient(await DockerCredentials.load(config), { backoffMs: 10 });
const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** The registry stores the request, and the reply never comes back (the connection closes). */
const replyLost: Fault = (_req, res, forward) => {
  forward().then((up) => {
    up.resume();
    up.on("end", () => res.socket?.destroy());
  }, () => res.destroy());
};

test("an image copied to another repository by mounting its blobs; an index of it stored under a tag reads back", async () => {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  const source = `${repo}/sci/source:1.0`;
  await publish(docker, [source], "FROM busybox:stable\nRUN echo source > /source\n");
  const c = await client();
  const manifest = (await c.getManifest(source))!;
  const target = parseImageReference(`${repo}/rel/copy:1.0`);
  for (const d of [manifest.config, ...manifest.layers]) {
    assert.is(await c.hasBlob(target, d.digest), false);
    assert.ok(await c.mountBlob(target, d.digest, manifest.ref.repository), d.digest);
    assert.ok(await c.hasBlob(target, d.digest));
  }
  assert.is(await c.putManifest(target, manifest.bytes, manifest.mediaType), manifest.digest);
  assert.is((await registryImage(`${repo}/rel/copy:1.0`)).digest, manifest.digest);

  // a blob the registry has nowhere: the mount is declined, the upload stores it (once)
  const note = Buffer.from(JSON.stringify({ note: "an attestation-sized blob" }));
  assert.is(await c.mountBlob(target, sha(note), manifest.ref.repository), false);
  assert.is(await c.putBlob(target, note), "uploaded");
  assert.is(await c.putBlob(target, note), "exists");
  // an index naming the image for one platform, stored under a tag
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex,
    manifests: [{ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length, platform: { os: "linux", architecture: "amd64" } }],
  }));
  const indexRef = parseImageReference(`${repo}/rel/copy:1.0-index`);
  assert.is(await c.putManifest(indexRef, index, MEDIA_TYPES.ociIndex), sha(index));
  const read = await c.getImage(`${repo}/rel/copy:1.0-index`);
  assert.equal([read?.digest, read?.manifestDigest, read?.platform], [sha(index), manifest.digest, "linux/amd64"]);
  assert.equal(await registryTags(`${repo}/rel/copy`), ["1.0", "1.0-index"]);
});

test("replies lost after the registry stored them: the manifest PUT is sent again, the blob upload found stored", async () => {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  await publish(docker, [`${repo}/sci/lost:1.0`], "FROM busybox:stable\n");
  const lost = new Set<string>();
  await using proxy = await startFaultProxy(registry, (req) => {
    const kind = req.method === "PUT" ? (/\/manifests\//.test(req.url ?? "") ? "manifest" : "blob") : undefined;
    if (!kind || lost.has(kind)) return undefined;
    lost.add(kind);
    return replyLost;
  });
  const c = await client();
  const manifest = (await c.getManifest(`${repo.replace(registry, proxy.address)}/sci/lost:1.0`))!;
  const target = parseImageReference(`${repo.replace(registry, proxy.address)}/sci/lost:1.0-again`);
  assert.is(await c.putManifest(target, manifest.bytes, manifest.mediaType), manifest.digest);
  assert.is(await c.putBlob(target, Buffer.from("a blob whose reply was lost")), "uploaded");
  assert.equal([...lost].sort(), ["blob", "manifest"]);
  assert.is((await registryImage(`${repo}/sci/lost:1.0-again`)).digest, manifest.digest);
  assert.ok(await c.hasBlob(parseImageReference(`${repo}/sci/lost:1.0`), sha(Buffer.from("a blob whose reply was lost"))));
});

test("a manifest stored by its digest, answered 400 once (another run storing the same bytes at that moment): asked again, stored; by a tag, the 400 is the answer", async () => {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  await publish(docker, [`${repo}/sci/twice:1.0`], "FROM busybox:stable\n");
  let refused = 0;
  await using proxy = await startFaultProxy(registry, (req) => {
    if (req.method !== "PUT" || !/\/manifests\//.test(req.url ?? "") || refused >= 1) return undefined;
    refused++;
    return (_req, res) => res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "DIGEST_INVALID", message: "provided digest did not match uploaded content" }] }));
  });
  const c = await client();
  const at = repo.replace(registry, proxy.address);
  const manifest = (await c.getManifest(`${at}/sci/twice:1.0`))!;
  assert.is(await c.putManifest(parseImageReference(`${at}/sci/twice@${manifest.digest}`), manifest.bytes, manifest.mediaType), manifest.digest);
  assert.is(refused, 1);
  refused = 0;
  const byTag = await c.putManifest(parseImageReference(`${at}/sci/twice:1.0-again`), manifest.bytes, manifest.mediaType).then(() => undefined, (e: Error) => e);
  assert.match(byTag?.message ?? "", /DIGEST_INVALID/);
});

test("token registry: writes get a token with push scope (a mount also pull on the source); without credentials, access denied", async () => {
  const tokens = await startTokenRegistry();
  try {
    const { registry, user, pass, tokenRequests } = tokens;
    await publish(requireEngine().docker, [`${registry}/team/sci/a:1.0`], "FROM busybox:stable\n", { username: user, password: pass });
    using creds = dockerConfigDir({ auths: { [registry]: authEntry(user, pass) } });
    const c = await client(creds.dir);
    const manifest = (await c.getManifest(`${registry}/team/sci/a:1.0`))!;
    const target = parseImageReference(`${registry}/team/rel/b:1.0`);
    const before = tokenRequests.length;
    for (const d of [manifest.config, ...manifest.layers]) assert.ok(await c.mountBlob(target, d.digest, "team/sci/a"), d.digest);
    assert.is(await c.putManifest(target, manifest.bytes, manifest.mediaType), manifest.digest);
    const scopes = tokenRequests.slice(before).map((r) => r.scope);
    assert.ok(scopes.some((s) => s.includes("repository:team/rel/b:push") && s.includes("repository:team/sci/a:pull")), scopes.join(" | "));
    assert.ok(tokenRequests.slice(before).every((r) => r.authorized));

    const anonymous = await client();
    const e = await anonymous.putBlob(target, Buffer.from("x")).then(() => undefined, (err: Error) => err);
    assert.instance(e, RegistryError);
    assert.match(e!.message, new RegExp(`^blob sha256:[0-9a-f]{64} of ${registry}/team/rel/b: access denied by ${registry} \\(HTTP 401`));
  } finally {
    await tokens.stop();
  }
});

test.run();
