// Issue 16, item 2: a moving tag `{version}` only moves forward. Pure: the executor reads what
// the registry holds under the moving tag (its version label) and asks here whether to move it.
//
// Builds are ordered by build number `n` (`git rev-list --count HEAD`): a descendant commit always
// counts more commits than its ancestors, so "a later build number" covers "a descendant commit"
// and needs no git history (a `run` agent's checkout may be shallow). Two commits with the same
// number on different branches are not ordered: the tag stays where it is.
import type { BuildRequest, PlannedBuild } from "../model.js";
import { versionLabel } from "../requests/inputs-digest.js";
import { movingTag, withPlatformSuffix } from "../requests/tags.js";

/** `{version}-{n}-{h}` as a version label holds it (a compat label is `{image}:{version}-{n}-{h}`). */
export interface BuildName {
  /** As written in the label, without a compat label's `{image}:`. */
  name: string;
  buildNumber: number;
  hash: string;
}

/** The build a version label names; undefined when it names none (an image from elsewhere). */
export function parseBuildName(label: string | undefined): BuildName | undefined {
  if (label === undefined) return undefined;
  const name = label.slice(label.lastIndexOf(":") + 1);
  const m = /^.+-(\d+)-([0-9a-f]+)$/.exec(name);
  return m ? { name, buildNumber: Number(m[1]), hash: m[2] } : undefined;
}

export interface MovingTagQuestion {
  /** The moving tag, as a reference (for the reason). */
  movingTag: string;
  /** This build's version label. */
  ours: string | undefined;
  /** What the registry holds under the moving tag; undefined when it holds nothing. */
  held?: { isThisImage: boolean; label: string | undefined };
  /** `--allow-tag-rollback`: move it whatever it holds. */
  allowRollback: boolean;
}

export type MovingTagDecision =
  /** `already`: the registry's moving tag holds this very image. `back`: moved back on purpose. */
  | { move: true; already?: boolean; back?: string }
  | { move: false; reason: string };

/**
 * Whether `build`'s moving tag `movingTag` moves to this run's image `imageId`, from the image it
 * holds now (its id and labels; undefined: none): the engine's moving tag and the registry's are
 * decided alike, by the build's version label.
 */
export function decideBuildMovingTag(
  build: Pick<PlannedBuild, "kind" | "target"> & { request: Pick<BuildRequest, "labels"> }, movingTag: string, imageId: string,
  held: { id: string; labels?: Record<string, string> } | undefined, allowRollback: boolean,
): MovingTagDecision {
  const label = versionLabel(build.kind, build.target);
  return decideMovingTag({
    movingTag, ours: build.request.labels[label], allowRollback,
    held: held && { isThisImage: held.id === imageId, label: held.labels?.[label] },
  });
}

/**
 * The platform moving tag (`{version}-linux-amd64`) a plain push (`--no-attestations`, a request
 * without a platform) looks for once it has moved `{version}`: an attested push of the same layer
 * put the bare image there (a one-platform index: image-index.ts), and a plain push moving
 * `{version}` alone would leave that tag serving the previous build for good. Undefined when there
 * is nothing to look for: a request for a named platform (its tags are platform tags already), a
 * run with attachments (`plainPlatform` undefined: it pushes the platform tags itself), or
 * `{version}` not on this push's image (left on a newer build, another run's). `onImage`: `{version}`
 * holds this image, written now or there already (a rerun reads the tag: a run interrupted between
 * the two writes left it behind).
 */
export function platformTagToFollow(request: Pick<BuildRequest, "tags" | "platform">, plainPlatform: string | undefined, onImage: boolean): string | undefined {
  if (!onImage || plainPlatform === undefined || request.platform !== undefined) return undefined;
  return withPlatformSuffix(movingTag(request), plainPlatform);
}

/**
 * Whether that platform moving tag moves to this run's image: undefined (nothing written, nothing
 * recorded) where the registry holds nothing under it, so a layer never published with
 * attestations gets no platform tags; else as any moving tag (only forward, by the version label).
 */
export function decideFollowingPlatformTag(
  build: Parameters<typeof decideBuildMovingTag>[0], tag: string, imageId: string,
  held: { id: string; labels?: Record<string, string> } | undefined, allowRollback: boolean,
): MovingTagDecision | undefined {
  return held && decideBuildMovingTag(build, tag, imageId, held, allowRollback);
}

/**
 * Whether `held` (a version label) names an older build than `ours`: what another run wrote under a
 * moving tag this run had just moved (two runs of consecutive commits, the older's write landing
 * last), which this run moves forward again. A build of the same number (another run of this commit,
 * an amend), a newer one, or one that can't be ordered stays.
 */
export function isOlderBuild(held: string | undefined, ours: string | undefined): boolean {
  const [theirs, own] = [parseBuildName(held), parseBuildName(ours)];
  return theirs !== undefined && own !== undefined && theirs.buildNumber < own.buildNumber;
}

export function decideMovingTag(q: MovingTagQuestion): MovingTagDecision {
  if (!q.held) return { move: true };
  if (q.held.isThisImage) return { move: true, already: true };
  const ours = parseBuildName(q.ours);
  const theirs = parseBuildName(q.held.label);
  // An image no build of this repository labelled, or a build of its own that can't be ordered
  // (a plan without version labels): nothing says it is newer.
  if (!ours || !theirs) return { move: true };
  if (theirs.buildNumber < ours.buildNumber) return { move: true };
  // The same build (another run of this commit): the build tag decided which image is published.
  if (theirs.buildNumber === ours.buildNumber && theirs.hash === ours.hash) return { move: true };
  const why = theirs.buildNumber > ours.buildNumber ? "newer" : `another commit with the same build number ${ours.buildNumber}`;
  if (q.allowRollback) return { move: true, back: `moved back: ${q.movingTag} was at ${theirs.name}, ${why} (--allow-tag-rollback)` };
  return { move: false, reason: `not moved: ${q.movingTag} is at ${theirs.name}, ${why}` };
}
