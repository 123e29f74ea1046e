// Rule 4, science side: unique targets, no self-dependency or cycle, no layer built on a higher
// version of its own image.
import { findCycle } from "./graph.js";
import type { LayerDependencies } from "./determine-dependencies.js";
import { InputError, type ScienceLayer } from "../model.js";
import { compareVersions } from "../parse/versions.js";

export function checkUniqueTargets(layers: ScienceLayer[]): void {
  const seen = new Map<string, ScienceLayer>();
  for (const l of layers) {
    const other = seen.get(l.target);
    if (other) {
      throw new InputError(`duplicate target "${l.target}" (also used by ${other.path})`, `${l.path}/sciserver-image.json`);
    }
    seen.set(l.target, l);
  }
}

export function checkScienceGraph(layers: ScienceLayer[], deps: Map<string, LayerDependencies>): void {
  const byTarget = new Map(layers.map((l) => [l.target, l]));
  for (const l of layers) {
    if (deps.get(l.target)!.parents.includes(l.target)) {
      throw new InputError(`layer builds on itself (${l.target}:${l.version})`, `${l.path}/Dockerfile`);
    }
  }
  const cycle = findCycle(layers.map((l) => l.target), (t) => deps.get(t)!.parents);
  if (cycle) {
    const first = byTarget.get(cycle[0])!;
    const names = cycle.map((t) => `${t}:${byTarget.get(t)!.version}`);
    throw new InputError(`dependency cycle: ${names.join(" -> ")}`, `${first.path}/Dockerfile`);
  }
  for (const l of layers) {
    for (const p of deps.get(l.target)!.parents) {
      const parent = byTarget.get(p)!;
      if (parent.image === l.image && compareVersions(parent.version, l.version) > 0) {
        throw new InputError(
          `${l.image}:${l.version} builds on a higher version of the same image (${parent.target}:${parent.version})`,
          `${l.path}/Dockerfile`,
        );
      }
    }
  }
}
