// What the registry's published images say, read without I/O: build tags `{version}-{n}-{h}`,
// the newest build of each version, the breadcrumb labels of an image in build order, and
// whether an image carries the newest build of a science layer.
import { compareVersions } from "../parse/versions.js";
import { buildtimeLabel, inputsLabel, versionLabel } from "../requests/inputs-digest.js";

export interface BuildTag {
  version: string;
  /** Build number: commits on the branch when it was built. */
  number: number;
  hash: string;
}

const BUILD_TAG = /^(\d+(?:\.\d+)*)-(\d+)-([0-9a-f]{4,40})$/;
const MOVING_TAG = /^\d+(?:\.\d+)*$/;

/** A version tag, `2.4`: the tag that moves to the newest build of the version. */
export const isMovingTag = (tag: string) => MOVING_TAG.test(tag);

/** `2.4-7-3f2a9c1` -> its parts; undefined for anything else (`2.4`, `latest`). */
export function parseBuildTag(tag: string): BuildTag | undefined {
  const m = BUILD_TAG.exec(tag);
  return m ? { version: m[1], number: Number(m[2]), hash: m[3] } : undefined;
}

export function formatBuildTag(b: BuildTag): string {
  return `${b.version}-${b.number}-${b.hash}`;
}

/** Older first: by version (numerically, 2.10 > 2.9), then build number. */
export function compareBuilds(a: BuildTag, b: BuildTag): number {
  return compareVersions(a.version, b.version) || a.number - b.number;
}

export interface ImageVersion {
  version: string;
  /** Every build of the version, oldest first. */
  builds: BuildTag[];
  newest: BuildTag;
  /** Whether the moving tag `{version}` exists. */
  hasMovingTag: boolean;
}

/** A repository's tags grouped by version, newest version first. */
export function imageVersions(tags: string[]): ImageVersion[] {
  const byVersion = new Map<string, BuildTag[]>();
  for (const tag of tags) {
    const b = parseBuildTag(tag);
    if (b) {
      const list = byVersion.get(b.version) ?? [];
      list.push(b);
      byVersion.set(b.version, list);
    }
  }
  const moving = new Set(tags.filter(isMovingTag));
  return [...byVersion.entries()]
    .map(([version, builds]) => {
      builds.sort(compareBuilds);
      return { version, builds, newest: builds[builds.length - 1], hasMovingTag: moving.has(version) };
    })
    .sort((a, b) => compareVersions(b.version, a.version));
}

/**
 * The versions of a repository whose moving tag `{version}` is there without any build tag (deleted
 * by hand or by a retention policy that keeps "latest"-style tags): what users pull of them is
 * published all the same, and must not be left out of what is listed and searched.
 */
export function versionsWithoutBuilds(tags: string[], versions: readonly ImageVersion[] = imageVersions(tags)): string[] {
  const withBuilds = new Set(versions.map((v) => v.version));
  return tags.filter((t) => isMovingTag(t) && !withBuilds.has(t)).sort((a, b) => compareVersions(b, a));
}

const sameBuild = (a: BuildTag, b: BuildTag) => compareBuilds(a, b) === 0 && a.hash === b.hash;

/**
 * Which build of a repository's version the image under its moving tag `{version}` is, from the
 * image's own version label (a `sci/` image's science label, a `rel/` image's compat label
 * `{image}:{build}`): one of `builds` (the version's build tags), or undefined (an image put there
 * by hand, or of a build whose tag is gone). The caller checks that the build tag holds this image.
 */
export function labelledBuild(kind: "sci" | "rel", name: string, labels: Record<string, string>, builds: readonly BuildTag[]): BuildTag | undefined {
  const value = kind === "sci" ? labels[versionLabel("science", name)] : labels[versionLabel("compat", "")]?.replace(/^.*:/, "");
  const build = value === undefined ? undefined : parseBuildTag(value);
  return build && builds.find((b) => sameBuild(b, build));
}

/**
 * The newest build of the version newer than the one its moving tag serves: a moving tag only
 * moves forward, so it deliberately stays on a build (a rollback with --allow-tag-rollback, an
 * older commit run again) while a newer build tag exists. undefined: none is newer.
 */
export function newerBuildThan(served: BuildTag, builds: readonly BuildTag[]): BuildTag | undefined {
  const newer = builds.filter((b) => compareBuilds(b, served) > 0).sort(compareBuilds);
  return newer[newer.length - 1];
}

/**
 * What `images` says of the moving tag `{version}` on a row: it serves this build (and, neutrally,
 * a newer build it does not serve), or only one platform's image of this build's index
 * (`servedPlatformImage`: a publish that stopped between the index's two tags, a tag set by hand),
 * it serves an image of no build tag, or (a row of a build it does not serve) nothing, or that
 * the version has no moving tag.
 */
