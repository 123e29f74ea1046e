import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import {
  dockerReference, readPayload, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, signatureLayer, signatureManifest, signatureTag, signedLayers, simpleSigningPayload,
} from "../../../../src/core/signatures/cosign.js";

const HEX = "4c1c50d0ffc614f90b93b07d778028dc765548e823f676fb027f61d281ac380d";
const DIGEST = `sha256:${HEX}`;
const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

test("the signatures of a digest are under the tag sha256-HEX.sig, as cosign stores them", () => {
  assert.is(signatureTag(DIGEST), `sha256-${HEX}.sig`);
  assert.throws(() => signatureTag("sha256:abc"), /not a sha256 digest/);
});

test("the payload is sigstore's simple-signing JSON, byte for byte as cosign writes it", () => {
  const payload = simpleSigningPayload("127.0.0.1:5167/t/sci/essentials-2-4", DIGEST).toString();
  assert.is(payload, `{"critical":{"identity":{"docker-reference":"127.0.0.1:5167/t/sci/essentials-2-4"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":null}`);
  assert.equal(readPayload(Buffer.from(payload)), { repository: "127.0.0.1:5167/t/sci/essentials-2-4", digest: DIGEST });
});

test("the docker-reference is the repository as go-containerregistry names it (Docker Hub as index.docker.io)", () => {
  assert.is(dockerReference({ registry: "docker.io", repository: "library/busybox" }), "index.docker.io/library/busybox");
  assert.is(dockerReference({ registry: "registry.example.org:5000", repository: "x/sci/a" }), "registry.example.org:5000/x/sci/a");
});

test("a payload of another type, or naming nothing, is not a cosign signature payload", () => {
  assert.ok("invalid" in readPayload(Buffer.from("not json")));
  assert.ok("invalid" in readPayload(Buffer.from(JSON.stringify({ critical: { type: "atomic container signature", identity: {}, image: {} } }))));
  assert.ok("invalid" in readPayload(Buffer.from(JSON.stringify({ critical: { type: "cosign container image signature", identity: {} } }))));
});

test("the signature manifest is an OCI manifest with one simple-signing layer per signature, annotated with its base64 signature", () => {
  const payload = simpleSigningPayload("h/r", DIGEST);
  const sig = Buffer.from([0x30, 0x44, 1, 2, 3]);
  const { manifest, mediaType, config } = signatureManifest([signatureLayer(payload, sig)]);
  assert.is(mediaType, "application/vnd.oci.image.manifest.v1+json");
  // The same shape, field for field, as the manifest cosign wrote for a signature.
  assert.is(manifest.toString(), JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", size: config.length, digest: sha(config) },
    layers: [{ mediaType: SIMPLE_SIGNING_MEDIA_TYPE, size: payload.length, digest: sha(payload), annotations: { [SIGNATURE_ANNOTATION]: sig.toString("base64") } }],
  }));
  assert.is(config.toString(), `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["${sha(payload)}"]},"config":{}}`);
});

test("a signature added to others comes last, the others kept as they were (their annotations too)", () => {
  const payload = simpleSigningPayload("h/r", DIGEST);
  const other = { ...signatureLayer(payload, Buffer.from("other")), annotations: { [SIGNATURE_ANNOTATION]: "b3RoZXI=", "dev.sigstore.cosign/bundle": "{}" } };
  const mine = signatureLayer(payload, Buffer.from("mine"));
  const parsed = JSON.parse(signatureManifest([other, mine]).manifest.toString()) as { layers: { annotations: Record<string, string> }[] };
  assert.equal(parsed.layers.map((l) => l.annotations), [other.annotations, mine.annotations]);
  const config = JSON.parse(signatureManifest([other, mine]).config.toString()) as { rootfs: { diff_ids: string[] }; history: unknown[] };
  assert.is(config.rootfs.diff_ids.length, 2);
  assert.is(config.history.length, 2);
});

test("the same signatures make the same manifest (a rerun that wrote nothing new would change no digest)", () => {
  const layer = signatureLayer(simpleSigningPayload("h/r", DIGEST), Buffer.from("sig"));
  assert.equal(signatureManifest([layer]).manifest, signatureManifest([layer]).manifest);
});

test("only simple-signing layers with a signature annotation are signatures", () => {
  const layer = signatureLayer(simpleSigningPayload("h/r", DIGEST), Buffer.from("sig"));
  const unsigned = { ...layer, annotations: {} };
  const other = { ...layer, mediaType: "application/vnd.in-toto+json" };
  assert.equal(signedLayers([layer, unsigned, other]).map((l) => l.signature), [Buffer.from("sig").toString("base64")]);
});

test.run();
