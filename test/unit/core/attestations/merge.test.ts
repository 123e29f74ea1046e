import { test } from "uvu";
import * as assert from "uvu/assert";
import { mergeAttestation, type MergedImage } from "../../../../src/core/attestations/merge.js";
import { attestationManifest, type InTotoStatement } from "../../../../src/core/attestations/manifest.js";
import { imageIndex } from "../../../../src/core/execute/image-index.js";

const d = (c: string) => `sha256:${c.repeat(64)}`;
const image: MergedImage = { platform: "linux/arm64", id: "sci/a@linux/arm64", tag: "r.example/x/sci/a:1.0-7-abc-linux-arm64", digest: d("a") };
const statement: InTotoStatement = { _type: "https://in-toto.io/Statement/v1", subject: [{ name: "a", digest: { sha256: "a".repeat(64) } }], predicateType: "https://slsa.dev/provenance/v1", predicate: {} };

test("an agent's attestation is attached as the run's own index step attaches it: the same entry, so the same index bytes", () => {
  const made = attestationManifest(d("a"), [statement]);
  const { mediaType, digest, size } = made.manifest.descriptor;
  const merged = mergeAttestation(image, { attestation: { status: "uploaded", subject: d("a"), mediaType, digest, size } });
  assert.equal(merged, { attach: made.manifest.descriptor });
  const platform = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d("a"), size: 500, platform: { architecture: "arm64", os: "linux" } };
  assert.is(imageIndex([platform], [(merged as { attach: typeof made.manifest.descriptor }).attach]).digest, imageIndex([platform], [made.manifest.descriptor]).digest);
  // found there by a rerun: the same
  assert.equal(mergeAttestation(image, { attestation: { status: "already there", subject: d("a"), mediaType, digest, size } }), merged);
});

test("results without an attestation (--no-attestations, an older image-builder): the index goes without, saying so", () => {
  assert.equal(mergeAttestation(image, {}), {
    note: "linux/arm64 (sci/a@linux/arm64): its results name no attestation manifest (a run with --no-attestations, or by an older image-builder): the index has none for linux/arm64",
  });
});

test("no results file given for a build: its attestation is not known, which is not the same as none (hunter21 F1)", () => {
  assert.equal(mergeAttestation(image, undefined), {
    unknown: "linux/arm64 (sci/a@linux/arm64): no results file given has it, so the attestation manifest its run uploaded is not known (give that run's --results file too)",
  });
});

test("an attestation of another image, an upload that failed, or a record without its descriptor: an error naming it", () => {
  assert.equal(mergeAttestation(image, { attestation: { status: "uploaded", subject: d("b"), mediaType: "m", digest: d("m"), size: 9 } }), {
    error: `linux/arm64 (sci/a@linux/arm64): its results name attestation manifest ${d("m")}, about ${d("b")}, not the image r.example/x/sci/a:1.0-7-abc-linux-arm64 holds (${d("a")})`,
  });
  assert.equal(mergeAttestation(image, { attestation: { status: "failed", subject: d("a"), reason: "upload of blob …: HTTP 500" } }), {
    error: "linux/arm64 (sci/a@linux/arm64): its run could not upload its attestations (upload of blob …: HTTP 500); run it again",
  });
  assert.equal(mergeAttestation(image, { attestation: { status: "uploaded", subject: d("a"), digest: d("m") } }), {
    error: "linux/arm64 (sci/a@linux/arm64): its results name an attestation manifest without its mediaType, size",
  });
});

test.run();
