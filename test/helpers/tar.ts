// Reads a tar stream into memory, for tests that look at build contexts and image files.
import type { Readable } from "node:stream";
import tar from "tar-stream";

export interface TarEntry {
  type: string;
  mode: number;
  content: string;
  linkname?: string;
}

/**
 * Every entry of the archive by its name as stored (directories keep their trailing "/").
 * `onEntry`: told each name as it arrives, for archives that fail part of the way.
 */
export async function readTar(stream: Readable | NodeJS.ReadableStream, onEntry?: (name: string) => void): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  const extract = tar.extract();
  extract.on("entry", (header, body, next) => {
    onEntry?.(header.name);
    const chunks: Buffer[] = [];
    body.on("data", (c) => chunks.push(c as Buffer));
    body.on("end", () => {
      entries.set(header.name, {
        type: header.type ?? "file", mode: header.mode ?? 0, content: Buffer.concat(chunks).toString("utf8"),
        linkname: header.linkname || undefined,
      });
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    extract.on("finish", resolve);
    extract.on("error", reject);
    stream.on("error", reject);
    stream.pipe(extract as unknown as NodeJS.WritableStream);
  });
  return entries;
}

/** An entry to write: a file with `body`, or another type (a symlink with `linkname`, a directory). */
export interface TarWriteEntry {
  name: string;
  body?: Buffer | string;
  type?: "file" | "directory" | "symlink" | "link";
  linkname?: string;
}

/** Writes the entries, in order, as a tar file (names as given: a test may want odd ones). */
export async function writeTar(file: string, entries: TarWriteEntry[]): Promise<void> {
  const { createWriteStream } = await import("node:fs");
  const { pipeline } = await import("node:stream/promises");
  const pack = tar.pack();
  const written = pipeline(pack, createWriteStream(file));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: e.name, type: e.type ?? "file", linkname: e.linkname, mtime: new Date(0) }, e.body ?? "", (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await written;
}

/** Every entry of a tar stream, in order, with its header (file bodies read whole). */
export async function readTarEntries(stream: NodeJS.ReadableStream): Promise<TarWriteEntry[]> {
  const out: TarWriteEntry[] = [];
  const extract = tar.extract();
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.push({ name: entry.header.name, type: entry.header.type as TarWriteEntry["type"], linkname: entry.header.linkname ?? undefined, body: Buffer.concat(chunks) });
  }
  return out;
}
