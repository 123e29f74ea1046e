// The shell around the planner: gathers plain data (files, git, config), then calls the pure core.
import { existsSync, statSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { join } from "node:path";
import { changedNonLayerDirs, contextDirs, determineChanges, layerDirOf, normalizeLayerDir, ignoredFilesWarning, uncommittedLayers, uncommittedWarning } from "../core/plan/changes.js";
import { checkImageNames, LAYER_CONFIG_FILE, readLayers } from "../core/parse/layer-config.js";
import { analyzeRepository, type RepositoryAnalysis } from "../core/plan/analyze-repository.js";
import { contextDirsFor, parentsOnAnyPlatform, planBuilds, planFromAnalysis, platformWarnings } from "../core/plan/plan-builds.js";
import { determineBuilds } from "../core/plan/determine-builds.js";
import { describeRef, parseRef } from "../core/parse/revision-range.js";
import { parseRepoConfig, resolveRepo, type RepoLocation } from "../core/parse/repo-config.js";
import { InputError, type ChangeSet, type ContextListings, type GitInfo, type Plan, type RepoSnapshot } from "../core/model.js";
import type { SimpleGit } from "simple-git";
import { changedPaths, commitOf, commitsOnlyIn, openGit, previousScienceConfigs, readReachableCommits, readGitInfo, readIndex, untrackedLayerDirs, worktreeStatus, type WorktreeStatus } from "../read/git.js";
import { hiddenDifferences, hiddenDifferencesWarning } from "../core/plan/checkout-differences.js";
import { layersLeft } from "../core/plan/layers-left.js";
import { fullCommits, unreachableCommits } from "../core/plan/reachable-commits.js";
import { parseBuildName } from "../core/execute/moving-tag.js";
import { contextFilters, readContextListings, type ContextFilters } from "../read/context-files.js";
import { readLayerFiles, readRepoConfigText } from "../read/repository.js";

export interface PlanFlags {
  root: string;
  repo?: string;
  ref?: string;
  include: string[];
  ignore: string[];
  untracked: boolean;
  all: boolean;
  buildArgs: Record<string, string>;
  /** `--platform`: every layer is built for these, whatever it declares. */
  platforms?: string[];
  /** Epoch seconds for buildtime labels; defaults to now. */
  buildTime?: number;
  /** Plan every layer, keep what the registry lacks or holds with other inputs (and dependents). */
  reconcile?: boolean;
  /** `--reconcile` with a signing key: its public half; images not signed by it are kept too. */
  signedBy?: KeyObject;
  /** `--no-attestations` (false): --reconcile does not count an image published without attestations as missing. */
  attestations?: boolean;
  /** `--allow-tag-rollback`: --reconcile counts a moving tag holding a newer build (or another commit's of the same number) as stale. */
  allowTagRollback?: boolean;
}

export const DEFAULT_REF = "HEAD^";

export interface RepositoryPlan {
  plan: Plan;
  snapshot: RepoSnapshot;
  changes: ChangeSet;
  git: GitInfo;
  /** The registry location and where it came from (--repo, image-builder.json, the default). */
  location: RepoLocation;
  /** The layers' dependencies, final images and includes; absent when the layers were not read. */
  analysis?: RepositoryAnalysis;
  /** Things the user should know that do not stop the plan, one line each. */
  warnings: string[];
  /** `--reconcile`: why each layer it leaves out is current, one line each (for -vv). */
  current?: string[];
  /** Layer directories the plan builds that differ from the commit (uncommitted changes, or what git status does not show): built as they are, tagged as HEAD. */
  uncommitted?: string[];
}

export interface PlanRepositoryOptions {
  /**
   * When git reports no change under science/ or compat/, the plan is empty whatever the layers
   * say, so they are not read: a no-op stays fast at any size. Problems in files that did not
   * change were reported when they changed.
   */
  skipUnchanged: boolean;
}

export async function planRepository(flags: PlanFlags, options: PlanRepositoryOptions = { skipUnchanged: false }): Promise<RepositoryPlan> {
  if (flags.reconcile) {
    const clash = [["--all", flags.all], ["--include", flags.include.length > 0], ["--ignore", flags.ignore.length > 0], ["--ref", flags.ref !== undefined]]
      .filter(([, on]) => on).map(([flag]) => flag);
    if (clash.length) throw new InputError(`--reconcile plans from what the registry holds, not from changes: not with ${clash.join(", ")}`);
    const planOfAll = await planRepository({ ...flags, reconcile: false, all: true }, options);
    const { currentLayers, heldByOtherCommits, reconcilePlan, reconciledChanges } = await import("../core/plan/reconcile.js");
    const { readPublishedInputs } = await import("../read/published.js");
    const published = await readPublishedInputs(planOfAll.plan, undefined, { signedBy: flags.signedBy, attestations: flags.attestations !== false });
    const rollback = { allowRollback: flags.allowTagRollback === true };
    // The clone's history, read once and only when a build's commit is asked about.
    let history: Promise<string[]> | undefined;
    const reachable = async (hashes: string[]) => (hashes.length === 0 ? [] : await (history ??= readReachableCommits(openGit(flags.root))));
    // The commits of the builds the moving tags hold: an earlier build completed names its own in its provenance.
    const heldHashes = [...new Set([...published.values()].map((p) => (p.found ? parseBuildName(p.build)?.hash : undefined)).filter((h): h is string => h !== undefined))];
    const commits = fullCommits(await reachable(heldHashes), heldHashes);
    const plan = reconcilePlan(planOfAll.plan, published, { ...rollback, commits });
    // Left on another commit's build: said when no ref of the repository has that commit (an
    // amended or force-pushed-away one's build would otherwise stay published without a word;
    // another branch's, or a later commit's, stays as moving tags are meant to).
    const held = heldByOtherCommits(planOfAll.plan, plan, published);
    const heldElsewhere = [...new Set(held.map((h) => h.hash))];
    const gone = unreachableCommits(await reachable(heldElsewhere), heldElsewhere);
    const stranded = held.filter((h) => gone.has(h.hash));
    const warnings = stranded.length === 0 ? planOfAll.warnings : [...planOfAll.warnings,
      `${stranded.map((h) => `${h.tag} holds ${h.held}`).join(", ")}: ${stranded.length === 1 ? "a build of a commit" : "builds of commits"} no branch or tag of this clone has: not fetched yet (git fetch, then look again), or amended or force-pushed away; moving tags do not move back from them. Only when they are gone: --reconcile --allow-tag-rollback --push publishes this checkout's builds there instead`];
    // "nothing to build: nothing missing from or stale in the registry"
    return { ...planOfAll, plan, warnings, changes: reconciledChanges(plan, published, "missing from or stale in the registry", rollback), current: currentLayers(planOfAll.plan, plan, published, rollback) };
  }
  // --ref says which changes count; --all counts none of them: a revision given there (a typo
  // among them) would be ignored without a word.
  if (flags.all && flags.ref !== undefined) throw new InputError("--all plans every layer, whatever changed: not with --ref");
  if (flags.include.length > 0 && flags.ref !== undefined) throw new InputError("--include plans the layers it names, whatever changed: not with --ref");
  const root = flags.root;
  const git = openGit(root);
  const refSpec = parseRef(flags.ref ?? DEFAULT_REF);
  const { ref } = refSpec;
  const isRange = refSpec.kind === "range";
  const rangeEndRev = refSpec.kind === "range" ? refSpec.end : undefined;
  const selected = flags.all || flags.include.length > 0;
  const { prefix, ...gitInfo } = await readGitInfo(git, root);
  checkLayout(root);
  const configText = readRepoConfigText(root);
  const warnings: string[] = [];
  // With --all or --include git's diff is not used, so it is not asked for.
  const ownChanges = refSpec.kind === "range" ? refSpec.ownChanges : undefined;
  const rangeStart = refSpec.kind === "range" && !selected ? refSpec.start : undefined;
  const diffRequest = { ref, isDefaultRef: flags.ref === undefined, buildNumber: gitInfo.buildNumber, ownChanges };
  const [paths, rangeEnd, status, startOnly] = await Promise.all([
    selected ? ([] as string[]) : changedPaths(git, diffRequest),
    // The layers are read from the checkout and tagged with HEAD's number and hash: a range that
    // ends elsewhere, or uncommitted changes (which a range does not count), are pointed out.
    !selected && rangeEndRev !== undefined ? commitOf(git, rangeEndRev, ref) : undefined,
    worktreeStatus(git, prefix),
    rangeStart !== undefined ? commitsOnlyIn(git, rangeStart, rangeEndRev, ref) : 0,
  ]);
  if (startOnly > 0) {
    warnings.push(
      `--ref ${ref}: ${rangeStart} has ${startOnly} commit(s) that ${rangeEndRev ?? "HEAD"} does not, and their changes count too (${ref} compares the two commits' files); ${ref.replace("..", "...")} counts only ${rangeEndRev ?? "HEAD"}'s changes since they diverged`,
    );
  }
  if (rangeEnd !== undefined && rangeEnd !== gitInfo.commit) {
    warnings.push(
      `--ref ${ref} ends at ${rangeEndRev} (${rangeEnd.slice(0, gitInfo.shortCommit.length)}), not at the checkout (${gitInfo.shortCommit}): what gets built is the checkout's files, tagged ${gitInfo.buildNumber}-${gitInfo.shortCommit}`,
    );
  }
  // Without --untracked, layers git does not track yet are not part of the repository.
  const hidden = new Set(flags.untracked ? [] : untrackedLayerDirs(status.untracked));
  for (const dir of flags.include) {
    if (hidden.has(normalizeLayerDir(dir))) {
      throw new InputError(`--include ${dir}: git does not track its ${LAYER_CONFIG_FILE} yet; git add it, or pass --untracked`);
    }
  }
  if (hidden.size > 0) {
    const dirs = [...hidden].sort().join(", ");
    warnings.push(
      hidden.size === 1
        ? `git does not track ${dirs} (its ${LAYER_CONFIG_FILE}), so it is left out of the plan: git add it, or pass --untracked`
        : `git does not track ${dirs} (their ${LAYER_CONFIG_FILE}), so they are left out of the plan: git add them, or pass --untracked`,
    );
  }
  // What the checkout has that HEAD does not (files of hidden layers are not part of anything).
  const uncommitted = [...status.uncommitted, ...status.untracked.filter((p) => !hidden.has(layerDirOf(p) ?? ""))];
  if (isRange && !selected) {
    const dirty = [...new Set(uncommitted.map((p) => layerDirOf(p) ?? (isDirectory(root, p) ? p : undefined)).filter((d) => d !== undefined))].sort();
    if (dirty.length > 0) warnings.push(`--ref ${ref} does not count uncommitted changes, but the checkout is what gets built: ${dirty.join(", ")}`);
  }
  // Untracked files are changes with --untracked (unless a range is planned).
  if (flags.untracked && !isRange && !selected) paths.push(...status.untracked);
  const config = parseRepoConfig(configText);
  const location = resolveRepo(flags.repo, config);
  const { repo } = location;
  const why = flags.ref === undefined && gitInfo.buildNumber === 1 ? "new in the repository's first commit" : describeRef(refSpec);
  const planOptions = { repo, git: gitInfo, buildTime: flags.buildTime ?? Math.floor(Date.now() / 1000), buildArgs: flags.buildArgs, platforms: flags.platforms };
  if (options.skipUnchanged && !selected && !paths.some((p) => p.startsWith("science/") || p.startsWith("compat/"))) {
    const changes: ChangeSet = { all: false, science: [], compat: [], why };
    const snapshot: RepoSnapshot = { science: [], compat: [] };
    return { plan: planBuilds(snapshot, { ...planOptions, changes }), snapshot, changes, git: gitInfo, location, warnings };
  }
  const raw = (await readLayerFiles(root)).filter((r) => !hidden.has(`${r.kind}/${r.dir}`));
  const snapshot = readLayers(raw);
  checkImageNames(snapshot, repo, gitInfo, flags.platforms);
  // Files changed in a directory discovery does not read (a layer nested a level deeper, a misnamed config): said, not silently nothing.
  // (Only where a changed file is still there: a removed layer's directory may stay for the ignored files in it; hidden directories are no layers on purpose.)
  const strays = selected ? [] : changedNonLayerDirs(snapshot, paths)
    .filter((d) => !hidden.has(d) && !/^[^/]+\/\./.test(d) && paths.some((p) => p.startsWith(`${d}/`) && existsSync(join(root, p))));
  if (strays.length > 0) {
    warnings.push(`${strays.join(", ")} changed, but ${strays.length === 1 ? "is no layer directory" : "are no layer directories"} (no ${LAYER_CONFIG_FILE} directly in ${strays.length === 1 ? "it" : "them"}): a layer is science/NAME or compat/NAME with its ${LAYER_CONFIG_FILE}; nested directories are not read`);
  }
  // What a build sends (each layer's .dockerignore read once for every question below).
  const filters = contextFilters(root, layerDirOf);
  const sent = filters.changed;
  // A change its layer's .dockerignore leaves out of the build context changes no image: not a change (a README).
  const determined = determineChanges(snapshot, sent(paths), { all: flags.all, include: flags.include, ignore: flags.ignore, why });
  // A science layer that left an image version (removed, or its image or version changed): that version's final image is made again.
  const previous = selected ? new Map<string, string>() : await previousScienceConfigs(git, diffRequest, paths);
  const left = layersLeft(snapshot, previous).filter((l) => !flags.ignore.map(normalizeLayerDir).includes(`science/${l.dir}`));
  const changes: ChangeSet = left.length ? { ...determined, left } : determined;
  const analysis = analyzeRepository(snapshot, flags.buildArgs);
  warnings.push(...analysis.warnings);
  // Inputs digests need the contents of the planned layers' contexts (and their parents').
  const selection = determineBuilds(snapshot.science, analysis, changes, parentsOnAnyPlatform(snapshot, analysis, planOptions));
  const contexts = readContextListings(root, contextDirsFor(snapshot, analysis, selection, planOptions));
  const plan = planFromAnalysis(snapshot, analysis, { ...planOptions, changes, contexts }, selection);
  warnings.push(...platformWarnings(analysis));
  // Counted as changes (or built anyway with --all, --include), but tagged as HEAD's commit.
  const checkout = await checkoutWarnings(plan, git, contexts, status, filters, { uncommitted, sayUncommitted: !(isRange && !selected), buildSuffix: `${gitInfo.buildNumber}-${gitInfo.shortCommit}` });
  warnings.push(...checkout.warnings);
  return { plan, snapshot, changes, git: gitInfo, location, analysis, warnings, uncommitted: checkout.uncommitted };
}

/**
 * What the plan's build contexts hold other than the commit (tagged `buildSuffix`, as if they were
 * it), in warnings: uncommitted and untracked changes (`uncommitted`, from git status; said unless
 * `sayUncommitted` is false: a range does not count them, and says so itself), files git ignores,
 * and what git status does not show (core/plan/checkout-differences.ts, from git's index) in the
 * contexts of the builds planned (not the parents' read for their digests only). `uncommitted` of
 * the result: the layer directories that differ, for a refused build tag's advice.
 */
export async function checkoutWarnings(
  plan: Plan, git: SimpleGit, contexts: ContextListings, status: WorktreeStatus, filters: ContextFilters, o: { uncommitted: string[]; sayUncommitted: boolean; buildSuffix: string },
): Promise<{ warnings: string[]; uncommitted: string[] }> {
  // What a build sends: a change its .dockerignore leaves out is not built, so not said to be.
  const dirty = uncommittedLayers(plan.builds, filters.changed(o.uncommitted));
  const planned = contextDirs(plan.builds);
  const theirs = new Map([...contexts].filter(([dir]) => planned.includes(dir)));
  const differences = hiddenDifferences(theirs, await readIndex(git, planned), [...status.uncommitted, ...status.untracked, ...status.ignored], filters.sent);
  const warnings = [
    o.sayUncommitted ? uncommittedWarning(dirty, o.buildSuffix) : undefined,
    ignoredFilesWarning(plan.builds, filters.changed(status.ignored), o.buildSuffix),
    hiddenDifferencesWarning(differences, o.buildSuffix),
  ];
  const differing = uncommittedLayers(plan.builds, differences.map((d) => d.path));
  return { warnings: warnings.filter((w) => w !== undefined), uncommitted: [...new Set([...dirty, ...differing])].sort() };
}

const isDirectory = (root: string, p: string) => statSync(join(root, p), { throwIfNoEntry: false })?.isDirectory() ?? false;

/** A root without science/ and compat/ is a mistake (a subdirectory, a wrong --root), not an empty plan. */
function checkLayout(root: string): void {
  if (!isDirectory(root, "science") && !isDirectory(root, "compat")) {
    throw new InputError(`--root ${root}: no science/ or compat/ directory here; run image-builder from the top of the image repository or pass --root`);
  }
}
