// Git facts for a plan, with a fixed number of git processes for the whole repository
// (never one per directory): HEAD and its count, and one diff.
import { simpleGit, type SimpleGit } from "simple-git";
import type { GitInfo } from "../core/types.js";
import { InputError } from "../core/types.js";

/** git's well-known empty tree: diffing against it lists every file. */
const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

export function openGit(root: string): SimpleGit {
  // simple-git drops ambient GIT_* variables; GIT_TRACE is let through for debugging.
  return simpleGit({ baseDir: root, maxConcurrentProcesses: 4, allowEnvironment: ["GIT_TRACE"] });
}

function gitMessage(e: unknown): string {
  return String((e as Error).message ?? e).trim().split("\n").find((l) => l.trim()) ?? "git failed";
}

export async function readGitInfo(git: SimpleGit, root: string): Promise<GitInfo> {
  try {
    const [count, hashes] = await Promise.all([
      git.raw(["rev-list", "--count", "HEAD"]),
      git.raw(["rev-parse", "HEAD", "--short", "HEAD"]),
    ]);
    const [commit, shortCommit] = hashes.trim().split("\n");
    return { commit, shortCommit, buildNumber: Number(count.trim()) };
  } catch (e) {
    const msg = gitMessage(e);
    if (/not a git repository/i.test(msg)) throw new InputError(`--root ${root}: not a git repository`);
    if (/ambiguous argument 'HEAD'|unknown revision|bad default revision/i.test(msg)) {
      throw new InputError(`--root ${root}: the git repository has no commits yet`);
    }
    throw new InputError(`--root ${root}: git failed: ${msg}`);
  }
}

export interface DiffRequest {
  /** A revision (compared with the working tree) or a range `A..B` / `A...B`. */
  ref: string;
  /** The default `HEAD^` on a repository with one commit means "everything is new". */
  isDefaultRef: boolean;
  buildNumber: number;
  untracked: boolean;
}

/**
 * Paths, relative to `--root`, that differ; one `git diff` (plus one `ls-files` with --untracked,
 * which adds files git does not track yet: new layer directories and new files in existing ones).
 */
export async function changedPaths(git: SimpleGit, req: DiffRequest): Promise<string[]> {
  if (req.ref.startsWith("-")) throw new InputError(`--ref ${req.ref}: not a revision`);
  const ref = req.isDefaultRef && req.buildNumber === 1 ? EMPTY_TREE : req.ref;
  const isRange = ref.includes("..");
  const diffArgs = ["diff", "--name-only", "--no-renames", "--relative", "-z", ref];
  if (!isRange) diffArgs.push("--");
  try {
    const [diff, others] = await Promise.all([
      git.raw(diffArgs),
      req.untracked && !isRange
        ? git.raw(["ls-files", "--others", "--exclude-standard", "-z", "--", "science", "compat"])
        : Promise.resolve(""),
    ]);
    return [...diff.split("\0"), ...others.split("\0")].filter(Boolean);
  } catch (e) {
    const msg = gitMessage(e);
    if (/unknown revision|bad revision|ambiguous argument|invalid symmetric difference|Invalid revision range/i.test(msg)) {
      throw new InputError(`--ref ${req.ref}: git does not know this revision`);
    }
    throw new InputError(`git diff failed: ${msg}`);
  }
}
