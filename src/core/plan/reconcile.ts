// `--reconcile` (issue 9, rule 6): from a plan of every layer, keep the builds whose published
// image (the moving tag `{version}` in the registry) is missing or was built from other inputs,
// plus everything built on them. How a pipeline recovers from an earlier failed or interrupted
// run, and how a new registry is filled: what the registry lacks, whatever git says. A moving tag
// at a newer build than this checkout's is current: moving tags only move forward (issue 16, item 2).
// An image of this checkout's inputs published without its attestations, or (with a signing key)
// not signed by it, is planned too (issue 19, item 6): its run reuses it and adds what it lacks,
// and what is built on it stays. When `{version}` holds an earlier commit's build of it, it is
// planned as that build (earlier-builds.ts), so that it is completed where it is, not rebuilt. So is one published as a one-platform index whose platform
// moving tag (`{version}-linux-amd64`, the bare image) is missing or holds another manifest, or
// whose platform build tag holds another image of its inputs than the index names.
// A layer built for platforms is published twice over (issue 17): each platform image under its
// platform moving tag, and the index of them all under the layer's `{version}`. A platform image
// the index lacks (or holds from other inputs, or without its attestations) keeps the layer's
// builds, all of its platforms, for the index to be written; its children only when a platform
// image itself is stale.
import { decideMovingTag, parseBuildName } from "../execute/moving-tag.js";
import { versionLabel } from "../requests/inputs-digest.js";
import { groupIntoWaves } from "./waves.js";
import { movingTag, stripPlatformSuffix, withPlatformSuffix } from "../requests/tags.js";
import { indexLayers } from "../execute/image-index.js";
import type { ChangeSet, Plan, PlannedBuild } from "../model.js";
import { asEarlierBuild } from "./earlier-builds.js";

/**
 * What the registry holds under a build's moving tag: absent, or an image with its inputs and
 * version labels; `signed`: whether it is signed by the run's key (undefined: not asked);
 * `attested`, when asked: whether the index under the layer's moving tag holds the image's
 * attestation manifest (issue 19). `index`: for a build of a platform, the image for that
 * platform inside the index under the layer's own `{version}` (absent: no index there, or none
 * with this platform), with its `attested` (its platform tags hold the bare image: never asked).
 */
export type PublishedImage = (
  /** `broken`: the tag is there, but its index names a manifest the registry does not have. */
  | { found: false; broken?: string }
  /** `attestationFault`: with `attested` false, what is wrong with the attestation manifest the index has for the image. */
  | {
    found: true; inputs?: string; mismatch?: string; build?: string; signed?: boolean; attested?: boolean; attestationFault?: string;
    /** The build tag of the build the moving tag holds (heldBuildTag), when the registry has nothing under it. */
    buildTagMissing?: string;
    /** With buildTagMissing, of an index: the platform build tag that still holds the index's image. */
    imageTagHeld?: string;
    /**
     * Of an index: its build's platform build tag holds another image of these inputs (`held`) than
     * the index's `image` (a run of the commit ended between that push and its index step).
     */
    imageTagOther?: { tag: string; held: string; image: string };
    /** Of this checkout's inputs, but built on a build of a parent the registry no longer holds under its build tag (as verify judges it). */
    parentFault?: string;
    /**
     * Of a one-platform index: its platform moving tag, when that does not hold the index's `image`
     * (`held`: the manifest it holds, if any, and that image's version label). Of a plain image
     * (--no-attestations): the platform moving tag an attested push left, when it holds another.
     */
    platformTag?: { tag: string; held?: { digest: string; build?: string }; image: string };
  }
) & { index?: PublishedImage };

/**
 * The build tag of the build a moving tag holds, from the image's version label (`1.0-5-abc`, a
 * compat build's `image:1.0-5-abc`): the request's moving tag with that build's name (and the
 * request's platform suffix). undefined when the label names no build.
 */
