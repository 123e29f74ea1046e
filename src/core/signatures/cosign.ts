// The sigstore/cosign signature format, as `cosign sign --key` writes it and `cosign verify --key`
// reads it (issue 19, item 4), so that standard clients verify what image-builder signs:
//
// - the signed text is a "simple signing" payload (containers-signature(5), as sigstore's
//   payload.SimpleContainerImage marshals it) naming the repository and the manifest digest;
// - the signatures of digest `sha256:HEX` live in the same repository under the tag
//   `sha256-HEX.sig`: an OCI image manifest whose layers are the payloads (media type
//   `application/vnd.dev.cosign.simplesigning.v1+json`), each annotated with its signature
//   (`dev.cosignproject.cosign/signature`: base64 of the DER ECDSA signature of the payload);
// - its config is what go-containerregistry's mutate.Append makes of cosign's empty image: no
//   platform, zero times, one diff_id and one history entry per layer. Nothing reads it, but it
//   is deterministic, so the same signatures make the same manifest.
// Pure: bytes in, bytes out.
import type { ImageReference } from "../parse/image-reference.js";
import { sha256Digest } from "../digest.js";

export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
export const COSIGN_SIGNATURE_TYPE = "cosign container image signature";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** Go's zero time.Time, as go-containerregistry writes an unset time. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** The tag the signatures of `digest` are stored under: `sha256-HEX.sig`. */
export function signatureTag(digest: string): string {
  const hex = DIGEST.exec(digest)?.[1];
  if (!hex) throw new Error(`not a sha256 digest: ${digest}`);
  return `sha256-${hex}.sig`;
}

/**
 * The simple-signing payload of `digest` in `repository` (`host[:port]/path`, no tag: the
 * `docker-reference` cosign writes is the repository's name), byte for byte as Go's
 * encoding/json writes sigstore's struct (fields in declaration order, no spaces, `optional`
 * null), so a payload cosign made for the same image is the same blob.
 */
export function simpleSigningPayload(repository: string, digest: string): Buffer {
  signatureTag(digest);
  const payload = {
    critical: { identity: { "docker-reference": repository }, image: { "docker-manifest-digest": digest }, type: COSIGN_SIGNATURE_TYPE },
    optional: null,
  };
  // Go escapes <, > and & in strings; a repository or digest never holds them.
  return Buffer.from(JSON.stringify(payload));
}

/**
 * The `docker-reference` cosign writes for a repository: go-containerregistry's name of it,
 * `host[:port]/path`, Docker Hub's as `index.docker.io/library/…`.
 */
export function dockerReference(ref: Pick<ImageReference, "registry" | "repository">): string {
  return `${ref.registry === "docker.io" ? "index.docker.io" : ref.registry}/${ref.repository}`;
}

/** What a payload names, or why it is not a cosign simple-signing payload. */
export type PayloadClaims = { repository: string; digest: string } | { invalid: string };

export function readPayload(bytes: Buffer): PayloadClaims {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    return { invalid: "the payload is not JSON" };
  }
  const critical = (value as { critical?: { identity?: { "docker-reference"?: unknown }; image?: { "docker-manifest-digest"?: unknown }; type?: unknown } } | null)?.critical;
  if (critical?.type !== COSIGN_SIGNATURE_TYPE) return { invalid: `the payload is not a ${COSIGN_SIGNATURE_TYPE}` };
  const repository = critical.identity?.["docker-reference"];
  const digest = critical.image?.["docker-manifest-digest"];
  if (typeof repository !== "string" || typeof digest !== "string") return { invalid: "the payload names no docker-reference or docker-manifest-digest" };
  return { repository, digest };
}

/** One layer of a signature manifest: a payload blob and its signature (and whatever else cosign annotated it with). */
export interface SignatureLayer {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** The layer of a new signature of `payload` (`signature`: DER bytes). */
export function signatureLayer(payload: Buffer, signature: Buffer): SignatureLayer {
  return {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: sha256Digest(payload), size: payload.length,
    annotations: { [SIGNATURE_ANNOTATION]: signature.toString("base64") },
  };
}

/** A signature manifest's bytes and those of its config blob. */
export interface SignatureManifest {
  manifest: Buffer;
  mediaType: typeof OCI_MANIFEST;
  config: Buffer;
}

/** The signature manifest of `layers`, in their order (a signature added later comes last, as cosign appends it). */
export function signatureManifest(layers: SignatureLayer[]): SignatureManifest {
  const config = Buffer.from(JSON.stringify({
    architecture: "", created: ZERO_TIME, history: layers.map(() => ({ created: ZERO_TIME })), os: "",
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) }, config: {},
  }));
  const manifest = {
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, size: config.length, digest: sha256Digest(config) },
    layers: layers.map(({ mediaType, size, digest, annotations }) => ({ mediaType, size, digest, ...(annotations && Object.keys(annotations).length ? { annotations } : {}) })),
  };
  return { manifest: Buffer.from(JSON.stringify(manifest)), mediaType: OCI_MANIFEST, config };
}

/** The layers of a signature manifest that carry a simple-signing payload with a signature. */
export function signedLayers(layers: SignatureLayer[]): (SignatureLayer & { signature: string })[] {
  return layers.flatMap((l) => {
    const signature = l.annotations?.[SIGNATURE_ANNOTATION];
    return l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE && signature ? [{ ...l, signature }] : [];
  });
}
