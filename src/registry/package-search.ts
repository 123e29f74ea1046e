// `contains --package`: the published images (the newest build of each image version, as
// `contains` reads them) holding a package that matches a query. There are no stored SBOMs to ask
// yet, so each image's packages are read from its layers (image-files.ts), a few images at a time.
import pLimit from "p-limit";
import { parseImageReference } from "../core/parse/image-reference.js";
import { matchesQuery, type PackageQuery } from "../core/sbom/package-query.js";
import { scanPackages, type FoundPackage } from "../core/sbom/packages.js";
import type { RegistryClient } from "./client.js";
import { readPackageFiles } from "./image-files.js";
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

export async function findPackageHolders(client: RegistryClient, repositories: Repository[], query: PackageQuery): Promise<{ holders: PackageHolder[]; imagesRead: number }> {
  const { builds } = await listPublishedImages(client, repositories);
  const limit = pLimit(IMAGES_AT_ONCE);
  const read = await Promise.all(builds.map((build) => limit(async (): Promise<PackageHolder> => {
    const { files, warnings } = await readPackageFiles(client, { ref: parseImageReference(build.image.reference), layers: build.image.layers });
    const scan = scanPackages(files);
    return { build, packages: scan.packages.filter((p) => matchesQuery(p, query)), warnings: [...warnings, ...scan.warnings] };
  })));
  const holders = read.filter((h) => h.packages.length > 0);
  holders.sort((a, b) => a.build.repository.kind.localeCompare(b.build.repository.kind) || a.build.repository.name.localeCompare(b.build.repository.name) || a.build.version.localeCompare(b.build.version));
  return { holders, imagesRead: builds.length };
}
