// The build context: several repository directories overlaid into one tar stream.
//
// Each directory is filtered by its own `.dockerignore` (as `docker build DIR` would), then the
// directories are merged by relative path, a later one replacing an earlier one. The tar is
// generated while the engine reads it: file contents are streamed, never buffered whole, and
// nothing is written to disk.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { overlayContexts } from "../../core/requests/context-overlay.js";
import { mergedContextDigest } from "../../core/requests/inputs-digest.js";
import type { ContextFile } from "../../core/model.js";
import { DOCKERFILE_NAME, listContextDir, type ContextEntry } from "../../read/context-files.js";

export { DOCKERFILE_NAME, type ContextEntry };

/**
 * The context's root `.dockerignore`, generated. The engine reads the Dockerfile first and only
 * then drops the Dockerfile and `.dockerignore` if this file names them, so `COPY . /dst` never
 * copies either. The contexts' own `.dockerignore` files were applied while collecting and are
 * not sent (a merged context has no single one that would be right).
 */
const GENERATED_DOCKERIGNORE = `${DOCKERFILE_NAME}\n.dockerignore\n`;

type TarHeader = Partial<tar.Header> & { name: string };

/**
 * Lists the merged context of `contexts` (repository-relative, in overlay order).
 * Cheap (lstat only), so a missing directory fails the build before the engine is involved.
 * Returns entries sorted by name, so parents precede their contents.
 */
export async function collectContext(rootDir: string, contexts: string[]): Promise<ContextEntry[]> {
  const listings: ContextEntry[][] = [];
  for (const ctx of contexts) {
    const dir = resolveInside(rootDir, ctx);
    const st = await lstat(dir).catch(() => undefined);
    if (!st?.isDirectory()) throw new Error(`build context ${ctx} is not a directory (in ${rootDir})`);
    listings.push(listContextDir(dir));
  }
  return overlayContexts(listings);
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
export function packContext(entries: ContextEntry[], dockerfile: string, o: PackOptions = { dockerignore: true }): Readable {
  const pack = tar.pack();
  void (async () => {
    /** Each file's sha256 as streamed: the context digest is of what the engine receives. */
    const streamed: ContextFile[] = [];
    for (const e of entries) {
      const header = { name: e.name, mode: e.mode, mtime: e.mtime, uid: 0, gid: 0 };
      if (e.type === "directory") {
        await addEntry(pack, { ...header, type: "directory" });
        streamed.push({ name: e.name, type: e.type, mode: e.mode });
      } else if (e.type === "symlink") {
        await addEntry(pack, { ...header, type: "symlink", linkname: e.linkname ?? "" });
        streamed.push({ name: e.name, type: e.type, mode: e.mode, linkname: e.linkname ?? "" });
      } else {
        const sha256 = await addFile(pack, { ...header, type: "file", size: e.size }, e.source);
        streamed.push({ name: e.name, type: e.type, mode: e.mode, sha256 });
      }
    }
    // Checked before the Dockerfile and the tar's end are sent: an engine given an unfinished
    // context builds nothing, so no image gets a label its files do not make.
    if (o.expectDigest !== undefined) {
      const digest = mergedContextDigest(streamed);
      if (digest !== o.expectDigest) throw new ContextChangedError(digest, o.expectDigest);
    }
    const generated = { mode: 0o644, mtime: new Date(), uid: 0, gid: 0, type: "file" } as const;
    await addEntry(pack, { ...generated, name: DOCKERFILE_NAME }, Buffer.from(dockerfile, "utf8"));
    if (o.dockerignore) await addEntry(pack, { ...generated, name: ".dockerignore" }, Buffer.from(GENERATED_DOCKERIGNORE, "utf8"));
    pack.finalize();
  })().catch((err: Error) => pack.destroy(err));
  return Readable.from(pack, { objectMode: false });
}

export interface PackOptions {
  /** See packContext: the generated `.dockerignore` is sent (the classic builder) or not (BuildKit). */
  dockerignore: boolean;
  /**
   * The request's context digest (`inputs.context`): the files as streamed must make it, or the
   * stream fails with a ContextChangedError before it is complete.
   */
  expectDigest?: string;
}

/** The files sent are not those the request's inputs digest (and the image's label) was made from. */
export class ContextChangedError extends Error {
  constructor(public readonly streamed: string, public readonly expected: string) {
    super(`the build context's files changed since the plan was made (they make ${streamed}, the plan's inputs have ${expected}): nothing was built from them`);
    this.name = "ContextChangedError";
  }
}

function addEntry(pack: tar.Pack, header: TarHeader, body?: Buffer): Promise<void> {
  return new Promise((ok, fail) => pack.entry(header, body ?? "", (err) => (err ? fail(err) : ok())));
}

/**
 * Streams one file into the tar, with backpressure; resolves to the sha256 (hex) of the bytes sent.
 * tar-stream fails the entry with "size mismatch" if the file changed size since it was listed.
 */
function addFile(pack: tar.Pack, header: TarHeader, source: string): Promise<string> {
  return new Promise((ok, fail) => {
    const hash = createHash("sha256");
    const sink = pack.entry(header, (err) => (err ? fail(err) : ok(hash.digest("hex"))));
    // Without a listener, pipe() rethrows the sink's error and takes the process down.
    sink.on("error", fail);
    const src = createReadStream(source);
    src.on("error", (err) => {
      sink.destroy(err);
      fail(err);
    });
    src.on("data", (chunk) => hash.update(chunk));
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
