// The planner: a pure function from the repository's layers, git facts and the changes to a plan
// of self-contained build requests, in build order. Each rule lives in its own module.
import { analyzeRepository, type RepositoryAnalysis } from "./analyze-repository.js";
import type { LayerDependencies } from "./determine-dependencies.js";
import { compatRequest, naming, scienceRequest, type Naming } from "../requests/build-requests.js";
import { determineBuilds, type BuildSelection } from "./determine-builds.js";
import { contextDigest, contextFingerprints } from "../requests/inputs-digest.js";
import { groupIntoWaves } from "./waves.js";
import { layerPlatforms } from "./layer-platforms.js";
import { idWithPlatform, platformArgs } from "../parse/platforms.js";
import { InputError, type ContextFile, type Plan, type PlanOptions, type PlannedBuild, type RepoSnapshot, type RequestInputs, type RequestWithInputs, type ScienceLayer } from "../model.js";
import { LAYER_CONFIG_FILE } from "../parse/layer-config.js";

export function planBuilds(snapshot: RepoSnapshot, options: PlanOptions): Plan {
  return planFromAnalysis(snapshot, analyzeRepository(snapshot, options.buildArgs), options);
}

/**
 * The plan, given the repository's analysis (`analyzeRepository` with `options.buildArgs`) and,
 * when the caller has it already (`contextDirsFor` needed it first), the builds `options.changes` selects.
 */
