// The planner: a pure function from the repository's layers, git facts and the changes to a plan
// of self-contained build requests, in build order. Each rule lives in its own module.
import { analyzeRepository, type RepositoryAnalysis } from "./analyze-repository.js";
import { compatRequest, naming, scienceRequest, type Naming } from "../requests/build-requests.js";
import { determineBuilds, type BuildSelection } from "./determine-builds.js";
import { contextDigest, contextFingerprints } from "../requests/inputs-digest.js";
import { groupIntoWaves } from "./waves.js";
import type { ContextFile, Plan, PlanOptions, PlannedBuild, RepoSnapshot, RequestInputs, RequestWithInputs, ScienceLayer } from "../model.js";

export function planBuilds(snapshot: RepoSnapshot, options: PlanOptions): Plan {
  return planFromAnalysis(snapshot, analyzeRepository(snapshot, options.buildArgs), options);
}

/**
 * The plan, given the repository's analysis (`analyzeRepository` with `options.buildArgs`) and,
 * when the caller has it already (`contextDirsFor` needed it first), the builds `options.changes` selects.
 */
export function planFromAnalysis(
  snapshot: RepoSnapshot, analysis: RepositoryAnalysis, options: PlanOptions,
  selection: BuildSelection = determineBuilds(snapshot.science, analysis, options.changes),
): Plan {
  const n = naming(options);
  const byTarget = new Map(snapshot.science.map((l) => [l.target, l]));
  const compatByName = new Map(snapshot.compat.map((c) => [c.dir, c]));
  const planned = new Set(selection.science.map((s) => s.target));
  const science = scienceRequests(n, byTarget, analysis, options.contexts ?? NO_CONTEXTS);
  // Many final images share a compat layer's includes: each overlay is digested once.
  const compatContexts = new Map<string, string>();
  const compatContext = (dirs: string[]) => {
    const key = dirs.join("\0");
    let digest = compatContexts.get(key);
    if (digest === undefined) compatContexts.set(key, (digest = contextDigest(dirs, options.contexts ?? NO_CONTEXTS)));
    return digest;
  };

  const builds: PlannedBuild[] = [];
  for (const { target, reasons } of selection.science) {
    const layer = byTarget.get(target)!;
    builds.push({
      id: `sci/${target}`,
      kind: "science",
      image: layer.image,
      version: layer.version,
      target,
      source: layer.path,
      reasons,
      dependsOn: analysis.deps.get(target)!.parents.filter((p) => planned.has(p)).map((p) => `sci/${p}`),
      request: science(target),
    });
  }
  for (const { key, target, reasons } of selection.compat) {
    const layer = byTarget.get(target)!;
    const layers = analysis.includes.get(layer.compat!)!.map((c) => compatByName.get(c)!);
    // Science layers the fragments copy from: built first when planned, pointed at --repo.
    const copied = layers.map((c) => analysis.compatDeps.get(c.dir)!);
    const parents = [...new Set([target, ...copied.flatMap((d) => d.parents)])];
    const inputs: RequestInputs = {
      context: compatContext(layers.map((c) => c.path)),
      parents: Object.fromEntries(parents.map((p) => [`sci/${p}:${byTarget.get(p)!.version}`, science(p).inputsDigest])),
    };
    builds.push({
      id: `rel/${key}`,
      kind: "compat",
      image: layer.image,
      version: layer.version,
      target,
      source: `compat/${layer.compat}`,
      reasons,
      dependsOn: parents.filter((p) => planned.has(p)).map((p) => `sci/${p}`),
      finalImages: [`${key}-${n.buildSuffix}`, key],
      request: compatRequest(n, layer, layers, inputs, Object.assign({}, ...copied.map((d) => d.refs))),
    });
  }
  return {
    repo: n.repo, commit: options.git.commit, buildNumber: options.git.buildNumber, builds, waves: groupIntoWaves(builds),
    contextListings: contextListingsOf(builds, options.contexts ?? NO_CONTEXTS),
  };
}

/**
 * The plan's `contextListings`: each directory the builds send, listed once (many final images
 * share a compat layer), so that `run` can name the files a checkout changed since.
 */
function contextListingsOf(builds: readonly PlannedBuild[], contexts: { get(dir: string): ContextFile[] | undefined }): Record<string, Record<string, string>> {
  const listings: Record<string, Record<string, string>> = {};
  for (const dir of [...new Set(builds.flatMap((b) => b.request.contexts))].sort()) listings[dir] = contextFingerprints(contexts.get(dir) ?? []);
  return listings;
}

/**
 * The directories whose contents the plan's inputs digests need: those of the planned builds and
 * of every science layer they build on (a parent's inputs digest is part of its child's), so the
 * shell reads no more than that. `selection`: `determineBuilds` of the changes, passed on to
 * `planFromAnalysis` afterwards.
 */
export function contextDirsFor(snapshot: RepoSnapshot, analysis: RepositoryAnalysis, selection: BuildSelection): string[] {
  const byTarget = new Map(snapshot.science.map((l) => [l.target, l]));
  const compatByName = new Map(snapshot.compat.map((c) => [c.dir, c]));
  const dirs = new Set<string>();
  const seen = new Set<string>();
  const addScience = (target: string): void => {
    if (seen.has(target)) return;
    seen.add(target);
    dirs.add(byTarget.get(target)!.path);
    for (const p of analysis.deps.get(target)!.parents) addScience(p);
  };
  for (const { target } of selection.science) addScience(target);
  for (const { target } of selection.compat) {
    addScience(target);
    for (const c of analysis.includes.get(byTarget.get(target)!.compat!)!) {
      dirs.add(compatByName.get(c)!.path);
      for (const p of analysis.compatDeps.get(c)!.parents) addScience(p);
    }
  }
  return [...dirs];
}

const NO_CONTEXTS = { get: (): ContextFile[] => [] };

/** Science requests by target, made on first use: a child's inputs need its parents' digests. */
function scienceRequests(
  n: Naming, byTarget: Map<string, ScienceLayer>, analysis: RepositoryAnalysis, contexts: { get(dir: string): ContextFile[] | undefined },
): (target: string) => RequestWithInputs {
  const made = new Map<string, RequestWithInputs>();
  const position = new Map(analysis.order.map((t, i) => [t, i]));
  const make = (target: string): RequestWithInputs => {
    const layer = byTarget.get(target)!;
    const deps = analysis.deps.get(target)!;
    const parents: Record<string, string> = {};
    for (const p of deps.parents) parents[`sci/${p}:${byTarget.get(p)!.version}`] = made.get(p)!.inputsDigest;
    return scienceRequest(n, layer, deps.refs, { context: contextDigest([layer.path], contexts), parents });
  };
  return (target) => {
    if (!made.has(target)) {
      // The ancestors not made yet, made parents first (no recursion: chains can be long).
      const missing = new Set<string>();
      const stack = [target];
      while (stack.length) {
        const t = stack.pop()!;
        if (made.has(t) || missing.has(t)) continue;
        missing.add(t);
        stack.push(...analysis.deps.get(t)!.parents);
      }
      for (const t of [...missing].sort((a, b) => position.get(a)! - position.get(b)!)) made.set(t, make(t));
    }
    return made.get(target)!;
  };
}
