// The build context: several repository directories overlaid into one tar stream.
//
// Each directory is filtered by its own `.dockerignore` (as `docker build DIR` would), then the
// directories are merged by relative path, a later one replacing an earlier one. The tar is
// generated while the engine reads it: file contents are streamed, never buffered whole, and
// nothing is written to disk.
import dockerignore from "@balena/dockerignore";
import type { Stats } from "node:fs";
import { createReadStream } from "node:fs";
import { lstat, readFile, readdir, readlink } from "node:fs/promises";
import { isAbsolute, join, posix, relative, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";

/**
 * Name the generated Dockerfile gets inside the context. Files of that name in a context
 * directory are dropped so they can't shadow it.
 */
export const DOCKERFILE_NAME = ".image-builder.Dockerfile";

/**
 * The context's root `.dockerignore`, generated. The engine reads the Dockerfile first and only
 * then drops the Dockerfile and `.dockerignore` if this file names them, so `COPY . /dst` never
 * copies either. The contexts' own `.dockerignore` files were applied while collecting and are
 * not sent (a merged context has no single one that would be right).
 */
const GENERATED_DOCKERIGNORE = `${DOCKERFILE_NAME}\n.dockerignore\n`;

type TarHeader = Partial<tar.Header> & { name: string };

// A CommonJS module whose typings only describe `.default` (which it also sets at runtime).
const ignore = dockerignore.default;

export interface ContextEntry {
  /** Path inside the context, `/`-separated, no leading `./`. */
  name: string;
  type: "file" | "directory" | "symlink";
  /** Absolute path on disk. */
  source: string;
  mode: number;
  mtime: Date;
  size: number;
  linkname?: string;
}

/**
 * Lists the merged context of `contexts` (repository-relative, in overlay order).
 * Cheap (lstat only), so a missing directory fails the build before the engine is involved.
 * Returns entries sorted by name, so parents precede their contents.
 */
export async function collectContext(rootDir: string, contexts: string[]): Promise<ContextEntry[]> {
  const merged = new Map<string, ContextEntry>();
  for (const ctx of contexts) {
    const dir = resolveInside(rootDir, ctx);
    const st = await lstat(dir).catch(() => undefined);
    if (!st?.isDirectory()) throw new Error(`build context ${ctx} is not a directory (in ${rootDir})`);
    for (const entry of await walkContext(dir)) {
      // A file (or symlink) replacing a directory of an earlier context takes its contents with
      // it; left in, they would make a tar that can't be extracted.
      if (merged.get(entry.name)?.type === "directory" && entry.type !== "directory") {
        for (const name of merged.keys()) if (name.startsWith(`${entry.name}/`)) merged.delete(name);
      }
      merged.set(entry.name, entry);
    }
  }
  return [...merged.keys()].sort().map((name) => merged.get(name)!);
}

/**
 * Streams `entries` plus the Dockerfile text as an uncompressed tar. tar-stream's pack is a
 * streamx stream; it is wrapped as a Node Readable, whose destroy() also stops the packing.
 *
 * `dockerignore: false` leaves out the generated `.dockerignore`: the engine's BuildKit (up to
 * engine 23 at least) applies no `.dockerignore` to a context sent as a tar, so it would only be
 * copied by `COPY .` (as the Dockerfile is: hiding it needs the context served through a BuildKit
 * session, as the docker CLI does; see README, "Builders").
 */
export function packContext(entries: ContextEntry[], dockerfile: string, o: { dockerignore: boolean } = { dockerignore: true }): Readable {
  const pack = tar.pack();
  void (async () => {
    for (const e of entries) {
      const header = { name: e.name, mode: e.mode, mtime: e.mtime, uid: 0, gid: 0 };
      if (e.type === "directory") {
        await addEntry(pack, { ...header, type: "directory" });
      } else if (e.type === "symlink") {
        await addEntry(pack, { ...header, type: "symlink", linkname: e.linkname ?? "" });
      } else {
        await addFile(pack, { ...header, type: "file", size: e.size }, e.source);
      }
    }
    const generated = { mode: 0o644, mtime: new Date(), uid: 0, gid: 0, type: "file" } as const;
    await addEntry(pack, { ...generated, name: DOCKERFILE_NAME }, Buffer.from(dockerfile, "utf8"));
    if (o.dockerignore) await addEntry(pack, { ...generated, name: ".dockerignore" }, Buffer.from(GENERATED_DOCKERIGNORE, "utf8"));
    pack.finalize();
  })().catch((err: Error) => pack.destroy(err));
  return Readable.from(pack, { objectMode: false });
}

/** One context directory, filtered by its own `.dockerignore` (docker CLI semantics). */
async function walkContext(dir: string): Promise<ContextEntry[]> {
  const rules = await readFile(join(dir, ".dockerignore"), "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return "";
    throw e;
  });
  const ig = ignore().add(rules);
  const exceptions = exceptionPatterns(rules);
  const out: ContextEntry[] = [];

  const walk = async (abs: string, rel: string): Promise<void> => {
    const children = await readdir(abs, { withFileTypes: true });
    for (const child of children) {
      // The root's Dockerfile name and .dockerignore are generated; theirs would collide.
      if (!rel && (child.name === DOCKERFILE_NAME || child.name === ".dockerignore")) continue;
      const name = rel ? `${rel}/${child.name}` : child.name;
      const source = join(abs, child.name);
      const st = await lstat(source);
      const ignored = ig.ignores(name);
      if (st.isDirectory()) {
        // Like docker: an ignored directory is still walked if an exception (`!pattern`) could
        // re-include something below it; it just gets no entry of its own.
        if (ignored && !exceptions.some((p) => `${p}/`.startsWith(`${name}/`))) continue;
        if (!ignored) out.push(toEntry(name, source, st, "directory"));
        await walk(source, name);
      } else if (!ignored) {
        if (st.isFile()) out.push(toEntry(name, source, st, "file"));
        else if (st.isSymbolicLink()) out.push({ ...toEntry(name, source, st, "symlink"), linkname: await readlink(source) });
        // Sockets, fifos and devices have no place in a build context; docker skips them too.
      }
    }
  };
  await walk(dir, "");
  return out;
}

function toEntry(name: string, source: string, st: Stats, type: ContextEntry["type"]): ContextEntry {
  return { name, type, source, mode: st.mode & 0o7777, mtime: st.mtime, size: type === "file" ? st.size : 0 };
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

function addEntry(pack: tar.Pack, header: TarHeader, body?: Buffer): Promise<void> {
  return new Promise((ok, fail) => pack.entry(header, body ?? "", (err) => (err ? fail(err) : ok())));
}

/**
 * Streams one file into the tar, with backpressure. tar-stream fails the entry with
 * "size mismatch" if the file changed size since it was listed.
 */
function addFile(pack: tar.Pack, header: TarHeader, source: string): Promise<void> {
  return new Promise((ok, fail) => {
    const sink = pack.entry(header, (err) => (err ? fail(err) : ok()));
    // Without a listener, pipe() rethrows the sink's error and takes the process down.
    sink.on("error", fail);
    const src = createReadStream(source);
    src.on("error", (err) => {
      sink.destroy(err);
      fail(err);
    });
    src.pipe(sink);
  });
}

/** Context paths come from the plan: keep them inside the repository. */
function resolveInside(rootDir: string, ctx: string): string {
  const abs = resolve(rootDir, ctx);
  const rel = relative(resolve(rootDir), abs);
  if (isAbsolute(ctx) || rel === ".." || rel.startsWith(`..${sep}`)) {
    throw new Error(`build context ${ctx} is outside the repository ${rootDir}`);
  }
  return abs;
}
