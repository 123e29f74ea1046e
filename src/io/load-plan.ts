// The shell around the planner: gathers plain data (files, git, config), then calls the pure core.
import { determineChanges } from "../core/changes.js";
import { readLayers } from "../core/layer-config.js";
import { planBuilds } from "../core/plan-builds.js";
import { checkRepo, parseRepoConfig, REPO_CONFIG_FILE } from "../core/repo-config.js";
import { InputError, type ChangeSet, type GitInfo, type Plan, type RepoSnapshot } from "../core/types.js";
import { changedPaths, openGit, readGitInfo } from "./git.js";
import { readLayerFiles, readRepoConfigText } from "./read-repository.js";
import { stat } from "node:fs/promises";

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
}

export async function loadPlan(flags: PlanFlags): Promise<LoadedPlan> {
  const root = flags.root;
  const st = await stat(root).catch(() => undefined);
  if (!st?.isDirectory()) throw new InputError(`--root ${root}: no such directory`);
  const git = openGit(root);
  const [gitInfo, raw, configText] = await Promise.all([
    readGitInfo(git, root),
    readLayerFiles(root),
    readRepoConfigText(root),
  ]);
  const config = parseRepoConfig(configText);
  const repo = flags.repo !== undefined ? checkRepo(flags.repo, "--repo") : config.repo;
  if (repo === undefined) {
    throw new InputError(`no registry location: pass --repo or set "repo" in ${REPO_CONFIG_FILE}`);
  }
  const snapshot = readLayers(raw);
  const ref = flags.ref ?? DEFAULT_REF;
  // With --all or --include git's answer is not used, so git is not asked.
  const paths = flags.all || flags.include.length > 0
    ? []
    : await changedPaths(git, { ref, isDefaultRef: flags.ref === undefined, buildNumber: gitInfo.buildNumber, untracked: flags.untracked });
  const range = ref.includes("..");
  const changes = determineChanges(snapshot, paths, {
    all: flags.all,
    include: flags.include,
    ignore: flags.ignore,
    why: range ? `changed in ${ref}` : `changed since ${ref}`,
  });
  const plan = planBuilds(snapshot, {
    repo,
    git: gitInfo,
    changes,
    buildTime: flags.buildTime ?? Math.floor(Date.now() / 1000),
    buildArgs: flags.buildArgs,
  });
  return { plan, snapshot, changes, git: gitInfo };
}
