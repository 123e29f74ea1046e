// The published images of a `--repo`: its `sci/` and `rel/` repositories (from the catalog, or
// the names a checkout would publish when the registry has none), their versions and builds, and
// which of them carry a given science layer. Requests: the catalog, one tag list per
// repository, one manifest + one config per image version (+ one HEAD for the moving tag).
import { compareVersions } from "../core/parse/versions.js";
import { parseImageReference } from "../core/parse/image-reference.js";
import {
  compareBuilds, formatBuildTag, imageVersions, labelledBuild, versionsWithoutBuilds, matchLayer, newerBuildThan, newestBuilds, parseBuildTag, publishedRepositories, readBreadcrumbs,
  unreadableImage, type BuildTag, type Breadcrumbs, type LayerMatch, type LayerQuery, type UnreadableImage,
} from "../core/report/published.js";
import { parsePlatformTag } from "../core/registry/image-index.js";
import { isImageFault } from "../core/registry/transport-rules.js";
import type { RegistryClient, RegistryImage } from "./client.js";
import { platformInIndex, readTaggedImage, type PlatformImage } from "./image-index.js";

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
  /** The tag read: the moving tag `{version}` (what users pull), or a build tag (or with `allTags`, a platform tag). */
  tag: string;
  /** Its build; undefined for a moving tag serving an image that no build tag of the version holds. */
  build?: BuildTag;
  /** The moving tag `{version}` serves this image. */
  served: boolean;
  /**
   * Served: the moving tag holds one platform's image (this platform) of its build's index, not the
   * index its build tag holds (a publish that stopped between the index's two tags, a tag set by hand).
   */
  servedPlatformImage?: string;
  /** Served: the newest build of the version newer than this one, which the moving tag does not serve. */
  newerBuild?: BuildTag;
  /** The newest build of its version. */
  newest: boolean;
  /** The version has a moving tag. */
  hasMovingTag: boolean;
  /** What a pull on this machine gets (an index: this machine's platform, else its first). */
  image: RegistryImage;
  /** The tag holds an image index; `platforms` are its images, in its order (one for a plain image). */
  index: boolean;
  platforms: PlatformImage[];
  /**
   * A platform tag (`{tag}-linux-arm64`, listed with `allTags`): the tag whose index it is an image
   * of, and the platform; `holdsTagImage`: whether it holds that tag's image of the platform now
   * (false: it lags, as a plain push or a run stopped between the two writes can leave it), said
   * when that tag was read.
   */
  platformTagOf?: { tag: string; platform: string; holdsTagImage?: boolean };
}

/**
 * Every repository's image versions as users pull them: the image each moving tag `{version}`
 * serves, whatever build number is newest (a moving tag only moves forward, so it may stay on an
 * older build on purpose), or for a version without one its newest build. With `allTags`, every
 * build tag as well, and with `platformTags` too the platform tags each platform's image of an
 * index is pushed under. Signature tags (`sha256-….sig`) are never images. `unchecked`: build
 * tags not read (older builds, newer ones not served). `unreadable`: tags whose image could not
 * be read for a fault of its own (isImageFault: an index naming a manifest the registry lacks),
 * left out so that one broken tag does not hide the rest (for an unreadable moving tag, its
 * version's newest build is read, as for a version without one). Any other failure (the registry
 * down, refusing credentials) is thrown.
 */
