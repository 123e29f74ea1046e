// Everything that can be known about a repository's layers regardless of what changed:
// dependencies, checks, final layers, resolved compat includes, build order.
import { checkScienceGraph, checkUniqueTargets } from "./check-science-graph.js";
import { determineDependencies, type LayerDependencies } from "./determine-dependencies.js";
import { determineFinalLayers } from "./determine-final-layers.js";
import { parseDockerfileOf } from "./determine-dependencies.js";
import { appendable, parseDockerfileFragment } from "../parse/dockerfile/index.js";
import { topologicalOrder } from "./graph.js";
import { resolveIncludes } from "./resolve-includes.js";
import { InputError, type RepoSnapshot } from "../model.js";

export interface RepositoryAnalysis {
  deps: Map<string, LayerDependencies>;
  /** compat name -> the science layers its own fragment copies from (`COPY --from`). */
  compatDeps: Map<string, LayerDependencies>;
  /** `image:version` -> target of its final layer. */
  finals: Map<string, string>;
  /** compat name -> compat layers it is made of, overlay order, itself last. */
  includes: Map<string, string[]>;
  /** All science targets, parents before children. */
  order: string[];
  /** What the user should know that does not stop the plan, one line each, naming the file. */
  warnings: string[];
}

export function analyzeRepository(snapshot: RepoSnapshot, buildArgs: Record<string, string> = {}): RepositoryAnalysis {
  checkUniqueTargets(snapshot.science);
  checkCompatFragments(snapshot);
  const { science: deps, compat: compatDeps, warnings } = determineDependencies(snapshot.science, buildArgs, snapshot.compat);
  // A misspelt reference to a layer often shows first as a broken graph (two final layers of one
  // image, a missing parent): the error then carries the look-alike warnings that explain it.
  const explained = <T>(check: () => T): T => {
    try {
      return check();
    } catch (e) {
      if (!(e instanceof InputError) || warnings.length === 0) throw e;
      throw new InputError(`${e.message} (note: ${warnings.join("; ")})`);
    }
  };
  explained(() => checkScienceGraph(snapshot.science, deps));
  const includes = resolveIncludes(snapshot.compat);
  const finals = explained(() => determineFinalLayers(snapshot.science, deps, snapshot.compat));
  const order = topologicalOrder(snapshot.science.map((l) => l.target), (t) => deps.get(t)!.parents);
  return { deps, compatDeps, finals, includes, order, warnings };
}

/**
 * Compat Dockerfiles are fragments appended after `FROM {science image}`; a FROM inside one
 * would start a new stage and silently drop the science image.
 */
function checkCompatFragments(snapshot: RepoSnapshot): void {
  for (const c of snapshot.compat) {
    const file = `${c.path}/Dockerfile`;
    // Also rejects a parser directive at the top, which would silently become a comment.
    const parsed = parseDockerfileOf(c.dockerfile, file, {}, parseDockerfileFragment);
    const stage = parsed.stages[0];
    if (stage) {
      throw new InputError(
        `line ${stage.line}: compat Dockerfiles are fragments appended to the science image and must not contain FROM`,
        file,
      );
    }
    // An instruction still open at the end would swallow what follows the fragment: the next
    // fragment's first instruction, or the generated ENV. (An open heredoc is a parse error above.)
    const end = appendable(c.dockerfile);
    if (!end.ok) {
      throw new InputError(
        `line ${end.line}: the fragment's last instruction ${end.reason}, so it would swallow what follows the fragment (the next fragment or the generated ENV)`,
        file,
      );
    }
  }
}
