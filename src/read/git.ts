// Git facts for a plan, with a fixed number of git processes for the whole repository
// (never one per directory): HEAD and its count, one diff, and one list of untracked files.
//
// simple-git runs the processes (a queue, the environment kept clean, errors with git's stderr),
// but most of its parsed commands would lose what the plan needs, so `.raw()` is used with the
// exact arguments (checked against simple-git 4.0.2):
// - `revparse()` trims its output: the `--show-prefix` line, empty at the top of the repository,
//   would vanish and shift the lines after it. It is used where one value comes back (commitOf).
// - `diffSummary()` adds `--stat=4096` (git reads both sides of every changed file to count lines)
//   and its `--name-only` parser splits lines, so `-z` can't be used, and without it git quotes
//   paths with unusual characters.
// - `status()` always adds `-b` (the branch header, with ahead/behind counts against the upstream)
//   and runs `status` first, so the global `--no-optional-locks` can't precede it.
// - `log()`/`revparse()` have no `rev-list --count`.
// simple-git counts a failure only when git also wrote to stderr; see commitOf.
import { statSync } from "node:fs";
import { simpleGit, type SimpleGit } from "simple-git";
import type { GitInfo } from "../core/model.js";
import type { IndexEntry } from "../core/plan/checkout-differences.js";
import { InputError } from "../core/model.js";

/** git's well-known empty tree: diffing against it lists every file. */
const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

export function openGit(root: string): SimpleGit {
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new InputError(`--root ${root}: no such directory`);
  // simple-git drops ambient GIT_* variables; GIT_TRACE is let through for debugging.
  return simpleGit({ baseDir: root, maxConcurrentProcesses: 4, allowEnvironment: ["GIT_TRACE"] });
}

/** git's own words: its `fatal:`/`error:` line when there is one (stdout may come first). */
function gitMessage(e: unknown): string {
  const lines = String((e as Error).message ?? e).split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^(fatal|error):/.test(l)) ?? lines[lines.length - 1] ?? "git failed";
}

export interface GitPrefix {
  /** Where `--root` is in its git repository (`images/`, or "" at the top), as git status needs it. */
  prefix: string;
}

/** HEAD as `run` needs it: the plan carries the build numbers, so its history is not counted. */
export interface Head extends GitPrefix {
  commit: string;
  shortCommit: string;
  /** A shallow clone: it holds only part of the history (fine for `run`, refused for planning). */
  isShallow: boolean;
}

/** HEAD, its short hash and where `--root` is: one `git rev-parse`. */
export async function readHead(git: SimpleGit, root: string): Promise<Head> {
  const facts = await askAboutHead(root, git.raw(["rev-parse", "--show-prefix", "--is-shallow-repository", "HEAD", "--short", "HEAD"]));
  // The prefix is an empty line at the top of the repository.
  const [prefix, shallow, commit, shortCommit] = facts.split("\n").map((l) => l.trim());
  return { prefix, commit, shortCommit, isShallow: shallow === "true" };
}

/**
 * HEAD, its short hash and its build number, for planning. Builds are numbered by counting
 * commits, so a shallow clone is refused (`run` takes the numbers from the plan: readHead).
 */
export async function readGitInfo(git: SimpleGit, root: string): Promise<GitInfo & GitPrefix> {
  const [count, head] = await Promise.all([askAboutHead(root, git.raw(["rev-list", "--count", "HEAD"])), readHead(git, root)]);
  const info = { commit: head.commit, shortCommit: head.shortCommit, buildNumber: Number(count.trim()), prefix: head.prefix };
  // A shallow clone counts only the commits it has: build numbers would be wrong (and go
  // backwards between clones), and HEAD^ may be missing, so every layer would look changed.
  if (head.isShallow) {
    throw new InputError(
      `--root ${root}: shallow clone (${info.buildNumber} commit(s) of history): build numbers count every commit; fetch the whole history first (git fetch --unshallow)`,
    );
  }
  return info;
}

