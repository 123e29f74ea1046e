// The Registry HTTP API v2 client against real registries: plain, basic auth, and token auth
// (docker-registry trusting a loopback token service).
import { createHash } from "node:crypto";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseImageReference } from "../../src/core/parse/image-reference.js";
import { InputError } from "../../src/core/model.js";
import { DockerCredentials } from "../../src/registry/credentials.js";
import { RegistryClient, RegistryError } from "../../src/registry/client.js";
import { registryImage, requireEngine, uniqueRepo } from "../helpers/engine.js";
import { authEntry, dockerConfigDir, publish, startTokenRegistry, type TokenRegistry } from "../helpers/registry.js";

const cleanups: (() => unknown)[] = [];
test.after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function clientWith(auths: Record<string, unknown>): Promise<RegistryClient> {
  const cfg = dockerConfigDir({ auths });
  cleanups.push(cfg.cleanup);
  return new RegistryClient(await DockerCredentials.load(cfg.dir));
}

const LABELS = 'LABEL org.sciserver.science.essentials-2-4.version="2.4-7-abc1234" org.sciserver.science.essentials-2-4.buildtime="1763900000"';

async function rejectsWith(p: Promise<unknown>, pattern: RegExp, type: Function = RegistryError): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, type);
    assert.match((e as Error).message, pattern);
    return (e as Error).message;
  }
  assert.unreachable(`expected a rejection matching ${pattern}`);
  return "";
}

test("plain registry: image, labels, history, digest, tags, catalog; unknown ones are undefined or []", async () => {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  await publish(docker, [`${repo}/sci/essentials-2-4:2.4-7-abc1234`, `${repo}/sci/essentials-2-4:2.4`],
    `FROM busybox:stable\nRUN echo one > /one\n${LABELS}\n`);
  const client = await clientWith({});
  const image = await client.getImage(`${repo}/sci/essentials-2-4:2.4`);
  assert.ok(image);
  const landed = await registryImage(`${repo}/sci/essentials-2-4:2.4`);
  assert.is(image.digest, landed.digest);
  assert.is(image.manifestDigest, landed.digest);
  assert.is(await client.getDigest(`${repo}/sci/essentials-2-4:2.4-7-abc1234`), landed.digest);
  assert.is(image.config.labels["org.sciserver.science.essentials-2-4.version"], "2.4-7-abc1234");
  assert.is(image.platform, "linux/amd64");
  // busybox:stable is one layer, the RUN another; LABEL makes no layer
  assert.is(image.layers.length, 2);
  assert.is(image.config.diffIds.length, 2);
  assert.ok(image.config.history.some((h) => h.createdBy?.includes("echo one") && !h.emptyLayer));
  assert.ok(image.config.history.some((h) => h.createdBy?.includes("LABEL") && h.emptyLayer));
  assert.is(image.size, image.layers.reduce((s, l) => s + l.size, 0) + (await client.getBlob(parseImageReference(image.reference), image.configDigest)).length);
  // by digest
  const byDigest = await client.getImage(`${repo}/sci/essentials-2-4@${landed.digest}`);
  assert.is(byDigest?.configDigest, image.configDigest);

  assert.equal((await client.listTags(`${repo}/sci/essentials-2-4`)).sort(), ["2.4", "2.4-7-abc1234"]);
  const catalog = await client.catalog(registry);
  assert.ok(catalog?.includes(`${repo.slice(registry.length + 1)}/sci/essentials-2-4`));

  assert.is(await client.getImage(`${repo}/sci/essentials-2-4:9.9`), undefined);
  assert.is(await client.getImage(`${repo}/sci/nothing:1.0`), undefined);
  assert.is(await client.getDigest(`${repo}/sci/nothing:1.0`), undefined);
  assert.equal(await client.listTags(`${repo}/sci/nothing`), []);
});

test("multi-platform index: the asked platform's image, the index's digest; a missing platform is bad input", async () => {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  await publish(docker, [`${repo}/multi:single`], "FROM busybox:stable\nLABEL which=single\n");
  const single = await registryImage(`${repo}/multi:single`);
  const manifest = await fetch(`http://${registry}/v2/${repo.slice(registry.length + 1)}/multi/manifests/single`, {
    headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
  });
  const size = (await manifest.arrayBuffer()).byteLength;
  const entry = (arch: string) => ({ mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: single.digest, size, platform: { os: "linux", architecture: arch } });
  const index = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [entry("arm64"), entry("amd64")] });
  const put = await fetch(`http://${registry}/v2/${repo.slice(registry.length + 1)}/multi/manifests/both`, {
    method: "PUT", headers: { "content-type": "application/vnd.oci.image.index.v1+json" }, body: index,
  });
  assert.is(put.status, 201);
  const indexDigest = `sha256:${createHash("sha256").update(index).digest("hex")}`;

  const client = await clientWith({});
  const arm = await client.getImage(`${repo}/multi:both`, { platform: "linux/arm64" });
  assert.is(arm?.digest, indexDigest);
  assert.is(arm?.manifestDigest, single.digest);
  assert.is(arm?.platform, "linux/arm64");
  assert.is(arm?.config.labels.which, "single");
  assert.is((await client.getImage(`${repo}/multi:both`))?.platform, "linux/amd64");
  assert.is(await client.getDigest(`${repo}/multi:both`), indexDigest);
  await rejectsWith(client.getImage(`${repo}/multi:both`, { platform: "linux/s390x" }), /multi:both has no linux\/s390x image \(it has: linux\/arm64, linux\/amd64\)/, InputError);
});