export function planFromAnalysis(
  snapshot: RepoSnapshot, analysis: RepositoryAnalysis, options: PlanOptions,
  selection: BuildSelection = determineBuilds(snapshot.science, analysis, options.changes, parentsOnAnyPlatform(snapshot, analysis, options)),
): Plan {
  const n = naming(options);
  const byTarget = new Map(snapshot.science.map((l) => [l.target, l]));
  const compatByName = new Map(snapshot.compat.map((c) => [c.dir, c]));
  const planned = new Set(selection.science.map((s) => s.target));
  const platformsOf = layerPlatforms(snapshot, analysis, options.platforms);
  const analysisFor = platformAnalyses(snapshot, analysis, options.buildArgs);
  const science = scienceRequests(n, byTarget, analysisFor, options.contexts ?? NO_CONTEXTS);
  // Many final images share a compat layer's includes: each overlay is digested once.
  const compatContexts = new Map<string, string>();
  const compatContext = (dirs: string[]) => {
    const key = dirs.join("\0");
    let digest = compatContexts.get(key);
    if (digest === undefined) compatContexts.set(key, (digest = contextDigest(dirs, options.contexts ?? NO_CONTEXTS)));
    return digest;
  };
  // Without platforms, one request per layer with the ids it always had.
  const platformsFor = (target: string): (string | undefined)[] => [...(platformsOf.get(target) ?? [undefined])];
  const sciId = (target: string, platform: string | undefined) => idWithPlatform(`sci/${target}`, platform);
  // A parent a platform's FROM lines name (TARGETARCH) must be built for that platform too.
  const checkParentsBuiltFor = (platform: string | undefined, layer: ScienceLayer, parents: string[]) => {
    for (const p of parents) {
      const theirs = platformsOf.get(p);
      if (platform === undefined ? theirs === undefined : theirs?.includes(platform)) continue;
      const parent = byTarget.get(p)!;
      throw new InputError(
        `${platform === undefined ? "for the engine's own platform" : `for ${platform}`} it builds on sci/${p}, which is ${theirs ? `built for ${theirs.join(", ")} only` : "built for no named platform"} (${parent.path}/${LAYER_CONFIG_FILE})`,
        `${layer.path}/${LAYER_CONFIG_FILE}`,
      );
    }
  };

  // Built for no named platform, the engine's own: a reference that names a layer only with the
  // platform args set can't be resolved here, while BuildKit sets them to its platform and builds on
  // whatever that names (hunter22: production's sci/base-amd64, though this repository has it).
  const refusePlatformDependent = (deps: LayerDependencies, file: string, layer: ScienceLayer) => {
    const ref = deps.platformDependent?.[0];
    if (!ref) return;
    throw new InputError(
      `line ${ref.line}: with the platform args (TARGETARCH …) of ${ref.platform} this reference is ${ref.image}, layer sci/${ref.layer}; BuildKit sets them to the engine's own platform, which the plan does not know for a layer built for no named platform: declare its platforms in ${layer.path}/${LAYER_CONFIG_FILE} (or give --platform)`,
      file,
    );
  };

  const builds: PlannedBuild[] = [];
  for (const { target, reasons } of selection.science) {
    const layer = byTarget.get(target)!;
    for (const platform of platformsFor(target)) {
      if (platform === undefined) refusePlatformDependent(analysis.deps.get(target)!, `${layer.path}/Dockerfile`, layer);
      checkParentsBuiltFor(platform, layer, analysisFor(platform).deps.get(target)!.parents);
      builds.push({
        id: sciId(target, platform),
        kind: "science",
        image: layer.image,
        version: layer.version,
        target,
        source: layer.path,
        reasons,
        // Parents pinned per platform: the same platform's request of each parent.
        dependsOn: analysisFor(platform).deps.get(target)!.parents.filter((p) => planned.has(p)).map((p) => sciId(p, platform)),
        request: science(target, platform),
      });
    }
  }
  for (const { key, target, reasons } of selection.compat) {
    const layer = byTarget.get(target)!;
    for (const platform of platformsFor(target)) {
      const a = analysisFor(platform);
      const layers = a.includes.get(layer.compat!)!.map((c) => compatByName.get(c)!);
      if (platform === undefined) for (const c of layers) refusePlatformDependent(analysis.compatDeps.get(c.dir)!, `${c.path}/Dockerfile`, layer);
      // Science layers the fragments copy from: built first when planned, pointed at --repo.
      const copied = layers.map((c) => a.compatDeps.get(c.dir)!);
      const parents = [...new Set([target, ...copied.flatMap((d) => d.parents)])];
      checkParentsBuiltFor(platform, layer, parents.slice(1));
      const inputs: RequestInputs = {
        context: compatContext(layers.map((c) => c.path)),
        parents: Object.fromEntries(parents.map((p) => [`sci/${p}:${byTarget.get(p)!.version}`, science(p, platform).inputsDigest])),
      };
      builds.push({
        id: idWithPlatform(`rel/${key}`, platform),
        kind: "compat",
        image: layer.image,
        version: layer.version,
        target,
        source: `compat/${layer.compat}`,
        reasons,
        dependsOn: parents.filter((p) => planned.has(p)).map((p) => sciId(p, platform)),
        finalImages: [`${key}-${n.buildSuffix}`, key],
        request: compatRequest(n, layer, layers, inputs, Object.assign({}, ...copied.map((d) => d.refs)), platform),
      });
    }
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
export function contextDirsFor(
  snapshot: RepoSnapshot, analysis: RepositoryAnalysis, selection: BuildSelection, options: Pick<PlanOptions, "buildArgs" | "platforms"> = { buildArgs: {} },
): string[] {
  const byTarget = new Map(snapshot.science.map((l) => [l.target, l]));
  const compatByName = new Map(snapshot.compat.map((c) => [c.dir, c]));
  const dirs = new Set<string>();
  const seen = new Set<string>();
  // Each platform's FROM lines may name other parents (TARGETARCH): those of every platform count.
  const platformsOf = layerPlatforms(snapshot, analysis, options.platforms);
  const analysisFor = platformAnalyses(snapshot, analysis, options.buildArgs);
  const addScience = (target: string): void => {
    if (seen.has(target)) return;
    seen.add(target);
    dirs.add(byTarget.get(target)!.path);
    for (const platform of platformsOf.get(target) ?? [undefined]) {
      for (const p of analysisFor(platform).deps.get(target)!.parents) addScience(p);
    }
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

/**
 * A science layer's parents on every platform it is built for (its FROM lines may name another
 * parent per platform: TARGETARCH), for determineBuilds: a change to sci/base-arm64 rebuilds
 * what builds on it for arm64.
 */
export function parentsOnAnyPlatform(
  snapshot: RepoSnapshot, analysis: RepositoryAnalysis, options: Pick<PlanOptions, "buildArgs" | "platforms"> = { buildArgs: {} },
): (target: string) => string[] {
  const platformsOf = layerPlatforms(snapshot, analysis, options.platforms);
  const analysisFor = platformAnalyses(snapshot, analysis, options.buildArgs);
  return (target) => [...new Set((platformsOf.get(target) ?? [undefined]).flatMap((platform) => analysisFor(platform).deps.get(target)?.parents ?? []))];
}

/**
 * Per repository analysis, its platforms' analyses made so far: contextDirsFor and then
 * planFromAnalysis ask for the same ones, and each parses every Dockerfile again.
 */
const analysesByPlatform = new WeakMap<RepositoryAnalysis, Map<string | undefined, RepositoryAnalysis>>();

/**
 * The repository's analysis as each platform's FROM lines resolve (`FROM sci/x-${TARGETARCH}:1.0`),
 * made on first use, once per `analysis` (`analyzeRepository(snapshot, buildArgs)`); `analysis`
 * (no platform) for undefined.
 */
function platformAnalyses(
  snapshot: RepoSnapshot, analysis: RepositoryAnalysis, buildArgs: Record<string, string>,
): (platform: string | undefined) => RepositoryAnalysis {
  let analyses = analysesByPlatform.get(analysis);
  if (!analyses) analysesByPlatform.set(analysis, (analyses = new Map([[undefined, analysis]])));
  return (platform) => {
    let a = analyses.get(platform);
    if (!a) analyses.set(platform, (a = analyzeRepository(snapshot, { ...buildArgs, ...platformArgs(platform) })));
    return a;
  };
}

/**
 * The look-alike warnings of the platforms' analyses made so far for `analysis` that it has not
 * itself: a reference spelled with a platform's args (`sci/bse-${TARGETARCH}:1.0`) resolves only
 * there. Each once.
 */
export function platformWarnings(analysis: RepositoryAnalysis): string[] {
  const analyses = [...(analysesByPlatform.get(analysis)?.values() ?? [])].filter((a) => a !== analysis);
  return [...new Set(analyses.flatMap((a) => a.warnings))].filter((w) => !analysis.warnings.includes(w));
}

const NO_CONTEXTS = { get: (): ContextFile[] => [] };

/** Science requests by target and platform, made on first use: a child's inputs need its parents' digests. */
function scienceRequests(
  n: Naming, byTarget: Map<string, ScienceLayer>, analysisFor: (platform: string | undefined) => RepositoryAnalysis,
  contexts: { get(dir: string): ContextFile[] | undefined },
): (target: string, platform: string | undefined) => RequestWithInputs {
  const perPlatform = new Map<string | undefined, { done: Map<string, RequestWithInputs>; position: Map<string, number> }>();
  return (target, platform) => {
    const analysis = analysisFor(platform);
    let state = perPlatform.get(platform);
    if (!state) perPlatform.set(platform, (state = { done: new Map(), position: new Map(analysis.order.map((t, i) => [t, i])) }));
    const { done, position } = state;
    const make = (t: string): RequestWithInputs => {
      const layer = byTarget.get(t)!;
      const deps = analysis.deps.get(t)!;
      const parents: Record<string, string> = {};
      for (const p of deps.parents) parents[`sci/${p}:${byTarget.get(p)!.version}`] = done.get(p)!.inputsDigest;
      return scienceRequest(n, layer, deps.refs, { context: contextDigest([layer.path], contexts), parents }, platform);
    };
    if (!done.has(target)) {
      // The ancestors not made yet, made parents first (no recursion: chains can be long).
      const missing = new Set<string>();
      const stack = [target];
      while (stack.length) {
        const t = stack.pop()!;
        if (done.has(t) || missing.has(t)) continue;
        missing.add(t);
        stack.push(...analysis.deps.get(t)!.parents);
      }
      for (const t of [...missing].sort((a, b) => position.get(a)! - position.get(b)!)) done.set(t, make(t));
    }
    return done.get(target)!;
  };
}
