// Paths the user names for output (--out, --results, --log-dir): checked before any work is
// done, leaving nothing behind, and created only when something is written.
import { accessSync, closeSync, constants, mkdirSync, openSync, readlinkSync, realpathSync, rmdirSync, unlinkSync } from "node:fs";
import { chmod, rename, rm, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";
import { InputError } from "../core/model.js";
import { errorCode, lstatIfAny, makeDirectory, statIfAny } from "../files.js";

/** A name for a probe that exists only while a path is checked. */
const probeName = () => `.image-builder-probe-${process.pid}-${Math.random().toString(36).slice(2)}`;

/** undefined when `act` works, else the error's code. */
function attempt(act: () => void): string | undefined {
  try {
    act();
    return undefined;
  } catch (e) {
    return errorCode(e);
  }
}

/** Creates a file at `file`, which did not exist, and removes it again. */
function probeFile(file: string): string | undefined {
  return attempt(() => {
    closeSync(openSync(file, "wx"));
    unlinkSync(file);
  });
}

/** Creates a directory at `dir`, which did not exist, and removes it again. */
function probeDir(dir: string): string | undefined {
  return attempt(() => {
    mkdirSync(dir);
    rmdirSync(dir);
  });
}

/**
 * Why `path` (a directory when `isDir`, else a file) could not be written, or undefined if it
 * could. Rather than judging by modes (access(2) lets root write anywhere, even in /proc, where
 * nothing can be created), what writing will do first is tried and undone at once: a directory
 * made where the first missing one would be, a file made (or opened for writing) where it will be.
 */
function writeProblem(path: string, isDir: boolean): string | undefined {
  const target = resolve(path);
  let p = target;
  let firstMissing: string | undefined;
  let st = statIfAny(p);
  while (!st) {
    firstMissing = p;
    const up = dirname(p);
    if (up === p) return "no existing parent directory";
    p = up;
    st = statIfAny(p);
  }
  if (firstMissing === undefined) {
    if (isDir) {
      if (!st.isDirectory()) return "is not a directory";
      const failed = probeFile(join(target, probeName()));
      return failed && `cannot create files in it (${failed})`;
    }
    if (st.isDirectory()) return "is a directory";
    // A FIFO or a device is written as it is (export): opening it to try would be a write its
    // reader sees (a FIFO's reader gets its end at once), so its mode is asked instead.
    if (!st.isFile()) {
      const failed = attempt(() => accessSync(target, constants.W_OK));
      return failed && `cannot write (${failed})`;
    }
    const failed = attempt(() => closeSync(openSync(target, "r+")));
    return failed && `cannot write (${failed})`;
  }
  if (!st.isDirectory()) return "a parent is not a directory";
  const failed = !isDir && firstMissing === target ? probeFile(target) : probeDir(firstMissing);
  if (failed === "EEXIST") return undefined; // made meanwhile by someone else
  return failed && `cannot create ${firstMissing === target ? "it" : firstMissing} (${failed})`;
}

/** `--log-dir DIR`: a directory that exists or can be created, and files can be created in. */
export function checkOutputDir(flag: string, dir: string): void {
  const problem = writeProblem(dir, true);
  if (problem) throw new InputError(`${flag} ${dir}: ${problem}`);
}

/** `--out FILE`, `--results FILE`: a file that can be written, in a directory that exists or can be created. */
export function checkOutputFile(flag: string, file: string): void {
  const problem = writeProblem(file, false);
  if (problem) throw new InputError(`${flag} ${file}: ${problem}`);
}

/** Writes an output the user named (`flag FILE`); a path that can't be written is bad input. */
export async function writeOutputFile(flag: string, file: string, text: string): Promise<void> {
  await writingOutputFile(flag, file, () => writeWhole(file, text));
}

/**
 * Writes `text` to `file` so that a reader never finds it half written and an earlier one stays
 * whole when the write fails (a full disk left a results file of 0 bytes, the earlier one lost): a
 * regular file, or a new one, is written beside it and renamed over it (through a symbolic link:
 * its file is replaced, the link stays). A FIFO or a device is written as it is, and so is a file
 * in a directory that does not let a file be made beside it.
 */
export async function writeWhole(file: string, text: string): Promise<void> {
  // A process's own descriptors (`/dev/stdout`, `/proc/self/fd/1`, `/dev/fd/3`) are appended to,
  // whatever they are open on: opening one anew to write would empty the file a shell's `>> log`
  // (or `> log`, earlier output included) holds.
  if (/^\/(dev\/(stdout|stderr|fd\/)|proc\/)/.test(resolve(file))) return writeFile(file, text, { flag: "a" });
  const link = lstatIfAny(file)?.isSymbolicLink();
  // A dangling link: the file it names, made (as a plain write through it made it).
  const target = link ? realpathIfAny(file) ?? resolve(dirname(file), readlinkSync(file)) : file;
  const held = statIfAny(target);
  if (held && !held.isFile()) return writeFile(file, text);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temp, text, { flag: "wx" });
    // Its mode as it was (the umask left aside), or as a new file's.
    if (held) await chmod(temp, held.mode & 0o7777);
  } catch (e) {
    await rm(temp, { force: true });
    if (["EACCES", "EPERM", "EROFS"].includes(errorCode(e) ?? "")) return writeFile(file, text);
    throw e;
  }
  try {
    await rename(temp, target);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

/**
 * Runs `write`, which writes the output file the user named (`flag FILE`), once its directory is
 * made; a path that turns out not to be writable is bad input naming it, whatever wrote it.
 */
export async function writingOutputFile<T>(flag: string, file: string, write: () => Promise<T>): Promise<T> {
  try {
    makeDirectory(dirname(file));
    return await write();
  } catch (e) {
    const c = (e as NodeJS.ErrnoException).code;
    if (c === undefined || !/^E[A-Z]+$/.test(c)) throw e;
    const why = c === "EISDIR" ? "is a directory" : c === "EEXIST" || c === "ENOTDIR" ? "a parent is not a directory" : `cannot write (${c})`;
    throw new InputError(`${flag} ${file}: ${why}`);
  }
}

/**
 * An output file that is one of the command's inputs (`run PLAN --results PLAN`) would be
 * overwritten by what was read from it: refused before anything is done.
 */
export function checkNotAnInput(flag: string, output: string | undefined, inputs: string[]): void {
  if (output === undefined || output === "-") return;
  const out = statIfAny(output);
  if (!out) return;
  // The same file by any name (a link, ./x, an absolute path): by device and inode.
  const input = inputs.find((i) => {
    const st = statIfAny(i);
    return st !== undefined && st.dev === out.dev && st.ino === out.ino;
  });
  if (input !== undefined) throw new InputError(`${flag} ${output}: is ${input === output ? "" : `(as ${input}) `}an input of this command; writing it would overwrite what was read from it`);
}

/** `file`'s path with its links resolved; undefined when that can't be done (a dangling link). */
function realpathIfAny(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}
