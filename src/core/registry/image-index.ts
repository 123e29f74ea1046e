// What an image index (OCI index, Docker manifest list) holds, and which tags of a repository are
// no images of their own, decided without I/O: the registry commands show an index as one image
// with its platforms, skip the attestation manifests stored beside the platform images, and list
// platform tags (`{version}-{n}-{h}-linux-arm64`, what the index's entries are pushed under) as
// image versions only when asked.
import { InputError } from "../model.js";
import { normalizePlatform } from "../execute/platforms.js";
import { isMovingTag, parseBuildTag } from "../report/published.js";
import { isAttestationEntry } from "../attestations/manifest.js";

export const INDEX_MEDIA_TYPES: readonly string[] = ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
export const IMAGE_MANIFEST_MEDIA_TYPES: readonly string[] = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];

export const isIndexMediaType = (mediaType: string | undefined) => INDEX_MEDIA_TYPES.includes(mediaType ?? "");

/** An entry of an index, as its JSON has it. */
export interface IndexEntry {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

/**
 * An attestation manifest (BuildKit's and image-builder's provenance/SBOM), not an image: it says
 * so in its annotation, and its platform is `unknown/unknown`.
 */
export function isAttestation(entry: IndexEntry): boolean {
  return isAttestationEntry(entry) || entry.platform?.os === "unknown" || entry.platform?.architecture === "unknown";
}

/** `os/architecture[/variant]` of an entry; undefined when it names none. */
export function entryPlatform(entry: IndexEntry): string | undefined {
  const p = entry.platform;
  if (!p?.os || !p.architecture) return undefined;
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** The platform images of an index, in its order: image manifests with a platform, attestations left out. */
export function platformEntries(entries: readonly IndexEntry[]): { platform: string; entry: IndexEntry }[] {
  const found: { platform: string; entry: IndexEntry }[] = [];
  for (const entry of entries) {
    const platform = entryPlatform(entry);
    if (!platform || isAttestation(entry)) continue;
    if (entry.mediaType !== undefined && !IMAGE_MANIFEST_MEDIA_TYPES.includes(entry.mediaType)) continue;
    found.push({ platform, entry });
  }
  return found;
}

/** Whether `platform` (as an index names it) is the `wanted` one, as containerd compares them (`linux/arm64/v8` is `linux/arm64`). */
export function samePlatform(platform: string, wanted: string): boolean {
  return normalizePlatform(platform) === normalizePlatform(wanted);
}

/**
 * The platform image of an index for `wanted`; bad input naming what the index has when it has
 * no such platform.
 */
export function choosePlatformEntry<T extends { platform: string }>(images: readonly T[], wanted: string, what: string): T {
  const found = images.find((i) => samePlatform(i.platform, wanted));
  if (!found) throw new InputError(`${what} has no ${wanted} image (it has: ${images.map((i) => i.platform).join(", ") || "none"})`);
  return found;
}

/**
 * The platform `export` writes of an index whose platform images are `platforms` (attestation
 * manifests are none): the one `wanted` names (as the index spells it); in a docker-archive, which
 * holds one image, the index's one platform when it has one (an image published with its
 * attestations: not ambiguous); undefined for the whole index, which an OCI layout holds. A
 * docker-archive of an index of several platforms without `wanted` is bad input: which platform
 * is the user's to say, not this machine's (a file whose platform depended on where it was
 * written would be wrong on the agent it is handed to).
 */
export function platformToExport(platforms: readonly string[], wanted: string | undefined, format: "docker-archive" | "oci", what: string): string | undefined {
  if (wanted !== undefined) return choosePlatformEntry(platforms.map((platform) => ({ platform })), wanted, what).platform;
  if (format === "oci") return undefined;
  if (platforms.length === 1) return platforms[0];
  if (platforms.length === 0) throw new InputError(`${what} is an index without platform images: nothing to write in a docker-archive (--format oci writes the index)`);
  throw new InputError(`${what} is a multi-platform image (${platforms.join(", ")}): a docker-archive holds one platform; pass --platform P, or --format oci for the whole index`);
}

// OSes Go (and so containerd, BuildKit) names platforms with: a tag suffix starting with one of
// these is a platform, not part of a version.
const OSES = "aix|android|darwin|dragonfly|freebsd|illumos|ios|js|linux|netbsd|openbsd|plan9|solaris|wasip1|windows";
const PLATFORM_TAG = new RegExp(`^(.+)-(${OSES})-([a-z0-9_]+)(?:-(v[0-9]+))?$`);

/**
 * A platform tag: a build or moving tag with a platform appended (`1.0-7-3f2a9c1-linux-arm64`,
 * `1.0-linux-arm-v7`), as each platform's image of an index is pushed; undefined for anything else.
 */
export function parsePlatformTag(tag: string): { tag: string; platform: string } | undefined {
  const m = PLATFORM_TAG.exec(tag);
  if (!m || !(parseBuildTag(m[1]) || isMovingTag(m[1]))) return undefined;
  return { tag: m[1], platform: [m[2], m[3], m[4]].filter(Boolean).join("/") };
}

/**
 * `run --base-archive` of a file holding an index: the one platform to load (as `available` spells
 * it), the plan's (`planned`; none: the engine's own, `engine`). The engine holds one image per tag, and BuildKit takes a local
 * image for a FROM line only when its platform is the build's: so one tag can serve one platform,
 * and a plan building several on this engine is refused (run each platform on its own).
 */
export function indexPlatformToLoad(planned: readonly string[], engine: string | undefined, available: readonly string[], file: string): string {
  const wanted = planned.length ? planned : engine ? [engine] : [];
  if (wanted.length !== 1) {
    throw new InputError(`holds an image index (${available.join(", ")}), and the plan builds for ${wanted.join(", ")}: the engine holds one image per tag, so one run loads one platform of it; run each platform on its own (run PLAN --platform P --base-archive FILE)`, file);
  }
  return choosePlatformEntry(available.map((platform) => ({ platform })), wanted[0], file).platform;
}
