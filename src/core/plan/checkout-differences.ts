// What a planned build context holds other than its commit's files where `git status` says
// nothing: the build sends the checkout's files, tagged with the commit's build number and hash,
// so another checkout of that commit (a CI agent's clean clone) makes other images, and its
// publish is refused as immutable. `git status` trusts what git was told: a file marked
// assume-unchanged or skip-worktree (a sparse checkout) is not compared, core.fileMode=false hides
// a lost execute bit, core.autocrlf converts line ends, core.symlinks=false writes a link as a
// file, and git keeps no directories (an empty one, or a nested repository's .git/). Pure: the
// listings (read/context-files.ts), git's index (read/git.ts readIndex) and its status come in.
import type { ContextListings } from "../model.js";
import { layerDirOf } from "./changes.js";

/** One entry of git's index (`git ls-files -s -v --eol`), its path relative to the planning root. */
export interface IndexEntry {
  path: string;
  /** `H` tracked; lower case: assume-unchanged; `S`: skip-worktree. */
  tag: string;
  /** `100644`, `100755`, `120000` (a link), `160000` (a submodule). */
  mode: string;
  /** Line ends in the index and in the work tree (`lf`, `crlf`, `mixed`, `-text`, …), and the attributes that decide them. */
  eol: { index: string; worktree: string; attr: string };
}

export interface CheckoutDifference {
  /** Repository-relative (planning root). */
  path: string;
  why: string;
}

/** Whether `path` or a directory above it is in `set` (no work for an empty set: the usual case). */
function selfOrAboveIn(set: ReadonlySet<string>, path: string): boolean {
  if (set.size === 0) return false;
  if (set.has(path)) return true;
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) if (set.has(path.slice(0, i))) return true;
  return false;
}

/** Adds every directory above `path` to `set`. */
function addDirsAbove(set: Set<string>, path: string): void {
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) set.add(path.slice(0, i));
}

function groupByLayerDir<T>(items: readonly T[], pathOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = layerDirOf(pathOf(item));
    if (key === undefined) continue;
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/** What shapes a layer's build whatever its .dockerignore says (and the .dockerignore itself, never sent). */
const LAYER_FILES = ["Dockerfile", "sciserver-image.json", ".dockerignore"];

/** Why git status does not compare an entry with the commit, if it does not: its flags. */
function unchecked(e: IndexEntry): string | undefined {
  if (e.tag === "S") return "marked skip-worktree: git status does not compare it with the commit, so it may differ";
  if (e.tag !== e.tag.toUpperCase()) return "marked assume-unchanged: git status does not compare it with the commit, so it may differ";
  return undefined;
}

/**
 * The paths of the `contexts` (planned context directories and their listings) that differ from
 * the commit where `git status` does not say so. `reported`: the paths git status gives
 * (uncommitted, untracked, ignored), already said elsewhere; `sent(paths)`: those a build context
 * sends (the layer's .dockerignore, exactly). One difference per path; below a directory said,
 * nothing. Linear in the files.
 */
export function hiddenDifferences(contexts: ContextListings, index: readonly IndexEntry[], reported: readonly string[], sent: (paths: readonly string[]) => string[]): CheckoutDifference[] {
  const out: CheckoutDifference[] = [];
  const indexByDir = groupByLayerDir(index, (e) => e.path);
  // git status names a directory it reports whole (an ignored .venv/) with a slash.
  const reportedPaths = new Set(reported.map((p) => p.replace(/\/+$/, "")));
  for (const [dir, listing] of contexts) {
    const entries = indexByDir.get(dir) ?? [];
    const byPath = new Map(entries.map((e) => [e.path, e]));
    // A submodule's files are its own repository's, which git status looks into.
    const submodules = new Set(entries.filter((e) => e.mode === "160000").map((e) => e.path));
    const files = new Map(listing.map((f) => [`${dir}/${f.name}`, f]));
    // Directories holding a file, of the checkout or of the commit: made when a directory is asked about.
    let holding: Set<string> | undefined;
    const holds = (path: string) => {
      if (!holding) {
        holding = new Set<string>();
        for (const [p, f] of files) if (f.type !== "directory") addDirsAbove(holding, p);
        for (const e of entries) addDirsAbove(holding, e.path);
      }
      return holding.has(path);
    };
    const said = new Set<string>();
    const add = (path: string, why: string) => {
      if (selfOrAboveIn(reportedPaths, path) || selfOrAboveIn(said, path)) return;
      said.add(path);
      out.push({ path, why });
    };
    // The layer's own files shape the build even when its .dockerignore leaves them out of the context.
    for (const name of LAYER_FILES) {
      const e = byPath.get(`${dir}/${name}`);
      const why = e && unchecked(e);
      if (why) add(e.path, why);
    }
    for (const [path, f] of files) {
      if (f.type === "directory" && path.endsWith("/.git")) {
        add(path, "a git repository's own files, which change without a commit: leave them out with .dockerignore");
        continue;
      }
      if (selfOrAboveIn(submodules, path)) continue;
      if (f.type === "directory") {
        if (!holds(path)) add(path, "a directory holding nothing of the commit (empty, or only what .dockerignore leaves out): git keeps no directories, so other checkouts lack it");
        continue;
      }
      const e = byPath.get(path);
      const why = e && unchecked(e);
      if (!e) add(path, "not in the commit, though git status does not show it");
      else if (why) add(path, why);
      else if (e.mode === "120000" && f.type !== "symlink") add(path, "a symbolic link in the commit, a file here: core.symlinks=false");
      else if (f.type === "file" && (e.mode === "100755") !== (f.mode === 0o755)) {
        add(path, `mode ${f.mode.toString(8).padStart(4, "0")} here, ${e.mode.slice(2)} in the commit: core.fileMode=false hides it`);
      } else if (f.type === "file" && e.eol.index === "i/lf" && e.eol.worktree === "w/crlf" && !/\beol=|(^|[\s/])-text\b|\bfilter=/.test(e.eol.attr)) {
        // Only what this clone's configuration converts: an attribute's eol= is the same in every checkout, a filter's (git-lfs) is its own.
        add(path, "line ends converted on checkout by core.autocrlf or core.eol, which other checkouts do not do: lf in the commit, crlf here");
      }
    }
    // Left out of the checkout: a sparse checkout (skip-worktree); a file deleted otherwise is in git status.
    const absent = entries.filter((e) => e.tag === "S" && e.mode !== "160000" && !files.has(e.path) && !LAYER_FILES.includes(e.path.slice(dir.length + 1))).map((e) => e.path);
    for (const path of sent(absent)) add(path, "left out of this checkout by a sparse checkout or skip-worktree, so not built");
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The warning for `differences`: built as they are, tagged as the commit (buildSuffix), which other checkouts of it do not make. Paths of one reason together. */
export function hiddenDifferencesWarning(differences: readonly CheckoutDifference[], buildSuffix: string): string | undefined {
  if (differences.length === 0) return undefined;
  const byWhy = new Map<string, string[]>();
  for (const d of differences) byWhy.set(d.why, [...(byWhy.get(d.why) ?? []), d.path]);
  const shown = [...byWhy].map(([why, paths]) => `${paths.length > 5 ? [...paths.slice(0, 5), `${paths.length - 5} more`].join(", ") : paths.join(", ")} (${why})`);
  return `the checkout differs from its commit where git status does not show it, and is built as it is, tagged ${buildSuffix}, which another checkout of the commit does not make: ${shown.join("; ")}`;
}
