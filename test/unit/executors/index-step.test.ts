// The index step against an in-memory registry: what it writes, signs and leaves when interrupted.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeIndex, type IndexStepContext } from "../../../src/executors/index-step.js";
import { sha256Digest } from "../../../src/core/digest.js";
import { formatImageReference, parseImageReference, type ImageReference } from "../../../src/core/parse/image-reference.js";
import type { RegistryClient, RegistryManifest } from "../../../src/registry/client.js";
import { makePlan } from "../../helpers/small-plan.js";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** Manifests by `host/path:tag` and `host/path@digest`; every write recorded. */
function memoryRegistry() {
  const byRef = new Map<string, { bytes: Buffer; mediaType: string }>();
  const writes: string[] = [];
  const key = (ref: string | ImageReference) => (typeof ref === "string" ? ref : formatImageReference(ref));
  const manifest = (ref: string | ImageReference): RegistryManifest | undefined => {
    const held = byRef.get(key(ref));
    if (!held) return undefined;
    const json = JSON.parse(held.bytes.toString("utf8"));
    const digest = sha256Digest(held.bytes);
    return { ref: typeof ref === "string" ? parseImageReference(ref) : ref, digest, manifestDigest: digest, mediaType: held.mediaType, bytes: held.bytes,
      config: json.config ?? { mediaType: "", digest: "", size: 0 }, layers: json.layers ?? [], ...(json.manifests ? { indexEntries: json.manifests } : {}) };
  };
  const put = (ref: string | ImageReference, bytes: Buffer, mediaType: string) => {
    const r = typeof ref === "string" ? parseImageReference(ref) : ref;
    byRef.set(key(r), { bytes, mediaType });
    byRef.set(formatImageReference({ ...r, tag: undefined, digest: sha256Digest(bytes) }), { bytes, mediaType });
  };
  const client = {
    async getManifest(ref: string | ImageReference) { return manifest(ref); },
    async putManifest(ref: ImageReference, bytes: Buffer, mediaType: string) { writes.push(formatImageReference(ref)); put(ref, bytes, mediaType); return sha256Digest(bytes); },
    async imageOf(m: RegistryManifest) { return { config: { labels: labels.get(m.config.digest) ?? {} } }; },
  };
  /** Image config digest -> its labels, as imageOf reads them. */
  const labels = new Map<string, Record<string, string>>();
  return { client: client as unknown as RegistryClient, put, writes, labels };
}

test("an interrupt while the index is written under its build tag: nothing is signed, the moving tag is left, and the result says so", async () => {
  const plan = makePlan({ science: ["a"] });
  const build = plan.builds.find((b) => b.id === "sci/a")!;
  const [movingTag, buildTag] = build.request.tags;
  const platformTag = `${buildTag}-linux-amd64`;
  const imageId = sha256Digest("config");
  const registry = memoryRegistry();
  registry.put(platformTag, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: imageId, size: 6 }, layers: [] })), OCI_MANIFEST);
  const controller = new AbortController();
  const signed: string[] = [];
  const ctx: IndexStepContext = {
    registry: registry.client, overwrite: false, allowTagRollback: false, line: () => undefined, signal: controller.signal,
    sign: async (index) => { signed.push(index.tag); return undefined; },
  };
  // The interrupt comes while the build tag's write is under way.
  const putManifest = registry.client.putManifest.bind(registry.client);
  registry.client.putManifest = async (ref, bytes, mediaType) => {
    const digest = await putManifest(ref, bytes, mediaType);
    controller.abort();
    return digest;
  };
  const layer = { id: "sci/a", buildTag, movingTag, members: [{ platform: "linux/amd64", id: "sci/a" }] };
  const result = await writeIndex(ctx, layer, [{ platform: "linux/amd64", build: { ...build, request: { ...build.request, tags: [`${movingTag}-linux-amd64`, platformTag] } }, imageId }]);
  assert.equal(registry.writes, [buildTag], "the build tag only");
  assert.equal(signed, [], "nothing signed after the interrupt");
  assert.is(result.status, "not pushed");
  assert.is(result.reason, "not pushed: interrupted");
  assert.equal(result.tags.map((t) => [t.tag, t.pushed]), [[buildTag, true], [movingTag, false]]);

  // Not interrupted: signed once under its build tag, then the moving tag written.
  const again = memoryRegistry();
  again.put(platformTag, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: imageId, size: 6 }, layers: [] })), OCI_MANIFEST);
  const whole = await writeIndex({ ...ctx, registry: again.client, signal: new AbortController().signal }, layer, [{ platform: "linux/amd64", build: { ...build, request: { ...build.request, tags: [`${movingTag}-linux-amd64`, platformTag] } }, imageId }]);
  assert.is(whole.status, "pushed", whole.reason);
  assert.equal(again.writes, [buildTag, movingTag]);
  assert.equal(signed, [buildTag]);
});

