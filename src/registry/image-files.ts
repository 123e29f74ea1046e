// The package database files of an image in the registry, read without running it: each layer
// blob streamed (digest checked on the way), decompressed and read as a tar, base first, through
// LayeredFiles (core/sbom), which decides which files are read and applies whiteouts. Only the
// files it asks for are held in memory, never a layer.
import { Transform, type Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { formatImageReference, type ImageReference } from "../core/parse/image-reference.js";
import { databaseKind, LayeredFiles, normalizeName, type FoundFile, type LayeredSnapshot } from "../core/sbom/layered-files.js";
import { reduceDatabaseFile } from "../core/sbom/packages.js";
import { hashingStream, RegistryError, type RegistryClient } from "./client.js";
import { RegistryContentError } from "./transport.js";
import { TarDialectCheck } from "../core/sbom/tar-dialect.js";
import type { LayerStateCache } from "./layer-state-cache.js";
import { isSha256Digest } from "../core/digest.js";

/** How a layer of `mediaType` is compressed: gzip (docker's, OCI `+gzip`), none (OCI `tar`), or zstd, which Node 20 cannot read. */
function compressionOf(mediaType: string): "gzip" | "none" | "zstd" {
  if (/zstd$/.test(mediaType)) return "zstd";
  if (/\.tar$/.test(mediaType)) return "none";
  return "gzip";
}


type ImageLayers = { ref: ImageReference; layers: { digest: string; mediaType?: string }[] };

/**
 * The states after layer chains (the digests of an image's first k layers) that several images
 * share, computed once: images of one family share their lower layers (a child's are its
 * parent's and its own), so `contains --package` streams each shared chain once. Given the
 * images beforehand, only chains that at least two of them have are kept (their package files
 * stay in memory until the search ends); without (a run, whose images come one by one: the
 * SBOMs of its pushed images), every chain is, so a child never reads its parent's layers again.
 */
export class SharedLayerChains {
  private readonly shared: Set<string> | undefined;
  private readonly states = new Map<string, Promise<LayeredSnapshot>>();

  constructor(images?: readonly ImageLayers[]) {
    if (!images) return;
    this.shared = new Set<string>();
    const seen = new Set<string>();
    for (const image of images) {
      for (const key of chainKeys(image)) {
        if (seen.has(key)) this.shared.add(key);
        seen.add(key);
      }
    }
  }

  /** The longest chain of `image` another image has started (its state, when that one gets there), and its length. */
  longestStarted(image: ImageLayers): { layers: number; state: Promise<LayeredSnapshot> } | undefined {
    const keys = chainKeys(image);
    for (let k = keys.length; k > 0; k--) {
      const state = this.states.get(keys[k - 1]);
      if (state) return { layers: k, state };
    }
    return undefined;
  }

  /** Takes on computing `image`'s shared chains longer than `from` layers that no one computes yet: layers count -> settle. */
  claim(image: ImageLayers, from: number): Map<number, { resolve: (s: LayeredSnapshot) => void; reject: (e: unknown) => void }> {
    const claimed = new Map<number, { resolve: (s: LayeredSnapshot) => void; reject: (e: unknown) => void }>();
    chainKeys(image).forEach((key, i) => {
      if (i + 1 <= from || (this.shared && !this.shared.has(key)) || this.states.has(key)) return;
      let settle!: { resolve: (s: LayeredSnapshot) => void; reject: (e: unknown) => void };
      const state = new Promise<LayeredSnapshot>((resolve, reject) => (settle = { resolve, reject }));
      // Awaited only by images that share the chain; a failure is theirs to report.
      state.catch(() => undefined);
      this.states.set(key, state);
      claimed.set(i + 1, settle);
    });
    return claimed;
  }
}

function chainKeys(image: ImageLayers): string[] {
  const keys: string[] = [];
  let key = "";
  for (const layer of image.layers) keys.push((key = key ? `${key},${layer.digest}` : layer.digest));
  return keys;
}

/**
 * The package database files of an image (its repository and its manifest's layers, base first),
 * the layers applied in order; plus the warnings of files not read (too big, a hard link to a file
 * that was not read). `chains`: states of layer chains other images share, taken and given;
 * `cache`: states earlier runs kept (layer-state-cache.ts), taken and given: only the layers after
 * the longest chain known are read; `confirmKept`: the layers of a state kept are asked for (HEAD),
 * so that an image whose blob is gone is unreadable with a cache as without one.
 */
export async function readPackageFiles(client: RegistryClient, image: ImageLayers, options: { signal?: AbortSignal; chains?: SharedLayerChains; cache?: LayerStateCache; confirmKept?: boolean } = {}): Promise<{ files: FoundFile[]; warnings: string[] }> {
  const digests = image.layers.map((l) => l.digest);
  // Only layers whose content is checked as read (sha256) are kept for later runs, or taken from them.
  const cache = digests.every(isSha256Digest) ? options.cache : undefined;
  let started = options.chains?.longestStarted(image);
  const kept = cache && (started?.layers ?? 0) < digests.length ? await cache.longest(digests, started?.layers ?? 0) : undefined;
  // Another image may have started a longer chain while the cache was read.
  started = options.chains?.longestStarted(image);
  const from = Math.max(started?.layers ?? 0, kept?.layers ?? 0);
  // Claimed before waiting for the shared part, so that an image with the same layers starting
  // meanwhile waits for this one instead of reading them too.
  const claimed = options.chains?.claim(image, from) ?? new Map();
  const fromKept = kept !== undefined && kept.layers === from;
  let files: LayeredFiles;
  const puts: Promise<void>[] = [];
  try {
    let previous = fromKept ? kept.state : started ? await started.state : undefined;
    // Layers kept by an earlier run are the registry's still (`sbom`, `contains` of published images: a blob deleted since makes the image unreadable, as a read would).
    if (fromKept && options.confirmKept) {
      await Promise.all(image.layers.slice(0, from).map(async (layer) => {
        if (!(await client.hasBlob(image.ref, layer.digest))) throw new RegistryError(`layer ${layer.digest} of ${formatImageReference(image.ref)}: blob unknown to registry (HTTP 404)`, 404);
      }));
    }
    files = new LayeredFiles(previous);
    for (let i = from; i < image.layers.length; i++) {
      files.startLayer();
      await applyLayer(client, image.ref, image.layers[i], files, options.signal);
      if (!claimed.has(i + 1) && !cache) continue;
      const state = files.snapshot();
      claimed.get(i + 1)?.resolve(state);
      if (cache) puts.push(cache.put(digests.slice(0, i + 1), state, previous));
      previous = state;
    }
  } catch (e) {
    for (const settle of claimed.values()) settle.reject(e);
    throw e;
  } finally {
    await Promise.all(puts);
  }
  return { files: files.files(), warnings: files.warnings };
}

/** Streams one layer blob through `files` (its current layer), checking the blob's digest. */
async function applyLayer(client: RegistryClient, ref: ImageReference, layer: { digest: string; mediaType?: string; size?: number }, files: LayeredFiles, signal?: AbortSignal): Promise<void> {
  const what = formatImageReference(ref);
  const compression = compressionOf(layer.mediaType ?? "");
  if (compression === "zstd") throw new RegistryError(`layer ${layer.digest} of ${what}: zstd-compressed (${layer.mediaType}), which this version cannot read`);
  const blob = await client.openBlob(ref, layer.digest, { signal, size: layer.size });
  const hash = hashingStream();
  // Tar features tar-stream reads otherwise than the engine extracts them: the layer's package files are then not trusted.
  const dialect = new TarDialectCheck();
  const watch = new Transform({ transform(chunk: Buffer, _enc, done) { dialect.write(chunk); done(null, chunk); } });
  const extract = tar.extract();
  extract.on("entry", (header, body, next) => {
    // A layer cut short mid-entry errors the entry too: the pipeline below reports it.
    body.on("error", () => undefined);
    const entry = { name: header.name, type: header.type ?? "file", size: header.size, linkname: header.linkname ?? undefined };
    // The check reads the bytes before tar-stream does: from the entry it found a problem at on,
    // nothing more is applied (what tar-stream would make of it is not what the engine extracts).
    const skipped = dialect.problem !== undefined;
    if (skipped || !files.wantsContent(entry)) {
      if (!skipped) files.add(entry);
      body.on("end", () => next());
      body.resume();
      return;
    }
    const chunks: Buffer[] = [];
    body.on("data", (c) => chunks.push(c as Buffer));
    body.on("end", () => {
      // Only what a scan reads of it is kept (reduceDatabaseFile), in memory and in the cache.
      const kind = databaseKind(normalizeName(entry.name))!;
      files.add(entry, Buffer.from(reduceDatabaseFile(kind, Buffer.concat(chunks).toString("utf8"))));
      next();
    });
  });
  try {
    const stages: NodeJS.ReadWriteStream[] = compression === "gzip" ? [hash, createGunzip(), watch] : [hash, watch];
    await pipeline([blob as Readable, ...stages, extract as unknown as Writable]);
  } catch (e) {
    blob.destroy();
    if (signal?.aborted || (e instanceof RegistryError && /^blob /.test(e.message))) throw e;
    // What the blob holds is no layer (not gzip, not tar, damaged on the way): the image's fault, not the registry's.
    throw new RegistryContentError(`layer ${layer.digest} of ${what}: not a readable layer (${(e as Error).message})`);
  }
  if (layer.digest.startsWith("sha256:") && hash.digest() !== layer.digest) throw new RegistryContentError(`layer ${layer.digest} of ${what}: content has digest ${hash.digest()}`);
  if (dialect.problem) files.warnings.push(`layer ${layer.digest}: ${dialect.problem}, which image-builder does not read as the engine extracts it: the layer's package files may be read wrong`);
}
