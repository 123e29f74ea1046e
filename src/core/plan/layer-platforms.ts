// Which platforms each science layer (and its compat build) is built for. A science layer declares
// `"platforms"` in its sciserver-image.json or inherits them from the layers it builds on; it may
// narrow its parents' platforms, never widen them (a child image for a platform its parent lacks
// has nothing to be built on). `--platform` replaces every layer's for one run. A layer with none,
// declared or inherited, is built as it always was: for the engine's own platform, no platform named.
import { LAYER_CONFIG_FILE } from "../parse/layer-config.js";
import type { RepositoryAnalysis } from "./analyze-repository.js";
import { InputError, type RepoSnapshot, type ScienceLayer } from "../model.js";

/** Science target -> its platforms, in declaration order; undefined: the engine's own. */
export type LayerPlatforms = ReadonlyMap<string, readonly string[] | undefined>;

export function layerPlatforms(
  snapshot: RepoSnapshot, analysis: Pick<RepositoryAnalysis, "order" | "deps" | "compatDeps" | "includes">, override?: readonly string[],
): LayerPlatforms {
  const platforms = new Map<string, readonly string[] | undefined>();
  if (override) {
    for (const target of analysis.order) platforms.set(target, override);
    return platforms;
  }
  const byTarget = new Map(snapshot.science.map((l) => [l.target, l]));
  const file = (l: ScienceLayer) => `${l.path}/${LAYER_CONFIG_FILE}`;
  const shown = (p: readonly string[] | undefined) => (p ? p.join(", ") : "none");
  for (const target of analysis.order) {
    const layer = byTarget.get(target)!;
    const parents = analysis.deps.get(target)!.parents.map((p) => byTarget.get(p)!);
    const declared = layer.platforms;
    if (declared) {
      for (const parent of parents) {
        const theirs = platforms.get(parent.target);
        const wider = theirs ? declared.find((p) => !theirs.includes(p)) : declared[0];
        if (wider !== undefined) {
          throw new InputError(
            `platform ${wider} is not among the platforms of sci/${parent.target} it builds on (${file(parent)}: ${shown(theirs)}): a layer may narrow its parents' platforms, never widen them`,
            file(layer),
          );
        }
      }
      platforms.set(target, declared);
      continue;
    }
    // Inherited: what every parent is built for.
    const sets = parents.map((p) => platforms.get(p.target));
    const withSets = parents.filter((_, i) => sets[i] !== undefined);
    if (withSets.length === 0) {
      platforms.set(target, undefined);
      continue;
    }
    const without = parents.find((_, i) => sets[i] === undefined);
    if (without) {
      throw new InputError(
        `builds on sci/${withSets[0].target} (${file(withSets[0])}: ${shown(sets[parents.indexOf(withSets[0])])}) and on sci/${without.target}, which has no platforms (${file(without)}): declare them there or here`,
        file(layer),
      );
    }
    const common = sets[0]!.filter((p) => sets.every((s) => s!.includes(p)));
    if (common.length === 0) {
      throw new InputError(`the layers it builds on share no platform (${withSets.map((p) => `${file(p)}: ${shown(platforms.get(p.target))}`).join("; ")})`, file(layer));
    }
    platforms.set(target, common);
  }
  checkCompatSources(snapshot, analysis, platforms, byTarget);
  return platforms;
}

/**
 * A compat build is built for its final science layer's platforms; a science layer one of its
 * fragments copies from (`COPY --from`) must be built for each of them too.
 */
function checkCompatSources(
  snapshot: RepoSnapshot, analysis: Pick<RepositoryAnalysis, "compatDeps" | "includes">,
  platforms: Map<string, readonly string[] | undefined>, byTarget: Map<string, ScienceLayer>,
): void {
  for (const layer of snapshot.science) {
    const own = platforms.get(layer.target);
    if (!own || !layer.compat || !analysis.includes.has(layer.compat)) continue;
    for (const c of analysis.includes.get(layer.compat)!) {
      for (const source of analysis.compatDeps.get(c)?.parents ?? []) {
        const theirs = platforms.get(source);
        const missing = own.find((p) => !theirs?.includes(p));
        if (missing === undefined) continue;
        const from = byTarget.get(source)!;
        throw new InputError(
          `compat/${c} copies from sci/${source} (${from.path}/${LAYER_CONFIG_FILE}: ${theirs ? theirs.join(", ") : "no platforms"}), which is not built for ${missing}, a platform of this final image`,
          `${layer.path}/${LAYER_CONFIG_FILE}`,
        );
      }
    }
  }
}
