// merge-platforms' attachments (issue 19, split agents): for each platform image of a layer, the
// attestation manifest its agent's run uploaded and named in its results, once the registry is
// seen to hold it and it is about that very image. The rules are core/attestations/merge.ts's;
// the checks of what the registry holds, registry/attestations.ts's.
import type { BuildResult } from "../core/model.js";
import { mergeAttestation } from "../core/attestations/merge.js";
import { parseImageReference } from "../core/parse/image-reference.js";
import { buildTag, stripPlatformSuffix } from "../core/requests/tags.js";
import { attestationOfImageProblems, heldAttestation } from "../registry/attestations.js";
import type { AttachHook } from "./index-step.js";

/**
 * The index step's attachments hook for merge-platforms: `resultOf` gives the agents' (merged)
 * result of a build; `note` says that a platform goes without attestations. An attestation named
 * that can't be attached throws, naming it: the index step then writes nothing for the layer.
 */
export function recordedAttestations(resultOf: (id: string) => Pick<BuildResult, "attestation"> | undefined, note: (text: string) => void): AttachHook {
  return async ({ platform, descriptor, build, registry, repository }) => {
    const image = { platform, id: build.id, tag: buildTag(build.request), digest: descriptor.digest };
    const decision = mergeAttestation(image, resultOf(build.id));
    if ("error" in decision) throw new Error(`index not written: ${decision.error}`);
    // A sound attestation of this image in the layer's index already (an earlier merge, a
    // --reconcile run): kept, so that a merge of other (older) results files does not rewrite the index.
    const held = await heldAttestation(registry, stripPlatformSuffix(image.tag, platform), { platform, digest: descriptor.digest });
    // The one the results name, when it is not that one (checked just now): there, and about this image.
    if ("attach" in decision && decision.attach.digest !== held?.digest) {
      const problems = await attestationOfImageProblems(registry, parseImageReference(repository), { platform, digest: descriptor.digest }, decision.attach);
      if (problems.length) {
        throw new Error(`index not written: ${platform} (${build.id}): its results name attestation manifest ${decision.attach.digest}, which can't be attached: ${problems.join("; ")}`);
      }
    }
    if (held) return [held];
    if ("unknown" in decision) throw new Error(`index not written: ${decision.unknown}`);
    if ("note" in decision) {
      note(decision.note);
      return [];
    }
    return [decision.attach];
  };
}
