// Attestation manifests in the registry (issue 19): written through the client's write path
// (blobs, then the manifest by digest, before the index that names it is written), read back for
// `sbom` and `contains --package` (the stored SBOM instead of the image's layers), and checked
// for `verify` (checkAttestations). What they hold and what is wrong with them is decided in
// core/attestations.
import { attestationEntryOf, isAttestationEntry, statementLayer, type AttestationManifest } from "../core/attestations/manifest.js";
import { attestationProblems, parentBuildTags, parentKey, subjectProblems, type AttestedImage } from "../core/attestations/check.js";
import { SPDX_PREDICATE_TYPE, spdxDocumentSchema, type SpdxDocument } from "../core/formats/spdx.js";
import { formatImageReference, parseImageReference, type ImageReference } from "../core/parse/image-reference.js";
import { parseJson, RegistryContentError, RegistryError, type RegistryClient } from "./client.js";
import { isImageFault } from "../core/registry/transport-rules.js";
import { isIndexMediaType, platformOfEntry, type Descriptor } from "../core/registry/image-index.js";

/**
 * What reading a tampered or incomplete attestation fails with, as opposed to a registry that
 * can't be read: an image fault (a manifest or blob it names is gone, content not its digest or
 * not JSON; transport-rules.ts), or client.ts's words for it.
 */
const tampered = (e: unknown): e is Error => (e instanceof Error && isImageFault(e)) || (e instanceof RegistryError && /content has digest|not a JSON object|which the registry does not have|has digest sha256:/.test(e.message));

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
  // Each blob asked for even when the manifest is there: a manifest whose statement blob was
  // deleted is what a run attesting an image again (its attestation found unsound) must repair.
  // At once: the manifest needs them all, not in any order.
  const blobs = await Promise.all(attestation.blobs.map((blob) => client.putBlob(repository, blob.bytes, { ask: !options.fresh })));
  const manifestThere = !options.fresh && await client.getDigest(formatImageReference(target)) !== undefined;
  if (!manifestThere) await client.putManifest(target, attestation.manifest.bytes, attestation.manifest.descriptor.mediaType);
  return manifestThere && blobs.every((b) => b === "exists") ? "exists" : "uploaded";
}

/** The layers of the attestation manifest `entry` (in `ref`'s repository), each with its statement. */
export async function readAttestation(client: RegistryClient, ref: ImageReference, entry: Descriptor): Promise<{ descriptor: Descriptor; statement: unknown }[]> {
  const manifest = await client.getManifest(byDigest(ref, entry.digest)).catch((e: Error) => {
    // The same class (content, status), so that a tampered manifest is told from a registry that can't be read.
    const Class = e instanceof RegistryContentError ? RegistryContentError : RegistryError;
    throw new Class(`attestation manifest ${entry.digest} of ${formatImageReference(repositoryOf(ref))}: ${e.message}`, e instanceof RegistryError ? e.status : undefined);
  });
  if (!manifest) throw new RegistryError(`${formatImageReference(repositoryOf(ref))}: the index names attestation manifest ${entry.digest}, which the registry does not have`, 404);
  return Promise.all(manifest.layers.map(async (descriptor) => ({ descriptor, statement: await readStatement(client, ref, descriptor) })));
}

async function readStatement(client: RegistryClient, ref: ImageReference, layer: Descriptor): Promise<unknown> {
  const what = `attestation ${layer.digest} of ${formatImageReference(repositoryOf(ref))}`;
  return parseJson(await client.getBlob(repositoryOf(ref), layer.digest, { limit: STATEMENT_LIMIT }), what);
}

/**
 * The SPDX document stored as the SBOM attestation of the image whose manifest digest is
 * `imageDigest`, among `index`'s entries: `document`; undefined when the index has no such
 * attestation (the image was published without, or by another tool without an SBOM). One that is
 * not about this image (its statement's subject is another digest), or is gone from the registry,
 * is not trusted: `problem` says why, and the caller reads the image's layers instead. A stored one
 * that is not an SPDX 2.3 document is an error of the image's content (`contains --package` leaves
 * that image out, and says so).
 */
