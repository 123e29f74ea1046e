// `contains --package`: the published images (what each moving tag serves, every build tag with --all-tags, as
// `contains` reads them) holding a package that matches a query. An image's packages are its
// stored SBOM attestation's (a few small requests) when it has one; otherwise they are read from
// its layers (image-files.ts), a few images at a time, layer chains that several images share read once.
import pLimit from "p-limit";
import { parseImageReference, type ImageReference } from "../core/parse/image-reference.js";
import { isImageFault } from "../core/registry/transport-rules.js";
import { unreadableImage, type UnreadableImage } from "../core/report/published.js";
import { matchesQuery, type PackageQuery } from "../core/sbom/package-query.js";
import { scanPackages, type FoundPackage } from "../core/sbom/packages.js";
import { notReadOfSpdx, packagesOfSpdx } from "../core/sbom/spdx.js";
import type { SpdxDocument } from "../core/formats/spdx.js";
import { readStoredSbom } from "./attestations.js";
import type { RegistryClient, RegistryImage } from "./client.js";
import { readPackageFiles, SharedLayerChains } from "./image-files.js";
import type { LayerStateCache } from "./layer-state-cache.js";
import { listPublishedImages, type PublishedBuild, type Repository } from "./published.js";

/**
 * Images read at once. Each streams its layers one after another, so this is also the number of
 * layer downloads at once: within the client's 8 requests in flight, leaving room for the rest.
 */
export const IMAGES_AT_ONCE = 4;
/** Stored SBOMs read at once: two small requests each, as many as the client has in flight. */
const SBOMS_AT_ONCE = 8;

export interface PackageHolder {
  build: PublishedBuild;
  /** The image read: for an index, one of its platforms' (each is read: their packages can differ). */
  image: RegistryImage;
  packages: FoundPackage[];
  /** Records of the image that could not be read, and files not read (see readPackageFiles, scanPackages). */
  warnings: string[];
  /** Where the packages were read: the image's stored SBOM attestation, or its layers. */
  source: PackageSource;
}

export type PackageSource = "attestation" | "layers";

type ImageToRead = { ref: ImageReference; image: Pick<RegistryImage, "indexEntries" | "manifestDigest" | "layers"> };

/**
 * `warnings`: records that could not be read (a package without a version); `notRead`: package
 * files of the image that were not read (too big, …), so packages may be missing (the stored SBOM
 * says so when it was made so).
 */
type ImagePackages = { packages: FoundPackage[]; warnings: string[]; notRead: string[]; source: PackageSource };

/** The packages of a stored SBOM. */
const ofStoredSbom = (document: SpdxDocument): ImagePackages => ({ packages: packagesOfSpdx(document), warnings: [], notRead: notReadOfSpdx(document), source: "attestation" });

/** An image's packages: its stored SBOM when it has one, else read from its layers. */
export async function readImagePackages(client: RegistryClient, { ref, image }: ImageToRead, options: { cache?: LayerStateCache } = {}): Promise<ImagePackages> {
  const stored = await readStoredSbom(client, ref, image.indexEntries, image.manifestDigest);
  if (stored && "document" in stored) return ofStoredSbom(stored.document);
  const read = await scanLayers(client, { ref, image }, { cache: options.cache });
  return stored ? { ...read, warnings: [untrusted(stored.problem), ...read.warnings] } : read;
}

/** A stored SBOM not used: the packages are read from the layers instead. */
const untrusted = (problem: string) => `${problem}; its packages are read from its layers instead`;

/** An image's packages read from its layers, the chains other images share read once (`chains`), those earlier runs read not at all (`cache`). */
async function scanLayers(client: RegistryClient, { ref, image }: ImageToRead, options: { chains?: SharedLayerChains; cache?: LayerStateCache }): Promise<ImagePackages> {
  // A published image: the layers of a state the cache kept are confirmed to be there still.
  const { files, warnings } = await readPackageFiles(client, { ref, layers: image.layers }, { ...options, confirmKept: true });
  const scan = scanPackages(files);
  return { packages: scan.packages, warnings: scan.warnings, notRead: warnings, source: "layers" };
}

