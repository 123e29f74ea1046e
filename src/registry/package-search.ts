// `contains --package`: the published images (what each moving tag serves, every build tag with --all-tags, as
// `contains` reads them) holding a package that matches a query. There are no stored SBOMs to ask
// yet, so each image's packages are read from its layers (image-files.ts), a few images at a time,
// layer chains that several images share read once.
import pLimit from "p-limit";
import { parseImageReference } from "../core/parse/image-reference.js";
import { matchesQuery, type PackageQuery } from "../core/sbom/package-query.js";
import { scanPackages, type FoundPackage } from "../core/sbom/packages.js";
import type { RegistryClient } from "./client.js";
import { readPackageFiles, SharedLayerChains } from "./image-files.js";
import { listPublishedImages, type PublishedBuild, type Repository } from "./published.js";

/**
 * Images read at once. Each streams its layers one after another, so this is also the number of
 * layer downloads at once: within the client's 8 requests in flight, leaving room for the rest.
 */
export const IMAGES_AT_ONCE = 4;

export interface PackageHolder {
  build: PublishedBuild;
  packages: FoundPackage[];
  /** Files of the image that could not be read (see readPackageFiles, scanPackages). */
  warnings: string[];
}

export async function findPackageHolders(client: RegistryClient, repositories: Repository[], query: PackageQuery, options: { allTags?: boolean } = {}): Promise<{ holders: PackageHolder[]; imagesRead: number }> {
  const { builds } = await listPublishedImages(client, repositories, options);
  const images = builds.map((build) => ({ ref: parseImageReference(build.image.reference), layers: build.image.layers }));
  const chains = new SharedLayerChains(images);
  const limit = pLimit(IMAGES_AT_ONCE);
  // Fewest layers first: a parent's layers are read before the children that share them start.
  const order = builds.map((_, i) => i).sort((a, b) => images[a].layers.length - images[b].layers.length);
  const read: PackageHolder[] = new Array(builds.length);
  await Promise.all(order.map((i) => limit(async () => {
    const build = builds[i];
    const { files, warnings } = await readPackageFiles(client, images[i], { chains });
    const scan = scanPackages(files);
    read[i] = { build, packages: scan.packages.filter((p) => matchesQuery(p, query)), warnings: [...warnings, ...scan.warnings] };
  })));
  const holders = read.filter((h) => h.packages.length > 0);
  holders.sort((a, b) => a.build.repository.kind.localeCompare(b.build.repository.kind) || a.build.repository.name.localeCompare(b.build.repository.name) || a.build.version.localeCompare(b.build.version));
  return { holders, imagesRead: builds.length };
}
