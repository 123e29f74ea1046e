// Rule 5, the pure half: from the paths git reports and the user's flags to the set of changed
// layer directories.
import { listNames } from "./list-names.js";
import { InputError, type ChangeSet, type PlannedBuild, type RepoSnapshot } from "../model.js";

export interface ChangeFlags {
  all: boolean;
  /** `--include`: plan exactly these directories (`science/x`, `compat/y`), whatever git says. */
  include: string[];
  /** `--ignore`: never count these as changed. */
  ignore: string[];
  /** Describes where `paths` came from, e.g. "changed since HEAD^". */
  why: string;
}

/** Accepts `science/x`, `./science/x` and `science/x/`; returns `science/x`. */
export function normalizeLayerDir(arg: string): string {
  return arg.replace(/\\/g, "/").replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}

function normalizeDir(arg: string, flag: string, known: Set<string>): string {
  const dir = normalizeLayerDir(arg);
  if (!known.has(dir)) {
    throw new InputError(
      `${flag} ${arg}: not a layer directory (expected science/NAME or compat/NAME with a sciserver-image.json); the layer directories are ${listNames([...known].sort())}`,
    );
  }
  return dir;
}

/** `paths` are repository-relative paths that differ, as `git diff --name-only` prints them. */
export function determineChanges(snapshot: RepoSnapshot, paths: string[], flags: ChangeFlags): ChangeSet {
  const known = new Set([...snapshot.science.map((l) => l.path), ...snapshot.compat.map((c) => c.path)]);
  if (flags.all && flags.include.length > 0) {
    throw new InputError("--all and --include contradict each other: --all plans every layer, --include only the ones named");
  }
  const ignore = new Set(flags.ignore.map((d) => normalizeDir(d, "--ignore", known)));
  for (const d of flags.include) {
    if (ignore.has(normalizeDir(d, "--include", known))) {
      throw new InputError(`${d} is named by both --include and --ignore`);
    }
  }
  const pick = (dirs: Iterable<string>, why: string, all = false): ChangeSet => {
    const science: string[] = [];
    const compat: string[] = [];
    for (const d of dirs) {
      if (ignore.has(d)) continue;
      const [top, name] = d.split("/");
      (top === "science" ? science : compat).push(name);
    }
    return { all, science: science.sort(), compat: compat.sort(), why };
  };
  if (flags.include.length > 0) {
    return pick(new Set(flags.include.map((d) => normalizeDir(d, "--include", known))), "named by --include");
  }
  if (flags.all) {
    return pick(known, "--all", ignore.size === 0);
  }
  const changed = new Set<string>();
  for (const p of paths) {
    // A layer directory that is a submodule is reported as itself, with no file under it.
    const dir = known.has(p) ? p : layerDirOf(p);
    if (dir && known.has(dir)) changed.add(dir);
  }
  return pick(changed, flags.why);
}

/** `science/x/Dockerfile` -> `science/x`: the layer directory a repository path is in, if any. */
export function layerDirOf(path: string): string | undefined {
  const [top, name, rest] = path.split("/", 3);
  return (top === "science" || top === "compat") && name && rest !== undefined ? `${top}/${name}` : undefined;
}

/**
 * The warning when build contexts have changes git has not committed (`dirty`: uncommittedLayers):
 * they are built as they are, but tagged with the commit's `{n}-{h}` as if committed.
 */
export function uncommittedWarning(dirty: readonly string[], buildSuffix: string): string | undefined {
  if (dirty.length === 0) return undefined;
  return `uncommitted changes are built as they are in the checkout, but tagged ${buildSuffix} as if committed: ${dirty.join(", ")}`;
}

/**
 * The context directories of `builds` with uncommitted (or untracked) files, sorted.
 * `uncommitted`: repository-relative paths, untracked ones included.
 */
export function uncommittedLayers(builds: readonly PlannedBuild[], uncommitted: readonly string[]): string[] {
  return contextDirs(builds).filter((dir) => uncommitted.some((p) => p === dir || p.startsWith(`${dir}/`))).sort();
}

/**
 * The warning when build contexts hold files git ignores (`ignored`: repository-relative paths,
 * those their .dockerignore leaves out already taken off): sent to the build and counted in its
 * inputs like any file, yet in no commit, so the commit's build tag gets an image no other checkout
 * of it makes (a local `.env` published; a CI run of the commit then refused as immutable).
 */
export function ignoredFilesWarning(builds: readonly PlannedBuild[], ignored: readonly string[], buildSuffix: string): string | undefined {
  const contexts = contextDirs(builds);
  const sent = ignored.filter((p) => contexts.some((dir) => p.startsWith(`${dir}/`))).sort();
  if (sent.length === 0) return undefined;
  const shown = sent.length > 5 ? [...sent.slice(0, 5), `and ${sent.length - 5} more`] : sent;
  return `files git ignores are built into the images, though no commit has them, and tagged ${buildSuffix}: ${shown.join(", ")} (leave them out with the layer's .dockerignore, or remove them)`;
}

/**
 * Directories directly under science/ or compat/ among changed `paths` that are no layer of
 * `snapshot` (no sciserver-image.json directly in them: a layer nested a level deeper, a
 * `sciserver-image.JSON`): what discovery does not read, though files there changed. The caller
 * leaves out those gone from disk (a layer removed).
 */
export function changedNonLayerDirs(snapshot: RepoSnapshot, paths: readonly string[]): string[] {
  const known = new Set([...snapshot.science.map((l) => l.path), ...snapshot.compat.map((c) => c.path)]);
  const dirs = new Set(paths.map(layerDirOf).filter((d): d is string => d !== undefined && !known.has(d)));
  return [...dirs].sort();
}

/** The layer directories `builds` send as build contexts, each once. */
export function contextDirs(builds: readonly PlannedBuild[]): string[] {
  return [...new Set(builds.flatMap((b) => b.request.contexts))];
}
