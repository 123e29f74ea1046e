// The attachments hook of the index step (issue 17 for issue 19): a run given `attach` publishes a
// plan without platforms as one-platform indexes (the engine pushes each image under platform
// tags made from the engine's platform; the layer's own tags hold the index of the image and what
// the hook attached), checked over the registry's HTTP API. The attachment here is a trivial one
// (an in-toto-like blob in an OCI manifest), not an attestation.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { runCli, runCliAsync } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp.js";
import { writeKeyPair } from "../helpers/keys.js";
import { parseSigningKey } from "../../src/core/signatures/keys.js";
import { build, capture, makePlan, registryImage, registryIndex, registryTags, requireEngine, runOptions, runPlan, uniqueRepo } from "../helpers/engine.js";
import { startFaultProxy } from "../helpers/fault-proxy.js";
import { compat, makeRepo, science } from "../helpers/repo.js";
import { writeIndex, type AttachHook } from "../../src/executors/index-step.js";
import { parseImageReference } from "../../src/core/parse/image-reference.js";
import { RegistryClient } from "../../src/registry/client.js";
import { DockerCredentials } from "../../src/registry/credentials.js";

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** Attaches to each image a manifest of one blob naming the image's digest: the same bytes for the same image. */
const attach: AttachHook = async ({ descriptor, registry, repository }) => {
  const ref = parseImageReference(repository);
  const config = Buffer.from("{}");
  const statement = Buffer.from(JSON.stringify({ subject: descriptor.digest }));
  for (const blob of [config, statement]) await registry.putBlob(ref, blob);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: [{ mediaType: "application/vnd.in-toto+json", digest: sha256(statement), size: statement.length }],
  }));
  const digest = sha256(manifest);
  // Uploaded once: a rerun finds it (an index step that writes nothing needs a hook that does the same).
  if (!(await registry.getDigest(`${repository}@${digest}`))) await registry.putManifest({ ...ref, digest }, manifest, "application/vnd.oci.image.manifest.v1+json");
  return [{
    mediaType: "application/vnd.oci.image.manifest.v1+json", digest, size: manifest.length, platform: { os: "unknown", architecture: "unknown" },
    annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": descriptor.digest },
  }];
};

