// `run --only`: a part of a plan, carried out alone. Parents outside the part are expected in the
// registry, built and pushed by another run of the same plan (another agent, an earlier wave).
import { listNames } from "./list-names.js";
import { groupIntoWaves } from "./waves.js";
import { buildTag, movingTag } from "../requests/tags.js";
import { InputError, type Plan, type PlannedBuild } from "../model.js";

export interface PrebuiltParent {
  /** The parent build's id in the plan. */
  id: string;
  /** The exact tag of this plan's build of it (`…:{version}-{n}-{h}`): proves it was pushed. */
  buildTag: string;
  /** The tag children build on (`…:{version}`). */
  baseTag: string;
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
      prebuilt.set(d, { id: d, baseTag: movingTag(parent.request), buildTag: buildTag(parent.request) });
    }
    builds.push({ ...b, dependsOn: b.dependsOn.filter((d) => wanted.has(d)) });
  }
  return { plan: { ...plan, builds, waves: groupIntoWaves(builds) }, prebuiltParents: [...prebuilt.values()] };
}
