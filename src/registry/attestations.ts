// Attestation manifests in the registry (issue 19): written through the client's write path
// (blobs, then the manifest by digest, before the index that names it is written), read back for
// `sbom` and `contains --package` (the stored SBOM instead of the image's layers), and checked
// for `verify` (checkAttestations). What they hold and what is wrong with them is decided in
// core/attestations.
import { attestationEntryOf, isAttestationEntry, statementLayer, type AttestationManifest, type OciDescriptor } from "../core/attestations/manifest.js";
import { attestationProblems, parentBuildTags, parentKey, type AttestedImage } from "../core/attestations/check.js";
import { SPDX_PREDICATE_TYPE, spdxDocumentSchema, type SpdxDocument } from "../core/formats/spdx.js";
import { formatImageReference, parseImageReference, type ImageReference } from "../core/parse/image-reference.js";
import { parseJson, RegistryError, type Descriptor, type RegistryClient } from "./client.js";

/** What reading a tampered or incomplete attestation fails with (client.ts's words), as opposed to a registry that can't be read. */
const TAMPERED = /content has digest|not a JSON object|which the registry does not have|has digest sha256:/;

/** A statement is read whole; BuildKit's SBOMs of large images run to a few MB. */
const STATEMENT_LIMIT = 64 * 1024 * 1024;

const repositoryOf = (ref: ImageReference): ImageReference => ({ registry: ref.registry, repository: ref.repository });
const byDigest = (ref: ImageReference, digest: string): ImageReference => ({ ...repositoryOf(ref), digest });

/**
 * Stores an attestation manifest in `repository` (`host/path`): its blobs unless the registry
 * has them, then the manifest by digest unless it has that. "exists" when nothing was written.
 * `fresh`: statements about an image pushed just now, which the registry can't have: written
 * without asking first (a blob or manifest stored twice is the same).
 */
export async function putAttestationManifest(client: RegistryClient, repository: ImageReference, attestation: AttestationManifest, options: { fresh?: boolean } = {}): Promise<"exists" | "uploaded"> {
  const target = byDigest(repository, attestation.manifest.descriptor.digest);
  if (!options.fresh && await client.getDigest(formatImageReference(target))) return "exists";
  // At once: the manifest needs them all, not in any order.
  await Promise.all(attestation.blobs.map((blob) => client.putBlob(repository, blob.bytes, { ask: !options.fresh })));
  await client.putManifest(target, attestation.manifest.bytes, attestation.manifest.descriptor.mediaType);
  return "uploaded";
}

/** The layers of the attestation manifest `entry` (in `ref`'s repository), each with its statement. */
export async function readAttestation(client: RegistryClient, ref: ImageReference, entry: OciDescriptor): Promise<{ descriptor: OciDescriptor; statement: unknown }[]> {
  const manifest = await client.getManifest(byDigest(ref, entry.digest)).catch((e: Error) => {
    throw new RegistryError(`attestation manifest ${entry.digest} of ${formatImageReference(repositoryOf(ref))}: ${e.message}`);
  });
  if (!manifest) throw new RegistryError(`${formatImageReference(repositoryOf(ref))}: the index names attestation manifest ${entry.digest}, which the registry does not have`, 404);
  return Promise.all(manifest.layers.map(async (descriptor) => ({ descriptor, statement: await readStatement(client, ref, descriptor) })));
}

async function readStatement(client: RegistryClient, ref: ImageReference, layer: OciDescriptor): Promise<unknown> {
  const what = `attestation ${layer.digest} of ${formatImageReference(repositoryOf(ref))}`;
  return parseJson(await client.getBlob(repositoryOf(ref), layer.digest, { limit: STATEMENT_LIMIT }), what);
}

/**
 * The SPDX document stored as the SBOM attestation of the image whose manifest digest is
 * `imageDigest`, among `index`'s entries; undefined when the index has no such attestation (the
 * image was published without, or by another tool without an SBOM). A stored one that is not an
 * SPDX 2.3 document is an error, not a reason to look elsewhere.
 */
export async function readStoredSbom(client: RegistryClient, ref: ImageReference, index: readonly Descriptor[] | undefined, imageDigest: string): Promise<SpdxDocument | undefined> {
  const entry = index && attestationEntryOf(index, imageDigest);
  if (!entry) return undefined;
  const manifest = await client.getManifest(byDigest(ref, entry.digest));
  const layer = manifest && statementLayer(manifest.layers, SPDX_PREDICATE_TYPE);
  if (!layer) return undefined;
  const statement = await readStatement(client, ref, layer) as { predicate?: unknown };
  const checked = spdxDocumentSchema.safeParse(statement.predicate);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new RegistryError(`SBOM attestation ${layer.digest} of ${formatImageReference(ref)}: not an SPDX 2.3 document (${issue.path.join(".") || "document"}: ${issue.message})`);
  }
  return checked.data;
}

/**
 * Everything wrong with the attestations of the image `ref` names (`host/path:tag`), one line
 * each; [] when every platform image has its provenance and SBOM, about its own digest, and the
 * parents its provenance names are what the registry holds under their build tags. A registry
 * that can't be read is an error (thrown), not a problem of the image.
 */
export async function checkAttestations(client: RegistryClient, ref: string): Promise<string[]> {
  const r = parseImageReference(ref);
  const top = await client.getManifest(r, { noIndexResolution: true });
  if (!top) return [`${ref}: no such image in the registry`];
  if (!/index|manifest\.list/.test(top.mediaType)) return [`${ref}: a single image (${top.digest}), not an index: it has no attestations`];
  const entries = ((parseJson(top.bytes, `index of ${ref}`) as { manifests?: Descriptor[] }).manifests ?? []);
  const images: AttestedImage[] = [];
  const problems: string[] = [];
  for (const entry of entries.filter((e) => !isAttestationEntry(e))) {
    const p = entry.platform;
    const platform = [p?.os, p?.architecture, p?.variant].filter(Boolean).join("/") || "(no platform)";
    const attestationEntry = attestationEntryOf(entries, entry.digest);
    let attestation: AttestedImage["attestation"];
    if (attestationEntry) {
      try {
        attestation = { digest: attestationEntry.digest, layers: await readAttestation(client, r, attestationEntry) };
      } catch (e) {
        // A statement whose bytes are not its digest, or that is not JSON: what a tampered attestation looks like.
        if (!(e instanceof RegistryError) || !TAMPERED.test(e.message)) throw e;
        problems.push(`${platform} (${entry.digest}): ${e.message}`);
        continue;
      }
    }
    images.push({ platform, digest: entry.digest, attestation });
  }
  const parents = new Map<string, string | undefined>();
  for (const { platform, buildTag } of parentBuildTags(images)) {
    const held = await client.getManifest(buildTag, { platform });
    parents.set(parentKey(platform, buildTag), held?.manifestDigest);
  }
  return [...problems, ...attestationProblems(images, parents)];
}
