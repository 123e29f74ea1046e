// File-system helpers shared by the CLI (output paths) and the executors (--log-dir), which may
// not import each other.
import { constants, lstatSync, mkdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { copyFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";

/** An error's code (`ENOENT`, …), or the error as text when it has none. */
export const errorCode = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e);

/** What `read` gives of a path, or undefined where nothing is (also below a file: ENOTDIR). */
function ifPresent<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if (errorCode(e) === "ENOENT" || errorCode(e) === "ENOTDIR") return undefined;
    throw e;
  }
}

/** The path's stat, or undefined where nothing is. */
export const statIfAny = (p: string) => ifPresent(() => statSync(p));

/** The path's own stat (a link's, not its target's), or undefined where nothing is. */
export const lstatIfAny = (p: string) => ifPresent(() => lstatSync(p));

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
      if (errorCode(e) !== "EEXIST") throw e;
    }
  }
}

/** image-builder's version, from its own package.json (dist/src/files.js -> the package root). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/**
 * Makes `path` a new file of its own in a folder image-builder fills (a report's, --log-dir): what
 * was there (an earlier run's file, or a symbolic link a checkout brought, say to ~/.bashrc) is
 * removed, not written through. Returns the flags to create it with: fails rather than follow a
 * link put there in between.
 */
export function freshFileIn(path: string): number {
  const made = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  if (!lstatIfAny(path)) return made;
  try {
    unlinkSync(path);
  } catch (e) {
    // Not ours to remove (a shared log folder, another user's file under a sticky /tmp): written
    // over as before, still never through a link (O_NOFOLLOW fails on one).
    if (errorCode(e) === "EACCES" || errorCode(e) === "EPERM") return constants.O_WRONLY | constants.O_TRUNC | constants.O_NOFOLLOW;
    throw e;
  }
  return made;
}

/**
 * A folder of its own inside one image-builder fills (a report's `logs/`): a symbolic link there
 * (a checkout's `report/logs -> ~/.ssh`) is replaced by a directory, not filled through.
 */
export function freshFolderIn(dir: string): void {
  if (lstatIfAny(dir)?.isSymbolicLink()) unlinkSync(dir);
  makeDirectory(dir);
}

/** writeFile into a folder image-builder fills (freshFileIn). */
export async function writeFreshFile(path: string, data: string): Promise<void> {
  try {
    await writeFile(path, data, { flag: freshFileIn(path) });
  } catch (e) {
    // Not left half written (a full disk): a page cut off mid-table reads as a whole report.
    try {
      unlinkSync(path);
    } catch {
      // not ours to remove, or never made
    }
    throw e;
  }
}

/** copyFile into a folder image-builder fills (freshFileIn): `to` is a new file, never a link's target. */
export async function copyToFreshFile(from: string, to: string): Promise<void> {
  freshFileIn(to);
  await copyFile(from, to, constants.COPYFILE_EXCL);
}