/** A question about HEAD, its failures as bad input naming `--root` (not a repository, no commits yet). */
async function askAboutHead(root: string, question: Promise<string>): Promise<string> {
  try {
    return await question;
  } catch (e) {
    const all = String((e as Error).message ?? e);
    if (/not a git repository/i.test(all)) throw new InputError(`--root ${root}: not a git repository`);
    if (/ambiguous argument 'HEAD'|unknown revision|bad default revision|does not have any commits/i.test(all)) {
      throw new InputError(`--root ${root}: the git repository has no commits yet`);
    }
    throw new InputError(`--root ${root}: git failed: ${gitMessage(e)}`);
  }
}

export interface DiffRequest {
  /** A revision (compared with the working tree) or a range `A..B` / `A...B`. */
  ref: string;
  /** The default `HEAD^` on a repository with one commit means "everything is new". */
  isDefaultRef: boolean;
  buildNumber: number;
  /** `B^!`, `B^-N`: B's changes against its parent N (see parseRef). */
  ownChanges?: { revision: string; parent: number };
}

function unknownRevision(e: unknown, ref: string): InputError {
  const all = String((e as Error).message ?? e);
  if (/unknown revision|bad revision|ambiguous argument|invalid symmetric difference|Invalid revision range|bad object/i.test(all)) {
    return new InputError(`--ref ${ref}: git does not know this revision`);
  }
  return new InputError(`git failed: ${gitMessage(e)}`);
}

/**
 * The two commits `B^-N` compares: B's parent N and B. git diff gets a merge's `B^!` (every
 * parent at once) and the root commit's (no parent: B against the working tree) wrong; the root
 * commit's own changes are everything in it.
 */
async function ownChangesCommits(git: SimpleGit, ref: string, own: { revision: string; parent: number }): Promise<[string, string]> {
  let commits: string[];
  try {
    commits = (await git.raw(["rev-list", "--parents", "-n", "1", `${own.revision}^{commit}`, "--"])).trim().split(" ");
  } catch (e) {
    throw unknownRevision(e, ref);
  }
  const [commit, ...parents] = commits;
  if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new InputError(`--ref ${ref}: git does not know this revision`);
  const parent = parents[own.parent - 1] ?? (own.parent === 1 && parents.length === 0 ? EMPTY_TREE : undefined);
  if (parent === undefined) throw new InputError(`--ref ${ref}: ${own.revision} has no parent ${own.parent}`);
  return [parent, commit];
}

/** What `git diff` compares for `req`: a revision with the working tree, or two revisions. */
async function diffRevisions(git: SimpleGit, req: DiffRequest): Promise<string[]> {
  if (req.ref.startsWith("-")) throw new InputError(`--ref ${req.ref}: not a revision`);
  return req.isDefaultRef && req.buildNumber === 1 ? [EMPTY_TREE]
    : req.ownChanges ? await ownChangesCommits(git, req.ref, req.ownChanges)
    : [req.ref];
}

/** A science layer's config file (`science/x/sciserver-image.json`), relative to `--root`. */
const SCIENCE_CONFIG = /^science\/[^/]+\/sciserver-image\.json$/;

/**
 * The contents before the change (`req`, as changedPaths compares) of the science layers' config
 * files among the changed `paths` (those deleted or edited; not those added): one `git diff` of
 * just them, with the whole file as context, from which the old side is read. None changed: no call.
 */
export async function previousScienceConfigs(git: SimpleGit, req: DiffRequest, paths: readonly string[]): Promise<Map<string, string>> {
  const configs = paths.filter((p) => SCIENCE_CONFIG.test(p));
  if (configs.length === 0) return new Map();
  // Prefixes and quoting fixed whatever the user's config says (diff.noprefix, diff.mnemonicPrefix, core.quotePath).
  const args = ["-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--relative", "--src-prefix=a/", "--dst-prefix=b/",
    "--unified=100000000", ...(await diffRevisions(git, req)), "--", ...configs];
  let out: string;
  try {
    out = await git.raw(args);
  } catch (e) {
    throw unknownRevision(e, req.ref);
  }
  return oldSidesOfDiff(out);
}

