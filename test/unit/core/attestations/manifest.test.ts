import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { attestationEntryOf, attestationManifest, sbomStatement, statementLayer, type InTotoStatement } from "../../../../src/core/attestations/manifest.js";
import type { SpdxDocument } from "../../../../src/core/formats/spdx.js";

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const IMAGE = `sha256:${"a".repeat(64)}`;
const subject = [{ name: "pkg:docker/r.example/x/sci/a@1.0-1-abc?platform=linux%2Famd64", digest: { sha256: "a".repeat(64) } }];
const provenance: InTotoStatement = { _type: "https://in-toto.io/Statement/v1", subject, predicateType: "https://slsa.dev/provenance/v1", predicate: { buildDefinition: {} } };
const doc = { spdxVersion: "SPDX-2.3", packages: [] } as unknown as SpdxDocument;

test("BuildKit's attestation manifest: an OCI manifest of in-toto layers annotated with their predicate types, BuildKit's unknown/unknown config", () => {
  const m = attestationManifest(IMAGE, [sbomStatement(subject, doc), provenance]);
  const manifest = JSON.parse(m.manifest.bytes.toString());
  assert.equal(Object.keys(manifest), ["schemaVersion", "mediaType", "config", "layers"]);
  assert.is(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
  assert.is(manifest.config.mediaType, "application/vnd.oci.image.config.v1+json");
  assert.equal(manifest.layers.map((l: any) => [l.mediaType, l.annotations]), [
    ["application/vnd.in-toto+json", { "in-toto.io/predicate-type": "https://spdx.dev/Document" }],
    ["application/vnd.in-toto+json", { "in-toto.io/predicate-type": "https://slsa.dev/provenance/v1" }],
  ]);
  // every blob is what its descriptor says: the config, then the statements
  const [config, sbomLayer, provenanceLayer] = m.blobs;
  assert.equal(m.blobs.map((b) => [b.descriptor.digest, b.descriptor.size]), m.blobs.map((b) => [sha(b.bytes), b.bytes.length]));
  assert.equal([manifest.config, ...manifest.layers].map((d: any) => d.digest), m.blobs.map((b) => b.descriptor.digest));
  assert.equal(JSON.parse(config.bytes.toString()), {
    architecture: "unknown", os: "unknown", config: {}, rootfs: { type: "layers", diff_ids: [sbomLayer.descriptor.digest, provenanceLayer.descriptor.digest] },
  });
  // each layer is an in-toto statement about the image
  const statement = JSON.parse(sbomLayer.bytes.toString());
  assert.equal(statement, { _type: "https://in-toto.io/Statement/v1", subject, predicateType: "https://spdx.dev/Document", predicate: doc });
  assert.equal(JSON.parse(provenanceLayer.bytes.toString()), provenance);
});

test("its index entry: platform unknown/unknown, annotated as the attestation manifest of the image's digest", () => {
  const m = attestationManifest(IMAGE, [provenance]);
  assert.equal(m.manifest.descriptor, {
    mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha(m.manifest.bytes), size: m.manifest.bytes.length,
    annotations: { "vnd.docker.reference.digest": IMAGE, "vnd.docker.reference.type": "attestation-manifest" },
    platform: { architecture: "unknown", os: "unknown" },
  });
});

test("deterministic: the same statements make the same bytes; another statement other bytes", () => {
  const a = attestationManifest(IMAGE, [sbomStatement(subject, doc), provenance]);
  const b = attestationManifest(IMAGE, [sbomStatement(subject, doc), provenance]);
  assert.is(a.manifest.descriptor.digest, b.manifest.descriptor.digest);
  const c = attestationManifest(IMAGE, [sbomStatement(subject, doc), { ...provenance, predicate: { other: 1 } }]);
  assert.is.not(c.manifest.descriptor.digest, a.manifest.descriptor.digest);
});

test("found again in an index by the image's digest, and its statements by predicate type", () => {
  const m = attestationManifest(IMAGE, [sbomStatement(subject, doc), provenance]);
  const image = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: IMAGE, size: 1, platform: { architecture: "amd64", os: "linux" } };
  assert.is(attestationEntryOf([image, m.manifest.descriptor], IMAGE), m.manifest.descriptor);
  assert.is(attestationEntryOf([image, m.manifest.descriptor], `sha256:${"b".repeat(64)}`), undefined);
  assert.is(attestationEntryOf([image], IMAGE), undefined);
  const layers = m.blobs.slice(1).map((b) => b.descriptor);
  assert.is(statementLayer(layers, "https://spdx.dev/Document"), layers[0]);
  assert.is(statementLayer(layers, "https://example.org/other"), undefined);
});

test.run();