export async function listPublishedImages(client: RegistryClient, repositories: Repository[], options: { allTags?: boolean; platformTags?: boolean } = {}): Promise<{ builds: PublishedBuild[]; tags: Map<string, string[]>; unchecked: number; unreadable: UnreadableImage[] }> {
  const tags = new Map<string, string[]>();
  await Promise.all(repositories.map(async (r) => tags.set(r.ref, await client.listTags(r.ref))));
  const unreadable: UnreadableImage[] = [];
  const jobs: Promise<{ read: PublishedBuild[]; unchecked: number }>[] = [];
  for (const repository of repositories) {
    const repoTags = tags.get(repository.ref)!;
    const platformTags = options.allTags && options.platformTags ? repoTags.flatMap((t) => { const p = parsePlatformTag(t); return p ? [{ ...p, name: t }] : []; }) : [];
    const readTag = async (tag: string) => {
      const reference = `${repository.ref}:${tag}`;
      try {
        const found = await readTaggedImage(client, reference);
        return found && { image: found.image, index: found.index, platforms: found.platforms };
      } catch (e) {
        if (!isImageFault(e)) throw e;
        unreadable.push(unreadableImage(reference, (e as Error).message));
        return undefined;
      }
    };
    // Newest version first, a moving tag whose version has no build tag left among them: it still
    // serves an image, of no build tag.
    const versions = imageVersions(repoTags);
    const ordered = [...versions, ...versionsWithoutBuilds(repoTags, versions).map((version) => ({ version, builds: undefined }))]
      .sort((a, b) => compareVersions(b.version, a.version));
    for (const v of ordered) {
      if (v.builds === undefined) {
        jobs.push((async () => {
          const common = { repository, version: v.version, hasMovingTag: true, served: false, newest: false };
          const found = await readTag(v.version);
          const read: PublishedBuild[] = found ? [{ ...common, tag: v.version, served: true, ...found }] : [];
          // Its platform tags too (`{version}-linux-amd64`), of no build either.
          for (const p of platformTags.filter((t) => t.tag === v.version)) {
            const held = await readTag(p.name);
            if (held) read.push({ ...common, tag: p.name, ...held, platformTagOf: platformTagOf(read, p, held.image) });
          }
          return { read, unchecked: 0 };
        })());
        continue;
      }
      jobs.push((async () => {
        const read: PublishedBuild[] = [];
        const common = { repository, version: v.version, hasMovingTag: v.hasMovingTag };
        let served: BuildTag | undefined;
        if (v.hasMovingTag) {
          const found = await readTag(v.version);
          if (found) {
            const labelled = labelledBuild(repository.kind, repository.name, found.image.config.labels, v.builds);
            // The label names a build; it is that build only if its build tag holds this very image (or
            // index), or an index of it: then the moving tag serves one platform's image of the build.
            const buildTag = labelled && `${repository.ref}:${formatBuildTag(labelled)}`;
            const same = buildTag !== undefined && (await client.getDigest(buildTag)) === found.image.digest;
            const platform = buildTag && !same && !found.index ? await platformInIndex(client, buildTag, found.image.manifestDigest) : undefined;
            served = same || platform ? labelled : undefined;
            read.push({
              ...common, tag: v.version, build: served, served: true, newerBuild: served && newerBuildThan(served, v.builds), newest: served === v.newest, ...found,
              ...(platform ? { servedPlatformImage: platform } : {}),
            });
          }
        }
        // Without a moving tag that serves a build, the newest build is what is published of the version.
        const builds = options.allTags ? v.builds : served ? [] : [v.newest];
        for (const build of builds.filter((b) => b !== served)) {
          const found = await readTag(formatBuildTag(build));
          // Deleted between the tag list and now: not published any more.
          if (found) read.push({ ...common, tag: formatBuildTag(build), build, served: false, newest: build === v.newest, ...found });
        }
        // Each platform's own tags, after the rows of the version: its builds' first, then its moving
        // tag's, whose build is the one its label names if that build's platform tag holds this image,
        // or its build tag does (a plain image: a --no-attestations push moved the platform tag along).
        const ofBuilds = platformTags.filter((t) => v.builds.some((b) => formatBuildTag(b) === t.tag));
        for (const p of [...ofBuilds, ...platformTags.filter((t) => t.tag === v.version)]) {
          const found = await readTag(p.name);
          if (!found) continue;
          const suffix = p.name.slice(p.tag.length);
          const labelled = p.tag === v.version ? labelledBuild(repository.kind, repository.name, found.image.config.labels, v.builds) : undefined;
          const ofLabelled = labelled && read.some((r) => r.build !== undefined && formatBuildTag(r.build) === formatBuildTag(labelled) && r.image.digest === found.image.digest
            && (r.tag === `${formatBuildTag(labelled)}${suffix}` || (!r.platformTagOf && !r.index)));
          const build = parseBuildTag(p.tag) ?? (ofLabelled ? labelled : undefined);
          read.push({ ...common, tag: p.name, build, served: false, newest: build !== undefined && formatBuildTag(build) === formatBuildTag(v.newest), ...found, platformTagOf: platformTagOf(read, p, found.image) });
        }
        const covered = new Set(read.map((r) => r.build && formatBuildTag(r.build)));
        return { read, unchecked: v.builds.filter((b) => !covered.has(formatBuildTag(b))).length };
      })());
    }
  }
  const done = await Promise.all(jobs);
  // In a fixed order, whatever order the reads ended in.
  unreadable.sort((a, b) => a.reference.localeCompare(b.reference));
  return { builds: done.flatMap((d) => d.read), tags, unchecked: done.reduce((n, d) => n + d.unchecked, 0), unreadable };
}

