// The shell around the planner: gathers plain data (files, git, config), then calls the pure core.
import { determineChanges } from "../core/changes.js";
import { readLayers } from "../core/layer-config.js";
import { analyzeRepository, type RepositoryAnalysis } from "../core/analyze-repository.js";
import { planBuilds, planFromAnalysis } from "../core/plan-builds.js";
import { checkRepo, parseRepoConfig, REPO_CONFIG_FILE } from "../core/repo-config.js";
import { InputError, type ChangeSet, type GitInfo, type Plan, type RepoSnapshot } from "../core/types.js";
import { changedPaths, openGit, readGitInfo, untrackedFiles, untrackedLayerDirs } from "./git.js";
import { readLayerFiles, readRepoConfigText } from "./read-repository.js";

export interface PlanFlags {
  root: string;
  repo?: string;
  ref?: string;
  include: string[];
  ignore: string[];
  untracked: boolean;
  all: boolean;
  buildArgs: Record<string, string>;
  /** Epoch seconds for buildtime labels; defaults to now. */
  buildTime?: number;
}

export const DEFAULT_REF = "HEAD^";

export interface LoadedPlan {
  plan: Plan;
  snapshot: RepoSnapshot;
  changes: ChangeSet;
  git: GitInfo;
  /** The layers' dependencies, final images and includes; absent when the layers were not read. */
  analysis?: RepositoryAnalysis;
}

export interface LoadOptions {
  /**
   * When git reports no change under science/ or compat/, the plan is empty whatever the layers
   * say, so they are not read: a no-op stays fast at any size. Problems in files that did not
   * change were reported when they changed.
   */
  skipUnchanged: boolean;
}

export async function loadPlan(flags: PlanFlags, options: LoadOptions = { skipUnchanged: false }): Promise<LoadedPlan> {
  const root = flags.root;
  const git = openGit(root);
  const ref = flags.ref ?? DEFAULT_REF;
  const selected = flags.all || flags.include.length > 0;
  const configTextP = readRepoConfigText(root);
  const gitInfo = await readGitInfo(git, root);
  // With --all or --include git's diff is not used, so it is not asked for.
  const paths = selected ? [] : await changedPaths(git, { ref, isDefaultRef: flags.ref === undefined, buildNumber: gitInfo.buildNumber });
  // What git does not track: changes with --untracked (unless a range is planned); otherwise,
  // asked for below, layers that are not part of the repository yet.
  const untrackedChanges = flags.untracked ? await untrackedFiles(git) : undefined;
  if (untrackedChanges && !ref.includes("..") && !selected) paths.push(...untrackedChanges);
  const config = parseRepoConfig(await configTextP);
  const repo = flags.repo !== undefined ? checkRepo(flags.repo, "--repo") : config.repo;
  if (repo === undefined) {
    throw new InputError(`no registry location: pass --repo or set "repo" in ${REPO_CONFIG_FILE}`);
  }
  const why = ref.includes("..") ? `changed in ${ref}` : `changed since ${ref}`;
  const planOptions = { repo, git: gitInfo, buildTime: flags.buildTime ?? Math.floor(Date.now() / 1000), buildArgs: flags.buildArgs };
  if (options.skipUnchanged && !selected && !paths.some((p) => p.startsWith("science/") || p.startsWith("compat/"))) {
    const changes: ChangeSet = { all: false, science: [], compat: [], why };
    const snapshot: RepoSnapshot = { science: [], compat: [] };
    return { plan: planBuilds(snapshot, { ...planOptions, changes }), snapshot, changes, git: gitInfo };
  }
  const [allRaw, untracked] = await Promise.all([readLayerFiles(root), untrackedChanges ?? untrackedFiles(git)]);
  // Without --untracked, layers git does not track yet are not part of the repository.
  const hidden = new Set(flags.untracked ? [] : untrackedLayerDirs(untracked));
  const raw = allRaw.filter((r) => !hidden.has(`${r.kind}/${r.dir}`));
  const snapshot = readLayers(raw);
  const changes = determineChanges(snapshot, paths, { all: flags.all, include: flags.include, ignore: flags.ignore, why });
  const analysis = analyzeRepository(snapshot, flags.buildArgs);
  const plan = planFromAnalysis(snapshot, analysis, { ...planOptions, changes });
  return { plan, snapshot, changes, git: gitInfo, analysis };
}
