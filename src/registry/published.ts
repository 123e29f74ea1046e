// The published images of a `--repo`: its `sci/` and `rel/` repositories (from the catalog, or
// the names a checkout would publish when the registry has none), their versions and builds, and
// which of them carry a given science layer. Requests: the catalog, one tag list per
// repository, one manifest + one config per image version (+ one HEAD for the moving tag).
import { parseImageReference } from "../core/parse/image-reference.js";
import {
  compareBuilds, formatBuildTag, imageVersions, labelledBuild, matchLayer, newerBuildThan, newestBuilds, parseBuildTag, publishedRepositories, readBreadcrumbs,
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
  /** The tag read: the moving tag `{version}` (what users pull), or a build tag. */
  tag: string;
  /** Its build; undefined for a moving tag serving an image that no build tag of the version holds. */
  build?: BuildTag;
  /** The moving tag `{version}` serves this image. */
  served: boolean;
  /** Served: the newest build of the version newer than this one, which the moving tag does not serve. */
  newerBuild?: BuildTag;
  /** The newest build of its version. */
  newest: boolean;
  /** The version has a moving tag. */
  hasMovingTag: boolean;
  image: RegistryImage;
}

/**
 * Every repository's image versions as users pull them: the image each moving tag `{version}`
 * serves, whatever build number is newest (a moving tag only moves forward, so it may stay on an
 * older build on purpose), or for a version without one its newest build. With `allTags`, every
 * build tag as well. `unchecked`: build tags not read (older builds, newer ones not served).
 */
export async function listPublishedImages(client: RegistryClient, repositories: Repository[], options: { allTags?: boolean } = {}): Promise<{ builds: PublishedBuild[]; tags: Map<string, string[]>; unchecked: number }> {
  const tags = new Map<string, string[]>();
  await Promise.all(repositories.map(async (r) => tags.set(r.ref, await client.listTags(r.ref))));
  const jobs: Promise<{ read: PublishedBuild[]; unchecked: number }>[] = [];
  for (const repository of repositories) {
    for (const v of imageVersions(tags.get(repository.ref)!)) {
      jobs.push((async () => {
        const read: PublishedBuild[] = [];
        const common = { repository, version: v.version, hasMovingTag: v.hasMovingTag };
        let served: BuildTag | undefined;
        if (v.hasMovingTag) {
          const image = await client.getImage(`${repository.ref}:${v.version}`);
          if (image) {
            const labelled = labelledBuild(repository.kind, repository.name, image.config.labels, v.builds);
            // The label names a build; it is that build only if its build tag holds this very image.
            served = labelled && (await client.getDigest(`${repository.ref}:${formatBuildTag(labelled)}`)) === image.digest ? labelled : undefined;
            read.push({ ...common, tag: v.version, build: served, served: true, newerBuild: served && newerBuildThan(served, v.builds), newest: served === v.newest, image });
          }
        }
        // Without a moving tag that serves a build, the newest build is what is published of the version.
        const builds = options.allTags ? v.builds : served ? [] : [v.newest];
        for (const build of builds.filter((b) => b !== served)) {
          const image = await client.getImage(`${repository.ref}:${formatBuildTag(build)}`);
          // Deleted between the tag list and now: not published any more.
          if (image) read.push({ ...common, tag: formatBuildTag(build), build, served: false, newest: build === v.newest, image });
        }
        const covered = new Set(read.map((r) => r.build));
        return { read, unchecked: v.builds.filter((b) => !covered.has(b)).length };
      })());
    }
  }
  const done = await Promise.all(jobs);
  return { builds: done.flatMap((d) => d.read), tags, unchecked: done.reduce((n, d) => n + d.unchecked, 0) };
}

export interface Affected {
  build: PublishedBuild;
  breadcrumbs: Breadcrumbs;
  match: LayerMatch;
}

/**
 * Published images (both `rel/` and `sci/`, but the layer's own repository) whose breadcrumbs hold
 * the queried layer, each with whether it has the layer's newest published build: the image each
 * moving tag serves (see listPublishedImages), and with `allTags` every build tag too.
 */
export async function findAffected(client: RegistryClient, repositories: Repository[], query: LayerQuery, options: { allTags?: boolean } = {}): Promise<{ affected: Affected[]; newest: Map<string, BuildTag>; known: Map<string, BuildTag[]>; unchecked: number }> {
  const own = repositories.find((r) => r.kind === "sci" && r.name === query.target);
  const others = repositories.filter((r) => r !== own);
  const [layerTags, { builds, tags, unchecked }] = await Promise.all([
    own ? client.listTags(own.ref) : Promise.resolve([] as string[]),
    listPublishedImages(client, others, options),
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
  // Per image version, the moving tag first, then its builds oldest first.
  const order = (a: PublishedBuild) => [a.repository.kind, a.repository.name, a.version] as const;
  affected.sort((x, y) => {
    const [a, b] = [order(x.build), order(y.build)];
    return a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]) || a[2].localeCompare(b[2])
      || Number(y.build.served) - Number(x.build.served) || (x.build.build && y.build.build ? compareBuilds(x.build.build, y.build.build) : 0);
  });
  return { affected, newest, known, unchecked };
}
