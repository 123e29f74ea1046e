// The files of a build context directory, as `docker build DIR` would send them: filtered by the
// directory's own `.dockerignore`. The executor streams them; the planner digests them (inputs
// digest), so both list them here, the same way.
//
// Synchronous: a layer directory holds few files, and the planner reads many directories in a
// row, where a promise round trip per entry would cost more than the reads.
import dockerignore from "@balena/dockerignore";
import { closeSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, type Dirent, type Stats } from "node:fs";
import { createHash } from "node:crypto";
import { join, posix, relative } from "node:path";
import type { ContextEntryBase, ContextFile } from "../core/model.js";
import { InputError } from "../core/model.js";
import { readText, RepositoryFileProblem } from "./repository.js";

/**
 * Name the generated Dockerfile gets inside the context. Files of that name in a context
 * directory are dropped so they can't shadow it.
 */
export const DOCKERFILE_NAME = ".image-builder.Dockerfile";

// A CommonJS module whose typings only describe `.default` (which it also sets at runtime).
const ignore = dockerignore.default;

export interface ContextEntry extends ContextEntryBase {
  /** Absolute path on disk. */
  source: string;
  mode: number;
  mtime: Date;
  size: number;
  linkname?: string;
}

/** A file of a context that can't be sent as it is (its name or link target is not UTF-8 text); `file` is its absolute path, shown. */
export class ContextFileProblem extends Error {
  constructor(message: string, readonly file: string) {
    super(message);
  }
}

/** A name as the bytes it is, each byte past ASCII escaped (`bad\xffname`): shown where it is not UTF-8. */
const escapedName = (bytes: Buffer) => [...bytes].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`)).join("");

/** The bytes' text, or undefined when they are not UTF-8 (a lossy decoding would send another name). */
function utf8(bytes: Buffer): string | undefined {
  const text = bytes.toString("utf8");
  // Bytes that are not UTF-8 decode to U+FFFD; only then is it worth encoding back to compare.
  return !text.includes("\uFFFD") || Buffer.from(text).equals(bytes) ? text : undefined;
}

interface IgnoreMatcher {
  ignores: (name: string) => boolean;
  /** Whether an ignored directory is still walked. */
  walked: (ignoredDir: string) => boolean;
  /** The rules have exceptions (`!pattern`). */
  hasExceptions: boolean;
}

/** A directory's `.dockerignore` as docker applies it: what it ignores, and whether an ignored directory is still walked. */
function ignoreMatcher(dir: string): IgnoreMatcher {
  const rules = ignoreRules(dir);
  const ig = ignore().add(rules);
  const exceptions = exceptionPatterns(rules);
  // Like docker: an ignored directory is still walked if an exception (`!pattern`) could
  // re-include something below it; it just gets no entry of its own.
  return { ignores: (name) => ig.ignores(name), walked: (name) => exceptions.some((p) => `${p}/`.startsWith(`${name}/`)), hasExceptions: exceptions.length > 0 };
}

/** Whether `rel` (relative to its context directory) is sent, as listContextDir walks: not ignored, nor below a directory ignored and not walked. */
function isSent(m: IgnoreMatcher, rel: string): boolean {
  if (m.ignores(rel)) return false;
  for (let i = rel.indexOf("/"); i > 0; i = rel.indexOf("/", i + 1)) {
    const above = rel.slice(0, i);
    if (m.ignores(above) && !m.walked(above)) return false;
  }
  return true;
}

/** Two questions about repository paths in layer directories, each layer's `.dockerignore` read once for both. */
export interface ContextFilters {
  /**
   * `paths` less those their layer directory's `.dockerignore` leaves out of its build context: a
   * change there is not built. Kept when in doubt: a `.dockerignore` with exceptions (`!pattern`),
   * one that can't be read, a path outside a layer directory; and the layer's Dockerfile,
   * .dockerignore and sciserver-image.json, which make the build whatever the rules say of them.
   */
  changed: (paths: readonly string[]) => string[];
  /** Of `paths`, those the layer's build context sends, exactly as listContextDir lists them (exceptions included). */
  sent: (paths: readonly string[]) => string[];
}

export function contextFilters(root: string, layerDirOf: (path: string) => string | undefined): ContextFilters {
  const matchers = new Map<string, IgnoreMatcher | undefined>();
  const matcher = (dir: string) => {
    if (!matchers.has(dir)) {
      try {
        matchers.set(dir, ignoreMatcher(join(root, dir)));
      } catch {
        // unreadable: kept, the build will say so
        matchers.set(dir, undefined);
      }
    }
    return matchers.get(dir);
  };
  return {
    changed: (paths) => paths.filter((p) => {
      const dir = layerDirOf(p);
      const m = dir === undefined ? undefined : matcher(dir);
      if (!m || m.hasExceptions) return true;
      const rel = p.slice(dir!.length + 1);
      return rel === "Dockerfile" || rel === ".dockerignore" || rel === "sciserver-image.json" || isSent(m, rel);
    }),
    sent: (paths) => paths.filter((p) => {
      const dir = layerDirOf(p);
      if (dir === undefined) return false;
      const m = matcher(dir);
      const rel = p.slice(dir.length + 1);
      if (rel === DOCKERFILE_NAME || rel === ".dockerignore") return false;
      return !m || isSent(m, rel);
    }),
  };
}

/** One context directory, filtered by its own `.dockerignore` (docker CLI semantics), in walk order. */
export function listContextDir(dir: string): ContextEntry[] {
  const m = ignoreMatcher(dir);
  const out: ContextEntry[] = [];

  const walk = (abs: string, rel: string): void => {
    // Names as bytes: a name that is not UTF-8 would be read back under another name (ENOENT), or sent as one.
    for (const child of readdirSync(abs, { withFileTypes: true, encoding: "buffer" }) as Dirent<Buffer>[]) {
      const text = utf8(child.name);
      const shownName = text ?? escapedName(child.name);
      // The root's Dockerfile name and .dockerignore are generated; theirs would collide.
      if (!rel && (text === DOCKERFILE_NAME || text === ".dockerignore")) continue;
      const name = rel ? `${rel}/${shownName}` : shownName;
      // What the entry is, from the directory's own listing: no lstat for what is left out.
      const ignored = m.ignores(name);
      if (child.isDirectory()) {
        if (ignored && !m.walked(name)) continue;
      } else if (ignored) continue;
      const source = join(abs, shownName);
      if (text === undefined) throw new ContextFileProblem("its name is not UTF-8 text, which a build context can't carry as it is: rename it, or leave it out with .dockerignore", source);
      const st = lstatSync(source);
      if (st.isDirectory()) {
        if (!ignored) out.push(toEntry(name, source, st, "directory"));
        walk(source, name);
      } else if (st.isFile()) out.push(toEntry(name, source, st, "file"));
      else if (st.isSymbolicLink()) {
        const target = readlinkSync(source, { encoding: "buffer" });
        const linkname = utf8(target);
        if (linkname === undefined) throw new ContextFileProblem(`a symbolic link whose target (${escapedName(target)}) is not UTF-8 text, which a build context can't carry as it is`, source);
        out.push({ ...toEntry(name, source, st, "symlink"), linkname });
      }
      // Sockets, fifos and devices are skipped: git keeps none, so no clean checkout of the
      // commit has them (BuildKit's context transfer skips them too; the classic builder sends a fifo).
    }
  };
  walk(dir, "");
  return out;
}