test("two runs of consecutive commits: an older build's index written under the moving tag just after this one's is moved over again; a newer one's stays", async () => {
  const plan = makePlan({ science: ["a"] });
  const build = plan.builds.find((b) => b.id === "sci/a")!;
  const [movingTag, buildTag] = build.request.tags;
  const label = "org.sciserver.science.a.version";
  const ours = build.request.labels[label];
  const platformTag = `${buildTag}-linux-amd64`;
  const imageOf = (name: string) => ({ id: sha256Digest(`config ${name}`), bytes: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256Digest(`config ${name}`), size: 6 }, layers: [] })) });
  const indexOf = (image: Buffer) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [{ mediaType: OCI_MANIFEST, digest: sha256Digest(image), size: image.length, platform: { os: "linux", architecture: "amd64" } }] }));
  for (const [other, moves] of [[ours.replace(/-3-/, "-2-"), true], [ours.replace(/-3-/, "-4-"), false], [ours, false]] as const) {
    const registry = memoryRegistry();
    const mine = imageOf("mine");
    registry.put(platformTag, mine.bytes, OCI_MANIFEST);
    registry.labels.set(mine.id, { [label]: ours });
    // The other run's image and index, written under the moving tag right after this run's first write.
    const theirs = imageOf(other);
    registry.put(`${movingTag}-linux-amd64-other`, theirs.bytes, OCI_MANIFEST);
    registry.labels.set(theirs.id, { [label]: other });
    const theirIndex = indexOf(theirs.bytes);
    const putManifest = registry.client.putManifest.bind(registry.client);
    let raced = false;
    registry.client.putManifest = async (ref, bytes, mediaType) => {
      const digest = await putManifest(ref, bytes, mediaType);
      if (!raced && formatImageReference(ref) === movingTag) {
        raced = true;
        registry.put(movingTag, theirIndex, "application/vnd.oci.image.index.v1+json");
      }
      return digest;
    };
    const lines: string[] = [];
    const ctx: IndexStepContext = { registry: registry.client, overwrite: false, allowTagRollback: false, line: (t) => lines.push(t) };
    const layer = { id: "sci/a", buildTag, movingTag, members: [{ platform: "linux/amd64", id: "sci/a" }] };
    const result = await writeIndex(ctx, layer, [{ platform: "linux/amd64", build: { ...build, request: { ...build.request, tags: [`${movingTag}-linux-amd64`, platformTag] } }, imageId: mine.id }]);
    assert.is(result.status, "pushed", `${other}: ${result.reason}`);
    const held = (await registry.client.getManifest(movingTag))!.digest;
    if (moves) {
      assert.is(held, result.digest, `${other}: the moving tag holds this run's index`);
      assert.equal(result.tags[1], { tag: movingTag, pushed: true, digest: result.digest }, "recorded afresh: no other index's digest left on it");
      assert.equal(registry.writes, [buildTag, movingTag, movingTag]);
      assert.ok(lines.some((l) => l.includes(`with an older build's index (${other}): moved forward again`)), lines.join("\n"));
    } else {
      assert.is(held, sha256Digest(theirIndex), `${other}: the other run's index stays`);
      assert.equal(registry.writes, [buildTag, movingTag]);
      assert.match(result.tags[1].reason ?? "", /^not moved: another run wrote/);
    }
  }
});

test.run();