export function heldBuildTag(request: PlannedBuild["request"], label: string | undefined): string | undefined {
  const name = parseBuildName(label)?.name;
  if (name === undefined) return undefined;
  const moving = movingTag(request);
  const tag = `${moving.slice(0, moving.lastIndexOf(":"))}:${name}`;
  return request.platform === undefined ? tag : withPlatformSuffix(tag, request.platform);
}

/**
 * `allowRollback` (`--allow-tag-rollback`): a moving tag holding a newer build, or another
 * commit's of the same number (an amended or force-pushed-away commit's), is stale too: the run,
 * given the same flag, moves it back to this checkout's build.
 */
export interface ReconcileOptions {
  allowRollback?: boolean;
  /**
   * Full hashes of the commits the clone has, by the short hash a build name carries: an earlier
   * build is completed only when its commit is known (its provenance names it in full), else it
   * is built as this checkout's (a shallow clone's history may end before it).
   */
  commits?: ReadonlyMap<string, string>;
}

export function reconcilePlan(plan: Plan, published: ReadonlyMap<string, PublishedImage>, options: ReconcileOptions = {}): Plan {
  const commits = options.commits ?? new Map<string, string>();
  let { kept, rebuilt } = keptBuilds(plan, published, options, new Map());
  let earlier = earlierBuilds(plan.builds, published, kept, rebuilt, commits);
  // One to be completed where it is that can't be (its commit not in this clone, a shallow one's;
  // its platforms' moving tags on different builds) is built as this checkout's: a new build its
  // children must be rebuilt on, or they would stay on the build {version} moves away from.
  const unfinished = new Map<string, string>();
  for (const b of plan.builds) {
    const held = kept.has(b.id) && !rebuilt.has(b.id) && !earlier.has(b.id) ? heldEarlier(b, published.get(b.id)) : undefined;
    if (!held) continue;
    const why = commits.has(held.hash) ? "its platforms' moving tags hold different builds" : "its commit is not in this clone: a shallow clone?";
    unfinished.set(b.id, `its earlier build ${held.name} can't be completed here (${why}), so it is built as this checkout's`);
  }
  if (unfinished.size > 0) {
    ({ kept, rebuilt } = keptBuilds(plan, published, options, unfinished));
    earlier = earlierBuilds(plan.builds, published, kept, rebuilt, commits);
  }
  const builds: PlannedBuild[] = plan.builds
    .filter((b) => kept.has(b.id))
    .map((b) => {
      const held = earlier.get(b.id);
      const reasons = held ? [...kept.get(b.id)!, `completed as ${held.name}, not rebuilt`] : kept.get(b.id)!;
      return { ...(held ? asEarlierBuild(b, held.name, held.commit) : b), reasons, dependsOn: b.dependsOn.filter((d) => kept.has(d)) };
    });
  const used = new Set(builds.flatMap((b) => b.request.contexts));
  const contextListings = plan.contextListings && Object.fromEntries(Object.entries(plan.contextListings).filter(([dir]) => used.has(dir)));
  return { ...plan, builds, waves: groupIntoWaves(builds), contextListings };
}

/**
 * The builds `--reconcile` keeps (id -> why) and those of them rebuilt, so their children are too
 * (not those kept only for a signature, reused then signed, or for their layer's index, its images
 * current). `forced`: builds rebuilt whatever their verdict (id -> why).
 */
