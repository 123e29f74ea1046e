// The planner: a pure function from the repository's layers, git facts and the changes to a plan
// of self-contained build requests, in build order. Each rule lives in its own module.
import { analyzeRepository, type RepositoryAnalysis } from "./analyze-repository.js";
import { compatRequest, naming, scienceRequest } from "./build-requests.js";
import { determineBuilds } from "./determine-builds.js";
import { groupIntoWaves } from "./waves.js";
import type { Plan, PlanOptions, PlannedBuild, RepoSnapshot } from "./types.js";

export function planBuilds(snapshot: RepoSnapshot, options: PlanOptions): Plan {
  return planFromAnalysis(snapshot, analyzeRepository(snapshot, options.buildArgs), options);
}

/** The plan, given the repository's analysis (`analyzeRepository` with `options.buildArgs`). */
export function planFromAnalysis(snapshot: RepoSnapshot, analysis: RepositoryAnalysis, options: PlanOptions): Plan {
  const selection = determineBuilds(snapshot.science, analysis, options.changes);
  const n = naming(options);
  const byTarget = new Map(snapshot.science.map((l) => [l.target, l]));
  const compatByName = new Map(snapshot.compat.map((c) => [c.dir, c]));
  const planned = new Set(selection.science.map((s) => s.target));

  const builds: PlannedBuild[] = [];
  for (const { target, reasons } of selection.science) {
    const layer = byTarget.get(target)!;
    const deps = analysis.deps.get(target)!;
    builds.push({
      id: `sci/${target}`,
      kind: "science",
      image: layer.image,
      version: layer.version,
      target,
      source: layer.path,
      reasons,
      dependsOn: deps.parents.filter((p) => planned.has(p)).map((p) => `sci/${p}`),
      request: scienceRequest(n, layer, deps.refs),
    });
  }
  for (const { key, target, reasons } of selection.compat) {
    const layer = byTarget.get(target)!;
    const layers = analysis.includes.get(layer.compat!)!.map((c) => compatByName.get(c)!);
    // Science layers the fragments copy from: built first when planned, pointed at --repo.
    const copied = layers.map((c) => analysis.compatDeps.get(c.dir)!);
    const parents = [...new Set([target, ...copied.flatMap((d) => d.parents)])];
    builds.push({
      id: `rel/${key}`,
      kind: "compat",
      image: layer.image,
      version: layer.version,
      target,
      source: `compat/${layer.compat}`,
      reasons,
      dependsOn: parents.filter((p) => planned.has(p)).map((p) => `sci/${p}`),
      finalImage: [`${key}-${n.buildSuffix}`, key],
      request: compatRequest(n, layer, layers, Object.assign({}, ...copied.map((d) => d.refs))),
    });
  }
  return { repo: n.repo, commit: options.git.commit, buildNumber: options.git.buildNumber, builds, waves: groupIntoWaves(builds) };
}
