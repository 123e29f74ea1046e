// `run --base-archive FILE.tar`: images handed over as files (docker-archive or OCI layout) are
// loaded into the engine through its API before building, so an agent without registry access
// can build on them. Each file is checked first (complete, digests right): a bad one is bad input
// and nothing is loaded.
import type Dockerode from "dockerode";
import { createReadStream } from "node:fs";
import tar from "tar-stream";
import { pipeline } from "node:stream/promises";
import { blobPath, readArchive, type ArchiveImage, type ArchiveLoading, type ArchiveSource } from "../../registry/archive.js";
import { hashingStream } from "../../registry/client.js";
import { InputError } from "../../core/model.js";
import { normalizeEntryName } from "../../core/parse/image-archive.js";
import { enginePlatform } from "../../core/execute/platforms.js";
import { indexPlatformToLoad } from "../../core/registry/image-index.js";

/**
 * The names loaded (`RepoTags`), per file. `platforms`: those the plan builds for (none: the
 * engine's own); of a file holding an image index, that platform's image is loaded.
 */
export async function loadBaseArchives(docker: Dockerode, files: string[], platforms: readonly string[]): Promise<{ file: string; image: string }[]> {
  const checked: { file: string; image: ArchiveImage }[] = [];
  let engine: string | undefined;
  for (const file of files) {
    const image = await readArchive(file);
    if (!image.index) {
      checked.push({ file, image });
      continue;
    }
    engine ??= platforms.length ? undefined : await docker.version().then((v) => enginePlatform({ os: v.Os, arch: v.Arch }));
    const wanted = indexPlatformToLoad(platforms, engine, image.index.platforms.map((p) => p.platform ?? ""), file);
    checked.push({ file, image: { ...image.index.platforms.find((p) => p.platform === wanted)!, index: image.index } });
  }
  const loaded: { file: string; image: string }[] = [];
  for (const { file, image } of checked) {
    // The engine is handed a tar made here of the entries checked, never the file itself: Go's
    // tar reader and this one disagree on some headers (a GNU long name beside a PAX path, a
    // global PAX header), so the file could show the engine entries this reader never saw (a
    // second manifest.json retagging busybox:stable). Blobs pass through byte for byte, hashed
    // again on the way (a file changed since it was read fails the load); manifest.json comes
    // last, so an engine never sees one before every blob is right.
    let repackError: Error | undefined;
    const input = checkedImageTar(file, image.loading, (e) => (repackError ??= e));
    const stream = await docker.loadImage(input as unknown as NodeJS.ReadableStream, { quiet: true }).catch((e: Error) => {
      throw repackError ?? e;
    });
    const said = await new Promise<string>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null, events: { stream?: string; error?: string; errorDetail?: { message?: string } }[]) => {
        const failed = events?.find((e) => e.error || e.errorDetail);
        if (repackError) reject(repackError);
        else if (err || failed) reject(new Error(`${file}: the engine could not load it: ${err?.message ?? failed?.error ?? failed?.errorDetail?.message}`));
        else resolve(events.map((e) => e.stream ?? "").join(""));
      });
    });
    const names = [...said.matchAll(/Loaded image(?: ID)?: (\S+)/g)].map((m) => m[1]);
    loaded.push({ file, image: `${names.join(", ") || image.reference}${image.index ? ` (${image.platform} of its index)` : ""}` });
  }
  return loaded;
}

/**
 * A docker-archive of one image: its config and layers under their digests, from the entries
 * `loading` names, and a manifest.json naming them. `failed`: told why the tar was cut short.
 */
export function checkedImageTar(file: string, loading: ArchiveLoading, failed: (e: Error) => void): NodeJS.ReadableStream {
  const wanted = new Map<string, ArchiveSource>();
  for (const s of [loading.config, ...loading.layers]) wanted.set(s.entry, s);
  const written = new Set<string>();
  const extract = tar.extract();
  const pack = tar.pack();
  const fail = (e: Error) => {
    failed(e);
    extract.destroy();
    pack.destroy(e);
  };
  extract.on("entry", (header, body, next) => {
    // A file cut short mid-entry errors the entry too: `fail` reports it.
    body.on("error", () => undefined);
    let name: string;
    try {
      name = normalizeEntryName(header.name);
    } catch (e) {
      // A name the check refused (`..`, absolute): the file changed since.
      return fail(new InputError(`changed while it was being loaded (${(e as Error).message})`, file));
    }
    const source = header.type === "file" || header.type === undefined ? wanted.get(name) : undefined;
    if (!source || written.has(source.digest)) {
      body.on("end", () => next());
      body.resume();
      return;
    }
    written.add(source.digest);
    const hash = hashingStream();
    const entry = pack.entry({ name: blobPath(source.digest), size: source.size, mtime: new Date(0) });
    pipeline(body, hash, entry as unknown as NodeJS.WritableStream).then(() => {
      if (hash.digest() !== source.digest || hash.bytes() !== source.size) throw new InputError(`changed while it was being loaded (${header.name} now has digest ${hash.digest()})`, file);
      next();
    }).catch((e: Error) => fail(e instanceof InputError ? e : new InputError(`changed while it was being loaded (${e.message})`, file)));
  });
  extract.on("finish", () => {
    const missing = [...wanted.values()].find((s) => !written.has(s.digest));
    if (missing) return fail(new InputError(`changed while it was being loaded (${missing.entry} is gone)`, file));
    const manifest = [{ Config: blobPath(loading.config.digest), RepoTags: loading.repoTags, Layers: loading.layers.map((l) => blobPath(l.digest)) }];
    pack.entry({ name: "manifest.json", mtime: new Date(0) }, JSON.stringify(manifest));
    pack.finalize();
  });
  extract.on("error", (e) => fail(new InputError(`changed while it was being loaded (${e.message})`, file)));
  const read = createReadStream(file);
  read.on("error", (e) => fail(new InputError(`cannot read file (${(e as NodeJS.ErrnoException).code ?? e.message})`, file)));
  read.pipe(extract as unknown as NodeJS.WritableStream);
  return pack as unknown as NodeJS.ReadableStream;
}
