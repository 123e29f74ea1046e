// Everything that can be known about a repository's layers regardless of what changed:
// dependencies, checks, final layers, resolved compat includes, build order.
import { checkScienceGraph, checkUniqueTargets } from "./check-science-graph.js";
import { determineDependencies, type LayerDependencies } from "./determine-dependencies.js";
import { determineFinalLayers } from "./determine-final-layers.js";
import { parseDockerfileOf } from "./determine-dependencies.js";
import { topologicalOrder } from "./graph.js";
import { resolveIncludes } from "./resolve-includes.js";
import { InputError, type RepoSnapshot } from "./types.js";

export interface RepositoryAnalysis {
  deps: Map<string, LayerDependencies>;
  /** `image:version` -> target of its final layer. */
  finals: Map<string, string>;
  /** compat name -> compat layers it is made of, overlay order, itself last. */
  includes: Map<string, string[]>;
  /** All science targets, parents before children. */
  order: string[];
}

export function analyzeRepository(snapshot: RepoSnapshot, buildArgs: Record<string, string> = {}): RepositoryAnalysis {
  checkUniqueTargets(snapshot.science);
  checkCompatFragments(snapshot);
  const deps = determineDependencies(snapshot.science, buildArgs);
  checkScienceGraph(snapshot.science, deps);
  const includes = resolveIncludes(snapshot.compat);
  const finals = determineFinalLayers(snapshot.science, deps, snapshot.compat);
  const order = topologicalOrder(snapshot.science.map((l) => l.target), (t) => deps.get(t)!.parents);
  return { deps, finals, includes, order };
}

/**
 * Compat Dockerfiles are fragments appended after `FROM {science image}`; a FROM inside one
 * would start a new stage and silently drop the science image.
 */
function checkCompatFragments(snapshot: RepoSnapshot): void {
  for (const c of snapshot.compat) {
    const file = `${c.path}/Dockerfile`;
    const parsed = parseDockerfileOf(c.dockerfile, file);
    const stage = parsed.stages[0];
    if (stage) {
      throw new InputError(
        `line ${stage.line}: compat Dockerfiles are fragments appended to the science image and must not contain FROM`,
        file,
      );
    }
    // Fragments are concatenated: a trailing continuation would swallow the next fragment's first
    // line, and a parser directive would silently become a comment.
    if (/\\[ \t]*$/.test(c.dockerfile.replace(/\s+$/, ""))) {
      throw new InputError("compat Dockerfiles must not end in a line continuation", file);
    }
    const directive = /^#\s*(syntax|escape|check)\s*=/im.exec(c.dockerfile.split(/\r?\n/).find((l) => l.trim() !== "") ?? "");
    if (directive) {
      throw new InputError(`line 1: parser directive "${directive[1]}" has no effect in a compat fragment (directives belong to the generated Dockerfile's top)`, file);
    }
  }
}
