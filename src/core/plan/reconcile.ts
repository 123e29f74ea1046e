// `--reconcile` (issue 9, rule 6): from a plan of every layer, keep the builds whose published
// image (the moving tag `{version}` in the registry) is missing or was built from other inputs,
// plus everything built on them. How a pipeline recovers from an earlier failed or interrupted
// run, and how a new registry is filled: what the registry lacks, whatever git says. A moving tag
// at a newer build than this checkout's is current: moving tags only move forward (issue 16, item 2).
import { decideMovingTag, parseBuildName } from "../execute/moving-tag.js";
import { versionLabel } from "../requests/inputs-digest.js";
import { groupIntoWaves } from "./waves.js";
import { movingTag } from "../requests/tags.js";
import type { ChangeSet, Plan, PlannedBuild } from "../model.js";

/**
 * What the registry holds under a build's moving tag: absent, or an image with its inputs and
 * version labels; `attested`, when asked: whether the layer's moving tag is an index holding the
 * image's attestation manifest (issue 19).
 */
export type PublishedImage = { found: false } | { found: true; inputs?: string; mismatch?: string; build?: string; attested?: boolean };

export function reconcilePlan(plan: Plan, published: ReadonlyMap<string, PublishedImage>): Plan {
  const kept = new Map<string, string[]>();
  for (const b of plan.builds) {
    const why = stale(b, published.get(b.id));
    // Parents come first in a plan, so a rebuilt parent is known before its children.
    const rebuiltParents = b.dependsOn.filter((d) => kept.has(d));
    const reasons = [...(why ? [why] : []), ...rebuiltParents.map((d) => `built on ${d}, which is rebuilt`)];
    if (reasons.length) kept.set(b.id, reasons);
  }
  const builds: PlannedBuild[] = plan.builds
    .filter((b) => kept.has(b.id))
    .map((b) => ({ ...b, reasons: kept.get(b.id)!, dependsOn: b.dependsOn.filter((d) => kept.has(d)) }));
  const used = new Set(builds.flatMap((b) => b.request.contexts));
  const contextListings = plan.contextListings && Object.fromEntries(Object.entries(plan.contextListings).filter(([dir]) => used.has(dir)));
  return { ...plan, builds, waves: groupIntoWaves(builds), contextListings };
}

/**
 * What `--reconcile` counts as changed (for `graph`): the science layers whose published image is
 * missing or from other inputs, not every layer (the plan it starts from has all of them), nor
 * those rebuilt only because a parent is.
 */
export function reconciledChanges(reconciled: Plan, published: ReadonlyMap<string, PublishedImage>, why: string): ChangeSet {
  const science = reconciled.builds
    .filter((b) => b.kind === "science" && stale(b, published.get(b.id)) !== undefined)
    .map((b) => b.source.replace(/^science\//, ""));
  return { all: false, science, compat: [], why };
}

function stale(b: PlannedBuild, p: PublishedImage | undefined): string | undefined {
  const verdict = judge(b, p);
  return verdict.current ? undefined : verdict.why;
}

/**
 * Why each build `--reconcile` leaves out is current, for `-vv` (`sci/a: current (…/sci/a:1.0
 * holds 1.0-2-abc, a newer build)`): a plan with nothing to build says why per layer, not only
 * "nothing to build". Builds left out for no reason of their own do not occur: a kept build's
 * children are kept.
 */
export function currentLayers(planOfAll: Plan, reconciled: Plan, published: ReadonlyMap<string, PublishedImage>): string[] {
  const kept = new Set(reconciled.builds.map((b) => b.id));
  return planOfAll.builds.filter((b) => !kept.has(b.id)).map((b) => `${b.id}: current (${judge(b, published.get(b.id)).why})`);
}

function judge(b: PlannedBuild, p: PublishedImage | undefined): { current: boolean; why: string } {
  if (!p) throw new Error(`internal: no registry answer for ${b.id}`);
  const tag = movingTag(b.request);
  if (!p.found) return { current: false, why: `not published (${tag})` };
  const held = p.build ?? "an image without a version label";
  if (p.inputs !== b.request.inputsDigest) {
    const ours = b.request.labels[versionLabel(b.kind, b.target)];
    const moves = decideMovingTag({ movingTag: tag, ours, held: { isThisImage: false, label: p.build }, allowRollback: false });
    if (!moves.move) {
      // Moving tags only move forward: a newer build (or one of another branch) stays.
      const newer = (parseBuildName(p.build)?.buildNumber ?? 0) > (parseBuildName(ours)?.buildNumber ?? 0);
      return { current: true, why: `${tag} holds ${held}, ${newer ? "a newer build" : `another commit's build with the same build number`}; moving tags only move forward` };
    }
    return { current: false, why: `published image has inputs ${p.inputs ?? "(none recorded)"} ≠ ${b.request.inputsDigest}` };
  }
  // Its own inputs match, but it was built on another commit's parent.
  if (p.mismatch !== undefined) return { current: false, why: `published image has ${p.mismatch}` };
  // The image is right, but published without its provenance and SBOM: the run adds them (it reuses the image).
  if (p.attested === false) return { current: false, why: `${tag} holds ${held}, of this checkout's inputs, without its attestations (provenance, SBOM)` };
  return { current: true, why: `${tag} holds ${held}, of this checkout's inputs` };
}