test("with attachments, an image without platforms is published as a one-platform index: image first, its attachment after; written again, nothing is sent", async () => {
  const { registry } = requireEngine();
  await using proxy = await startFaultProxy(registry, () => undefined);
  const repo = uniqueRepo(proxy.address);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const out = capture();
  const a = build("sci/a", [`${repo}/sci/a:1.0`, `${repo}/sci/a:1.0-7-abc1234`], "FROM busybox:stable\nRUN echo a > /a\n", { contexts: ["science/x"] });
  a.request.labels = { "org.sciserver.science.a.version": "1.0-7-abc1234" };
  // Built on a's moving tag, as the planner names it: pinned to a's image although the engine tagged it with platform tags.
  const b = build("sci/b", [`${repo}/sci/b:1.0`, `${repo}/sci/b:1.0-7-abc1234`], `FROM ${repo}/sci/a:1.0\nRUN cat /a > /b\n`, { contexts: ["science/x"], dependsOn: ["sci/a"] });
  b.request.labels = { "org.sciserver.science.b.version": "1.0-7-abc1234" };
  const plan = makePlan(repo, [a, b]);
  // The sign hook: once the index is under its build tag, before the moving tag holds it.
  const signed: [string, string, boolean][] = [];
  const signIndex = async ({ registry: client, tag, digest }: { registry: RegistryClient; tag: string; digest: string }) => {
    const moving = tag.replace(/-7-abc1234$/, "");
    signed.push([tag, digest, (await client.getDigest(tag)) === digest && (await client.getDigest(moving)) !== digest]);
    return undefined;
  };
  const result = await runPlan(plan, runOptions(src.root, out.stream, { push: true, attach, signIndex }));
  assert.ok(result.ok, out.text());
  assert.equal(result.indexes.map((i) => [i.id, i.status]), [["sci/a", "pushed"], ["sci/b", "pushed"]]);
  assert.equal(signed.sort(), result.indexes.map((i) => [i.tags[0].tag, i.digest, true]).sort());
  const platform = "linux-amd64";
  for (const name of ["sci/a", "sci/b"]) {
    assert.equal(await registryTags(`${repo}/${name}`), ["1.0", "1.0-7-abc1234", `1.0-7-abc1234-${platform}`, `1.0-${platform}`]);
    const index = await registryIndex(`${repo}/${name}:1.0-7-abc1234`);
    const image = await registryImage(`${repo}/${name}:1.0-7-abc1234-${platform}`);
    assert.equal(index.manifests.map((m) => [m.digest, `${m.platform?.os}/${m.platform?.architecture}`]), [[image.digest, "linux/amd64"], [index.manifests[1].digest, "unknown/unknown"]]);
    assert.equal(index.manifests[1].annotations, { "vnd.docker.reference.digest": image.digest, "vnd.docker.reference.type": "attestation-manifest" });
    assert.is((await registryIndex(`${repo}/${name}:1.0`)).digest, index.digest);
  }

  // The index step again, as a rerun would: the same bytes (attachments included) are found under both tags.
  const before = proxy.forwarded.length;
  const client = new RegistryClient(await DockerCredentials.load());
  const [layer] = result.indexes;
  const again = await writeIndex({ registry: client, overwrite: false, allowTagRollback: false, attach, line: () => undefined },
    { id: "sci/a", buildTag: layer.tags[0].tag, movingTag: layer.tags[1].tag, members: [{ platform: "linux/amd64", id: "sci/a" }] },
    [{ platform: "linux/amd64", build: { ...a, request: { ...a.request, tags: a.request.tags.map((t) => `${t}-${platform}`) } }, imageId: result.outcomes[0].outputs!["docker-image-hash"] }]);
  assert.is(again.status, "pushed");
  assert.is(again.digest, layer.digest);
  const writes = proxy.forwarded.slice(before).filter((r) => !/^(GET|HEAD) /.test(r));
  assert.equal(writes, [], "the index step wrote to the registry again");
});

