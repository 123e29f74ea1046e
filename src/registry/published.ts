// The published images of a `--repo`: its `sci/` and `rel/` repositories (from the catalog, or
// the names a checkout would publish when the registry has none), their versions and builds, and
// which of them carry a given science layer. Requests: the catalog, one tag list per
// repository, one manifest + one config per image version (+ one HEAD for the moving tag).
import { parseImageReference } from "../core/parse/image-reference.js";
import {
  formatBuildTag, imageVersions, matchLayer, newestBuilds, parseBuildTag, publishedRepositories, readBreadcrumbs,
  type BuildTag, type Breadcrumbs, type LayerMatch, type LayerQuery,
} from "../core/report/published.js";
import type { RegistryClient, RegistryImage } from "./client.js";

export interface Repository {
  kind: "sci" | "rel";
  name: string;
  /** host/path/sci/name */
  ref: string;
}

/**
 * `sci/` and `rel/` repositories under `repo`. `fallback`: names (`sci/x`, `rel/y`) to look for
 * when the registry has no catalog; `source` says which was used.
 */
export async function findRepositories(client: RegistryClient, repo: string, fallback: () => Promise<string[]>): Promise<{ repositories: Repository[]; source: "catalog" | "checkout" }> {
  const { registry, repository: repoPath } = splitRepo(repo);
  const catalog = await client.catalog(registry);
  if (catalog) {
    return { source: "catalog", repositories: publishedRepositories(catalog, repoPath).map((r) => ({ kind: r.kind, name: r.name, ref: `${registry}/${r.path}` })) };
  }
  const names = await fallback();
  return {
    source: "checkout",
    repositories: names.map((n) => {
      const [kind, name] = n.split("/") as ["sci" | "rel", string];
      return { kind, name, ref: `${repo}/${n}` };
    }),
  };
}

function splitRepo(repo: string): { registry: string; repository: string } {
  const slash = repo.indexOf("/");
  if (slash < 0) return { registry: parseImageReference(`${repo}/x`).registry, repository: "" };
  return { registry: parseImageReference(`${repo}/x`).registry, repository: repo.slice(slash + 1) };
}

export interface PublishedBuild {
  repository: Repository;
  version: string;
  build: BuildTag;
  /** Whether this is the newest build of its version. */
  newest: boolean;
  /** Whether the moving tag `{version}` points at this build (only asked for the newest). */
  movingTagCurrent?: boolean;
  image: RegistryImage;
}

/** Every repository's image versions: the newest build of each (every build with `allTags`). */
export async function listPublishedImages(client: RegistryClient, repositories: Repository[], options: { allTags?: boolean; movingTags?: boolean } = {}): Promise<{ builds: PublishedBuild[]; tags: Map<string, string[]> }> {
  const tags = new Map<string, string[]>();
  await Promise.all(repositories.map(async (r) => tags.set(r.ref, await client.listTags(r.ref))));
  const jobs: Promise<PublishedBuild | undefined>[] = [];
  for (const repository of repositories) {
    for (const v of imageVersions(tags.get(repository.ref)!)) {
      for (const build of options.allTags ? v.builds : [v.newest]) {
        const newest = build === v.newest;
        jobs.push((async () => {
          const image = await client.getImage(`${repository.ref}:${formatBuildTag(build)}`);
          // Deleted between the tag list and now: not published any more.
          if (!image) return undefined;
          let movingTagCurrent: boolean | undefined;
          if (newest && options.movingTags) movingTagCurrent = v.hasMovingTag && (await client.getDigest(`${repository.ref}:${v.version}`)) === image.digest;
          return { repository, version: v.version, build, newest, movingTagCurrent, image };
        })());
      }
    }
  }
  const builds = (await Promise.all(jobs)).filter((b): b is PublishedBuild => b !== undefined);
  return { builds, tags };
}

export interface Affected {
  build: PublishedBuild;
  breadcrumbs: Breadcrumbs;
  match: LayerMatch;
}

/**
 * Published images (newest build of each version, both `rel/` and `sci/`, but the layer's own
 * repository) whose breadcrumbs hold the queried layer, each with whether it has the layer's
 * newest published build.
 */
export async function findAffected(client: RegistryClient, repositories: Repository[], query: LayerQuery): Promise<{ affected: Affected[]; newest: Map<string, BuildTag>; known: Map<string, BuildTag[]> }> {
  const own = repositories.find((r) => r.kind === "sci" && r.name === query.target);
  const others = repositories.filter((r) => r !== own);
  const [layerTags, { builds, tags }] = await Promise.all([
    own ? client.listTags(own.ref) : Promise.resolve([] as string[]),
    listPublishedImages(client, others),
  ]);
  const newest = newestBuilds(layerTags);
  // Every science layer published, with its builds: its own tags and the images' breadcrumbs.
  const known = new Map<string, BuildTag[]>();
  const seen = (target: string, ...found: (BuildTag | undefined)[]) =>
    known.set(target, [...(known.get(target) ?? []), ...found.filter((b): b is BuildTag => b !== undefined)]);
  for (const r of repositories) if (r.kind === "sci") {
    const repoTags = r === own ? layerTags : tags.get(r.ref) ?? [];
    if (repoTags.length) seen(r.name, ...repoTags.map(parseBuildTag));
  }
  const affected: Affected[] = [];
  for (const build of builds) {
    const breadcrumbs = readBreadcrumbs(build.image.config.labels, build.image.config.history);
    for (const c of breadcrumbs.science) seen(c.target, c.build);
    const match = matchLayer(breadcrumbs.science.find((c) => c.target === query.target), query, newest);
    if (match) affected.push({ build, breadcrumbs, match });
  }
  affected.sort((a, b) => a.build.repository.kind.localeCompare(b.build.repository.kind) || a.build.repository.name.localeCompare(b.build.repository.name) || a.build.version.localeCompare(b.build.version));
  return { affected, newest, known };
}
