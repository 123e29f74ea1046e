// Whether a digest is signed by a key, from the signatures the registry holds for it: the one
// judgment both `verify` and signing (a rerun finds its signature and adds none) make. As `cosign
// verify --key` judges: a signature counts when it verifies with the key over its payload, and
// the payload names the digest; image-builder also asks that it names the repository, so a
// signature copied along with an image into another repository does not vouch for it there.
import type { KeyObject } from "node:crypto";
import { readPayload, signatureTag } from "./cosign.js";
import { verifyPayload } from "./keys.js";

/** One signature found under a digest's `.sig` tag: its payload (digest checked) and base64 signature. */
export interface FoundSignature {
  payload: Buffer;
  signature: string;
}

/** A signature layer under a `.sig` tag whose payload the registry can't give: its layer digest and why. */
export interface UnreadableSignature {
  layer: string;
  reason: string;
}

/** What is signed: a manifest digest in a repository (`host[:port]/path`). */
export interface SignedSubject {
  repository: string;
  digest: string;
}

export type SignatureVerdict = { ok: true; detail: string } | { ok: false; detail: string };

/**
 * `found`: the signatures under the subject's `.sig` tag; undefined when the registry has no such
 * tag. `unreadable`: those there whose payload can't be read, named when no signature by the key is found.
 */
export function judgeSignatures(subject: SignedSubject, found: FoundSignature[] | undefined, key: KeyObject, unreadable: UnreadableSignature[] = []): SignatureVerdict {
  const tag = signatureTag(subject.digest);
  if (found === undefined) return { ok: false, detail: `not signed: the registry has no ${tag}` };
  const byKey = found.filter((s) => verifyPayload(key, s.payload, s.signature));
  if (byKey.length === 0) {
    const broken = unreadable.length ? `; ${unreadable.length} more whose payload can't be read (layer ${unreadable[0].layer}: ${unreadable[0].reason})` : "";
    if (found.length === 0 && unreadable.length) return { ok: false, detail: `not signed: ${tag} holds no signature that can be read${broken}` };
    return { ok: false, detail: found.length === 0 ? `not signed: ${tag} holds no signature` : `not signed by this key: ${tag} holds ${found.length} signature(s), none by this key${broken}` };
  }
  const claims = byKey.map((s) => readPayload(s.payload));
  if (claims.some((c) => "digest" in c && c.digest === subject.digest && c.repository === subject.repository)) {
    return { ok: true, detail: `signed by this key (${tag})` };
  }
  const named = claims.find((c) => "digest" in c);
  if (!named || !("digest" in named)) {
    const invalid = claims.find((c) => "invalid" in c);
    return { ok: false, detail: `the signature by this key in ${tag} is not valid: ${invalid && "invalid" in invalid ? invalid.invalid : "no payload"}` };
  }
  if (named.digest !== subject.digest) return { ok: false, detail: `the signature by this key in ${tag} names another image: ${named.digest}` };
  return { ok: false, detail: `the signature by this key in ${tag} names another repository: ${named.repository}` };
}
