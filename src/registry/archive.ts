// Images as tar files, without an engine: written from the registry (`export`) as a
// docker-archive (`docker load`) or an OCI image layout, and read back (`inspect FILE.tar`).
// Blobs are streamed and hashed on the way; a file is written under a temporary name and renamed
// when complete, so a failure leaves nothing behind.
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { formatImageReference } from "../core/parse/image-reference.js";
import { InputError } from "../core/model.js";
import { choosePlatform, MEDIA_TYPES, parseJson, platformString, RegistryError, summarizeConfig, type ImageConfigJson, type RegistryClient, type RegistryImage, type RegistryManifest } from "./client.js";

export type ArchiveFormat = "docker-archive" | "oci";

const hex = (digest: string) => digest.replace(/^sha256:/, "");
/** Where a blob lives in an OCI layout (and in the docker-archive this project writes). */
export const blobPath = (digest: string) => `blobs/sha256/${hex(digest)}`;

/** Passes bytes through, hashing them; `digest()` once done. */
function hasher(): Transform & { digest: () => string; bytes: () => number } {
  const hash = createHash("sha256");
  let n = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      n += chunk.length;
      done(null, chunk);
    },
  }) as Transform & { digest: () => string; bytes: () => number };
  let result: string | undefined;
  t.digest = () => (result ??= `sha256:${hash.digest("hex")}`);
  t.bytes = () => n;
  return t;
}

/**
 * Writes the image `manifest` (from `client.getManifest`) to `file`. Both formats keep the
 * registry's blobs as they are (compressed layers, the manifest's own bytes), so every digest
 * stays what the registry says. `tag`: the name recorded for loading (`RepoTags`, the OCI
 * `org.opencontainers.image.ref.name`).
 */
