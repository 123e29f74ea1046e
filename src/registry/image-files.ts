// The package database files of an image in the registry, read without running it: each layer
// blob streamed (digest checked on the way), decompressed and read as a tar, base first, through
// LayeredFiles (core/sbom), which decides which files are read and applies whiteouts. Only the
// files it asks for are held in memory, never a layer.
import { createHash } from "node:crypto";
import { Transform, Writable, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { formatImageReference, type ImageReference } from "../core/parse/image-reference.js";
import { LayeredFiles, type FoundFile } from "../core/sbom/layered-files.js";
import { RegistryError, type RegistryClient } from "./client.js";

/** Passes the blob through, hashing it; `digest()` once it ended. */
function hashing(): Transform & { digest: () => string } {
  const hash = createHash("sha256");
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  }) as Transform & { digest: () => string };
  let result: string | undefined;
  t.digest = () => (result ??= `sha256:${hash.digest("hex")}`);
  return t;
}

/** How a layer of `mediaType` is compressed: gzip (docker's, OCI `+gzip`), none (OCI `tar`), or zstd, which Node 20 cannot read. */
function compressionOf(mediaType: string): "gzip" | "none" | "zstd" {
  if (/zstd$/.test(mediaType)) return "zstd";
  if (/\.tar$/.test(mediaType)) return "none";
  return "gzip";
}

/**
 * The package database files of an image (its repository and its manifest's layers, base first),
 * the layers applied in order; plus the warnings of files not read (too big, a hard link to a file
 * that was not read).
 */
export async function readPackageFiles(client: RegistryClient, image: { ref: ImageReference; layers: { digest: string; mediaType?: string }[] }, signal?: AbortSignal): Promise<{ files: FoundFile[]; warnings: string[] }> {
  const files = new LayeredFiles();
  const what = formatImageReference(image.ref);
  for (const layer of image.layers) {
    files.startLayer();
    const compression = compressionOf(layer.mediaType ?? "");
    if (compression === "zstd") throw new RegistryError(`layer ${layer.digest} of ${what}: zstd-compressed (${layer.mediaType}), which this version cannot read`);
    const blob = await client.openBlob(image.ref, layer.digest, { signal });
    const hash = hashing();
    const extract = tar.extract();
    extract.on("entry", (header, body, next) => {
      const entry = { name: header.name, type: header.type ?? "file", size: header.size, linkname: header.linkname ?? undefined };
      if (!files.wantsContent(entry)) {
        files.add(entry);
        body.on("end", () => next());
        body.resume();
        return;
      }
      const chunks: Buffer[] = [];
      body.on("data", (c) => chunks.push(c as Buffer));
      body.on("end", () => {
        files.add(entry, Buffer.concat(chunks));
        next();
      });
    });
    try {
      const stages: NodeJS.ReadWriteStream[] = compression === "gzip" ? [hash, createGunzip()] : [hash];
      await pipeline([blob as Readable, ...stages, extract as unknown as Writable]);
    } catch (e) {
      blob.destroy();
      if (signal?.aborted || (e instanceof RegistryError && /^blob /.test(e.message))) throw e;
      throw new RegistryError(`layer ${layer.digest} of ${what}: ${(e as Error).message}`);
    }
    if (layer.digest.startsWith("sha256:") && hash.digest() !== layer.digest) throw new RegistryError(`layer ${layer.digest} of ${what}: content has digest ${hash.digest()}`);
  }
  return { files: files.files(), warnings: files.warnings };
}
