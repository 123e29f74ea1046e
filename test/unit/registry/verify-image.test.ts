// verify's reading of an image: a platform image the registry has lost (its manifest, or its
// config blob) fails the layers check; it is no error of verify, and its labels are not judged.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { judgeParentsInRegistry, readVerifyTarget, verifyImage, verifyBuild, verifyLayers } from "../../../src/registry/verify-image.js";
import { RegistryError, RegistryContentError } from "../../../src/registry/transport.js";
import { RegistryClient, type RegistryManifest } from "../../../src/registry/client.js";
import { parseImageReference, type ImageReference } from "../../../src/core/parse/image-reference.js";

const INDEX = "application/vnd.oci.image.index.v1+json";
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const d = (c: string) => `sha256:${c.repeat(64)}`;

function manifest(ref: ImageReference, digest: string, layers: string[], extra: Partial<RegistryManifest> = {}): RegistryManifest {
  return { ref, digest, manifestDigest: digest, mediaType: MANIFEST, bytes: Buffer.from(""), config: { mediaType: "", digest: d("c"), size: 1 }, layers: layers.map((l) => ({ mediaType: "", digest: l, size: 1 })), ...extra };
}

/** An index of three platform images: amd64 whole, arm64's config blob gone, ppc64le's manifest gone. */
function registry(configError: Error) {
  const entries = [
    { mediaType: MANIFEST, digest: d("1"), size: 1, platform: { os: "linux", architecture: "amd64" } },
    { mediaType: MANIFEST, digest: d("2"), size: 1, platform: { os: "linux", architecture: "arm64" } },
    { mediaType: MANIFEST, digest: d("3"), size: 1, platform: { os: "linux", architecture: "ppc64le" } },
  ];
  const client = {
    async getManifest(ref: string | ImageReference): Promise<RegistryManifest | undefined> {
      const r = typeof ref === "string" ? parseImageReference(ref) : ref;
      if (r.tag === "1.0-2-abcdef0") return manifest(r, d("9"), [], { mediaType: INDEX, indexEntries: entries });
      if (r.digest === d("1")) return manifest(r, d("1"), [d("a")]);
      if (r.digest === d("2")) return manifest(r, d("2"), [d("b")]);
      return undefined;
    },
    async imageOf(m: RegistryManifest) {
      if (m.digest === d("2")) throw configError;
      return { platform: "linux/amd64", config: { labels: { "org.sciserver.science.a.version": "1.0-2-abcdef0" } } };
    },
    async hasBlob() { return true; },
    // the client's own, over the fake's getManifest and imageOf
    imageOrBroken: RegistryClient.prototype.imageOrBroken,
  };
  return client as unknown as RegistryClient;
}

test("an index's platform images the registry lost fail the layers check, each naming what is gone; the one it has is judged", async () => {
  const client = registry(new RegistryContentError(`blob ${d("c")} of r/sci/a: registry answered HTTP 404 (BLOB_UNKNOWN)`, 404));
  const target = (await readVerifyTarget(client, "r.example/sci/a:1.0-2-abcdef0"))!;
  const checks = await verifyImage(client, target, { key: undefined as never }, [verifyBuild, verifyLayers]);
  assert.equal(checks.map((c) => [c.check, c.subject.split(" ")[0], c.ok]), [
    ["build", "sci/a:1.0-2-abcdef0", true],
    ["layers", "linux/amd64", true],
    ["layers", "linux/arm64", false],
    ["layers", "linux/ppc64le", false],
  ]);
  assert.match(checks[2].detail, /BLOB_UNKNOWN.*: the image can't be pulled$/);
  assert.is(checks[3].detail, `the index names ${d("3")}, which the registry does not have: the image can't be pulled`);
});

test("a registry that fails otherwise (not a fault of the image) is an error of verify, as before", async () => {
  const client = registry(new RegistryError("registry r.example answered HTTP 500", 500));
  try {
    await readVerifyTarget(client, "r.example/sci/a:1.0-2-abcdef0");
    assert.unreachable("no error");
  } catch (e) {
    assert.match((e as Error).message, /HTTP 500/);
  }
});

test("a parent whose image under its build tag can't be read (its config blob lost) is a failed parent check, not an error", async () => {
  const asked: string[] = [];
  const client = {
    async getManifest(ref: string) {
      asked.push(ref);
      throw new RegistryContentError(`blob ${d("c")} of r.example/sci/base: registry answered HTTP 404 (BLOB_UNKNOWN)`, 404);
    },
    imageOrBroken: RegistryClient.prototype.imageOrBroken,
  } as unknown as RegistryClient;
  const labels = {
    "org.sciserver.science.base.version": "1.0-2-abcdef0", "org.sciserver.science.base.buildtime": "1", "org.sciserver.science.base.inputs": d("e"),
  };
  const [check, ...more] = await judgeParentsInRegistry(client, parseImageReference("r.example/rel/app:1.0"), labels);
  assert.is(more.length, 0);
  assert.equal([check.check, check.subject, check.ok], ["parent", "sci/base:1.0-2-abcdef0", false]);
  assert.match(check.detail, /^the registry's image under r\.example\/sci\/base:1\.0-2-abcdef0 can't be read \(.*BLOB_UNKNOWN\)\)$/);
  assert.equal(asked, ["r.example/sci/base:1.0-2-abcdef0"]);
});

test.run();