function keptBuilds(
  plan: Plan, published: ReadonlyMap<string, PublishedImage>, options: ReconcileOptions, forced: ReadonlyMap<string, string>,
): { kept: Map<string, string[]>; rebuilt: Set<string> } {
  const kept = new Map<string, string[]>();
  const rebuilt = new Set<string>();
  for (const b of plan.builds) {
    const verdict = judge(b, published.get(b.id), movingTag(b.request), options);
    // Parents come first in a plan, so a rebuilt parent is known before its children.
    const rebuiltParents = b.dependsOn.filter((d) => rebuilt.has(d));
    const force = forced.get(b.id);
    const reasons = [...(verdict.current ? [] : [verdict.why]), ...(force ? [force] : []), ...rebuiltParents.map((d) => `built on ${d}, which is rebuilt`)];
    if (force || rebuiltParents.length > 0 || (!verdict.current && !verdict.reusedOnly)) rebuilt.add(b.id);
    const indexWhy = reasons.length ? undefined : staleIndexEntry(b, published.get(b.id), options);
    if (reasons.length || indexWhy) kept.set(b.id, reasons.length ? reasons : [indexWhy!]);
  }
  // The index is written by a run holding every platform of its layer: a layer kept for one is kept whole.
  for (const layer of indexLayers(plan.builds)) {
    const kept1 = layer.members.find((m) => kept.has(m.id));
    if (!kept1) continue;
    for (const m of layer.members) {
      if (kept.has(m.id)) continue;
      kept.set(m.id, [`its layer's index ${layer.movingTag} is written with ${kept1.id}'s`]);
    }
  }
  return { kept, rebuilt };
}

/** The earlier build of this checkout's inputs (another build name of its version, not newer) the moving tag holds, if any. */
function heldEarlier(b: PlannedBuild, p: PublishedImage | undefined): { name: string; hash: string } | undefined {
  if (!p?.found || p.inputs !== b.request.inputsDigest) return undefined;
  const [held, own] = [parseBuildName(p.build), parseBuildName(b.request.labels[versionLabel(b.kind, b.target)])];
  const earlier = held !== undefined && own !== undefined && held.name !== own.name && held.name.startsWith(`${b.version}-`) && held.buildNumber <= own.buildNumber;
  return earlier ? { name: held.name, hash: held.hash } : undefined;
}

/**
 * The kept builds that are right but lack something (reusedOnly) and whose `{version}` holds an
 * earlier build of theirs (same inputs, another build name): id -> that build's name. A layer of
 * platforms is planned as its earlier build only when every platform's moving tag holds that same
 * build (its index is written under one build tag); else it is built as this checkout's.
 */
function earlierBuilds(
  builds: PlannedBuild[], published: ReadonlyMap<string, PublishedImage>, kept: ReadonlyMap<string, string[]>, rebuilt: ReadonlySet<string>, commits: ReadonlyMap<string, string>,
): Map<string, { name: string; commit: string }> {
  // Kept and not rebuilt: right but lacking something, or kept for its layer's index (a build whose
  // image has other inputs, another commit's parent or a lost build tag is rebuilt).
  const heldName = (b: PlannedBuild): { name: string; commit: string } | undefined => {
    if (!kept.has(b.id) || rebuilt.has(b.id)) return undefined;
    // Earlier: a newer build (another branch's, of the same inputs) is current, as its moving tag stays there.
    const held = heldEarlier(b, published.get(b.id));
    const commit = held && commits.get(held.hash);
    return commit !== undefined ? { name: held!.name, commit } : undefined;
  };
  const byId = new Map(builds.map((b) => [b.id, b]));
  const earlier = new Map<string, { name: string; commit: string }>();
  const members = new Set<string>();
  for (const layer of indexLayers(builds)) {
    const names = layer.members.map((m) => heldName(byId.get(m.id)!));
    for (const m of layer.members) members.add(m.id);
    if (names[0] !== undefined && names.every((n) => n?.name === names[0]!.name)) for (const m of layer.members) earlier.set(m.id, names[0]);
  }
  for (const b of builds) {
    if (members.has(b.id)) continue;
    const held = heldName(b);
    if (held !== undefined) earlier.set(b.id, held);
  }
  return earlier;
}

/**
 * What `--reconcile` counts as changed (for `graph`): the science layers whose published image is
 * missing or from other inputs, not every layer (the plan it starts from has all of them), nor
 * those rebuilt only because a parent is.
 */
