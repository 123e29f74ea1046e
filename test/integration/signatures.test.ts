// Signatures (issue 19, items 4 to 6): the example family pushed with --sign-key, its signatures
// checked independently of image-builder's code, as `cosign verify --key` checks them: the
// `.sig` manifest and payload fetched over the registry's HTTP API, the payload naming the
// manifest digest, and openssl verifying the ECDSA signature with the public key (Debian's skopeo
// is built without sigstore). Then `verify`, reruns (nothing written), a second key, and images
// and parents replaced in the registry. Published with --no-attestations: the signature of a plain
// image under its build tag is what is judged here (indexes with attestations, signed: the
// attestations, index-attachments and engine-platforms tests).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, runCliAsync } from "../helpers/cli.js";
import { examplesRepo } from "../helpers/fixture.js";
import { registryIndex, registryRequest, registryTags, registryWritesFromNow, requireEngine, uniqueRepo } from "../helpers/engine.js";
import { pemBodyLines } from "../helpers/keys.js";
import { publish } from "../helpers/registry.js";
import { isManifestPut, startFaultProxy } from "../helpers/fault-proxy.js";
import { everythingWritten, tempDir } from "../helpers/temp.js";
import { baseAndTools, compat, makeRepo, science, type TempRepo } from "../helpers/repo.js";
import { parseSigningKey, signPayload } from "../../src/core/signatures/keys.js";
import { signatureLayer, signatureManifest, simpleSigningPayload } from "../../src/core/signatures/cosign.js";
import { hostPlatform, RegistryClient } from "../../src/registry/client.js";
import { DockerCredentials } from "../../src/registry/credentials.js";
import { signDigest } from "../../src/registry/signatures.js";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const ACCEPT = [OCI_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.index.v1+json"].join(", ");

const keys = tempDir("ib-sign-");
const key = join(keys.path, "key.pem");
const pub = join(keys.path, "key.pub");
const otherKey = join(keys.path, "other.pem");
const otherPub = join(keys.path, "other.pub");
/** PKCS#8 (openssl genpkey) and SEC1 (openssl ecparam) keys: both are read. */
execFileSync("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
execFileSync("openssl", ["pkey", "-in", key, "-pubout", "-out", pub]);
execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", otherKey]);
execFileSync("openssl", ["ec", "-in", otherKey, "-pubout", "-out", otherPub], { stdio: "ignore" });
/** Lines of the private keys (not the BEGIN/END lines): none may appear anywhere the runs write. */
const keyLines = [key, otherKey].flatMap((f) => pemBodyLines(readFileSync(f, "utf8")));

let repo: TempRepo;
let target = "";
let n = "";
let h = "";
test.after(() => {
  repo?.cleanup();
  keys[Symbol.dispose]();
});

/** GET from the registry over its HTTP API, nothing of image-builder's code. */
async function get(registry: string, path: string, accept = ACCEPT): Promise<Response> {
  return registryRequest(registry, path, { accept });
}

function split(ref: string): { registry: string; name: string; tag: string } {
  const slash = ref.indexOf("/");
  const colon = ref.lastIndexOf(":");
  return { registry: ref.slice(0, slash), name: ref.slice(slash + 1, colon), tag: ref.slice(colon + 1) };
}

/** The digest the registry serves under `ref` (`host/path:tag`). */
async function digestOf(ref: string): Promise<string> {
  const { registry, name, tag } = split(ref);
  const res = await get(registry, `${name}/manifests/${tag}`);
  assert.ok(res.ok, `${ref}: HTTP ${res.status}`);
  return res.headers.get("docker-content-digest")!;
}

interface Signature { payload: Buffer; der: Buffer; annotations: Record<string, string> }

/** The signatures under `repository:sha256-HEX.sig`, as cosign reads them: the manifest's simple-signing layers and their payload blobs. */
async function signaturesOf(repository: string, digest: string): Promise<{ manifestDigest: string; signatures: Signature[] } | undefined> {
  const slash = repository.indexOf("/");
  const [registry, name] = [repository.slice(0, slash), repository.slice(slash + 1)];
  const res = await get(registry, `${name}/manifests/${digest.replace(":", "-")}.sig`);
  if (res.status === 404) return undefined;
  assert.ok(res.ok, `HTTP ${res.status}`);
  const manifest = (await res.json()) as { mediaType: string; config: { mediaType: string }; layers: { mediaType: string; digest: string; annotations: Record<string, string> }[] };
  assert.is(manifest.mediaType, OCI_MANIFEST);
  assert.is(manifest.config.mediaType, "application/vnd.oci.image.config.v1+json");
  const signatures = await Promise.all(manifest.layers.map(async (layer) => {
    assert.is(layer.mediaType, "application/vnd.dev.cosign.simplesigning.v1+json");
    const blob = await get(registry, `${name}/blobs/${layer.digest}`);
    assert.ok(blob.ok);
    const payload = Buffer.from(await blob.arrayBuffer());
    return { payload, der: Buffer.from(layer.annotations["dev.cosignproject.cosign/signature"], "base64"), annotations: layer.annotations };
  }));
  return { manifestDigest: res.headers.get("docker-content-digest")!, signatures };
}

/** Whether openssl verifies `signature` of `payload` with the public key file. */
function opensslVerifies(publicKey: string, s: Signature): boolean {
  using dir = tempDir("ib-sig-");
  writeFileSync(join(dir.path, "payload"), s.payload);
  writeFileSync(join(dir.path, "sig.der"), s.der);
  const r = spawnSync("openssl", ["dgst", "-sha256", "-verify", publicKey, "-signature", join(dir.path, "sig.der"), join(dir.path, "payload")], { encoding: "utf8" });
  assert.is(r.status === 0, r.stdout.trim() === "Verified OK", `${r.stdout}${r.stderr}`);
  return r.status === 0;
}

/** Every build tag of the family, `host/path/{sci,rel}/name:{version}-{n}-{h}`. */
const buildTags = () => [
  `${target}/sci/essentials-2-4:2.4-${n}-${h}`, `${target}/sci/essentials-2-5:2.5-${n}-${h}`,
  `${target}/sci/astro-base:1.0-${n}-${h}`, `${target}/sci/astro-tools:1.0-${n}-${h}`,
  `${target}/rel/essentials:2.4-${n}-${h}`, `${target}/rel/essentials:2.5-${n}-${h}`, `${target}/rel/astro:1.0-${n}-${h}`,
];
const repositoryOf = (ref: string) => ref.slice(0, ref.lastIndexOf(":"));

test("--push --sign-key: every image under its build tag is signed in cosign's format, which openssl verifies with the public key", async () => {
  const engine = requireEngine();
  repo = examplesRepo();
  target = uniqueRepo(engine.registry);
  n = repo.git("rev-list", "--count", "HEAD");
  h = repo.git("rev-parse", "--short", "HEAD");
  using out = tempDir("ib-sign-out-");
  const results = join(out.path, "results.json");
  const r = await runCliAsync(["--all", "--push", "--no-attestations", "--repo", target, "--sign-key", key, "--json", "--results", results, "--log-dir", join(out.path, "logs"),
    "--report", join(out.path, "report"), "--progress", "plain"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  const written = everythingWritten([r.stdout, r.stderr], [out.path]);
  for (const line of keyLines) assert.not.ok(written.includes(line), "a line of the signing key is in the run's output, plan, results, logs or report");

  const recorded = JSON.parse(readFileSync(results, "utf8")) as { results: { id: string; tags: { tag: string; digest: string }[]; signature?: { digest: string; tag: string; status: string } }[] };
  assert.is(recorded.results.length, 7);
  for (const tag of buildTags()) {
    const digest = await digestOf(tag);
    const repository = repositoryOf(tag);
    // The results say which signature tag holds it.
    const result = recorded.results.find((b) => b.tags[0].tag === tag);
    assert.equal(result?.signature && { digest: result.signature.digest, tag: result.signature.tag, status: result.signature.status },
      { digest, tag: `${repository}:${digest.replace(":", "-")}.sig`, status: "signed" }, tag);
    const held = await signaturesOf(repository, digest);
    assert.ok(held, `${tag}: no .sig tag`);
    assert.is(held.signatures.length, 1);
    const [s] = held.signatures;
    // The payload names this manifest in this repository, as cosign verify checks it.
    assert.equal(JSON.parse(s.payload.toString()), {
      critical: { identity: { "docker-reference": repository }, image: { "docker-manifest-digest": digest }, type: "cosign container image signature" },
      optional: null,
    });
    assert.ok(opensslVerifies(pub, s), `${tag}: openssl does not verify its signature with the key`);
    assert.not.ok(opensslVerifies(otherPub, s), `${tag}: openssl verifies its signature with another key`);
  }
  // The moving tags hold the signed images.
  assert.is(await digestOf(`${target}/rel/essentials:2.5`), await digestOf(`${target}/rel/essentials:2.5-${n}-${h}`));
});

test("with attestations (the default): each index under a build tag and each platform image in it is signed, which openssl verifies with the public key", async () => {
  const indexed = uniqueRepo(requireEngine().registry);
  const r = await runCliAsync(["--all", "--push", "--repo", indexed, "--sign-key", key, "--progress", "plain"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  for (const tag of buildTags().map((t) => `${indexed}${t.slice(target.length)}`)) {
    const { registry, name, tag: at } = split(tag);
    const res = await get(registry, `${name}/manifests/${at}`, "application/vnd.oci.image.index.v1+json");
    assert.ok(res.ok, `${tag}: HTTP ${res.status}`);
    const index = (await res.json()) as { mediaType: string; manifests: { digest: string; annotations?: Record<string, string> }[] };
    assert.is(index.mediaType, "application/vnd.oci.image.index.v1+json", tag);
    const images = index.manifests.filter((m) => m.annotations?.["vnd.docker.reference.type"] !== "attestation-manifest").map((m) => m.digest);
    assert.is(images.length, 1, tag);
    for (const digest of [res.headers.get("docker-content-digest")!, ...images]) {
      const repository = repositoryOf(tag);
      const held = await signaturesOf(repository, digest);
      assert.ok(held, `${tag}: no .sig tag for ${digest}`);
      const [s] = held.signatures;
      assert.equal(JSON.parse(s.payload.toString()).critical, { identity: { "docker-reference": repository }, image: { "docker-manifest-digest": digest }, type: "cosign container image signature" });
      assert.ok(opensslVerifies(pub, s), `${tag}@${digest}: openssl does not verify its signature with the key`);
    }
  }
});

test("verify: passes with the key, names what fails with another key", async () => {
  const ok = runCli(["verify", "rel/essentials:2.5", "--repo", target, "--key", pub, "--no-attestations"], { cwd: repo.root });
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^ok\s+signature\s+image sha256:[0-9a-f]{64}\s+signed by this key \(sha256-[0-9a-f]{64}\.sig\)$/m);
  // the layers it was built on are what the registry holds under their build tags
  assert.match(ok.stdout, new RegExp(`^ok\\s+parent\\s+sci/essentials-2-4:2\\.4-${n}-${h}\\s+the registry holds the build this image was built on$`, "m"));
  assert.match(ok.stdout, new RegExp(`^ok\\s+parent\\s+sci/essentials-2-5:2\\.5-${n}-${h}\\s`, "m"));
  const json = runCli(["verify", `${target}/sci/astro-tools:1.0`, "--key", pub, "--json", "--no-attestations"]);
  assert.is(json.code, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as { checks: { check: string; ok: boolean }[] }).checks.map((c) => [c.check, c.ok]), [["build", true], ["layers", true], ["signature", true], ["parent", true], ["attestations", true]]);

  const other = runCli(["verify", "rel/essentials:2.5", "--repo", target, "--key", otherPub, "--no-attestations"], { cwd: repo.root });
  assert.is(other.code, 1);
  assert.match(other.stderr, /^image-builder: verify failed: signature of image sha256:[0-9a-f]{64}: not signed by this key: sha256-[0-9a-f]{64}\.sig holds 1 signature\(s\), none by this key\n$/);
  const bad = runCli(["verify", "rel/essentials:2.5", "--repo", target, "--key", key, "--no-attestations"], { cwd: repo.root });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^image-builder: error: --key \S+key\.pem: not a PEM public key/);
});

test("a rerun with the key (from IMAGE_BUILDER_SIGN_KEY) writes nothing to the registry: every signature is found", async () => {
  const sigs = await Promise.all(buildTags().map(async (t) => (await signaturesOf(repositoryOf(t), await digestOf(t)))!.manifestDigest));
  const writes = registryWritesFromNow("registry", target.slice(target.indexOf("/") + 1));
  const r = await runCliAsync(["--all", "--push", "--no-attestations", "--repo", target, "--progress", "plain"], { cwd: repo.root, env: { IMAGE_BUILDER_SIGN_KEY: readFileSync(key, "utf8") } });
  assert.is(r.code, 0, r.stderr);
  // A Jenkins "secret file" credential binds the key's path instead of its text.
  const byPath = await runCliAsync(["--all", "--push", "--no-attestations", "--repo", target, "--progress", "plain"], { cwd: repo.root, env: { IMAGE_BUILDER_SIGN_KEY: key } });
  assert.is(byPath.code, 0, byPath.stderr);
  assert.match(byPath.stderr, new RegExp(`already signed by this key: ${target}/rel/astro:sha256-[0-9a-f]{64}\\.sig`));
  assert.match(r.stderr, /7 reused/);
  assert.match(r.stderr, new RegExp(`already signed by this key: ${target}/rel/astro:sha256-[0-9a-f]{64}\\.sig`));
  assert.equal(writes(), []);
  assert.equal(await Promise.all(buildTags().map(async (t) => (await signaturesOf(repositoryOf(t), await digestOf(t)))!.manifestDigest)), sigs);
  for (const line of keyLines) assert.not.ok(`${r.stdout}${r.stderr}`.includes(line));
});

test("another key's signature is added next to the first, as cosign adds one: both verify", async () => {
  const r = await runCliAsync(["--all", "--push", "--no-attestations", "--repo", target, "--sign-key", otherKey, "--progress", "plain"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  for (const tag of buildTags()) {
    const held = (await signaturesOf(repositoryOf(tag), await digestOf(tag)))!;
    assert.is(held.signatures.length, 2, tag);
    assert.ok(opensslVerifies(pub, held.signatures[0]));
    assert.ok(opensslVerifies(otherPub, held.signatures[1]));
  }
  for (const k of [pub, otherPub]) assert.is(runCli(["verify", `${target}/rel/astro:1.0`, "--key", k, "--no-attestations"]).code, 0);
});

test("another signer's write that dropped this run's signature after the run read it back: the read back at the end of the run adds it again, next to the other's; refused, the image is not published as asked", async () => {
  const { registry } = requireEngine();
  const client = new RegistryClient(await DockerCredentials.load("/nonexistent-docker-config", {}));
  const other = parseSigningKey(readFileSync(otherKey, "utf8"), "other key");
  const SIG = /^\/v2\/(.+)\/manifests\/sha256-([0-9a-f]{64})\.sig$/;
  for (const refusedAgain of [false, true]) {
    const written = new Set<string>();
    let dropped: RegExpExecArray | undefined;
    // The other signer read the .sig tag before this run wrote it (nothing there), so it writes its
    // own signature alone, over this run's: just after this run read its own back.
    const otherSignerWrites = async (m: RegExpExecArray) => {
      const ref = { registry, repository: m[1], tag: `sha256-${m[2]}.sig` };
      const payload = simpleSigningPayload(`${proxy.address}/${m[1]}`, `sha256:${m[2]}`);
      const { manifest, mediaType, config } = signatureManifest([signatureLayer(payload, signPayload(other, payload))]);
      await client.putBlob(ref, payload);
      await client.putBlob(ref, config);
      await client.putManifest(ref, manifest, mediaType);
    };
    await using proxy = await startFaultProxy(registry, (req) => {
      const m = SIG.exec(req.url ?? "");
      if (!m) return undefined;
      // The signature added again, at the end of the run: refused in the second round.
      if (req.method === "PUT" && dropped?.[0] === m[0] && refusedAgain) return 403;
      if (req.method === "PUT") written.add(req.url!);
      else if (req.method === "GET" && written.has(req.url!) && !dropped) {
        dropped = m;
        return { holdReply: otherSignerWrites(m) };
      }
      return undefined;
    });
    using out = tempDir("ib-sign-dropped-");
    const results = join(out.path, "results.json");
    const fresh = `${proxy.address}/${uniqueRepo(registry).split("/")[1]}`;
    const r = await runCliAsync(["--include", "science/essentials-2-4", "--push", "--no-attestations", "--repo", fresh, "--sign-key", key, "--results", results, "--progress", "plain"], { cwd: repo.root });
    assert.ok(dropped, "the other signer wrote after a read back");
    const [, name, hex] = dropped!;
    const held = (await signaturesOf(`${registry}/${name}`, `sha256:${hex}`))!;
    const recorded = (JSON.parse(readFileSync(results, "utf8")) as { results: { pushed: boolean; reason?: string; signature?: { status: string; digest: string; manifestDigest?: string } }[] }).results
      .find((b) => b.signature?.digest === `sha256:${hex}`);
    if (refusedAgain) {
      // Only the other key's signature is there: the image is not published as asked.
      assert.is(r.code, 1, r.stderr);
      assert.is(held.signatures.length, 1);
      assert.ok(opensslVerifies(otherPub, held.signatures[0]));
      assert.is(recorded?.signature?.status, "failed");
      assert.is(recorded?.pushed, false);
      assert.match(recorded?.reason ?? "", /^signing \S+\.sig \(sha256:[0-9a-f]{64}\), read back at the end of the run: /);
      assert.match(r.stderr, /\n\d+ built, 1 push failed/);
      continue;
    }
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`read back at the end of the run: another write of ${proxy.address}/${name}:sha256-${hex}\\.sig had dropped this key's signature; added again`));
    // Both keys' signatures are there, the other's first (it was written over this run's).
    assert.is(held.signatures.length, 2);
    assert.ok(opensslVerifies(otherPub, held.signatures[0]));
    assert.ok(opensslVerifies(pub, held.signatures[1]));
    // --results names the signature manifest the registry holds now.
    assert.is(recorded?.signature?.status, "signed");
    assert.is(recorded?.signature?.manifestDigest, held.manifestDigest);
  }
});

test("--reconcile with a signing key plans the images it did not sign; their run reuses them and signs them", async () => {
  using dir = tempDir("ib-third-");
  const third = join(dir.path, "third.pem");
  execFileSync("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", third]);
  const dry = runCli(["--reconcile", "--no-attestations", "--dryrun", "-vv", "--repo", target], { cwd: repo.root, env: { IMAGE_BUILDER_SIGN_KEY: readFileSync(third, "utf8") } });
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, new RegExp(`build sci/essentials-2-4: ${target}/sci/essentials-2-4:2\\.4 holds 2\\.4-${n}-${h}, of this checkout's inputs, not signed by the signing key`));
  assert.match(dry.stderr, /final plan includes 4 science builds and 3 compat builds/);
  const r = await runCliAsync(["--reconcile", "--push", "--no-attestations", "--sign-key", third, "--repo", target, "--progress", "plain"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /7 reused/);
  for (const tag of buildTags()) assert.is((await signaturesOf(repositoryOf(tag), await digestOf(tag)))!.signatures.length, 3, tag);
  const again = runCli(["--reconcile", "--no-attestations", "--dryrun", "-vv", "--repo", target, "--sign-key", third], { cwd: repo.root });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /nothing to build/);
  assert.not.match(again.stderr, /does nothing with --dryrun/);
  assert.match(again.stderr, /sci\/essentials-2-4: current \(.*, of this checkout's inputs, signed by the signing key\)/);
});

test("verify of an index checks the index's signature and each platform image's (attestation entries are not images)", async () => {
  const image = `${target}/rel/astro:1.0-${n}-${h}`;
  const { registry, name, tag } = split(image);
  const res = await get(registry, `${name}/manifests/${tag}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  const platform = hostPlatform();
  const [os, architecture] = platform.split("/");
  const entry = { mediaType: res.headers.get("content-type")!, digest: res.headers.get("docker-content-digest")!, size: bytes.length };
  const sig = await get(registry, `${name}/manifests/${entry.digest.replace(":", "-")}.sig`);
  const attestation = { mediaType: OCI_MANIFEST, digest: sig.headers.get("docker-content-digest")!, size: Number(sig.headers.get("content-length")), platform: { os: "unknown", architecture: "unknown" } };
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [{ ...entry, platform: { os, architecture } }, attestation] }));
  const put = await fetch(`http://${registry}/v2/${name}/manifests/index-test`, { method: "PUT", headers: { "Content-Type": "application/vnd.oci.image.index.v1+json" }, body: index });
  assert.is(put.status, 201);
  const indexDigest = put.headers.get("docker-content-digest")!;

  const unsigned = runCli(["verify", `${target}/rel/astro:index-test`, "--key", pub, "--no-attestations"]);
  assert.is(unsigned.code, 1);
  assert.match(unsigned.stderr, new RegExp(`^image-builder: verify failed: signature of index ${indexDigest}: not signed: the registry has no sha256-[0-9a-f]{64}\\.sig\n$`));
  assert.match(unsigned.stdout, new RegExp(`^ok\\s+signature\\s+${platform} ${entry.digest}\\s+signed by this key`, "m"));

  const client = new RegistryClient(await DockerCredentials.load("/nonexistent-docker-config", {}));
  await signDigest(client, parseSigningKey(readFileSync(key, "utf8"), "key"), `${target}/rel/astro`, { digest: indexDigest });
  const signed = runCli(["verify", `${target}/rel/astro:index-test`, "--key", pub, "--json", "--no-attestations"]);
  assert.is(signed.code, 0, signed.stderr);
  assert.equal((JSON.parse(signed.stdout) as { checks: { check: string; subject: string; ok: boolean }[] }).checks.map((c) => [c.check, c.subject, c.ok]), [
    ["layers", `${platform} ${entry.digest}`, true],
    ["signature", `index ${indexDigest}`, true],
    ["signature", `${platform} ${entry.digest}`, true],
    ["parent", `sci/astro-base:1.0-${n}-${h} (${platform})`, true],
    ["parent", `sci/astro-tools:1.0-${n}-${h} (${platform})`, true],
    ["attestations", `index ${indexDigest}`, true],
  ], signed.stdout);
});

test("verify fails when the image's tag holds another image, or a parent's build tag another build", async () => {
  const { docker } = requireEngine();
  // rel/essentials:2.4 re-pushed with an image nobody signed
  await publish(docker, [`${target}/rel/essentials:2.4`], "FROM busybox:stable\nRUN echo other > /other\n");
  const replaced = runCli(["verify", `${target}/rel/essentials:2.4`, "--key", pub, "--no-attestations"]);
  assert.is(replaced.code, 1);
  assert.match(replaced.stderr, /verify failed: build of rel\/essentials:2\.4: its version label \(none\) names no build of rel\/essentials: .*; signature of image sha256:[0-9a-f]{64}: not signed: the registry has no sha256-[0-9a-f]{64}\.sig/);
  // sci/essentials-2-4's build tag re-pushed with another build: the final images built on it fail
  const parentTag = `${target}/sci/essentials-2-4:2.4-${n}-${h}`;
  await publish(docker, [parentTag], `FROM busybox:stable\nLABEL org.sciserver.science.essentials-2-4.version=2.4-${n}-${h} org.sciserver.science.essentials-2-4.buildtime=1\n`);
  const parent = runCli(["verify", `${target}/rel/essentials:2.5`, "--key", pub, "--no-attestations"]);
  assert.is(parent.code, 1);
  assert.match(parent.stderr, new RegExp(`parent of sci/essentials-2-4:2\\.4-${n}-${h}: the registry holds another build under \\S+ \\(buildtime 1\\b.*\\) than the one this image was built on \\(buildtime [\\d.]+`));
  assert.match(parent.stdout, /^ok\s+signature/m, "its own signature still verifies");
  // An older signed build copied under a newer build tag: signed, its parents and attestations
  // right, but another build than the tag names.
  const { registry, name } = split(`${target}/rel/astro:1.0`);
  const held = await get(registry, `${name}/manifests/1.0-${n}-${h}`);
  const newer = `1.0-${Number(n) + 1}-${h}`;
  const copy = await fetch(`http://${registry}/v2/${name}/manifests/${newer}`, { method: "PUT", headers: { "Content-Type": held.headers.get("content-type")! }, body: Buffer.from(await held.arrayBuffer()) });
  assert.is(copy.status, 201);
  const older = runCli(["verify", `${target}/rel/astro:${newer}`, "--key", pub, "--no-attestations"]);
  assert.is(older.code, 1, older.stdout);
  assert.match(older.stderr, new RegExp(`verify failed: build of rel/astro:${newer}: its version label names build 1\\.0-${n}-${h}, not ${newer}: another build is under this tag\n$`));
  assert.match(older.stdout, /^ok\s+signature/m, "its signature verifies: the check that fails is the build's");
  // A layer blob deleted (by hand, a garbage collection): signed, attested, and nobody can pull it.
  const { name: toolsName } = split(`${target}/sci/astro-tools:1.0`);
  const layers = ((await (await get(registry, `${toolsName}/manifests/1.0`)).json()) as { layers: { digest: string }[] }).layers;
  const top = layers[layers.length - 1].digest;
  assert.is((await fetch(`http://${registry}/v2/${toolsName}/blobs/${top}`, { method: "DELETE" })).status, 202);
  const gone = runCli(["verify", `${target}/sci/astro-tools:1.0`, "--key", pub, "--no-attestations"]);
  assert.is(gone.code, 1, gone.stdout);
  assert.match(gone.stderr, new RegExp(`verify failed: layers of (linux/amd64|image) sha256:[0-9a-f]{64}: the registry does not have layer ${top}: the image can't be pulled\n$`));
  assert.match(gone.stdout, /^ok\s+signature/m);
  // An image whose config blob is gone: a failed check like the layers', not an error of verify
  // (exit 1, the other checks made, none judging labels it can't read).
  const broken = `${target}/rel/astro-broken:1.0-${n}-${h}`;
  await publish(docker, [broken], `FROM busybox:stable\nLABEL org.sciserver.compat.version=rel/astro-broken:1.0-${n}-${h}\n`);
  const { name: brokenName } = split(broken);
  const config = ((await (await get(registry, `${brokenName}/manifests/1.0-${n}-${h}`)).json()) as { config: { digest: string } }).config.digest;
  assert.is((await fetch(`http://${registry}/v2/${brokenName}/blobs/${config}`, { method: "DELETE" })).status, 202);
  const noConfig = runCli(["verify", broken, "--key", pub, "--no-attestations", "--json"]);
  assert.is(noConfig.code, 1, noConfig.stderr);
  const checks = (JSON.parse(noConfig.stdout) as { checks: { check: string; ok: boolean; detail: string }[] }).checks;
  assert.equal(checks.map((c) => [c.check, c.ok]), [["layers", false], ["signature", false], ["attestations", true]], noConfig.stdout);
  assert.match(checks[0].detail, new RegExp(`${config}.*: the image can't be pulled$`));
  assert.match(noConfig.stderr, /^image-builder: verify failed: layers of image sha256:[0-9a-f]{64}: .*can't be pulled; signature of image/);
});

test("a signature the registry refuses fails the push, and the moving tag stays where it was", async () => {
  const { registry } = requireEngine();
  await using proxy = await startFaultProxy(registry, (req) => (isManifestPut(req, /^sha256-[0-9a-f]{64}\.sig$/) ? 403 : undefined));
  const fresh = `${proxy.address}/${uniqueRepo(registry).split("/")[1]}`;
  const r = await runCliAsync(["--include", "science/essentials-2-4", "--push", "--no-attestations", "--repo", fresh, "--sign-key", key, "--progress", "plain"], { cwd: repo.root });
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`signing ${fresh}/sci/essentials-2-4:2\\.4-${n}-${h} \\(sha256:[0-9a-f]{64}\\): manifest of \\S+:sha256-[0-9a-f]{64}\\.sig`));
  assert.ok(proxy.refused.length > 0);
  // the build tag is there (signing comes after it), the moving tag is not
  assert.equal(await registryTags(`${registry}/${fresh.split("/")[1]}/sci/essentials-2-4`), [`2.4-${n}-${h}`]);
});

test("signing images already published (a rerun, a new key) that the registry refuses: exit 1, and --results says the signature failed though every tag is there", async () => {
  const { registry } = requireEngine();
  using out = tempDir("ib-sign-refused-");
  // The signatures refused: every one; or, with attestations, only the indexes' (their images' are written).
  for (const [attestations, refused] of [[[], "all"], [["--no-attestations"], "all"], [[], "indexes"]] as const) {
    const published = uniqueRepo(registry);
    const first = await runCliAsync(["--include", "science/essentials-2-4", "--push", ...attestations, "--repo", published, "--progress", "plain"], { cwd: repo.root });
    assert.is(first.code, 0, first.stderr);
    const indexes = refused === "indexes" ? await Promise.all(buildTags().filter((t) => /essentials/.test(t)).map((t) => digestOf(`${published}${t.slice(target.length)}`))) : [];
    const refuse = (tag: string) => refused === "all" || indexes.includes(tag.replace("-", ":").replace(/\.sig$/, ""));
    await using proxy = await startFaultProxy(registry, (req) => (isManifestPut(req, /^sha256-[0-9a-f]{64}\.sig$/) && refuse(req.url!.split("/").pop()!) ? 500 : undefined));
    const results = join(out.path, `r-${attestations.length}-${refused}.json`);
    const r = await runCliAsync(["--include", "science/essentials-2-4", "--push", ...attestations, "--repo", published.replace(registry, proxy.address), "--sign-key", key,
      "--results", results, "--progress", "plain"], { cwd: repo.root });
    const what = `${attestations.join(" ") || "with attestations"}, ${refused} refused`;
    assert.is(r.code, 1, `${what}: ${r.stderr}`);
    assert.ok(proxy.refused.length > 0, what);
    const recorded = JSON.parse(readFileSync(results, "utf8")) as {
      results: { id: string; pushed: boolean; reason?: string; signature?: { status: string; reason?: string } }[];
      indexes?: { id: string; status: string; reason?: string; signature?: { status: string; reason?: string } }[];
    };
    const failedSignature = /^signing \S+ \(sha256:[0-9a-f]{64}\): manifest of \S+\.sig: registry \S+ answered HTTP 500/;
    assert.ok(recorded.results.length >= 2, what);
    for (const b of recorded.results) {
      if (refused === "indexes") {
        assert.is(b.signature?.status, "signed", `${what}: ${b.id}`);
        continue;
      }
      // Not published signed: its signature failed, or (a child) its parent's did, so it was not pushed.
      assert.is(b.pushed, false, `${what}: ${b.id}`);
      if (/parent \S+ was not pushed/.test(b.reason ?? "")) continue;
      assert.is(b.signature?.status, "failed", `${what}: ${JSON.stringify(b)}`);
      assert.match(b.signature?.reason ?? "", failedSignature, what);
      assert.match(b.reason ?? "", /^signing /, `${what}: ${b.id}`);
    }
    assert.ok(refused === "indexes" || recorded.results.some((b) => b.signature?.status === "failed"), what);
    // Without an image's signature no index is written; with them, the index's signature fails,
    // and the index of a layer built on one whose index failed is not written either.
    assert.is(recorded.indexes?.length ?? 0, attestations.length ? 0 : recorded.results.length, what);
    for (const i of recorded.indexes ?? []) {
      assert.is.not(i.status, "pushed", `${what}: ${JSON.stringify(i)}`);
      if (refused !== "indexes") continue;
      if (i.signature === undefined) assert.match(i.reason ?? "", /^index not written: the index of sci\/\S+, which it builds on, was not;/, `${what}: ${JSON.stringify(i)}`);
      else assert.match(i.signature.status === "failed" ? i.signature.reason ?? "" : "", failedSignature, `${what}: ${JSON.stringify(i)}`);
    }
    if (refused === "indexes") assert.ok(recorded.indexes!.some((i) => i.signature?.status === "failed"), what);
    assert.not.match(r.stderr, /read back at the end of the run: the registry holds this (image|index) under its tags/, what);
  }
});

test("a signature in the .sig tag whose payload the registry lost: verify judges the others and names it; signing and --reconcile go on, leaving it out", async () => {
  const { registry } = requireEngine();
  const published = uniqueRepo(registry);
  const first = await runCliAsync(["--include", "science/essentials-2-4", "--push", "--no-attestations", "--repo", published, "--sign-key", key, "--progress", "plain"], { cwd: repo.root });
  assert.is(first.code, 0, first.stderr);
  const image = `${published}/rel/essentials:2.4-${n}-${h}`;
  const digest = await digestOf(image);
  // Another signer's entry whose payload blob is gone (a broken write, a garbage collection).
  const { name } = split(image);
  const sigTag = `${digest.replace(":", "-")}.sig`;
  const held = (await (await get(registry, `${name}/manifests/${sigTag}`)).json()) as { layers: { mediaType: string; digest: string; size: number; annotations: Record<string, string> }[] };
  const client = new RegistryClient(await DockerCredentials.load("/nonexistent-docker-config", {}));
  const where = { registry, repository: name };
  const lost = Buffer.from(`{"lost": "${Date.now()}"}`);
  await client.putBlob(where, lost);
  const lostDigest = `sha256:${createHash("sha256").update(lost).digest("hex")}`;
  const manifest = { ...held, layers: [...held.layers, { mediaType: held.layers[0].mediaType, digest: lostDigest, size: lost.length, annotations: { "dev.cosignproject.cosign/signature": "AAAA" } }] };
  await client.putManifest({ ...where, tag: sigTag }, Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
  assert.is((await registryRequest(registry, `${name}/blobs/${lostDigest}`, { method: "DELETE" })).status, 202);

  const ok = runCli(["verify", image, "--key", pub, "--no-attestations"]);
  assert.is(ok.code, 0, `${ok.stdout}${ok.stderr}`);
  const other = runCli(["verify", image, "--key", otherPub, "--no-attestations"]);
  assert.is(other.code, 1, `${other.stdout}${other.stderr}`);
  assert.match(other.stderr, new RegExp(`not signed by this key: ${sigTag.replace(".", "\\.")} holds 1 signature\\(s\\), none by this key; 1 more whose payload can't be read \\(layer ${lostDigest}: .*HTTP 404`));
  const dry = runCli(["--reconcile", "--no-attestations", "--dryrun", "-vv", "--repo", published], { cwd: repo.root, env: { IMAGE_BUILDER_SIGN_KEY: readFileSync(otherKey, "utf8") } });
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /build rel\/essentials:2\.4 .*not signed by the signing key/, dry.stderr);
  const sign = await runCliAsync(["--include", "science/essentials-2-4", "--push", "--no-attestations", "--repo", published, "--sign-key", otherKey, "--progress", "plain"], { cwd: repo.root });
  assert.is(sign.code, 0, sign.stderr);
  assert.match(sign.stderr, new RegExp(`left out of \\S+:${sigTag.replace(".", "\\.")}: signature layer ${lostDigest}, whose payload the registry can't give \\(.*HTTP 404`));
  const now = (await signaturesOf(`${registry}/${name}`, digest))!;
  assert.is(now.signatures.length, 2, "the lost entry left out, the new one added");
  assert.ok(opensslVerifies(pub, now.signatures[0]));
  assert.ok(opensslVerifies(otherPub, now.signatures[1]));
});

test("a bad --sign-key is one line, exit 2, before anything is built or pushed; without --push it is refused", async () => {
  using dir = tempDir("ib-badkey-");
  const encrypted = join(dir.path, "enc.pem");
  execFileSync("openssl", ["pkcs8", "-topk8", "-in", key, "-out", encrypted, "-passout", "pass:pw-secret", "-v2", "aes-256-cbc"]);
  const rsa = join(dir.path, "rsa.pem");
  execFileSync("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", rsa], { stdio: "ignore" });
  const fresh = uniqueRepo(requireEngine().registry);
  const cases: [string[], RegExp, NodeJS.ProcessEnv?][] = [
    [["--sign-key", encrypted], /--sign-key \S+enc\.pem: an encrypted key, and COSIGN_PASSWORD is not set/],
    [["--sign-key", encrypted], /--sign-key \S+enc\.pem: the PEM private key cannot be read \(a wrong password in COSIGN_PASSWORD/, { COSIGN_PASSWORD: "not-its-password" }],
    [["--sign-key", rsa], /an ECDSA P-256 private key is needed .*not an RSA key/],
    [["--sign-key", join(dir.path, "missing.pem")], /--sign-key \S+missing\.pem: cannot read file \(ENOENT\)/],
    [[], /IMAGE_BUILDER_SIGN_KEY: neither a PEM private key nor a file holding one \(cannot read file: ENOENT\)/, { IMAGE_BUILDER_SIGN_KEY: "not a key" }],
    [[], /IMAGE_BUILDER_SIGN_KEY \(file \S+rsa\.pem\): an ECDSA P-256 private key is needed/, { IMAGE_BUILDER_SIGN_KEY: rsa }],
    // The path with the line end of a file it was read from: the file is found all the same.
    [[], /IMAGE_BUILDER_SIGN_KEY \(file \S+rsa\.pem\): an ECDSA P-256 private key is needed/, { IMAGE_BUILDER_SIGN_KEY: `${rsa}\r\n` }],
  ];
  for (const [args, message, env] of cases) {
    const r = runCli(["--all", "--push", "--no-attestations", "--repo", fresh, ...args], { cwd: repo.root, env });
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /^image-builder: error: [^\n]+\n$/);
    for (const line of keyLines) assert.not.ok(r.stderr.includes(line));
  }
  const noPush = runCli(["--all", "--repo", fresh, "--sign-key", key], { cwd: repo.root });
  assert.is(noPush.code, 2);
  assert.match(noPush.stderr, /--sign-key signs what --push publishes: add --push/);
  assert.equal(await registryTags(`${fresh}/sci/essentials-2-4`), [], "nothing pushed");

  // The same key encrypted, with its password: it finds its signature, and shows neither.
  const withPassword = runCli(["--include", "science/astro-base", "--push", "--no-attestations", "--repo", target, "--sign-key", encrypted, "--progress", "plain"], { cwd: repo.root, env: { COSIGN_PASSWORD: "pw-secret" } });
  assert.is(withPassword.code, 0, withPassword.stderr);
  assert.match(withPassword.stderr, /already signed by this key: \S+\/sci\/astro-base:sha256-/);
  assert.not.match(withPassword.stderr, /pw-secret/);
});

test("--reconcile --sign-key: images whose {version} holds an earlier commit's unsigned build of the same inputs are signed where they are, not rebuilt under this commit's build tag", async () => {
  using src = makeRepo(baseAndTools("eb"));
  const at = uniqueRepo(requireEngine().registry);
  const first = await runCliAsync(["--all", "--push", "--repo", at, "--progress", "plain"], { cwd: src.root });
  assert.is(first.code, 0, first.stderr);
  const earlier = `1-${src.git("rev-parse", "--short", "HEAD")}`;
  const images = ["sci/eb-base:1.0", "sci/eb-tools:1.0", "rel/eb:1.0"];
  const before = await Promise.all(images.map((i) => digestOf(`${at}/${i}-${earlier}`)));
  // A later commit that changes none of them: its build number is 2, and {version} stays on build 1.
  src.write({ "NOTES.md": "notes\n" });
  const later = `2-${src.commit("notes")}`;
  const dry = runCli(["--reconcile", "--dryrun", "-vv", "--repo", at, "--sign-key", key], { cwd: src.root });
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, new RegExp(`build sci/eb-base: .*sci/eb-base:1\\.0 holds 1\\.0-${earlier}, of this checkout's inputs, not signed by the signing key; completed as 1\\.0-${earlier}, not rebuilt`));
  // The plan made with the key in the environment, run without one: said, not silently unsigned.
  using plans = tempDir("ib-earlier-plan-");
  const planned = runCli(["plan", "--reconcile", "--repo", at, "--out", join(plans.path, "p.json")], { cwd: src.root, env: { IMAGE_BUILDER_SIGN_KEY: key } });
  assert.is(planned.code, 0, planned.stderr);
  const unsigned = await runCliAsync(["run", join(plans.path, "p.json"), "--push", "--progress", "plain"], { cwd: src.root });
  assert.is(unsigned.code, 0, unsigned.stderr);
  assert.match(unsigned.stderr, /warning: sci\/eb-base, sci\/eb-tools, rel\/eb:1\.0 were planned to be signed \(--reconcile with a signing key\), but this run has no --sign-key \(nor IMAGE_BUILDER_SIGN_KEY\): they are reused, not signed/);
  const r = await runCliAsync(["--reconcile", "--push", "--repo", at, "--sign-key", key, "--progress", "plain"], { cwd: src.root });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /\n3 reused/);
  assert.not.match(r.stderr, /\bbuilt\b/);
  for (const [i, image] of images.entries()) {
    const tag = `${at}/${image}-${earlier}`;
    const repository = repositoryOf(tag);
    // The same index (the image and its attestations) under the earlier build tag and {version}, now signed.
    assert.is(await digestOf(tag), before[i], tag);
    assert.is(await digestOf(`${at}/${image}`), before[i], `${image} moved`);
    const held = await signaturesOf(repository, before[i]);
    assert.ok(held && held.signatures.length === 1 && opensslVerifies(pub, held.signatures[0]), `${tag}: not signed by the key`);
    // Nothing published under this commit's build tag.
    assert.not.ok((await registryTags(repository)).some((t) => t.startsWith(`1.0-${later}`)), `${repository} has a tag of build ${later}`);
  }
  const verified = runCli(["verify", `${at}/rel/eb:1.0`, "--key", pub], { cwd: src.root });
  assert.is(verified.code, 0, verified.stdout + verified.stderr);
  const again = runCli(["--reconcile", "--dryrun", "-v", "--repo", at, "--sign-key", key], { cwd: src.root });
  assert.match(again.stderr, /nothing to build/, again.stderr);

  // Its attestation manifest lost (deleted, or garbage-collected): made again as the earlier build
  // made it, naming the earlier build's commit, not this checkout's: the same bytes, so the index,
  // its digest and its signature stay as they were.
  const tag = `${at}/sci/eb-base:1.0-${earlier}`;
  const { registry, name } = split(tag);
  const index = await registryIndex(tag);
  const attestation = index.manifests.find((m) => m.annotations?.["vnd.docker.reference.type"] === "attestation-manifest")!;
  const deleted = await registryRequest(registry, `${name}/manifests/${attestation.digest}`, { method: "DELETE" });
  assert.is(deleted.status, 202);
  assert.is(runCli(["verify", `${at}/sci/eb-base:1.0`, "--key", pub], { cwd: src.root }).code, 1, "the lost attestation fails verify");
  const repaired = await runCliAsync(["--reconcile", "--push", "--repo", at, "--sign-key", key, "--progress", "plain"], { cwd: src.root });
  assert.is(repaired.code, 0, repaired.stderr);
  assert.is(await digestOf(tag), before[0], "the same index");
  const provenance = await registryRequest(registry, `${name}/manifests/${attestation.digest}`, { accept: attestation.mediaType });
  assert.is(provenance.status, 200, "the attestation manifest is back, under its digest");
  const statement = JSON.parse(Buffer.from(await (await registryRequest(registry, `${name}/blobs/${(await provenance.json() as { layers: { digest: string }[] }).layers[1].digest}`)).arrayBuffer()).toString());
  assert.equal(statement.predicate.buildDefinition.resolvedDependencies[0].digest, { gitCommit: src.git("rev-parse", "HEAD~1") });
  const reverified = runCli(["verify", `${at}/sci/eb-base:1.0`, "--key", pub], { cwd: src.root });
  assert.is(reverified.code, 0, reverified.stdout + reverified.stderr);

  // Its index's build tag deleted, the tag alone (a retention policy), {version} and its platform
  // tags kept: verify of what is built on it fails, and --reconcile writes the tag again where it
  // was, rebuilding nothing (it rebuilt it as this checkout's build, and left the images built on
  // it on a build whose tag was gone: a run that passed, a family that failed verify).
  const indexBytes = Buffer.from(await (await registryRequest(registry, `${name}/manifests/${before[0]}`, { accept: index.mediaType })).arrayBuffer());
  assert.is((await registryRequest(registry, `${name}/manifests/${before[0]}`, { method: "DELETE" })).status, 202);
  assert.is((await fetch(`http://${registry}/v2/${name}/manifests/1.0`, { method: "PUT", body: indexBytes, headers: { "content-type": index.mediaType } })).status, 201);
  assert.is((await get(registry, `${name}/manifests/1.0-${earlier}`)).status, 404, "the build tag is gone");
  assert.is(runCli(["verify", `${at}/rel/eb:1.0`, "--key", pub], { cwd: src.root }).code, 1, "what is built on it fails verify");
  // So does the layer itself, naming the cause: verify of its {version} asks for its build's own tag.
  const own = runCli(["verify", `${at}/sci/eb-base:1.0`, "--key", pub], { cwd: src.root });
  assert.is(own.code, 1, own.stdout + own.stderr);
  assert.match(own.stdout, new RegExp(`FAILED +build +sci/eb-base:1\\.0-${earlier} +its build's own tag \\S+ is gone`), own.stdout);
  // A later commit built on it is refused before anything is built (it published children verify failed).
  src.write({ "science/tools/Dockerfile": "FROM sci/eb-base:1.0\nRUN echo tools 2 > /tools.txt\n" });
  src.commit("tools 2");
  const onLost = await runCliAsync(["--push", "--repo", at, "--sign-key", key, "--progress", "plain"], { cwd: src.root });
  assert.is(onLost.code, 1, onLost.stderr);
  assert.match(onLost.stderr, new RegExp(`base image \\S+/sci/eb-base:1\\.0's build has lost its own tag \\S+/sci/eb-base:1\\.0-${earlier} .*run --reconcile --push first`), onLost.stderr);
  assert.not.match(onLost.stderr, /\] pushed /, "nothing pushed");
  src.git("reset", "-q", "--hard", "HEAD~1");
  const lost = runCli(["--reconcile", "--dryrun", "-vv", "--repo", at, "--sign-key", key], { cwd: src.root });
  assert.match(lost.stderr, new RegExp(`build sci/eb-base: .*but its build tag \\S+/sci/eb-base:1\\.0-${earlier} is gone \\(its image is still under \\S+-linux-amd64\\); completed as 1\\.0-${earlier}, not rebuilt`), lost.stderr);
  assert.match(lost.stderr, /final plan includes 1 science build and 0 compat builds/, lost.stderr);
  const rewritten = await runCliAsync(["--reconcile", "--push", "--repo", at, "--sign-key", key, "--progress", "plain"], { cwd: src.root });
  assert.is(rewritten.code, 0, rewritten.stderr);
  assert.not.match(rewritten.stderr, /\bbuilt\b/);
  assert.is(await digestOf(tag), before[0], "the same index, under its build tag again");
  for (const image of ["sci/eb-base:1.0", "sci/eb-tools:1.0", "rel/eb:1.0"]) {
    const v = runCli(["verify", `${at}/${image}`, "--key", pub], { cwd: src.root });
    assert.is(v.code, 0, `${image}: ${v.stdout}${v.stderr}`);
  }
  assert.not.ok((await registryTags(repositoryOf(tag))).some((t) => t.startsWith(`1.0-${later}`)), "nothing under this commit's build tag");
  assert.match(runCli(["--reconcile", "--dryrun", "-v", "--repo", at, "--sign-key", key], { cwd: src.root }).stderr, /nothing to build/);
});

