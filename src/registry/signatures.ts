// Cosign signatures in the registry (issue 19, item 4): reading the signatures of a digest from
// its `sha256-HEX.sig` tag, and signing a digest there. The format and the judgments are pure
// (core/signatures/); this file reads and writes them through the registry client.
import type { SignedResult } from "../core/model.js";
import { parseImageReference, type ImageReference } from "../core/parse/image-reference.js";
import { dockerReference, signatureLayer, signatureManifest, signatureTag, signedLayers, simpleSigningPayload, type SignatureLayer } from "../core/signatures/cosign.js";
import { signPayload, type SigningKey } from "../core/signatures/keys.js";
import { judgeSignatures, type FoundSignature, type UnreadableSignature } from "../core/signatures/verify.js";
import { isImageFault } from "../core/registry/transport-rules.js";
import { RegistryError, type RegistryClient } from "./client.js";

/** The signatures the registry holds for a digest: its `.sig` manifest's digest, layers, and the signed payloads. */
export interface HeldSignatures {
  /** `host/path:sha256-HEX.sig` */
  reference: string;
  manifestDigest: string;
  layers: SignatureLayer[];
  found: FoundSignature[];
  /**
   * Signature layers whose payload the registry can't give (its blob gone, or not its digest):
   * another signer's broken write, a garbage collection. Judged as no signature, named in verdicts.
   */
  unreadable: UnreadableSignature[];
}

/** The `.sig` tag of `digest` in `repository` (`host[:port]/path`, or a parsed reference). */
export function signatureReference(repository: string | ImageReference, digest: string): ImageReference {
  const r = typeof repository === "string" ? parseImageReference(repository) : repository;
  return { registry: r.registry, repository: r.repository, tag: signatureTag(digest) };
}

/** The signatures of `digest` in `repository`; undefined when the registry has no `.sig` tag for it. */
export async function readSignatures(client: RegistryClient, repository: string | ImageReference, digest: string): Promise<HeldSignatures | undefined> {
  const ref = signatureReference(repository, digest);
  const manifest = await client.getManifest(ref);
  if (!manifest) return undefined;
  const layers: SignatureLayer[] = manifest.layers.map(({ mediaType, digest: d, size, annotations }) => ({ mediaType, digest: d, size, ...(annotations ? { annotations } : {}) }));
  // Each payload is a small blob, its digest checked by getBlob. One that can't be had is that
  // signature's fault, not the others' (a registry that can't be read still throws).
  const read = await Promise.all(signedLayers(layers).map(async (l) => {
    try {
      return { payload: await client.getBlob(ref, l.digest), signature: l.signature };
    } catch (e) {
      if (!isImageFault(e)) throw e;
      return { layer: l.digest, reason: (e as Error).message };
    }
  }));
  const found = read.filter((r): r is FoundSignature => "payload" in r);
  const unreadable = read.filter((r): r is UnreadableSignature => "layer" in r);
  return { reference: `${ref.registry}/${ref.repository}:${ref.tag}`, manifestDigest: manifest.manifestDigest, layers, found, unreadable };
}

/** Tries at adding a signature while another writer keeps replacing the `.sig` tag. */
const SIGN_ATTEMPTS = 3;

/**
 * Signs `descriptor.digest` (an image manifest or an index, as pushed under a build tag of
 * `repository`) with `key`, in cosign's format: unless the `.sig` tag already holds this key's
 * signature of it (then nothing is written: a rerun costs a read), this key's signature is
 * appended to those there (another key's stay, as `cosign sign` keeps them), payload and config
 * blobs first, then the manifest. Read back afterwards: a registry has no compare-and-swap, and
 * another signer writing the tag at the same moment can drop this signature, which is then added again.
 * `descriptor` as the registry serves the digest; only its digest is signed (cosign's payload
 * names no size or media type), so an index entry or a read-back can be passed as it is.
 */
export async function signDigest(
  client: RegistryClient, key: SigningKey, repository: string | ImageReference, descriptor: { digest: string; size?: number; mediaType?: string },
  /** Told of each signature left out of the `.sig` tag written (its payload unreadable): what signing changed of others' entries. */
  dropped: (text: string) => void = () => undefined,
): Promise<SignedResult> {
  const ref = signatureReference(repository, descriptor.digest);
  const subject = { repository: dockerReference(ref), digest: descriptor.digest };
  let held = await readSignatures(client, ref, descriptor.digest);
  for (let attempt = 1; ; attempt++) {
    if (held && judgeSignatures(subject, held.found, key.publicKey, held.unreadable).ok) {
      return { digest: descriptor.digest, tag: held.reference, manifestDigest: held.manifestDigest, status: attempt === 1 ? "already signed" : "signed" };
    }
    if (attempt > SIGN_ATTEMPTS) break;
    const payload = simpleSigningPayload(subject.repository, subject.digest);
    // A signature whose payload the registry no longer gives is left out: a manifest naming a
    // missing blob is refused, and no client can verify it (said in the result).
    const broken = new Set(held?.unreadable.map((u) => u.layer));
    const kept = (held?.layers ?? []).filter((l) => !broken.has(l.digest));
    for (const u of held?.unreadable ?? []) dropped(`left out of ${ref.registry}/${ref.repository}:${ref.tag}: signature layer ${u.layer}, whose payload the registry can't give (${u.reason})`);
    const { manifest, mediaType, config } = signatureManifest([...kept, signatureLayer(payload, signPayload(key, payload))]);
    await client.putBlob(ref, payload);
    await client.putBlob(ref, config);
    await client.putManifest(ref, manifest, mediaType);
    held = await readSignatures(client, ref, descriptor.digest);
  }
  throw new RegistryError(`signature of ${subject.repository}@${subject.digest}: another writer replaced ${ref.registry}/${ref.repository}:${ref.tag} after each of ${SIGN_ATTEMPTS} tries to add it`);
}