/**
 * The published images holding a package that matches `query` (see listPublishedImages for which,
 * and for `unchecked` and `unreadable`). An image whose stored SBOM or layers cannot be read for a
 * fault of its own (a blob it names is missing) is unreadable too, the others answered.
 */
export async function findPackageHolders(client: RegistryClient, repositories: Repository[], query: PackageQuery, options: { allTags?: boolean; cache?: LayerStateCache } = {}): Promise<{ holders: PackageHolder[]; imagesRead: number; unchecked: number; unreadable: UnreadableImage[] }> {
  const { builds, unchecked, unreadable } = await listPublishedImages(client, repositories, options);
  // Every platform image of an index, in its order: an arm64 image may hold other packages than the amd64 one.
  const images = builds.flatMap((build) => build.platforms.map(({ image }) => ({ build, ref: parseImageReference(build.image.reference), image })));
  const limit = pLimit(IMAGES_AT_ONCE);
  const read: PackageHolder[] = new Array(images.length);
  const unreadableImages: UnreadableImage[] = [];
  const keep = (i: number, r: ImagePackages) => {
    const { build, image } = images[i];
    read[i] = { build, image, packages: r.packages.filter((p) => matchesQuery(p, query)), warnings: [...r.notRead, ...r.warnings], source: r.source };
    // Not every package file read, and nothing matched: no answer, not a clean one.
    if (read[i].packages.length === 0 && r.notRead.length > 0) {
      unreadableImages.push(unreadableImage(`${image.reference}${build.index ? `@${image.platform}` : ""}`, `not every package file was read (${r.notRead.join("; ")}): it may hold such a package`));
    }
  };
  const failed = new Set<number>();
  /** `read` of image i; when it fails for a fault of the image's, undefined, and the image is unreadable. */
  const orUnreadable = async <T>(i: number, read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await read();
    } catch (e) {
      if (!isImageFault(e)) throw e;
      const { build, image } = images[i];
      failed.add(i);
      unreadableImages.push(unreadableImage(`${image.reference}${build.index ? `@${image.platform}` : ""}`, (e as Error).message));
      return undefined;
    }
  };
  // Stored SBOMs first (a few small requests each); the layers of the images without one after,
  // knowing which of those share layer chains.
  const sbomLimit = pLimit(SBOMS_AT_ONCE);
  const stored = await Promise.all(images.map((image, i) => sbomLimit(() => orUnreadable(i, () => readStoredSbom(client, image.ref, image.image.indexEntries, image.image.manifestDigest)))));
  stored.forEach((s, i) => s && "document" in s && keep(i, ofStoredSbom(s.document)));
  const unread = images.map((_, i) => i).filter((i) => !(stored[i] && "document" in stored[i]!) && !failed.has(i));
  const chains = new SharedLayerChains(unread.map((i) => ({ ref: images[i].ref, layers: images[i].image.layers })));
  // Fewest layers first: a parent's layers are read before the children that share them start.
  unread.sort((a, b) => images[a].image.layers.length - images[b].image.layers.length);
  await Promise.all(unread.map((i) => limit(async () => {
    const scanned = await orUnreadable(i, () => scanLayers(client, images[i], { chains, cache: options.cache }));
    const s = stored[i];
    if (scanned) keep(i, s && "problem" in s ? { ...scanned, warnings: [untrusted(s.problem), ...scanned.warnings] } : scanned);
  })));
  // In the listing's order per image: by repository, version, then the index's platform order.
  const holders = read.filter((h) => h.packages.length > 0);
  holders.sort((a, b) => a.build.repository.kind.localeCompare(b.build.repository.kind) || a.build.repository.name.localeCompare(b.build.repository.name) || a.build.version.localeCompare(b.build.version));
  unreadableImages.sort((a, b) => a.reference.localeCompare(b.reference));
  return { holders, imagesRead: builds.length, unchecked, unreadable: [...unreadable, ...unreadableImages] };
}