export async function readStoredSbom(client: RegistryClient, ref: ImageReference, index: readonly Descriptor[] | undefined, imageDigest: string): Promise<{ document: SpdxDocument } | { problem: string } | undefined> {
  const entry = index && attestationEntryOf(index, imageDigest);
  if (!entry) return undefined;
  const manifest = await client.getManifest(byDigest(ref, entry.digest));
  if (!manifest) return { problem: `the index names attestation manifest ${entry.digest}, which the registry does not have` };
  const layer = statementLayer(manifest.layers, SPDX_PREDICATE_TYPE);
  if (!layer) return undefined;
  let statement: { predicate?: unknown };
  try {
    statement = await readStatement(client, ref, layer) as { predicate?: unknown };
  } catch (e) {
    if (tampered(e)) return { problem: `its SBOM attestation ${layer.digest}: ${e.message}` };
    throw e;
  }
  const foreign = subjectProblems(statement, imageDigest).join("; ");
  if (foreign) return { problem: `its SBOM attestation ${layer.digest} is not about it: ${foreign}` };
  const checked = spdxDocumentSchema.safeParse(statement.predicate);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new RegistryContentError(`SBOM attestation ${layer.digest} of ${formatImageReference(ref)}: not an SPDX 2.3 document (${issue.path.join(".") || "document"}: ${issue.message})`);
  }
  return { document: checked.data };
}

/**
 * What is wrong with the attestation manifest `entry` (in `repository`) as the attestation of the
 * platform image `image` (its manifest digest): [] when the registry holds it by digest and its
 * statements are about that image, whole (their bytes their digests, each annotated with its
 * predicate type, provenance and SBOM both). The parents it names are not judged (`verify` does).
 * What merge-platforms checks of an agent's attestation before attaching it, and `--reconcile` of
 * the one an index names. A registry that can't be read is an error (thrown).
 */
export async function attestationOfImageProblems(client: RegistryClient, repository: ImageReference, image: { platform: string; digest: string }, entry: Descriptor): Promise<string[]> {
  const where = formatImageReference(byDigest(repository, entry.digest));
  // One read: a manifest the registry does not have is readAttestation's 404.
  let layers: { descriptor: Descriptor; statement: unknown }[];
  try {
    layers = await readAttestation(client, repository, entry);
  } catch (e) {
    if (!tampered(e)) throw e;
    return [e instanceof RegistryError && e.status === 404 && !e.content && e.message.includes(entry.digest) && /names attestation manifest/.test(e.message)
      ? `the registry does not hold attestation manifest ${where}` : e.message];
  }
  return attestationProblems([{ ...image, attestation: { digest: entry.digest, layers } }]);
}

/**
 * The attestation manifest the index under `layerBuildTag` (`host/path/sci/x:1.0-7-3f2a9c1`)
 * already holds for the platform image `image`, when the registry still has it and it is sound
 * (whole, about that image); undefined otherwise. What a run (a rerun, a run that only writes the
 * moving tag) and merge-platforms use rather than write another: the index stays the same. One
 * about another image, or whose manifest or blobs are gone, is made (or taken from the results) again.
 */
export async function heldAttestation(client: RegistryClient, layerBuildTag: string, image: { platform: string; digest: string }): Promise<Descriptor | undefined> {
  const held = await client.getManifest(layerBuildTag, { noIndexResolution: true });
  if (!held || !isIndexMediaType(held.mediaType)) return undefined;
  const entry = attestationEntryOf(held.indexEntries ?? [], image.digest);
  if (!entry) return undefined;
  const ref = parseImageReference(layerBuildTag);
  return (await attestationOfImageProblems(client, repositoryOf(ref), image, entry)).length === 0 ? entry : undefined;
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
  if (!isIndexMediaType(top.mediaType)) return [`${ref}: a single image (${top.digest}), not an index: it has no attestations`];
  const entries = top.indexEntries ?? [];
  const images: AttestedImage[] = [];
  const problems: string[] = [];
  for (const entry of entries.filter((e) => !isAttestationEntry(e))) {
    const platform = platformOfEntry(entry) ?? "(no platform)";
    const attestationEntry = attestationEntryOf(entries, entry.digest);
    let attestation: AttestedImage["attestation"];
    if (attestationEntry) {
      try {
        attestation = { digest: attestationEntry.digest, layers: await readAttestation(client, r, attestationEntry) };
      } catch (e) {
        // A statement whose bytes are not its digest, or that is not JSON: what a tampered attestation looks like.
        if (!tampered(e)) throw e;
        problems.push(`${platform} (${entry.digest}): ${e.message}`);
        continue;
      }
    }
    images.push({ platform, digest: entry.digest, attestation });
  }
  const parents = new Map<string, string | undefined | null>();
  for (const { platform, buildTag } of parentBuildTags(images)) {
    // A parent whose index names a manifest the registry lost is a failed check, as the parent check says it, not an error of verify.
    const held = await client.getManifest(buildTag, { platform }).catch((e: Error) => {
      if (!isImageFault(e)) throw e;
      problems.push(`${platform}: parent ${buildTag} can't be read (${e.message})`);
      return null;
    });
    parents.set(parentKey(platform, buildTag), held === null ? null : held?.manifestDigest);
  }
  return [...problems, ...attestationProblems(images, parents)];
}
