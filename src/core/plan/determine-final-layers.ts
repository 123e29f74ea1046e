// Rule 3: for each image:version exactly one final science layer, the one no other layer of the
// same image:version builds on. A final layer needs a compat layer that exists.
import type { LayerDependencies } from "./determine-dependencies.js";
import { InputError, type CompatLayer, type ScienceLayer } from "../model.js";

/** Returns the final layer's target for each `image:version`, in first-seen order. */
export function determineFinalLayers(
  layers: ScienceLayer[],
  deps: Map<string, LayerDependencies>,
  compat: CompatLayer[],
): Map<string, string> {
  const byTarget = new Map(layers.map((l) => [l.target, l]));
  const groups = new Map<string, ScienceLayer[]>();
  for (const l of layers) {
    const key = `${l.image}:${l.version}`;
    const g = groups.get(key);
    if (g) g.push(l); else groups.set(key, [l]);
  }
  // A layer stops being final when another layer of its own image:version builds on it.
  const builtOnWithinGroup = new Set<string>();
  for (const l of layers) {
    for (const p of deps.get(l.target)!.parents) {
      const parent = byTarget.get(p)!;
      if (parent.image === l.image && parent.version === l.version) builtOnWithinGroup.add(p);
    }
  }
  const compatNames = new Set(compat.map((c) => c.dir));
  const finals = new Map<string, string>();
  for (const [key, group] of groups) {
    const candidates = group.filter((l) => !builtOnWithinGroup.has(l.target));
    if (candidates.length !== 1) {
      const names = (candidates.length ? candidates : group).map((l) => l.path).join(", ");
      const problem = candidates.length === 0 ? "has no final layer" : "has several final layers";
      throw new InputError(
        `image ${key} ${problem} (${names}); exactly one layer of an image:version must be built on by no other layer of it`,
        `${(candidates[1] ?? group[0]).path}/sciserver-image.json`,
      );
    }
    const final = candidates[0];
    if (final.compat === undefined) {
      throw new InputError(`final layer of ${key} must name its "compat" layer`, `${final.path}/sciserver-image.json`);
    }
    finals.set(key, final.target);
  }
  for (const l of layers) {
    if (l.compat !== undefined && !compatNames.has(l.compat)) {
      throw new InputError(`unknown compat "${l.compat}" (no compat/${l.compat}/sciserver-image.json)`, `${l.path}/sciserver-image.json`);
    }
  }
  return finals;
}
