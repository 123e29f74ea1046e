// Images as tar files, without an engine: written from the registry (`export`) as a
// docker-archive (`docker load`) or an OCI image layout, and read back (`inspect FILE.tar`).
// Blobs are streamed and hashed on the way; a file is written under a temporary name and renamed
// when complete, so a failure leaves nothing behind.
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, readlinkSync, realpathSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { lstatIfAny, statIfAny } from "../files.js";
import tar from "tar-stream";
import { formatImageReference, type ImageReference } from "../core/parse/image-reference.js";
import { InputError } from "../core/model.js";
import { METADATA_LIMIT } from "../core/registry/transport-rules.js";
import { checkRepositoriesFile, dockerArchiveEntries, layoutManifests, normalizeEntryName, requireOneImage, resolveArchiveEntries, type LayoutDescriptor, type RawArchiveEntry } from "../core/parse/image-archive.js";
import { formatPlatform, imageOfPlatform, imageShownFor, isAttestation, platformOfEntry, type Descriptor } from "../core/registry/image-index.js";
import { hashingStream, hostPlatform, MEDIA_TYPES, parseJson, RegistryError, summarizeConfig, type ImageConfigJson, type RegistryClient, type RegistryImage, type RegistryManifest } from "./client.js";
import { checkImageConfig } from "../core/formats/image-config.js";

export type ArchiveFormat = "docker-archive" | "oci";

const hex = (digest: string) => digest.replace(/^sha256:/, "");
/** Where a blob lives in an OCI layout (and in the docker-archive this project writes). */
export const blobPath = (digest: string) => `blobs/sha256/${hex(digest)}`;

/** An index to export whole: its exact bytes and every manifest it names (platform images, attestations). */
export interface IndexToExport {
  ref: ImageReference;
  digest: string;
  mediaType: string;
  bytes: Buffer;
  manifests: RegistryManifest[];
}

/**
 * Writes the image `manifest` (from `client.getManifest`), or a whole `index` (OCI layout only:
 * index.json names the index, whose manifests and their blobs are all in the file, as the OCI
 * image layout has it), to `file`. Both formats keep the registry's blobs as they are (compressed
 * layers, the manifest's and index's own bytes), so every digest stays what the registry says.
 * `name`: the name recorded for loading (`RepoTags`, the OCI `org.opencontainers.image.ref.name`).
 */
export async function exportImage(client: RegistryClient, content: RegistryManifest | IndexToExport, file: string, format: ArchiveFormat, name: string, signal?: AbortSignal): Promise<{ bytes: number }> {
  const isIndex = "manifests" in content;
  if (isIndex && format !== "oci") throw new InputError(`${name} is an image index: a docker-archive holds one platform`);
  const target = outputTarget(file);
  const temp = !target.renamed ? undefined : join(dirname(target.path), `.${basename(target.path)}.${randomBytes(4).toString("hex")}.partial`);
  const pack = tar.pack();
  let bytes = 0;
  const out = target.stdout ? undefined : createWriteStream(temp ?? target.path, { flags: temp ? "wx" : "w" });
  // Opened before anything is packed: a file that can't be made fails with its own error (naming
  // the path), not as a tar stream "already finalized or destroyed".
  if (out) await once(out, "open");
  const counted = new Transform({ transform: (c: Buffer, _e, done) => done(null, ((bytes += c.length), c)) });
  // Standard output stays open for whoever writes after (the process ends it).
  const written = out ? pipeline(pack, counted, out) : pipeline(pack, counted, async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) if (!process.stdout.write(c)) await once(process.stdout, "drain");
  });
  // A failed write (a full disk) surfaces through `written`; entries wait for it instead of hanging.
  written.catch(() => undefined);
  // A reader of standard output gone (`| head`): the write fails, not the process.
  const stdoutFailed = (e: Error) => pack.destroy(e);
  if (target.stdout) process.stdout.on("error", stdoutFailed);
  try {
    const add = (entryName: string, body: Buffer) =>
      new Promise<void>((resolve, reject) => pack.entry({ name: entryName, size: body.length, mtime: new Date(0) }, body, (e) => (e ? reject(e) : resolve())));
    // Blobs two manifests share (platform images built on one base; identical empty layers a
    // manifest lists twice) are written once, as `docker save` writes them.
    const blobs = new Set<string>();
    const manifests = isIndex ? content.manifests : [content];
    for (const manifest of manifests) {
      const what = formatImageReference(manifest.ref);
      const config = await client.getBlob(manifest.ref, manifest.config.digest, { signal });
      for (const layer of manifest.layers) {
        if (blobs.has(layer.digest)) continue;
        blobs.add(layer.digest);
        await copyBlob(client, manifest.ref, layer, what, pack, written, signal);
      }
      if (!blobs.has(manifest.config.digest)) await add(blobPath(manifest.config.digest), config);
      blobs.add(manifest.config.digest);
      if (format === "oci" && !blobs.has(manifest.manifestDigest)) await add(blobPath(manifest.manifestDigest), manifest.bytes);
      blobs.add(manifest.manifestDigest);
    }
    if (format === "oci") {
      if (isIndex) await add(blobPath(content.digest), content.bytes);
      await add("oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
      const tag = name.slice(name.lastIndexOf(":") + 1);
      const top = isIndex ? { mediaType: content.mediaType, digest: content.digest, size: content.bytes.length } : { mediaType: content.mediaType, digest: content.manifestDigest, size: content.bytes.length };
      const index = {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [{ ...top, annotations: { "org.opencontainers.image.ref.name": tag, "io.containerd.image.name": name } }],
      };
      await add("index.json", Buffer.from(JSON.stringify(index)));
    } else {
      const manifest = manifests[0];
      const entries = [{ Config: blobPath(manifest.config.digest), RepoTags: [name], Layers: manifest.layers.map((l) => blobPath(l.digest)) }];
      await add("manifest.json", Buffer.from(JSON.stringify(entries)));
    }
    pack.finalize();
    await written;
    if (temp) await rename(temp, target.path);
    return { bytes };
  } catch (e) {
    pack.destroy();
    out?.destroy();
    if (temp) await rm(temp, { force: true });
    throw e;
  } finally {
    process.stdout.off("error", stdoutFailed);
  }
}