/** Reused by every context file's digest: read in chunks, so a file of any size is hashed without being held whole. */
const chunk = Buffer.allocUnsafe(1024 * 1024);

/** The sha256 (hex) of the file at `path`, read in chunks. */
function fileSha256(path: string): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    let n: number;
    while ((n = readSync(fd, chunk, 0, chunk.length, null)) > 0) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** What the inputs digest takes of a directory's context: paths, types, modes, contents (sha256). */
export function hashContextDir(dir: string): ContextFile[] {
  return listContextDir(dir).map((e) => {
    let sha256: string | undefined;
    if (e.type === "file") {
      try {
        sha256 = fileSha256(e.source);
      } catch (err) {
        // Named by the file, not its directory.
        (err as NodeJS.ErrnoException).path ??= e.source;
        throw err;
      }
    }
    return {
      name: e.name,
      type: e.type,
      mode: e.mode,
      ...(sha256 !== undefined ? { sha256 } : {}),
      ...(e.type === "symlink" ? { linkname: e.linkname } : {}),
    };
  });
}

/**
 * The mode a context entry is sent and digested with: git's, not the disk's. Git keeps a file's
 * owner execute bit alone (0755 or 0644) and no directory mode, so two checkouts of one commit
 * (under umask 022 and 002, say) send the same build context and get the same inputs digest.
 */
function gitMode(type: ContextEntry["type"], st: Stats): number {
  if (type === "directory") return 0o755;
  if (type === "symlink") return 0o777;
  return st.mode & 0o100 ? 0o755 : 0o644;
}

function toEntry(name: string, source: string, st: Stats, type: ContextEntry["type"]): ContextEntry {
  return { name, type, source, mode: gitMode(type, st), mtime: st.mtime, size: type === "file" ? st.size : 0 };
}

/** The directory's `.dockerignore` text ("" when it has none; one that can't be read, or is a link, a fifo or too large, throws). */
function ignoreRules(dir: string): string {
  try {
    return readText(join(dir, ".dockerignore"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
    if (e instanceof RepositoryFileProblem) throw new ContextFileProblem(e.message, join(dir, ".dockerignore"));
    throw e;
  }
}

/** The `!pattern` lines of a .dockerignore, cleaned like the patterns themselves are. */
function exceptionPatterns(rules: string): string[] {
  return rules
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith("!"))
    .map((l) => posix.normalize(l.slice(1).trim()).replace(/^\/+/, ""))
    .filter((p) => p && p !== ".");
}

/** The context listings of `dirs` (repository-relative) for the planner's inputs digests. */
export function readContextListings(root: string, dirs: string[]): Map<string, ContextFile[]> {
  const listings = new Map<string, ContextFile[]>();
  for (const dir of dirs) {
    try {
      listings.set(dir, hashContextDir(join(root, dir)));
    } catch (e) {
      if (e instanceof ContextFileProblem) throw new InputError(e.message, relative(root, e.file));
      const err = e as NodeJS.ErrnoException;
      const where = err.path ? relative(root, err.path) || dir : dir;
      throw new InputError(`cannot read build context (${err.code ?? err.message})`, where);
    }
  }
  return listings;
}
