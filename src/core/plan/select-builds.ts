// `run --only`: a part of a plan, carried out alone. Parents outside the part are expected in the
// registry, built and pushed by another run of the same plan (another agent, an earlier wave).
import { listNames } from "./list-names.js";
import { groupIntoWaves } from "./waves.js";
import { platformsOfPlan } from "../execute/platforms.js";
import { baseReference, buildTag } from "../requests/tags.js";
import { InputError, type Plan, type PlannedBuild } from "../model.js";

export interface PrebuiltParent {
  /** The parent build's id in the plan. */
  id: string;
  /** The exact tag of this plan's build of it (`…:{version}-{n}-{h}`): proves it was pushed. */
  buildTag: string;
  /** The tag children build on (`…:{version}`). */
  baseTag: string;
  /** The platform of the parent's image, when the plan names platforms (children of that platform build on it). */
  platform?: string;
}

export interface PlanSelection {
  /** The selected builds, dependencies outside the selection removed. */
  plan: Plan;
  prebuiltParents: PrebuiltParent[];
}

export function selectBuilds(plan: Plan, only: string[], file: string): PlanSelection {
  if (only.length === 0) return { plan, prebuiltParents: [] };
  const byId = new Map(plan.builds.map((b) => [b.id, b]));
  for (const id of only) {
    if (!byId.has(id)) {
      const known = plan.builds.length === 0 ? "it has no builds" : `its builds are ${listNames(plan.builds.map((b) => b.id))}`;
      throw new InputError(`--only ${id}: no such build in the plan; ${known}`, file);
    }
  }
  const wanted = new Set(only);
  const prebuilt = new Map<string, PrebuiltParent>();
  const builds: PlannedBuild[] = [];
  for (const b of plan.builds) {
    if (!wanted.has(b.id)) continue;
    for (const d of b.dependsOn) {
      if (wanted.has(d) || prebuilt.has(d)) continue;
      const parent = byId.get(d)!;
      prebuilt.set(d, {
        id: d, baseTag: baseReference(parent.request), buildTag: buildTag(parent.request),
        ...(parent.request.platform ? { platform: parent.request.platform } : {}),
      });
    }
    builds.push({ ...b, dependsOn: b.dependsOn.filter((d) => wanted.has(d)) });
  }
  return { plan: { ...plan, builds, waves: groupIntoWaves(builds) }, prebuiltParents: [...prebuilt.values()] };
}

/**
 * `run PLAN --platform P,…`: the plan's requests for those platforms (a request's parents are its
 * own platform's, so the part is whole). A platform the plan does not build is refused.
 */
export function selectPlatforms(plan: Plan, platforms: readonly string[], file: string): Plan {
  const planned = platformsOfPlan(plan);
  for (const p of platforms) {
    if (!planned.includes(p)) {
      const has = planned.length === 0 ? "it names no platforms (its images are for the engine's own)" : `its platforms are ${planned.join(", ")}`;
      throw new InputError(`--platform ${p}: the plan builds nothing for it; ${has}`, file);
    }
  }
  const builds = plan.builds.filter((b) => b.request.platform !== undefined && platforms.includes(b.request.platform));
  return { ...plan, builds, waves: groupIntoWaves(builds) };
}