test("a plan mixing a layer that declares platforms with layers that don't: every image is published as an index with its attestation, by run PLAN --only and by the default command (hunter24)", async () => {
  const { registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({
    "image-builder.json": JSON.stringify({ repo }),
    ...science("m", { image: "m", compat: "ui", platforms: ["linux/amd64"] }, "FROM busybox:stable\nRUN echo m > /m\n"),
    ...science("a", { image: "a", compat: "ui" }, "FROM busybox:stable\nRUN echo a > /a\n"),
    ...compat("ui", [], "ENV UI=1\n"),
  });
  const published = async (at: string, names: string[]) => {
    for (const name of names) {
      const index = await registryIndex(`${at}/${name}:1.0`);
      assert.equal(index.manifests?.map((m) => `${m.platform?.os}/${m.platform?.architecture}`), ["linux/amd64", "unknown/unknown"], name);
    }
  };
  // The layers without platforms alone, as the Jenkinsfile's step for them runs them: they were
  // pushed under their platform tags only, and no index written.
  assert.is(runCli(["plan", "--all", "--out", "plan.json"], { cwd: src.root }).code, 0);
  const only = await runCliAsync(["run", "plan.json", "--only", "sci/a", "rel/a:1.0", "--push", "--progress", "plain"], { cwd: src.root });
  assert.is(only.code, 0, only.stderr);
  await published(repo, ["sci/a", "rel/a"]);
  // The whole plan, elsewhere: those were plain images, with no attestation.
  const elsewhere = uniqueRepo(registry);
  const whole = await runCliAsync(["--all", "--push", "--repo", elsewhere, "--progress", "plain"], { cwd: src.root });
  assert.is(whole.code, 0, whole.stderr);
  await published(elsewhere, ["sci/m", "rel/m", "sci/a", "rel/a"]);
});

test("the attachments of an image may start as soon as it is under its build tag, before its moving tag: told its manifest and its parents' digests as its push read them", async () => {
  const { registry } = requireEngine();
  await using proxy = await startFaultProxy(registry, () => undefined);
  const repo = uniqueRepo(proxy.address);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const out = capture();
  const a = build("sci/a", [`${repo}/sci/a:1.0`, `${repo}/sci/a:1.0-9-abc1234`], "FROM busybox:stable\nRUN echo early > /a\n", { contexts: ["science/x"] });
  const b = build("sci/b", [`${repo}/sci/b:1.0`, `${repo}/sci/b:1.0-9-abc1234`], `FROM ${repo}/sci/a:1.0\nRUN cat /a > /b\n`, { contexts: ["science/x"], dependsOn: ["sci/a"] });
  const told = new Map<string, { digest?: string; parents?: Record<string, string>; movingPushed: boolean }>();
  const early: AttachHook = Object.assign(async (image: Parameters<AttachHook>[0]) => attach(image), {
    pushed: (built: { id: string; request: { tags: string[] } }, image?: { manifest: { digest: string }; parents: Record<string, string> }) => {
      const movingTag = built.request.tags[0].replace(/^[^/]+\/(.*):([^:]+)$/, "/v2/$1/manifests/$2");
      told.set(built.id, { digest: image?.manifest.digest, parents: image?.parents, movingPushed: proxy.forwarded.includes(`PUT ${movingTag}`) });
    },
  });
  const result = await runPlan(makePlan(repo, [a, b]), runOptions(src.root, out.stream, { push: true, attach: early }));
  assert.ok(result.ok, out.text());
  const platform = "linux-amd64";
  const digestOf = async (image: string) => (await registryImage(`${repo}/${image}:1.0-9-abc1234-${platform}`)).digest;
  assert.equal(told.get("sci/a"), { digest: await digestOf("sci/a"), parents: {}, movingPushed: false });
  assert.equal(told.get("sci/b"), { digest: await digestOf("sci/b"), parents: { [`${repo}/sci/a:1.0-9-abc1234-${platform}`]: await digestOf("sci/a") }, movingPushed: false });
  // And their moving tags were pushed after.
  assert.ok(proxy.forwarded.includes(`PUT /v2/${repo.slice(repo.indexOf("/") + 1)}/sci/b/manifests/1.0-${platform}`), proxy.forwarded.join("\n"));
});

test("with a signing key, each index is signed once it is under its build tag, as its platform images are: verify passes", async () => {
  const { registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  using keys = tempDir("ib-index-sign-");
  const { pub, pem } = writeKeyPair(keys.path);
  const signKey = parseSigningKey(pem, "test key");
  const a = build("sci/a", [`${repo}/sci/a:1.0`, `${repo}/sci/a:1.0-8-abc1234`], "FROM busybox:stable\nRUN echo signed > /a\n", { contexts: ["science/x"] });
  a.request.labels = { "org.sciserver.science.a.version": "1.0-8-abc1234" };
  const plan = makePlan(repo, [a]);
  const out = capture();
  const result = await runPlan(plan, runOptions(src.root, out.stream, { push: true, attach, signKey }));
  assert.ok(result.ok, out.text());
  const [index] = result.indexes;
  assert.is(index.status, "pushed");
  assert.is(index.signature?.digest, index.digest, "the index's signature recorded with it");
  assert.is(index.signature?.status, "signed");
  assert.is(index.signature?.status === "failed" ? undefined : index.signature?.tag, `${repo}/sci/a:${index.digest!.replace(":", "-")}.sig`);
  // The trivial attachment is no attestation: only the signatures are judged here.
  const verified = runCli(["verify", `${repo}/sci/a:1.0`, "--key", pub, "--json"]);
  const signatures = (JSON.parse(verified.stdout) as { checks: { check: string; subject: string; ok: boolean }[] }).checks.filter((c) => c.check === "signature");
  assert.equal(signatures.map((c) => [c.subject.split(" ")[0], c.ok]), [["index", true], ["linux/amd64", true]], verified.stdout);
});

test("an index build tag another run rewrites after this run read it back: the end-of-run read-back records the index as superseded", async () => {
  const { registry } = requireEngine();
  const other = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] }));
  let put = false;
  let readsAfterPut = 0;
  // After the index PUT under the build tag, its read-back passes; a later read finds another index there.
  await using proxy = await startFaultProxy(registry, (req) => {
    if (!/\/manifests\/1\.0-7-abc1234$/.test(req.url ?? "")) return undefined;
    if (req.method === "PUT") put = true;
    if (req.method !== "GET" || !put || ++readsAfterPut < 2) return undefined;
    return (_req, res) => {
      res.writeHead(200, { "content-type": "application/vnd.oci.image.index.v1+json", "docker-content-digest": sha256(other) });
      res.end(other);
    };
  });
  const repo = uniqueRepo(proxy.address);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const out = capture();
  const a = build("sci/a", [`${repo}/sci/a:1.0`, `${repo}/sci/a:1.0-7-abc1234`], "FROM busybox:stable\nRUN echo a > /a\n", { contexts: ["science/x"] });
  const result = await runPlan(makePlan(repo, [a]), runOptions(src.root, out.stream, { push: true, attach }));
  assert.is(put, true, out.text());
  assert.not.ok(result.ok);
  const [index] = result.indexes;
  assert.is(index.status, "superseded");
  assert.equal([index.tags[0].pushed, index.tags[0].registryDigest], [false, sha256(other)]);
  assert.match(out.text(), /\[sci\/a\] read back at the end of the run: not published: the registry holds another image under .*sci\/a:1\.0-7-abc1234/);
});

