// Paths the user names for output (--out, --results, --log-dir): checked before any work is
// done, without creating anything, and created only when something is written.
import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { InputError } from "../core/types.js";

const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e);

/** The path's stat, or undefined where nothing is (also below a file: ENOTDIR). */
function statIfAny(p: string) {
  try {
    return statSync(p);
  } catch (e) {
    if (code(e) === "ENOENT" || code(e) === "ENOTDIR") return undefined;
    throw e;
  }
}

/**
 * Why `dir` could not be created (or undefined if it could): its nearest existing ancestor must
 * be a writable directory. Nothing is created.
 */
function dirProblem(dir: string): string | undefined {
  let p = resolve(dir);
  for (;;) {
    const st = statIfAny(p);
    if (st) {
      if (!st.isDirectory()) return p === resolve(dir) ? "is not a directory" : "a parent is not a directory";
      try {
        accessSync(p, constants.W_OK);
      } catch (e) {
        return `not writable (${code(e)})`;
      }
      return undefined;
    }
    const up = dirname(p);
    if (up === p) return "no existing parent directory";
    p = up;
  }
}

/** `--log-dir DIR`: a directory that exists or can be created. */
export function checkOutputDir(flag: string, dir: string): void {
  const problem = dirProblem(dir);
  if (problem) throw new InputError(`${flag} ${dir}: ${problem}`);
}

/** `--out FILE`, `--results FILE`: not a directory, in a directory that exists or can be created. */
export function checkOutputFile(flag: string, file: string): void {
  if (statIfAny(file)?.isDirectory()) throw new InputError(`${flag} ${file}: is a directory`);
  const problem = dirProblem(dirname(file));
  if (problem) throw new InputError(`${flag} ${file}: ${problem === "is not a directory" ? "a parent is not a directory" : problem}`);
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdir spins forever under some pseudo file
 * systems (`/proc/x`), where a plain mkdir fails at once.
 */
export function makeDirectory(dir: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
  while (!statIfAny(p)) {
    missing.unshift(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      if (code(e) !== "EEXIST") throw e;
    }
  }
}

/** Writes an output the user named (`flag FILE`); a path that can't be written is bad input. */
export async function writeOutputFile(flag: string, file: string, text: string): Promise<void> {
  try {
    makeDirectory(dirname(file));
    await writeFile(file, text);
  } catch (e) {
    const c = code(e);
    const why = c === "EISDIR" ? "is a directory" : c === "EEXIST" || c === "ENOTDIR" ? "a parent is not a directory" : `cannot write (${c})`;
    throw new InputError(`${flag} ${file}: ${why}`);
  }
}
