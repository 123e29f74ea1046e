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