/**
 * Where an export goes: `-` is standard output; a path that is no regular file (a device such
 * as /dev/null, a FIFO) is written as it is; a file is written beside where it will be (through
 * symbolic links: the file they name) and renamed into place when whole, so a failure leaves
 * nothing behind and a link stays a link.
 */
function outputTarget(file: string): { stdout?: true; path: string; renamed: boolean } {
  if (file === "-") {
    if (process.stdout.isTTY) throw new InputError("--out -: standard output is a terminal; redirect it to a file or a pipe");
    return { stdout: true, path: file, renamed: false };
  }
  const st = statIfAny(file);
  if (st && !st.isFile()) return { path: file, renamed: false };
  let path = file;
  // A link, maybe to a file not there yet: the file it names is the one replaced.
  // Relative to the link's directory as the kernel finds it (through links to directories on the way).
  for (let hops = 0; hops < 40 && lstatIfAny(path)?.isSymbolicLink(); hops++) path = resolve(realpathSync(dirname(path)), readlinkSync(path));
  return { path, renamed: true };
}

/** Streams one blob from the registry into the archive, checking its size and digest on the way. */
async function copyBlob(client: RegistryClient, ref: ImageReference, layer: Descriptor, what: string, pack: tar.Pack, written: Promise<void>, signal?: AbortSignal): Promise<void> {
  const source = await client.openBlob(ref, layer.digest, { signal, size: layer.size });
  const hash = hashingStream();
  const entry = pack.entry({ name: blobPath(layer.digest), size: layer.size, mtime: new Date(0) });
  try {
    await Promise.race([pipeline(source, hash, entry), written]);
  } catch (e) {
    source.destroy();
    // Interrupted, or the registry's own error (a stalled or dropped download names itself).
    if (signal?.aborted || e instanceof RegistryError) throw e;
    if (hash.bytes() !== layer.size) throw new RegistryError(`blob ${layer.digest} of ${what}: got ${hash.bytes()} of ${layer.size} bytes (${(e as Error).message})`);
    throw e;
  }
  if (hash.digest() !== layer.digest) throw new RegistryError(`blob ${layer.digest} of ${what}: content has digest ${hash.digest()}`);
}

/** An image read from a tar file. */
export interface ArchiveImage extends Omit<RegistryImage, "mediaType"> {
  format: ArchiveFormat;
  /** Every name the engine gives the image when loading the file (manifest.json's RepoTags, index.json's annotations). */
  names: string[];
  /**
   * What `run --base-archive` hands the engine: the entries (by name in the file, links resolved)
   * holding this image's config and layers, and the names to tag it with. The engine is given a
   * tar made of these alone, never the file itself (see load-archive.ts).
   */
  loading: ArchiveLoading;
  mediaType?: string;
  /** A multi-platform image (the file holds an index): every platform's image, the returned one among them. */
  index?: { digest: string; mediaType?: string; platforms: ArchiveImage[] };
}


