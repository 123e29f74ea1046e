// Issue 16, items 3 and 5: what the registry holds under a tag, read back after pushing it (or
// after a push error or an interrupt), decides what the run records. Pure: the executor reads the
// manifest (its digest, and its config digest, which is the engine's image id of the image
// pushed) and asks here. A registry has no compare-and-swap: a PUT can't be made conditional,
// only checked afterwards.
import type { TagResult } from "../model.js";
import { isOlderBuild } from "./moving-tag.js";

/** A tag's manifest as the registry holds it. */
export interface HeldTag {
  digest: string;
  /** The image config's digest: the engine's image id of the image pushed under the tag. */
  configDigest: string;
}

/**
 * The tag's result from what the registry holds: this image (whatever the push said: a stored
 * PUT whose reply was lost counts as pushed), another image (`registryDigest`), or nothing.
 */
export function tagFromRegistry(tag: string, imageId: string, held: HeldTag | undefined, whyNot?: string): TagResult {
  if (held && held.configDigest === imageId) return { tag, pushed: true, digest: held.digest };
  return {
    tag, pushed: false,
    ...(held ? { registryDigest: held.digest } : {}),
    ...(whyNot ? { reason: whyNot } : {}),
  };
}

/**
 * After this run pushed a build tag, the registry holds another image under it: another run of
 * the same commit (same inputs) pushed it too, later. The registry's is the published one.
 */
export function lostBuildTag(buildTag: string, registryDigest: string): string {
  return `not published: another run of this commit pushed ${buildTag} too, and the registry holds its image (manifest ${registryDigest}), not this one; the moving tag is left to that run`;
}

/**
 * The push ended and the registry holds the manifest it sent (`pushedDigest`), but of another
 * image than this run's: the engine pushed by a name another run on it retagged as the push
 * started. That image is there by this run's push, not its own run's.
 */
export function pushedOtherImage(imageId: string, held: HeldTag | undefined, failure: string | undefined, pushedDigest: string | undefined): boolean {
  return !failure && held !== undefined && held.configDigest !== imageId && held.digest === pushedDigest;
}

/**
 * After this run pushed a moving tag, the registry holds another image under it: another run
 * moved it too (of this commit, or of a later one), later. That image stays.
 */
export function replacedMovingTag(movingTag: string, registryDigest: string): string {
  return `not moved: another run pushed ${movingTag} at the same time, and the registry holds its image (manifest ${registryDigest}), not this one`;
}

/** A child built on a parent image of this run that is not the one published under the parent's build tag. */
export function supersededParent(parentId: string): string {
  return `not pushed: built on parent ${parentId}'s image of this run, but the registry's build tag of ${parentId} holds another run's (a rerun takes that one)`;
}

/** What the registry holds under a build tag just before this run pushes it. */
export interface HeldBuild extends HeldTag {
  /** The image's inputs label. */
  inputs?: string;
}

export type BeforePush =
  | { action: "push" }
  /** Another run of this commit published its build meanwhile: this image is not the published one. */
  | { action: "superseded"; reason: string }
  | { action: "refuse"; reason: string };

/**
 * Just before pushing a build tag, read again: the reuse check was made when the build started,
 * and another run of the same commit may have published it since (issue 16, item 3). Its image,
 * of the same inputs, is then the published one, and this run does not replace it; one of other
 * inputs is refused as before building (build tags are immutable), unless `overwrite`.
 */
export function decideBeforePush(q: { buildTag: string; imageId: string; inputsDigest?: string; held?: HeldBuild; overwrite: boolean }): BeforePush {
  const { held } = q;
  if (!held || held.configDigest === q.imageId || q.overwrite) return { action: "push" };
  if (q.inputsDigest !== undefined && held.inputs === q.inputsDigest) {
    return { action: "superseded", reason: `not published: another run of this commit published ${q.buildTag} while this one built it (the registry holds its image, manifest ${held.digest}); the moving tag is left to that run` };
  }
  return { action: "refuse", reason: `${q.buildTag} was pushed to the registry with inputs ${held.inputs ?? "(none recorded)"} while this build ran, but this build's inputs are ${q.inputsDigest ?? "(none recorded)"}: build tags are immutable (--overwrite replaces it)` };
}

/**
 * A tag's recorded result made to agree with what the registry holds under it when the run ends
 * (every tag of a push is read once more before the results are written): a later check, another
 * run, or a push that ended after its read-back can have changed what was true when it was recorded.
 */
export function agreeWithRegistry(recorded: TagResult, imageId: string, held: HeldTag | undefined): TagResult {
  const now = tagFromRegistry(recorded.tag, imageId, held);
  if (now.pushed) return recorded.pushed && recorded.digest === now.digest ? recorded : now;
  if (!recorded.pushed) {
    const { registryDigest: _was, ...rest } = recorded;
    return { ...rest, ...(held ? { registryDigest: held.digest } : {}) };
  }
  return {
    ...now,
    reason: held
      ? `not published: the registry holds another image under ${recorded.tag} (manifest ${held.digest}), not this one: another run pushed it after this one`
      : `not published: the registry no longer holds ${recorded.tag}`,
  };
}

/**
 * A moving tag this run moved, read back at the end of the run holding an older build (`held`, its
 * version label): another run (of an older commit, its write landing last) moved it back. The
 * registry serves the older build under `{version}`: a failure of this run, which says how to mend it.
 */
export function movedBackByOtherRun(tag: string, held: string, registryDigest: string): string {
  return `${MOVED_BACK} ${tag} to ${held}, an older build (manifest ${registryDigest}), after this run moved it (a run of an older commit, or a rollback with --allow-tag-rollback): unless it was rolled back on purpose, run this commit again, or --reconcile --push, to move it forward`;
}
const MOVED_BACK = "moved back by another run:";

/**
 * A moving tag as read back at the end of the run, on another image than this run moved it to:
 * moved back to an older build (`held`, that image's version label) is movedBackByOtherRun; moved
 * on (a newer build, another run of this commit) stays as agreeWithRegistry recorded it.
 */
export function judgedMovingTag(now: TagResult, held: { label: string | undefined; digest: string }, ours: string | undefined): TagResult {
  return isOlderBuild(held.label, ours) ? { ...now, reason: movedBackByOtherRun(now.tag, held.label!, held.digest) } : now;
}

/** What a push result that changed at the end of the run says: a tag's reason (of the first tag not there, when it is not pushed). */
export function readBackReason(result: "pushed" | "superseded" | "push failed", after: TagResult[]): string | undefined {
  return result === "pushed" ? after.find((t) => t.reason)?.reason : (after.find((t) => !t.pushed && t.reason) ?? after[0]).reason;
}

/**
 * How a build's push ended, from its tags as agreeWithRegistry left them: its build tag (the
 * first) held by another image is "superseded"; a moving tag moved back to an older build by
 * another run (movedBackByOtherRun) is "push failed"; every tag there (or a moving tag left on a
 * newer build) is "pushed"; its build tag gone, "push failed"; undefined when nothing changed what
 * the push step recorded, or what changed leaves its result as it was.
 */
export function pushResultFromTags(before: TagResult[], after: TagResult[]): "pushed" | "superseded" | "push failed" | undefined {
  const changed = after.some((t, i) => t.pushed !== before[i].pushed);
  if (!changed) return undefined;
  if (!after[0].pushed) return after[0].registryDigest ? "superseded" : "push failed";
  if (after.some((t) => t.reason?.startsWith(MOVED_BACK))) return "push failed";
  return after.every((t) => t.pushed || t.reason?.startsWith("not moved:")) ? "pushed" : undefined;
}