export function reconciledChanges(reconciled: Plan, published: ReadonlyMap<string, PublishedImage>, why: string, options: ReconcileOptions = {}): ChangeSet {
  const science = reconciled.builds
    .filter((b) => b.kind === "science" && stale(b, published.get(b.id), options) !== undefined)
    .map((b) => b.source.replace(/^science\//, ""));
  return { all: false, science, compat: [], why };
}

function stale(b: PlannedBuild, p: PublishedImage | undefined, options: ReconcileOptions): string | undefined {
  const verdict = judge(b, p, movingTag(b.request), options);
  return verdict.current ? undefined : verdict.why;
}

/** For a build of a platform: why the index under its layer's `{version}` does not hold its current image. */
function staleIndexEntry(b: PlannedBuild, p: PublishedImage | undefined, options: ReconcileOptions): string | undefined {
  const platform = b.request.platform;
  if (platform === undefined || !p) return undefined;
  const tag = stripPlatformSuffix(movingTag(b.request), platform);
  const verdict = judge(b, p.index ?? { found: false }, tag, options);
  if (verdict.current) return undefined;
  if (p.index?.found) return `its ${platform} image in the index ${tag}: ${verdict.why}`;
  return p.index?.broken ? verdict.why : `no index of its platforms under ${tag}`;
}

/**
 * Why each build `--reconcile` leaves out is current, for `-vv` (`sci/a: current (…/sci/a:1.0
 * holds 1.0-2-abc, a newer build)`): a plan with nothing to build says why per layer, not only
 * "nothing to build". Builds left out for no reason of their own do not occur: a kept build's
 * children are kept.
 */
export function currentLayers(planOfAll: Plan, reconciled: Plan, published: ReadonlyMap<string, PublishedImage>, options: ReconcileOptions = {}): string[] {
  const kept = new Set(reconciled.builds.map((b) => b.id));
  return planOfAll.builds.filter((b) => !kept.has(b.id)).map((b) => `${b.id}: current (${judge(b, published.get(b.id), movingTag(b.request), options).why})`);
}

/**
 * The builds left out because their moving tag holds another commit's build that moving tags do
 * not move back from (newer, or of the same number): the tag and the build it holds, whose
 * commit the caller looks for in the checkout's history.
 */
export function heldByOtherCommits(planOfAll: Plan, reconciled: Plan, published: ReadonlyMap<string, PublishedImage>): { id: string; tag: string; held: string; hash: string }[] {
  const kept = new Set(reconciled.builds.map((b) => b.id));
  return planOfAll.builds.flatMap((b) => {
    const p = published.get(b.id);
    if (kept.has(b.id) || !p?.found || p.inputs === b.request.inputsDigest) return [];
    const held = parseBuildName(p.build);
    return held ? [{ id: b.id, tag: movingTag(b.request), held: held.name, hash: held.hash }] : [];
  });
}

function judge(b: PlannedBuild, p: PublishedImage | undefined, tag: string, options: ReconcileOptions = {}): { current: boolean; why: string; reusedOnly?: boolean } {
  if (!p) throw new Error(`internal: no registry answer for ${b.id}`);
  if (!p.found) return { current: false, why: p.broken ? `${tag} is broken: ${p.broken}` : `not published (${tag})` };
  const held = p.build ?? "an image without a version label";
  if (p.inputs !== b.request.inputsDigest) {
    const ours = b.request.labels[versionLabel(b.kind, b.target)];
    const moves = decideMovingTag({ movingTag: tag, ours, held: { isThisImage: false, label: p.build }, allowRollback: options.allowRollback === true });
    if (moves.move && moves.back) return { current: false, why: `${tag} holds ${held}, ${moves.back.includes("newer") ? "a newer build" : "another commit's build with the same build number"}: moved back to this checkout's (--allow-tag-rollback)` };
    if (!moves.move) {
      // Moving tags only move forward: a newer build (or one of another branch) stays.
      const newer = (parseBuildName(p.build)?.buildNumber ?? 0) > (parseBuildName(ours)?.buildNumber ?? 0);
      return { current: true, why: `${tag} holds ${held}, ${newer ? "a newer build" : `another commit's build with the same build number`}; moving tags only move forward` };
    }
    return { current: false, why: `published image has inputs ${p.inputs ?? "(none recorded)"} ≠ ${b.request.inputsDigest}` };
  }
  // Of these inputs, but a newer build (another branch's, a later commit's): its moving tag stays
  // there, and what it lacks is its own commit's to add (this checkout can't publish it as its own).
  const [heldBuild, ourBuild] = [parseBuildName(p.build), parseBuildName(b.request.labels[versionLabel(b.kind, b.target)])];
  if (heldBuild && ourBuild && heldBuild.buildNumber > ourBuild.buildNumber && !options.allowRollback) {
    return { current: true, why: `${tag} holds ${held}, a newer build (of this checkout's inputs); moving tags only move forward` };
  }
  // Its own inputs match, but it was built on another commit's parent.
  if (p.mismatch !== undefined) return { current: false, why: `published image has ${p.mismatch}` };
  // Built on a parent's build the registry no longer holds (its image deleted by digest, say):
  // verify fails it, and only a rebuild on what the registry holds mends it.
  if (p.parentFault !== undefined) return { current: false, why: `published image is built on ${p.parentFault}` };
  // The image is right, but the build tag of its build is gone (deleted by hand or by a retention
  // policy): verify, and every image built on it, look for it there. When only the index's tag is
  // gone, its image still under its platform build tag, the run writes the index there again, and
  // what is built on it stays (rebuilding it as this checkout's build would leave its children on
  // a build whose tag is lost). Else it is rebuilt, and its children with it.
  if (p.buildTagMissing) {
    const why = `${tag} holds ${held}, of this checkout's inputs, but its build tag ${p.buildTagMissing} is gone`;
    return p.imageTagHeld ? { current: false, why: `${why} (its image is still under ${p.imageTagHeld})`, reusedOnly: true } : { current: false, why };
  }
  // The image is right, but its platform build tag holds another build of it: the run puts the
  // index's image back there and reuses it, and what is built on it stays.
  if (p.imageTagOther) {
    const { tag: imageTag, held: other, image } = p.imageTagOther;
    return { current: false, why: `${tag} holds ${held}, of this checkout's inputs, but ${imageTag} holds another image of them (${other}), not the index's ${image}`, reusedOnly: true };
  }
  // The image is right, but its platform moving tag (a one-platform index's) lags: the run
  // reuses it and pushes that tag again.
  if (p.platformTag) {
    const { tag: platformTag, held: lagging, image } = p.platformTag;
    const ours = b.request.labels[versionLabel(b.kind, b.target)];
    // A newer build there stays, as the run leaves it: nothing to do.
    const moves = !lagging || decideMovingTag({ movingTag: platformTag, ours, held: { isThisImage: false, label: lagging.build }, allowRollback: false }).move;
    if (moves) return { current: false, why: `${tag} holds ${held}, of this checkout's inputs, but ${platformTag} ${lagging ? `holds ${lagging.digest}` : "is missing"}, not its image ${image}`, reusedOnly: true };
  }
  // The image is right, but published without its provenance and SBOM, or its signature: the run
  // reuses it and adds them, and what is built on it stays.
  if (p.attested === false) {
    const without = p.attestationFault ? `with attestations that are not its own or not whole (${p.attestationFault})` : "without its attestations (provenance, SBOM)";
    return { current: false, why: `${tag} holds ${held}, of this checkout's inputs, ${without}`, reusedOnly: true };
  }
  if (p.signed === false) return { current: false, why: `${tag} holds ${held}, of this checkout's inputs, not signed by the signing key`, reusedOnly: true };
  return { current: true, why: `${tag} holds ${held}, of this checkout's inputs${p.signed ? ", signed by the signing key" : ""}` };
}