export interface ArchiveLoading {
  config: ArchiveSource;
  layers: ArchiveSource[];
  repoTags: string[];
}

/** An entry of the file, by the name the reader saw, with the content it was checked to have. */
export interface ArchiveSource {
  entry: string;
  digest: string;
  size: number;
}

interface SeenEntry {
  digest: string;
  size: number;
  body?: Buffer;
}

/** An image of the archive, checked: its config and layers are there with the right digests. */
interface CheckedImage {
  configDigest: string;
  configSize: number;
  layers: { digest: string; size: number; mediaType: string }[];
  config: ImageConfigJson;
  /** The entries holding the config and each layer. */
  sources: { config: ArchiveSource; layers: ArchiveSource[] };
}

/**
 * Reads a docker-archive or OCI layout tar (either format is recognized by its files; `docker
 * save` of Docker 25 and later writes both), and checks it as the engine will load it: every
 * entry's name as the engine extracts it (no absolute names, no `..`, no name twice), every
 * metadata file the engine loads from (`manifest.json`, `repositories`, `index.json`) naming
 * the one image of the file, and every blob of it present with the right digest. Returns the
 * image, with every name the engine gives it. Problems with the file are bad input naming it.
 */
export async function readArchive(file: string, options: { platform?: string } = {}): Promise<ArchiveImage> {
  const bad = (why: string) => new InputError(why, file);
  const raw: RawArchiveEntry[] = [];
  const contents: (SeenEntry | undefined)[] = [];
  const extract = tar.extract();
  let kept = 0;
  extract.on("entry", (header, body, next) => {
    const index = raw.length;
    raw.push({ name: header.name, type: header.type ?? "file", linkname: header.linkname ?? undefined });
    const hash = createHash("sha256");
    // Entries that may be metadata (JSON, small enough) are kept; everything is hashed as it
    // streams past. Layers (tar, gzip) are not JSON: an archive of many small layers, or a crafted
    // one of thousands, is not held in memory; what is kept is bounded too.
    const chunks: Buffer[] = [];
    let size = 0;
    let json: boolean | undefined;
    body.on("data", (data: unknown) => {
      const c = data as Buffer;
      hash.update(c);
      size += c.length;
      json ??= looksLikeJson(c);
      if (json && size <= METADATA_LIMIT) chunks.push(c);
    });
    body.on("end", () => {
      const keep = (json ?? true) && size <= METADATA_LIMIT;
      if (keep) kept += size;
      if (kept > KEPT_METADATA_LIMIT) {
        extract.destroy(bad(`holds more than ${KEPT_METADATA_LIMIT / 1024 / 1024} MiB of JSON files: no image's metadata is that large`));
        return;
      }
      if (header.type === "file" || header.type === undefined) {
        contents[index] = { digest: `sha256:${hash.digest("hex")}`, size, body: keep ? Buffer.concat(chunks) : undefined };
      }
      next();
    });
    body.on("error", () => undefined);
  });
  try {
    await pipeline(createReadStream(file), extract as unknown as NodeJS.WritableStream);
  } catch (e) {
    if (e instanceof InputError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT" || err.code === "EACCES" || err.code === "EISDIR") throw bad(`cannot read file (${err.code})`);
    throw bad(`not a complete tar archive (${err.message})`);
  }
  if (raw.length === 0) throw bad("not a tar archive, or an empty one");
  try {
    return checkArchive(raw, contents, options, file);
  } catch (e) {
    if (e instanceof InputError && !e.file) throw bad(e.message);
    throw e;
  }
}

function checkArchive(raw: RawArchiveEntry[], contents: (SeenEntry | undefined)[], options: { platform?: string }, file: string): ArchiveImage {
  // Every entry by the name the engine extracts it as; links resolved to the file they name.
  const resolved = resolveArchiveEntries(raw);
  const byName = new Map<string, SeenEntry>();
  raw.forEach((r, i) => contents[i] && byName.set(normalizeEntryName(r.name), contents[i]!));
  const entry = (name: string): (SeenEntry & { entry: string }) | undefined => {
    const target = resolved.get(name);
    const seen = target === undefined ? undefined : byName.get(target);
    return seen && { ...seen, entry: target! };
  };
  const source = (e: SeenEntry & { entry: string }): ArchiveSource => ({ entry: e.entry, digest: e.digest, size: e.size });
  const json = (name: string): unknown => {
    const e = entry(name);
    if (!e) throw new InputError(`${name} is missing from the archive`);
    return parseBody(e, name, (m) => new InputError(m));
  };
  const blob = (d: { digest: string; size?: number }, what: string): SeenEntry & { entry: string } => {
    const e = entry(blobPath(d.digest));
    if (!e) throw new InputError(`${what} ${d.digest} is missing from the archive`);
    if (e.digest !== d.digest) throw new InputError(`${what} ${d.digest} is corrupted: its content has digest ${e.digest}`);
    if (d.size !== undefined && typeof d.size !== "number") throw new InputError(`${what} ${d.digest}: its descriptor's size ${JSON.stringify(d.size)} is not a number`);
    if (d.size !== undefined && e.size !== d.size) throw new InputError(`${what} ${d.digest} has ${e.size} bytes, its descriptor says ${d.size}`);
    return e;
  };

  const hasManifestJson = resolved.has("manifest.json");
  const hasIndex = resolved.has("index.json");
  if (!hasManifestJson && resolved.has("repositories")) {
    throw new InputError("a legacy docker-archive (repositories without manifest.json) is not supported: save the image again with Docker 1.10 or later");
  }
  if (!hasManifestJson && !hasIndex) throw new InputError("neither a docker-archive (manifest.json) nor an OCI image layout (oci-layout, index.json)");

  // The docker-archive's image: what engines that read manifest.json load.
  let docker: (CheckedImage & { names: string[] }) | undefined;
  const layerSources: ArchiveSource[] = [];
  if (hasManifestJson) {
    const entries = dockerArchiveEntries(json("manifest.json"));
    requireOneImage([{ file: "manifest.json", images: entries.length }]);
    const m = entries[0];
    const configEntry = entry(m.config);
    if (!configEntry) throw new InputError(`config ${m.config} is missing from the archive`);
    // Named by its digest (`<hex>.json`, blobs/sha256/<hex>): the name must be its content's.
    const namedConfig = /^(?:blobs\/sha256\/)?([0-9a-f]{64})(?:\.json)?$/.exec(m.config);
    if (namedConfig && configEntry.digest !== `sha256:${namedConfig[1]}`) throw new InputError(`config ${m.config} is corrupted: its content has digest ${configEntry.digest}`);
    const config = checkImageConfig(parseBody(configEntry, "config", (msg) => new InputError(msg)), `config ${configEntry.digest}`, (msg) => new InputError(msg));
    const diffIds = config.rootfs?.diff_ids ?? [];
    const layers = m.layers.map((path, i) => {
      const e = entry(path);
      if (!e) throw new InputError(`layer ${path} is missing from the archive`);
      // Layers are named by their digest (blobs/sha256/…, compressed or not) or, as `docker save`
      // wrote them before Docker 25, kept uncompressed: their digest is the config's diff_id.
      const named = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(path);
      if (named && e.digest !== `sha256:${named[1]}`) throw new InputError(`layer ${path} is corrupted: its content has digest ${e.digest}`);
      if (!named && e.digest !== diffIds[i]) throw new InputError(`layer ${path} is corrupted or unchecked: its content has digest ${e.digest}, the config says ${diffIds[i] ?? "nothing"}`);
      layerSources.push(source(e));
      return { digest: e.digest, size: e.size, mediaType: "" };
    });
    if (resolved.has("repositories")) checkRepositoriesFile(json("repositories"), m.repoTags);
    docker = { configDigest: configEntry.digest, configSize: configEntry.size, layers, config, names: m.repoTags, sources: { config: source(configEntry), layers: layerSources } };
  }
  if (!hasIndex) {
    return toImage("docker-archive", docker!.names[0] ?? "", undefined, undefined, undefined, docker!, docker!.names, docker!.names);
  }

  // The OCI layout's image: what engines that read index.json load (every platform in it).
  const layout = json("oci-layout") as { imageLayoutVersion?: string };
  if (!layout.imageLayoutVersion) throw new InputError("oci-layout has no imageLayoutVersion");
  const index = json("index.json") as { manifests?: LayoutDescriptor[] };
  if (!Array.isArray(index.manifests) || index.manifests.length === 0) throw new InputError("index.json names no manifest");
  requireOneImage([{ file: "index.json", images: index.manifests.length }]);
  const top = index.manifests[0];
  const annotations = top.annotations ?? {};
  const ociNames = [annotations["io.containerd.image.name"] ?? annotations["org.opencontainers.image.ref.name"]].filter((n): n is string => Boolean(n));
  // Every manifest the file holds, through nested indexes (each checked: inside the archive, its
  // digest, no loops): the engine may load any of them.
  const reached = layoutManifests([top], (digest) => {
    const e = entry(blobPath(digest));
    return e && { digest: e.digest, size: e.size, json: () => parseBody(e, `manifest ${digest}`, (m) => new InputError(m)) };
  });
  const images = reached.map((m): CheckedImage & { manifestDigest: string; mediaType?: string; platform?: string } => {
    const { manifest: parsed, descriptor: d } = m;
    if (!parsed.config || !Array.isArray(parsed.layers)) throw new InputError(`manifest ${d.digest} has no config or layers`);
    const configEntry = blob(parsed.config, "config");
    const layers = parsed.layers.map((l) => source(blob(l, "layer")));
    const config = checkImageConfig(parseBody(configEntry, "config", (msg) => new InputError(msg)), `config ${configEntry.digest}`, (msg) => new InputError(msg));
    // An index's entry says its platform; attestation manifests (unknown/unknown) are no image.
    const platform = m.index ? (isAttestation(d) ? undefined : platformOfEntry(d) ?? formatPlatform(config)) : formatPlatform(config);
    return { configDigest: parsed.config.digest, configSize: parsed.config.size, layers: parsed.layers, config, manifestDigest: d.digest, mediaType: parsed.mediaType ?? d.mediaType, platform,
      sources: { config: source(configEntry), layers } };
  });
  if (docker && !images.some((i) => i.configDigest === docker!.configDigest)) {
    throw new InputError(`manifest.json and index.json name different images (configs ${docker.configDigest} and ${images[0]?.configDigest})`);
  }
  const names = [...new Set([...(docker?.names ?? []), ...ociNames])];
  const name = ociNames[0] ?? names[0] ?? "";
  // Loaded under manifest.json's names when it has them; else under the OCI name when that is a
  // whole reference (`org.opencontainers.image.ref.name` may be a bare tag, no name to load as).
  const repoTags = docker?.names.length ? docker.names : ociNames.filter((n) => n.includes("/"));
  const toArchiveImage = (i: (typeof images)[number], digest: string) =>
    toImage("oci", name, digest, i.manifestDigest, i.mediaType, i, names, repoTags, i.platform);
  if (reached.length === 1 && !reached[0].index) return toArchiveImage(images[0], top.digest);
  // A multi-platform image: the platform asked for (the rule the registry's readers choose by);
  // else the image that stands for the index (this machine's, else the one, else the first).
  const platforms = images.filter((i) => i.platform !== undefined) as ((typeof images)[number] & { platform: string })[];
  if (platforms.length === 0) throw new InputError(`index ${top.digest} holds no platform's image`);
  const chosen = options.platform ? imageOfPlatform(platforms, options.platform, file)! : imageShownFor(platforms, hostPlatform())!;
  return {
    ...toArchiveImage(chosen, top.digest),
    index: { digest: top.digest, mediaType: top.mediaType, platforms: platforms.map((i) => toArchiveImage(i, top.digest)) },
  };
}

/** The JSON files of an image file kept at most: the metadata of one image (its manifests, configs, index) is far less. */
const KEPT_METADATA_LIMIT = 64 * 1024 * 1024;

/** Whether a file starting with `chunk` may be JSON: its first byte that is not white space opens an object or array. */
function looksLikeJson(chunk: Buffer): boolean | undefined {
  for (const b of chunk) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b === 0x7b || b === 0x5b;
  }
  return undefined;
}

function parseBody(e: SeenEntry, what: string, bad: (why: string) => Error): unknown {
  if (!e.body) throw bad(`${what} is not JSON, or too large to be image metadata`);
  return parseJson(e.body, `${what} ${e.digest}`, bad);
}

function toImage(format: ArchiveFormat, name: string, digest: string | undefined, manifestDigest: string | undefined, mediaType: string | undefined,
  { configDigest, configSize, layers, config, sources }: CheckedImage, names: string[], repoTags: string[], platform = formatPlatform(config)): ArchiveImage {
  return {
    format,
    reference: name,
    names,
    loading: { ...sources, repoTags },
    digest: digest ?? "",
    manifestDigest: manifestDigest ?? "",
    mediaType,
    platform,
    config: summarizeConfig(config),
    configDigest,
    layers: layers.map(({ digest, size, mediaType: t }) => ({ digest, size, mediaType: t })),
    size: configSize + layers.reduce((s, l) => s + l.size, 0),
  };
}
