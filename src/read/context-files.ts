// The files of a build context directory, as `docker build DIR` would send them: filtered by the
// directory's own `.dockerignore`. The executor streams them; the planner digests them (inputs
// digest), so both list them here, the same way.
//
// Synchronous: a layer directory holds few files, and the planner reads many directories in a
// row, where a promise round trip per entry would cost more than the reads.
import dockerignore from "@balena/dockerignore";
import { sha256Hex } from "../core/digest.js";
import { lstatSync, readFileSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { join, posix, relative } from "node:path";
import type { ContextEntryBase, ContextFile } from "../core/model.js";
import { InputError } from "../core/model.js";

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

/** One context directory, filtered by its own `.dockerignore` (docker CLI semantics), in walk order. */
export function listContextDir(dir: string): ContextEntry[] {
  const rules = ignoreRules(dir);
  const ig = ignore().add(rules);
  const exceptions = exceptionPatterns(rules);
  const out: ContextEntry[] = [];

  const walk = (abs: string, rel: string): void => {
    for (const child of readdirSync(abs, { withFileTypes: true })) {
      // The root's Dockerfile name and .dockerignore are generated; theirs would collide.
      if (!rel && (child.name === DOCKERFILE_NAME || child.name === ".dockerignore")) continue;
      const name = rel ? `${rel}/${child.name}` : child.name;
      const source = join(abs, child.name);
      const st = lstatSync(source);
      const ignored = ig.ignores(name);
      if (st.isDirectory()) {
        // Like docker: an ignored directory is still walked if an exception (`!pattern`) could
        // re-include something below it; it just gets no entry of its own.
        if (ignored && !exceptions.some((p) => `${p}/`.startsWith(`${name}/`))) continue;
        if (!ignored) out.push(toEntry(name, source, st, "directory"));
        walk(source, name);
      } else if (!ignored) {
        if (st.isFile()) out.push(toEntry(name, source, st, "file"));
        else if (st.isSymbolicLink()) out.push({ ...toEntry(name, source, st, "symlink"), linkname: readlinkSync(source) });
        // Sockets, fifos and devices have no place in a build context; docker skips them too.
      }
    }
  };
  walk(dir, "");
  return out;
}

/** What the inputs digest takes of a directory's context: paths, types, modes, contents (sha256). */
export function hashContextDir(dir: string): ContextFile[] {
  return listContextDir(dir).map((e) => ({
    name: e.name,
    type: e.type,
    mode: e.mode,
    ...(e.type === "file" ? { sha256: sha256Hex(readFileSync(e.source)) } : {}),
    ...(e.type === "symlink" ? { linkname: e.linkname } : {}),
  }));
}

function toEntry(name: string, source: string, st: Stats, type: ContextEntry["type"]): ContextEntry {
  return { name, type, source, mode: st.mode & 0o7777, mtime: st.mtime, size: type === "file" ? st.size : 0 };
}

/** The directory's `.dockerignore` text ("" when it has none; one that can't be read throws). */
function ignoreRules(dir: string): string {
  try {
    return readFileSync(join(dir, ".dockerignore"), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
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
      const err = e as NodeJS.ErrnoException;
      const where = err.path ? relative(root, err.path) || dir : dir;
      throw new InputError(`cannot read build context (${err.code ?? err.message})`, where);
    }
  }
  return listings;
}

/**
 * `paths` (repository-relative) less those their layer directory's `.dockerignore` leaves out of
 * its build context: a change there is not built. Kept when in doubt: a `.dockerignore` with
 * exceptions (`!pattern`), one that can't be read, a path outside a layer directory.
 * A function of the paths: each layer's .dockerignore is read once however often it is asked.
 */
export function buildContextFilter(root: string, layerDirOf: (path: string) => string | undefined): (paths: readonly string[]) => string[] {
  const matchers = new Map<string, ((rel: string) => boolean) | undefined>();
  const matcher = (dir: string) => {
    if (!matchers.has(dir)) {
      let rules: string | undefined;
      try {
        rules = ignoreRules(join(root, dir));
      } catch {
        // unreadable: kept, the build will say so
      }
      const ig = rules === undefined || exceptionPatterns(rules).length ? undefined : ignore().add(rules);
      matchers.set(dir, ig && ((rel) => ig.ignores(rel)));
    }
    return matchers.get(dir);
  };
  return (paths) => paths.filter((p) => {
    const dir = layerDirOf(p);
    const ignores = dir && matcher(dir);
    if (!ignores) return true;
    // The path or a directory above it (docker leaves out what is under an ignored directory).
    const rel = p.slice(dir.length + 1);
    // The Dockerfile and .dockerignore make the build whatever the rules say of them, and the
    // layer's sciserver-image.json its plan (its version, its image).
    if (rel === "Dockerfile" || rel === ".dockerignore" || rel === "sciserver-image.json") return true;
    const parts = rel.split("/");
    return !parts.some((_, i) => ignores(parts.slice(0, i + 1).join("/")));
  });
}