test("--reconcile plans an image of this checkout's inputs built on a parent build the registry no longer holds (its image deleted by digest), as verify fails it: --overwrite then rebuilds it on what the registry holds", async () => {
  using src = makeRepo(baseAndTools("lp"));
  const at = uniqueRepo(requireEngine().registry);
  const push = (...flags: string[]) => runCliAsync([...flags, "--push", "--repo", at, "--sign-key", key, "--progress", "plain"], { cwd: src.root });
  assert.is((await push("--all")).code, 0);
  const first = `1-${src.git("rev-parse", "--short", "HEAD")}`;
  // A later commit changes tools only: tools and its final image are built on base's build 1.
  src.write({ "science/tools/Dockerfile": "FROM sci/lp-base:1.0\nRUN echo tools 2 > /tools.txt\n" });
  src.commit("tools 2");
  assert.is((await push()).code, 0);
  // base's build 1 lost: its platform image deleted by digest (a retention job), so its index names a manifest the registry lacks.
  const { registry, name } = split(`${at}/sci/lp-base:1.0-${first}`);
  const image = (await registryIndex(`${at}/sci/lp-base:1.0-${first}`)).manifests.find((m) => m.platform?.architecture !== "unknown")!;
  assert.is((await registryRequest(registry, `${name}/manifests/${image.digest}`, { method: "DELETE" })).status, 202);
  const refused = await push("--reconcile");
  assert.is(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /^image-builder: error: refused before building anything: \S+sci\/lp-tools:1\.0-2-[0-9a-f]+-linux-amd64 is already in the registry with an image built on sci\/lp-base:1\.0-1-[0-9a-f]+.*--overwrite replaces it/m);
  // Nothing built or pushed: base is planned again with tools, whose {version} still holds the
  // image built on the lost build (it was called current, and --overwrite, the refusal's advice,
  // did nothing under --reconcile), and what is built on it.
  assert.not.ok((await registryTags(`${at}/sci/lp-base`)).some((t) => t.startsWith("1.0-2-")), "base's build 2 was not pushed");
  const planned = runCli(["--reconcile", "--dryrun", "-vv", "--repo", at, "--sign-key", key], { cwd: src.root });
  assert.match(planned.stderr, /build sci\/lp-base/, planned.stderr);
  assert.match(planned.stderr, /build sci\/lp-tools \(after sci\/lp-base\): published image is built on sci\/lp-base:1\.0-1-[0-9a-f]+.*, of which the registry's image under \S+ can't be read/, planned.stderr);
  assert.match(planned.stderr, /build rel\/lp:1\.0 .*built on sci\/lp-tools, which is rebuilt/, planned.stderr);
  const fixed = await push("--reconcile", "--overwrite");
  assert.is(fixed.code, 0, fixed.stderr);
  for (const tag of ["sci/lp-tools:1.0", "rel/lp:1.0"]) {
    const v = runCli(["verify", `${at}/${tag}`, "--key", pub], { cwd: src.root });
    assert.is(v.code, 0, `${tag}: ${v.stdout}${v.stderr}`);
  }
  assert.match(runCli(["--reconcile", "--dryrun", "-v", "--repo", at, "--sign-key", key], { cwd: src.root }).stderr, /nothing to build/);
});

test.run();
