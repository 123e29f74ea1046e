// Split agents (issue 19 with issue 17's merge-platforms): each agent's run uploads the attestation
// manifest of every platform image it pushed and names it in its results; merge-platforms puts it
// into the layer's index next to that image. Here: what a platform's result allows the merge to
// attach, before the shell checks the registry holds it (by digest) and that its statements are
// about that image (attestationProblems without parents).
import type { AttestationResult } from "../model.js";
import { attestationIndexEntry } from "./manifest.js";
import type { Descriptor } from "../registry/image-index.js";

/** A platform image of a layer being merged: the build and the image's manifest digest under its platform build tag. */
export interface MergedImage {
  platform: string;
  /** The build's id in the plan (`sci/a@linux/arm64`). */
  id: string;
  /** The platform build tag, which holds the image. */
  tag: string;
  /** The image's manifest digest there. */
  digest: string;
}

export type MergeAttestation =
  /** Attach this index entry, once the registry is seen to hold it about this image. */
  | { attach: Descriptor }
  /** Its results record no attestation (--no-attestations, an older image-builder): the index goes without one for this platform, saying so. */
  | { note: string }
  /**
   * No results file given has the build: the attestation its run may have uploaded (by digest, so
   * found only through its results) is not known. One of this image that the layer's index holds
   * already is kept; else nothing is written for the layer (hunter21 F1: it published {version}
   * without that platform's attestation, blaming --no-attestations).
   */
  | { unknown: string }
  /** The results name an attestation that can't be attached: nothing is written for the layer. */
  | { error: string };

/** What to attach to the index for `image`, from its agent's result (undefined: no results file given has it). */
export function mergeAttestation(image: MergedImage, result: { attestation?: AttestationResult } | undefined): MergeAttestation {
  const at = `${image.platform} (${image.id})`;
  if (!result) {
    return { unknown: `${at}: no results file given has it, so the attestation manifest its run uploaded is not known (give that run's --results file too)` };
  }
  const recorded = result.attestation;
  if (!recorded) {
    return { note: `${at}: its results name no attestation manifest (a run with --no-attestations, or by an older image-builder): the index has none for ${image.platform}` };
  }
  if (recorded.status === "failed") {
    return { error: `${at}: its run could not upload its attestations${recorded.reason ? ` (${recorded.reason})` : ""}; run it again` };
  }
  if (!recorded.digest || !recorded.mediaType || recorded.size === undefined) {
    return { error: `${at}: its results name an attestation manifest without its ${["digest", "mediaType", "size"].filter((k) => recorded[k as keyof AttestationResult] === undefined).join(", ")}` };
  }
  if (recorded.subject !== image.digest) {
    return { error: `${at}: its results name attestation manifest ${recorded.digest}, about ${recorded.subject}, not the image ${image.tag} holds (${image.digest})` };
  }
  return { attach: attestationIndexEntry({ mediaType: recorded.mediaType, digest: recorded.digest, size: recorded.size }, image.digest) };
}
