// `run --base-archive FILE.tar`: images handed over as files (docker-archive or OCI layout) are
// loaded into the engine through its API before building, so an agent without registry access
// can build on them. Each file is checked first (complete, digests right): a bad one is bad input
// and nothing is loaded.
import type Dockerode from "dockerode";
import { createReadStream } from "node:fs";
import tar from "tar-stream";
import { blobPath, readArchive, type ArchiveImage } from "../../registry/archive.js";
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
    // Engines before Docker 25 load only docker-archives: an OCI layout without one gets a
    // manifest.json naming its blobs on the way in (the blobs themselves are passed through
    // untouched). A file that has one (checked by readArchive) is loaded as it is, unless it holds
    // an index: then manifest.json names the chosen platform's image.
    const input = image.hasManifestJson && !image.index ? createReadStream(file) : asDockerArchive(file, image);
    const stream = await docker.loadImage(input as unknown as NodeJS.ReadableStream, { quiet: true });
    const said = await new Promise<string>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null, events: { stream?: string; error?: string; errorDetail?: { message?: string } }[]) => {
        const failed = events?.find((e) => e.error || e.errorDetail);
        if (err || failed) reject(new Error(`${file}: the engine could not load it: ${err?.message ?? failed?.error ?? failed?.errorDetail?.message}`));
        else resolve(events.map((e) => e.stream ?? "").join(""));
      });
    });
    const names = [...said.matchAll(/Loaded image(?: ID)?: (\S+)/g)].map((m) => m[1]);
    loaded.push({ file, image: `${names.join(", ") || image.reference}${image.index ? ` (${image.platform} of its index)` : ""}` });
  }
  return loaded;
}

function asDockerArchive(file: string, image: ArchiveImage): NodeJS.ReadableStream {
  const extract = tar.extract();
  const pack = tar.pack();
  extract.on("entry", (header, body, next) => {
    // The file's own manifest.json (checked, but maybe another platform's) makes way for this one.
    if (["manifest.json", "repositories"].includes(normalizeEntryName(header.name))) {
      body.on("end", () => next());
      body.resume();
      return;
    }
    body.pipe(pack.entry(header, next) as unknown as NodeJS.WritableStream);
  });
  extract.on("finish", () => {
    const manifest = [{ Config: blobPath(image.configDigest), RepoTags: image.reference.includes("/") ? [image.reference] : [], Layers: image.layers.map((l) => blobPath(l.digest)) }];
    pack.entry({ name: "manifest.json" }, JSON.stringify(manifest));
    pack.finalize();
  });
  extract.on("error", (e) => pack.destroy(e));
  createReadStream(file).pipe(extract as unknown as NodeJS.WritableStream);
  return pack as unknown as NodeJS.ReadableStream;
}