test("basic-auth registry: credentials from the docker config; none or wrong ones are refusals naming the image", async () => {
  const { docker, authRegistry, authUser, authPass } = requireEngine();
  const repo = uniqueRepo(authRegistry);
  await publish(docker, [`${repo}/rel/essentials:2.4`], `FROM busybox:stable\n${LABELS}\n`, { username: authUser, password: authPass });
  const good = await clientWith({ [authRegistry]: authEntry(authUser, authPass) });
  const image = await good.getImage(`${repo}/rel/essentials:2.4`);
  assert.is(image?.config.labels["org.sciserver.science.essentials-2-4.version"], "2.4-7-abc1234");
  assert.equal(await good.listTags(`${repo}/rel/essentials`), ["2.4"]);

  const none = await clientWith({});
  await rejectsWith(none.getImage(`${repo}/rel/essentials:2.4`), /rel\/essentials:2\.4: .*requires credentials and the docker config .*config\.json has none for it/);
  const wrong = await clientWith({ [authRegistry]: authEntry(authUser, "wrong-password-123") });
  const message = await rejectsWith(wrong.listTags(`${repo}/rel/essentials`), /access denied by .*HTTP 401.*credentials from the docker config were refused/);
  assert.not.ok(message.includes("wrong-password-123"));
});

let tokenRegistry: TokenRegistry | undefined;

test("token registry: the Bearer flow with credentials, tokens cached per scope", async () => {
  const { docker } = requireEngine();
  tokenRegistry = await startTokenRegistry();
  cleanups.push(() => tokenRegistry!.stop());
  const { registry, user, pass, tokenRequests } = tokenRegistry;
  await publish(docker, [`${registry}/team/rel/astro:1.0`], `FROM busybox:stable\nLABEL org.sciserver.compat.version="astro:1.0-7-abc1234"\n`, { username: user, password: pass });
  const before = tokenRequests.length;

  const client = await clientWith({ [registry]: authEntry(user, pass) });
  const image = await client.getImage(`${registry}/team/rel/astro:1.0`);
  assert.is(image?.config.labels["org.sciserver.compat.version"], "astro:1.0-7-abc1234");
  assert.equal(await client.listTags(`${registry}/team/rel/astro`), ["1.0"]);
  assert.ok(await client.getDigest(`${registry}/team/rel/astro:1.0`));
  assert.equal(await client.catalog(registry), ["team/rel/astro"]);
  // one token for the repository (manifest, config blob, tags, HEAD), one for the catalog
  const ours = tokenRequests.slice(before);
  assert.equal(ours, [
    { scope: "repository:team/rel/astro:pull", authorized: true },
    { scope: "registry:catalog:*", authorized: true },
  ]);
  assert.is(await client.getImage(`${registry}/team/rel/astro:2.0`), undefined);
});

test("token registry: wrong credentials refused by the token service, none get an empty token the registry refuses", async () => {
  const { registry, user } = tokenRegistry!;
  const wrong = await clientWith({ [registry]: authEntry(user, "not-the-password") });
  const message = await rejectsWith(wrong.getImage(`${registry}/team/rel/astro:1.0`), /team\/rel\/astro:1\.0: the token service of .* refused the credentials from the docker config \(HTTP 401/);
  assert.not.ok(message.includes("not-the-password"));
  const anonymous = await clientWith({});
  await rejectsWith(anonymous.getImage(`${registry}/team/rel/astro:1.0`), /astro:1\.0: access denied by .*HTTP 401/);
});

test("a registry that is down: one line naming it", async () => {
  const client = await clientWith({});
  // a port no registry listens on: the token registry's, once stopped
  const { registry } = tokenRegistry!;
  await tokenRegistry!.stop();
  cleanups.pop();
  await rejectsWith(client.getImage(`${registry}/a/b:1`), new RegExp(`registry ${registry.replace(/\./g, "\\.")} cannot be reached \\(http://${registry.replace(/\./g, "\\.")}\\): ECONNREFUSED`));
});

test.run();