/** The old side of each file of a unified diff whose hunks hold the whole file (`--unified` past its length): path -> text. */
export function oldSidesOfDiff(diff: string): Map<string, string> {
  const old = new Map<string, string>();
  let path: string | undefined;
  let lines: string[] = [];
  const end = () => {
    if (path !== undefined) old.set(path, lines.join("\n"));
    path = undefined;
    lines = [];
  };
  let inHunk = false;
  for (const line of diff.split("\n")) {
    if (line.startsWith("diff --git ")) {
      end();
      inHunk = false;
      continue;
    }
    if (!inHunk) {
      // `--- a/science/x/sciserver-image.json` (`--- /dev/null` for a file that is new: no old side)
      // (git ends a path that has a space with a tab)
      if (line.startsWith("--- a/")) path = line.slice("--- a/".length).replace(/\t$/, "");
      else if (line.startsWith("@@ ")) inHunk = true;
      continue;
    }
    // (`+` lines are the new side; one hunk holds the whole file)
    if (line.startsWith(" ") || line.startsWith("-")) lines.push(line.slice(1));
  }
  end();
  return old;
}

/** Paths, relative to `--root`, that differ: one `git diff --name-only` for the whole repository. */
export async function changedPaths(git: SimpleGit, req: DiffRequest): Promise<string[]> {
  const revisions = await diffRevisions(git, req);
  const diffArgs = ["diff", "--name-only", "--no-renames", "--relative", "-z", ...revisions];
  if (!req.ref.includes("..")) diffArgs.push("--");
  try {
    return (await git.raw(diffArgs)).split("\0").filter(Boolean);
  } catch (e) {
    throw unknownRevision(e, req.ref);
  }
}

/**
 * `A..B` compares A's files with B's: when A has commits B does not (A is not an ancestor of B),
 * their changes count too. How many such commits there are.
 */
export async function commitsOnlyIn(git: SimpleGit, start: string, end: string | undefined, ref: string): Promise<number> {
  try {
    return Number((await git.raw(["rev-list", "--count", `${end ?? "HEAD"}..${start}`, "--"])).trim());
  } catch (e) {
    throw unknownRevision(e, ref);
  }
}

export interface WorktreeStatus {
  /** Files under science/ and compat/ that git does not track (and does not ignore). */
  untracked: string[];
  /** Paths under science/ and compat/ whose working tree or index differs from HEAD (a submodule: itself). */
  uncommitted: string[];
  /** Files under science/ and compat/ that git ignores (.gitignore): a build context sends them all the same. */
  ignored: string[];
}

/**
 * What the checkout has that HEAD does not, under science/ and compat/, relative to `--root`: one
 * `git status`, which takes no lock and writes nothing (--no-optional-locks).
 */
export async function worktreeStatus(git: SimpleGit, prefix: string): Promise<WorktreeStatus> {
  let out: string;
  try {
    // --ignored=matching: an ignored directory (a .venv) as itself, not each of its files.
    out = await git.raw(["--no-optional-locks", "status", "--porcelain", "-z", "--no-renames", "--untracked-files=all", "--ignored=matching", "--", "science", "compat"]);
  } catch (e) {
    throw new InputError(`git status failed: ${gitMessage(e)}`);
  }
  const status: WorktreeStatus = { untracked: [], uncommitted: [], ignored: [] };
  // "XY path": paths relative to the top of the repository, whatever the directory.
  for (const entry of out.split("\0")) {
    if (entry.length < 4 || !entry.startsWith(prefix, 3)) continue;
    (entry.startsWith("??") ? status.untracked : entry.startsWith("!!") ? status.ignored : status.uncommitted).push(entry.slice(3 + prefix.length));
  }
  return status;
}

