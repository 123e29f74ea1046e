// Attestations as BuildKit stores them next to an image (exporter/containerimage/writer.go,
// commitAttestationsManifest), so `docker buildx imagetools inspect --format '{{json .Provenance}}'`,
// Docker Hub and Scout read them: one OCI image manifest per platform image, whose layers are
// in-toto statements (`application/vnd.in-toto+json`, each annotated with its predicate type) and
// whose config is BuildKit's small `unknown/unknown` image config; it goes into the image index
// after the platform images, as `platform: unknown/unknown`, annotated as an attestation manifest
// of the image's digest. Everything here is deterministic (fixed key order, no clock): the same
// statements give the same bytes, so a rerun finds the registry holds them and writes nothing.
import { IN_TOTO_STATEMENT_TYPE } from "../formats/provenance.js";
import { SPDX_PREDICATE_TYPE, type SpdxDocument } from "../formats/spdx.js";
import type { Descriptor } from "../registry/image-index.js";
import { sha256Digest } from "../digest.js";

export const IN_TOTO_MEDIA_TYPE = "application/vnd.in-toto+json";
export const PREDICATE_TYPE_ANNOTATION = "in-toto.io/predicate-type";
export const REFERENCE_TYPE_ANNOTATION = "vnd.docker.reference.type";
export const REFERENCE_DIGEST_ANNOTATION = "vnd.docker.reference.digest";
export const ATTESTATION_MANIFEST = "attestation-manifest";
export const OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";
export const OCI_CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json";
/** The platform BuildKit gives attestation manifests in an index (and their config). */
export const ATTESTATION_PLATFORM = { architecture: "unknown", os: "unknown" } as const;

/** Bytes to store as a blob (or a manifest), with the descriptor that names them. */
export interface Content {
  descriptor: Descriptor;
  bytes: Buffer;
}

/** An in-toto Statement v1 (any predicate). */
export interface InTotoStatement {
  _type: typeof IN_TOTO_STATEMENT_TYPE;
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: unknown;
}

/** The attestation manifest of one platform image: blobs to upload first, then the manifest (by digest), then its index entry. */
export interface AttestationManifest {
  /** The config and the statements (layers), in that order. */
  blobs: Content[];
  /** The manifest's bytes; `descriptor` is its index entry (platform unknown/unknown, reference annotations). */
  manifest: Content;
}

/** The SBOM statement of an image: its SPDX document as the predicate, about the same subject as its provenance. */
export function sbomStatement(subject: InTotoStatement["subject"], document: SpdxDocument): InTotoStatement {
  return { _type: IN_TOTO_STATEMENT_TYPE, subject, predicateType: SPDX_PREDICATE_TYPE, predicate: document };
}

/**
 * The attestation manifest of the image whose manifest digest is `imageDigest`, holding
 * `statements` (each about that image) in the order given: BuildKit writes the SBOM first, then
 * the provenance.
 */
export function attestationManifest(imageDigest: string, statements: readonly InTotoStatement[]): AttestationManifest {
  const layers: Content[] = statements.map((statement) => {
    // BuildKit: json.Marshal of the statement (compact).
    const bytes = Buffer.from(JSON.stringify(statement));
    return {
      bytes,
      descriptor: { mediaType: IN_TOTO_MEDIA_TYPE, digest: sha256Digest(bytes), size: bytes.length, annotations: { [PREDICATE_TYPE_ANNOTATION]: statement.predicateType } },
    };
  });
  // BuildKit's attestationsConfig: an image config of platform unknown/unknown whose diff_ids are
  // the statements' digests (they are stored uncompressed), as Go serializes ocispecs.Image.
  const configBytes = Buffer.from(JSON.stringify({
    architecture: ATTESTATION_PLATFORM.architecture, os: ATTESTATION_PLATFORM.os, config: {},
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.descriptor.digest) },
  }));
  const config: Content = { bytes: configBytes, descriptor: { mediaType: OCI_CONFIG_MEDIA_TYPE, digest: sha256Digest(configBytes), size: configBytes.length } };
  const manifestBytes = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    config: config.descriptor,
    layers: layers.map((l) => l.descriptor),
  }, null, 2));
  return {
    blobs: [config, ...layers],
    manifest: {
      bytes: manifestBytes,
      descriptor: attestationIndexEntry({ mediaType: OCI_MANIFEST_MEDIA_TYPE, digest: sha256Digest(manifestBytes), size: manifestBytes.length }, imageDigest),
    },
  };
}

/**
 * The index entry of an attestation manifest (`manifest`: its media type, digest and size) of the
 * image whose manifest digest is `imageDigest`: the same entry whoever writes the index (a run, or
 * `merge-platforms` from an agent's results), so the index has the same bytes.
 */
export function attestationIndexEntry(manifest: Pick<Descriptor, "mediaType" | "digest" | "size">, imageDigest: string): Descriptor {
  return {
    mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size,
    annotations: { [REFERENCE_DIGEST_ANNOTATION]: imageDigest, [REFERENCE_TYPE_ANNOTATION]: ATTESTATION_MANIFEST },
    platform: { ...ATTESTATION_PLATFORM },
  };
}

/** Whether an index entry is an attestation manifest (of any image). */
export function isAttestationEntry(entry: Pick<Descriptor, "annotations">): boolean {
  return entry.annotations?.[REFERENCE_TYPE_ANNOTATION] === ATTESTATION_MANIFEST;
}

/** The index entry of the attestation manifest of `imageDigest` in `entries` (an index's manifests), if any. */
export function attestationEntryOf(entries: readonly Descriptor[], imageDigest: string): Descriptor | undefined {
  return entries.find((e) => isAttestationEntry(e) && e.annotations?.[REFERENCE_DIGEST_ANNOTATION] === imageDigest);
}

/** The layer of an attestation manifest holding the statement of `predicateType`, if any. */
export function statementLayer(layers: readonly Descriptor[], predicateType: string): Descriptor | undefined {
  return layers.find((l) => l.annotations?.[PREDICATE_TYPE_ANNOTATION] === predicateType);
}