export function movingTagText(row: { served: boolean; build?: BuildTag; newerBuild?: BuildTag; hasMovingTag: boolean; servedPlatformImage?: string }): string {
  if (!row.served) return row.hasMovingTag ? "-" : "no {version} tag";
  if (!row.build) return "serves an image of no build tag";
  const what = row.servedPlatformImage ? `serves its ${row.servedPlatformImage} image, not its index` : "serves this";
  return row.newerBuild ? `${what}; newer build ${formatBuildTag(row.newerBuild)} not served` : what;
}

/** A published tag (or one platform image of an index) that could not be read, and why. */
export interface UnreadableImage {
  reference: string;
  error: string;
}

/** An image that could not be read: its reference, and the error without the reference it starts with. */
export function unreadableImage(reference: string, message: string): UnreadableImage {
  return { reference, error: message.startsWith(`${reference}: `) ? message.slice(reference.length + 2) : message };
}

/**
 * What the answer of a registry query (`images`, `contains`, `contains --package`) does not
 * cover: build tags it did not read (no moving tag serves them; `--all-tags` reads them), and
 * images it could not read (each left out; the others are answered).
 */
export interface Coverage {
  uncheckedBuildTags: number;
  unreadable: UnreadableImage[];
}

/**
 * What stderr says of what an answer does not cover, so that "no published image contains" is
 * never read as more than it is: a warning per image that could not be read (the command then
 * exits 1: its answer is incomplete), and a note of the build tags not checked (`--json` has the
 * count instead).
 */
export function coverageLines(c: Coverage): { warnings: string[]; notes: string[] } {
  const n = c.uncheckedBuildTags;
  return {
    warnings: c.unreadable.map((u) => `image-builder: warning: ${u.reference}: left out, cannot be read: ${u.error}`),
    notes: n > 0 ? [`image-builder: note: checked what each moving tag {version} serves; ${n} build tag${n === 1 ? "" : "s"} no moving tag serves not checked (--all-tags checks every build)`] : [],
  };
}

/** What a query that found nothing prints (`contains sci/x`, `contains a package numpy`): of the images it could read, when some could not be. */
export function nothingFound(what: string, c: Pick<Coverage, "unreadable">): string {
  const n = c.unreadable.length;
  return n === 0 ? `no published image contains ${what}` : `no published image that could be read contains ${what} (${n} could not be read, see above)`;
}

/** One science layer recorded in an image's labels. */
export interface ScienceCrumb {
  target: string;
  /** Raw label value; `build` when it parses as `{version}-{n}-{h}`. */
  value: string;
  build?: BuildTag;
  buildtime?: number;
  inputs?: string;
}

export interface CompatCrumb {
  image: string;
  value: string;
  build?: BuildTag;
  buildtime?: number;
  inputs?: string;
}

export interface Breadcrumbs {
  /** Science layers in build order, base first. */
  science: ScienceCrumb[];
  compat?: CompatCrumb;
  /** How `science` was ordered. */
  order: "history" | "buildtime";
}

const SCIENCE_LABEL = /^org\.sciserver\.science\.(.+)\.(version|buildtime|inputs)$/;

/**
 * The breadcrumb trail in an image's labels. Build order comes from the image's history: the
 * step that set a layer's version label is where that layer was built, base first (labels are
 * inherited, so the trail alone has no order). Layers the history does not show (squashed
 * images, labels set outside the Dockerfile) follow, by buildtime, then name.
 */
export function readBreadcrumbs(labels: Record<string, string>, history: { createdBy?: string }[] = []): Breadcrumbs {
  const science = new Map<string, ScienceCrumb>();
  for (const [key, value] of Object.entries(labels)) {
    const m = SCIENCE_LABEL.exec(key);
    if (!m) continue;
    const crumb = science.get(m[1]) ?? { target: m[1], value: "" };
    if (m[2] === "version") {
      crumb.value = value;
      crumb.build = parseBuildTag(value);
    } else if (m[2] === "buildtime") crumb.buildtime = parseBuildtime(value);
    else crumb.inputs = value;
    science.set(m[1], crumb);
  }
  const crumbs = [...science.values()].filter((c) => c.value);
  const step = (c: ScienceCrumb) => history.findIndex((h) => h.createdBy?.includes(versionLabel("science", c.target)) ?? false);
  const position = new Map(crumbs.map((c) => [c.target, step(c)]));
  const allInHistory = crumbs.every((c) => position.get(c.target)! >= 0);
  crumbs.sort((a, b) => {
    const pa = position.get(a.target)!;
    const pb = position.get(b.target)!;
    if (pa >= 0 && pb >= 0) return pa - pb;
    if (pa >= 0 || pb >= 0) return pa >= 0 ? -1 : 1;
    return (a.buildtime ?? 0) - (b.buildtime ?? 0) || a.target.localeCompare(b.target);
  });
  let compat: CompatCrumb | undefined;
  const compatValue = labels[versionLabel("compat", "")];
  if (compatValue) {
    const colon = compatValue.lastIndexOf(":");
    compat = {
      image: colon > 0 ? compatValue.slice(0, colon) : compatValue,
      value: compatValue,
      build: colon > 0 ? parseBuildTag(compatValue.slice(colon + 1)) : undefined,
      buildtime: parseBuildtime(labels[buildtimeLabel("compat", "")]),
      inputs: labels[inputsLabel("compat", "")],
    };
  }
  return { science: crumbs, compat, order: allInHistory ? "history" : "buildtime" };
}