/**
 * Git's index under `dirs` (layer directories, relative to `--root`, its working directory): each
 * entry's flags and mode, and its line ends when this clone's configuration converts them on
 * checkout (core.autocrlf, core.eol=crlf) (core/plan/checkout-differences.ts). `git ls-files`,
 * which takes no lock and writes nothing; `--eol` reads every file whole, index and work tree, so
 * it is asked for only then, and only of the directories asked for (all of science/ and compat/
 * past a thousand: a short command line).
 */
export async function readIndex(git: SimpleGit, dirs: readonly string[]): Promise<IndexEntry[]> {
  if (dirs.length === 0) return [];
  let out: string;
  let converts: boolean;
  try {
    // Exit 1 when neither is set: not an error.
    const config = await git.raw(["config", "--get-regexp", "^core\\.(autocrlf|eol)$"]).catch(() => "");
    converts = /^core\.autocrlf (true|input)$|^core\.eol crlf$/im.test(config);
    // Literal pathspecs: a layer directory named with * ? [ is a name, not a pattern.
    out = await git.raw(["--no-optional-locks", "--literal-pathspecs", "ls-files", "--stage", "-v", ...(converts ? ["--eol"] : []), "-z", "--", ...(dirs.length > 1000 ? ["science", "compat"] : dirs)]);
  } catch (e) {
    throw new InputError(`git ls-files failed: ${gitMessage(e)}`);
  }
  const entries: IndexEntry[] = [];
  // "TAG MODE OBJECT STAGE<TAB>[i/EOL w/EOL attr/ATTR<TAB>]PATH": the path may hold tabs, the rest none.
  for (const record of out.split("\0")) {
    const meta = record.indexOf("\t");
    if (meta < 0) continue;
    const [tag, mode] = record.slice(0, meta).split(" ");
    const eolEnd = converts ? record.indexOf("\t", meta + 1) : -1;
    const [index = "", worktree = "", ...attr] = eolEnd < 0 ? [] : record.slice(meta + 1, eolEnd).trim().split(/\s+/);
    entries.push({ path: record.slice((eolEnd < 0 ? meta : eolEnd) + 1), tag, mode, eol: { index, worktree, attr: attr.join(" ") } });
  }
  return entries;
}

/** Layer directories (`science/x`) among untracked files: those whose sciserver-image.json is untracked. */
export function untrackedLayerDirs(files: string[]): string[] {
  return files.filter((p) => /^(science|compat)\/[^/]+\/sciserver-image\.json$/.test(p)).map((p) => p.slice(0, p.lastIndexOf("/")));
}

/** The commit a revision names (`--ref A..B`'s B), or an InputError naming `--ref`. */
export async function commitOf(git: SimpleGit, revision: string, ref: string): Promise<string> {
  if (revision.startsWith("-")) throw new InputError(`--ref ${ref}: not a revision`);
  // Not --quiet: git would fail without a word on stderr, which simple-git takes for success.
  let commit = "";
  try {
    commit = await git.revparse(["--verify", `${revision}^{commit}`]);
  } catch {
    // reported below
  }
  if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new InputError(`--ref ${ref}: git does not know this revision`);
  return commit;
}

/**
 * The URL of the repository's remote (`origin`, else the first one), for the provenance of what
 * is built from it; undefined without a remote. It may hold credentials (a CI clone's
 * `https://token@host/…`): the provenance drops them (core/attestations/provenance.ts).
 */
export async function readRemoteUrl(git: SimpleGit): Promise<string | undefined> {
  const remotes = await git.getRemotes(true);
  const remote = remotes.find((r) => r.name === "origin") ?? remotes[0];
  return remote?.refs.fetch || undefined;
}

/**
 * Every commit a branch, tag or other ref of the repository reaches (amended or force-pushed-away
 * ones are not; another branch's, or a later commit's, are): one `git rev-list --all`, read only
 * when asked (core/plan/reachable-commits.ts answers from it).
 */
export async function readReachableCommits(git: SimpleGit): Promise<string[]> {
  return (await git.raw(["rev-list", "--all", "--"])).split("\n").filter(Boolean);
}
