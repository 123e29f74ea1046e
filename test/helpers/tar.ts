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

/**
 * One tar entry as raw 512-byte blocks, for header forms tar-stream does not write (a GNU long
 * name `L`, a PAX header `x` or global `g` with chosen records): `typeflag` as the format spells it.
 */
export function rawTarEntry(name: string, typeflag: string, body: Buffer | string, declaredSize?: number): Buffer {
  const data = Buffer.from(body);
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, "utf8");
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  // `declaredSize`: a size other than the body's (a header alone, for a body streamed after it)
  header.write(`${(declaredSize ?? data.length).toString(8).padStart(11, "0")}\0`, 124);
  header.write("00000000000\0", 136);
  header.write("        ", 148);
  header.write(typeflag, 156);
  // GNU tar's magic on its own long-name entries, POSIX ustar's elsewhere
  header.write(typeflag === "L" ? "ustar  \u0000" : "ustar\u000000", 257);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return Buffer.concat([header, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** A PAX header's body: each record as `<length> key=value\n`, the length counting itself. */
export function paxRecords(records: Record<string, string>): string {
  return Object.entries(records).map(([k, v]) => {
    const rest = ` ${k}=${v}\n`;
    let n = rest.length + 1;
    while (String(n).length + rest.length !== n) n++;
    return `${n}${rest}`;
  }).join("");
}

/** `entries` written as writeTar does, then `raw` blocks (rawTarEntry), then the end of the archive. */
export async function writeTarWithRaw(file: string, entries: TarWriteEntry[], raw: Buffer[]): Promise<void> {
  const { readFile, writeFile } = await import("node:fs/promises");
  await writeTar(file, entries);
  const written = await readFile(file);
  // tar-stream ends an archive with two zero blocks (its only padding): the raw entries go before them.
  await writeFile(file, Buffer.concat([written.subarray(0, written.length - 1024), ...raw, Buffer.alloc(1024)]));
}