/**
 * A platform tag's `platformTagOf`: does it hold its tag's image of the platform? Judged on that
 * tag's row among `read`, or for the build its version's moving tag serves (whose build tag is not
 * listed apart), on the moving tag's row: the same index, or that platform's image of it.
 */
function platformTagOf(read: readonly PublishedBuild[], p: { tag: string; platform: string }, image: RegistryImage): NonNullable<PublishedBuild["platformTagOf"]> {
  const of = read.find((r) => r.tag === p.tag && !r.platformTagOf)
    ?? read.find((r) => !r.platformTagOf && r.served && r.build !== undefined && formatBuildTag(r.build) === p.tag && !r.servedPlatformImage);
  if (!of) return { tag: p.tag, platform: p.platform };
  return { tag: p.tag, platform: p.platform, holdsTagImage: of.platforms.some((i) => i.platform === p.platform && i.image.manifestDigest === image.manifestDigest) };
}

export interface Affected {
  build: PublishedBuild;
  /** The platform image of an index that has the layer (an index's platforms can differ); undefined for a plain image. */
  platform?: string;
  breadcrumbs: Breadcrumbs;
  match: LayerMatch;
}

/**
 * Published images (both `rel/` and `sci/`, but the layer's own repository) whose breadcrumbs hold
 * the queried layer, each with whether it has the layer's newest published build: the image each
 * moving tag serves (see listPublishedImages), and with `allTags` every build tag too.
 */
export async function findAffected(client: RegistryClient, repositories: Repository[], query: LayerQuery, options: { allTags?: boolean } = {}): Promise<{ affected: Affected[]; newest: Map<string, BuildTag>; known: Map<string, BuildTag[]>; unchecked: number; unreadable: UnreadableImage[] }> {
  const own = repositories.find((r) => r.kind === "sci" && r.name === query.target);
  const others = repositories.filter((r) => r !== own);
  const [layerTags, { builds, tags, unchecked, unreadable }] = await Promise.all([
    own ? client.listTags(own.ref) : Promise.resolve([] as string[]),
    // (Without platform tags: their images are their indexes', which are checked.)
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
    // Each platform of an index on its own: its image may hold the layer where another's does not.
    for (const { platform, image } of build.platforms) {
      const breadcrumbs = readBreadcrumbs(image.config.labels, image.config.history);
      for (const c of breadcrumbs.science) seen(c.target, c.build);
      const match = matchLayer(breadcrumbs.science.find((c) => c.target === query.target), query, newest);
      if (match) affected.push({ build, platform: build.index ? platform : undefined, breadcrumbs, match });
    }
  }
  // Per image version, the moving tag first, then its builds oldest first.
  const order = (a: PublishedBuild) => [a.repository.kind, a.repository.name, a.version] as const;
  affected.sort((x, y) => {
    const [a, b] = [order(x.build), order(y.build)];
    return a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]) || a[2].localeCompare(b[2])
      || Number(y.build.served) - Number(x.build.served) || (x.build.build && y.build.build ? compareBuilds(x.build.build, y.build.build) : 0);
  });
  return { affected, newest, known, unchecked, unreadable };
}