export async function exportImage(client: RegistryClient, manifest: RegistryManifest, file: string, format: ArchiveFormat, name: string): Promise<{ bytes: number }> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString("hex")}.partial`);
  const pack = tar.pack();
  const out = createWriteStream(temp, { flags: "wx" });
  // Opened before anything is packed: a file that can't be made fails with its own error (naming
  // the path), not as a tar stream "already finalized or destroyed".
  await once(out, "open");
  const written = pipeline(pack, out);
  // A failed write (a full disk) surfaces through `written`; entries wait for it instead of hanging.
  written.catch(() => undefined);
  try {
    const add = (entryName: string, body: Buffer) =>
      new Promise<void>((resolve, reject) => pack.entry({ name: entryName, size: body.length, mtime: new Date(0) }, body, (e) => (e ? reject(e) : resolve())));
    const what = formatImageReference(manifest.ref);
    const config = await client.getBlob(manifest.ref, manifest.config.digest);
    // A manifest may list a layer more than once (identical empty layers): one blob each, as
    // `docker save` writes them; manifest.json still lists the path at every position.
    const unique = [...new Map(manifest.layers.map((l) => [l.digest, l])).values()];
    for (const layer of unique) {
      const source = await client.openBlob(manifest.ref, layer.digest);
      const hash = hasher();
      const entry = pack.entry({ name: blobPath(layer.digest), size: layer.size, mtime: new Date(0) });
      try {
        await Promise.race([pipeline(source, hash, entry), written]);
      } catch (e) {
        source.destroy();
        if (hash.bytes() !== layer.size) throw new RegistryError(`blob ${layer.digest} of ${what}: got ${hash.bytes()} of ${layer.size} bytes (${(e as Error).message})`);
        throw e;
      }
      if (hash.digest() !== layer.digest) throw new RegistryError(`blob ${layer.digest} of ${what}: content has digest ${hash.digest()}`);
    }
    await add(blobPath(manifest.config.digest), config);
    if (format === "oci") {
      await add(blobPath(manifest.manifestDigest), manifest.bytes);
      await add("oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
      const tag = name.slice(name.lastIndexOf(":") + 1);
      const index = {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [{
          mediaType: manifest.mediaType, digest: manifest.manifestDigest, size: manifest.bytes.length,
          annotations: { "org.opencontainers.image.ref.name": tag, "io.containerd.image.name": name },
        }],
      };
      await add("index.json", Buffer.from(JSON.stringify(index)));
    } else {
      const entries = [{ Config: blobPath(manifest.config.digest), RepoTags: [name], Layers: manifest.layers.map((l) => blobPath(l.digest)) }];
      await add("manifest.json", Buffer.from(JSON.stringify(entries)));
    }
    pack.finalize();
    await written;
    await rename(temp, file);
    return { bytes: out.bytesWritten };
  } catch (e) {
    pack.destroy();
    out.destroy();
    await rm(temp, { force: true });
    throw e;
  }
}

/** An image read from a tar file. */
export interface ArchiveImage extends Omit<RegistryImage, "mediaType"> {
  format: ArchiveFormat;
  mediaType?: string;
}

/** Entries small enough to be metadata are kept; everything is hashed as it streams past. */
const METADATA_LIMIT = 4 * 1024 * 1024;

interface SeenEntry {
  digest: string;
  size: number;
  body?: Buffer;
}

/**
 * Reads a docker-archive or OCI layout tar (either format is recognized by its files), checks
 * that every blob it names is there with the right digest, and returns the image. Problems with
 * the file are bad input naming it.
 */
export async function readArchive(file: string, options: { platform?: string } = {}): Promise<ArchiveImage> {
  const bad = (why: string) => new InputError(why, file);
  const entries = new Map<string, SeenEntry>();
  const extract = tar.extract();
  extract.on("entry", (header, body, next) => {
    const hash = createHash("sha256");
    const chunks: Buffer[] = [];
    let size = 0;
    body.on("data", (data: unknown) => {
      const c = data as Buffer;
      hash.update(c);
      size += c.length;
      if (size <= METADATA_LIMIT) chunks.push(c);
    });
    body.on("end", () => {
      if (header.type === "file" || header.type === undefined) {
        entries.set(header.name.replace(/^\.\//, ""), { digest: `sha256:${hash.digest("hex")}`, size, body: size <= METADATA_LIMIT ? Buffer.concat(chunks) : undefined });
      }
      next();
    });
    body.on("error", () => undefined);
  });
  try {
    await pipeline(createReadStream(file), extract as unknown as NodeJS.WritableStream);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT" || err.code === "EACCES" || err.code === "EISDIR") throw bad(`cannot read file (${err.code})`);
    throw bad(`not a complete tar archive (${err.message})`);
  }
  if (entries.size === 0) throw bad("not a tar archive, or an empty one");
  const json = <T>(name: string): T => {
    const e = entries.get(name);
    if (!e) throw bad(`${name} is missing from the archive`);
    if (!e.body) throw bad(`${name} is too large to be image metadata`);
    try {
      return JSON.parse(e.body.toString("utf8")) as T;
    } catch {
      throw bad(`${name} is not valid JSON`);
    }
  };
  const blob = (digest: string, what: string): SeenEntry => {
    const e = entries.get(blobPath(digest));
    if (!e) throw bad(`${what} ${digest} is missing from the archive`);
    if (e.digest !== digest) throw bad(`${what} ${digest} is corrupted: its content has digest ${e.digest}`);
    return e;
  };

  if (entries.has("index.json") && entries.has("oci-layout")) {
    const layout = json<{ imageLayoutVersion?: string }>("oci-layout");
    if (!layout.imageLayoutVersion) throw bad("oci-layout has no imageLayoutVersion");
    const index = json<{ manifests?: { mediaType: string; digest: string; size: number; annotations?: Record<string, string>; platform?: { os?: string; architecture?: string; variant?: string } }[] }>("index.json");
    let descriptor = index.manifests?.[0];
    if (!descriptor) throw bad("index.json names no manifest");
    let indexDigest: string | undefined;
    const name = descriptor.annotations?.["io.containerd.image.name"] ?? descriptor.annotations?.["org.opencontainers.image.ref.name"] ?? "";
    let manifestBody = blob(descriptor.digest, "manifest");
    let parsed = parseBody(manifestBody, "manifest", bad) as { mediaType?: string; manifests?: typeof index.manifests; config?: { digest: string; size: number }; layers?: { digest: string; size: number; mediaType: string }[] };
    if (parsed.manifests) {
      // A multi-platform image: choose as from the registry.
      indexDigest = descriptor.digest;
      descriptor = choosePlatform(parsed.manifests, options.platform, file) as typeof descriptor;
      manifestBody = blob(descriptor.digest, "manifest");
      parsed = parseBody(manifestBody, "manifest", bad) as typeof parsed;
    }
    if (!parsed.config || !Array.isArray(parsed.layers)) throw bad(`manifest ${descriptor.digest} has no config or layers`);
    const config = parseBody(blob(parsed.config.digest, "config"), "config", bad) as ImageConfigJson;
    for (const l of parsed.layers) {
      const e = blob(l.digest, "layer");
      if (e.size !== l.size) throw bad(`layer ${l.digest} has ${e.size} bytes, the manifest says ${l.size}`);
    }
    return toImage("oci", name, indexDigest ?? descriptor.digest, descriptor.digest, parsed.mediaType ?? descriptor.mediaType, parsed.config.digest, parsed.config.size, parsed.layers, config);
  }
  if (entries.has("manifest.json")) {
    const manifest = json<{ Config?: string; RepoTags?: string[] | null; Layers?: string[] }[]>("manifest.json");
    const m = Array.isArray(manifest) ? manifest[0] : undefined;
    if (!m?.Config || !Array.isArray(m.Layers)) throw bad("manifest.json names no image (Config, Layers)");
    const configEntry = entries.get(m.Config);
    if (!configEntry?.body) throw bad(`config ${m.Config} is missing from the archive`);
    const config = parseBody(configEntry, "config", bad) as ImageConfigJson;
    const diffIds = config.rootfs?.diff_ids ?? [];
    const layers = m.Layers.map((path, i) => {
      const e = entries.get(path);
      if (!e) throw bad(`layer ${path} is missing from the archive`);
      // Layers are named by their digest (blobs/sha256/…, compressed or not) or, as `docker save`
      // wrote them before Docker 25, kept uncompressed: their digest is the config's diff_id.
      const named = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(path);
      if (named && e.digest !== `sha256:${named[1]}`) throw bad(`layer ${path} is corrupted: its content has digest ${e.digest}`);
      if (!named && diffIds[i] && e.digest !== diffIds[i]) throw bad(`layer ${path} is corrupted: its content has digest ${e.digest}, the config says ${diffIds[i]}`);
      return { digest: e.digest, size: e.size, mediaType: "" };
    });
    return toImage("docker-archive", m.RepoTags?.[0] ?? "", undefined, undefined, undefined, configEntry.digest, configEntry.size, layers, config);
  }
  throw bad("neither a docker-archive (manifest.json) nor an OCI image layout (oci-layout, index.json)");
}

function parseBody(e: SeenEntry, what: string, bad: (why: string) => Error): unknown {
  if (!e.body) throw bad(`${what} is too large to be image metadata`);
  return parseJson(e.body, `${what} ${e.digest}`, bad);
}

function toImage(format: ArchiveFormat, name: string, digest: string | undefined, manifestDigest: string | undefined, mediaType: string | undefined,
  configDigest: string, configSize: number, layers: { digest: string; size: number; mediaType: string }[], config: ImageConfigJson): ArchiveImage {
  return {
    format,
    reference: name,
    digest: digest ?? "",
    manifestDigest: manifestDigest ?? "",
    mediaType,
    platform: platformString(config),
    config: summarizeConfig(config),
    configDigest,
    layers: layers.map(({ digest, size, mediaType: t }) => ({ digest, size, mediaType: t })),
    size: configSize + layers.reduce((s, l) => s + l.size, 0),
  };
}