const EPOCH = /^\d+(?:\.\d+)?$/;
const RFC3339 = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * A buildtime label as epoch seconds, whoever wrote it: epoch seconds (this tool writes
 * `1763900000.123`, the original tool Python's `1639077081.9336998`, older plans whole seconds)
 * or an RFC 3339 time, with or without a fraction, `Z` or an offset. Anything else: undefined.
 */
export function parseBuildtime(value: string | undefined): number | undefined {
  const text = value?.trim() ?? "";
  if (EPOCH.test(text)) return Number(text);
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  // The fraction apart: Date.parse keeps milliseconds only, and two layers built within one
  // millisecond must still sort by their labels' full precision.
  const seconds = Date.parse(`${m[1].replace(/[t ]/, "T")}${m[3].toUpperCase()}`) / 1000;
  return Number.isNaN(seconds) ? undefined : seconds + (m[2] ? Number(`0.${m[2]}`) : 0);
}

/** `sci/{target}[:{version}[-{n}-{h}]]` of `contains`. */
export interface LayerQuery {
  target: string;
  version?: string;
  build?: BuildTag;
}

export type LayerMatch =
  | { state: "newest"; has: BuildTag }
  | { state: "stale"; has: BuildTag; newest: BuildTag }
  | { state: "unknown"; has: string };

/**
 * Whether an image's crumb of the queried layer matches the query, and how it compares with
 * the newest published build of the same layer version. undefined: the image is not affected.
 */
export function matchLayer(crumb: ScienceCrumb | undefined, query: LayerQuery, newestByVersion: Map<string, BuildTag>): LayerMatch | undefined {
  if (!crumb) return undefined;
  if (!crumb.build) return query.version ? undefined : { state: "unknown", has: crumb.value };
  const has = crumb.build;
  if (query.version && compareVersions(has.version, query.version) !== 0) return undefined;
  if (query.build && (has.number !== query.build.number || has.hash !== query.build.hash)) return undefined;
  const newest = newestByVersion.get(has.version);
  if (newest && compareBuilds(newest, has) > 0) return { state: "stale", has, newest };
  return { state: "newest", has };
}

/**
 * Why `contains` cannot answer for a layer, version or build nothing published has (a misspelt
 * target, a version that does not exist): in a security check a typo must not read as "no image
 * is affected". `known`: every science layer the registry publishes or an image's breadcrumbs
 * name, with the builds seen of it. undefined: the query names something published.
 */
export function unpublishedLayer(query: LayerQuery, known: ReadonlyMap<string, readonly BuildTag[]>, repo: string): string | undefined {
  const builds = known.get(query.target);
  if (!builds) {
    const names = [...known.keys()].sort().map((t) => `sci/${t}`);
    return `sci/${query.target}: no such science layer is published under ${repo}; ${names.length ? `published: ${names.join(", ")}` : "none is"}`;
  }
  const { version, build } = query;
  if (version === undefined) return undefined;
  const ofVersion = builds.filter((b) => compareVersions(b.version, version) === 0);
  if (ofVersion.length === 0) {
    const versions = [...new Set(builds.map((b) => b.version))].sort(compareVersions);
    return `sci/${query.target}:${version}: no build of version ${version} is published under ${repo}; published versions: ${versions.join(", ") || "none recorded"}`;
  }
  if (build && !ofVersion.some((b) => sameBuild(b, build))) {
    const tags = [...new Set([...ofVersion].sort(compareBuilds).map(formatBuildTag))];
    return `sci/${query.target}:${formatBuildTag(build)}: no such build is published under ${repo}; published builds of ${version}: ${tags.join(", ")}`;
  }
  return undefined;
}

/** Newest published build per version, from a layer repository's tags. */
export function newestBuilds(tags: string[]): Map<string, BuildTag> {
  return new Map(imageVersions(tags).map((v) => [v.version, v.newest]));
}

/**
 * The `sci/` and `rel/` repositories under `repoPath` (the path part of --repo, maybe empty) in
 * a catalog, as `{kind, name, path}` with path relative to the registry.
 */
export function publishedRepositories(catalog: string[], repoPath: string): { kind: "sci" | "rel"; name: string; path: string }[] {
  const prefix = repoPath ? `${repoPath}/` : "";
  const found: { kind: "sci" | "rel"; name: string; path: string }[] = [];
  for (const path of catalog) {
    if (!path.startsWith(prefix)) continue;
    const m = /^(sci|rel)\/([^/]+)$/.exec(path.slice(prefix.length));
    if (m) found.push({ kind: m[1] as "sci" | "rel", name: m[2], path });
  }
  return found.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}
