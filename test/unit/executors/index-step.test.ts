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
    async imageOf() { return { config: { labels: {} } }; },
  };
  return { client: client as unknown as RegistryClient, put, writes };
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

test.run();