test("an index build tag holding something else is refused, both index tags left as they were; --overwrite replaces it", async () => {
  const { registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  // Another index under the build tag, written before this run.
  const other = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] }));
  const client = new RegistryClient(await DockerCredentials.load());
  await client.putManifest(parseImageReference(`${repo}/sci/a:1.0-7-abc1234`), other, "application/vnd.oci.image.index.v1+json");
  const a = build("sci/a", [`${repo}/sci/a:1.0`, `${repo}/sci/a:1.0-7-abc1234`], "FROM busybox:stable\nRUN echo a > /a\n", { contexts: ["science/x"] });
  const out = capture();
  const refused = await runPlan(makePlan(repo, [a]), runOptions(src.root, out.stream, { push: true, attach }));
  assert.not.ok(refused.ok);
  const [index] = refused.indexes;
  assert.is(index.status, "push failed", JSON.stringify(index) + out.text());
  assert.match(index.reason!, /sci\/a:1\.0-7-abc1234 is already in the registry \(sha256:[0-9a-f]{64}\) holding an index of other images .*build tags are immutable \(--overwrite replaces it\)/);
  assert.is((await registryIndex(`${repo}/sci/a:1.0-7-abc1234`)).digest, sha256(other));
  assert.not.ok((await registryTags(`${repo}/sci/a`)).includes("1.0"), "the moving tag was written");
  assert.match(out.text(), /sci\/a \(index\) +index push failed/);

  const overwritten = await runPlan(makePlan(repo, [a]), runOptions(src.root, capture().stream, { push: true, attach, overwrite: true }));
  assert.ok(overwritten.ok);
  assert.is((await registryIndex(`${repo}/sci/a:1.0-7-abc1234`)).digest, overwritten.indexes[0].digest);
  assert.is((await registryIndex(`${repo}/sci/a:1.0`)).digest, overwritten.indexes[0].digest);
});

test.run();
