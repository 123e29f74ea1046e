// What an image index (OCI index, Docker manifest list) holds, and which tags of a repository are
// no images of their own, decided without I/O: the descriptor its entries are, which entry is the
// image of a platform (one rule for every reader of an index), the registry commands showing an
// index as one image with its platforms, skipping the attestation manifests stored beside the
// platform images, and listing platform tags (`{version}-{n}-{h}-linux-arm64`, what the index's
// entries are pushed under) as image versions only when asked.
import { InputError } from "../model.js";
import { normalizePlatform } from "../execute/platforms.js";
import { isMovingTag, parseBuildTag } from "../report/published.js";
import { isAttestationEntry } from "../attestations/manifest.js";

export const INDEX_MEDIA_TYPES: readonly string[] = ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
export const IMAGE_MANIFEST_MEDIA_TYPES: readonly string[] = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];

export const isIndexMediaType = (mediaType: string | undefined) => INDEX_MEDIA_TYPES.includes(mediaType ?? "");

/** A platform as an index entry, or an image config, spells it (OCI: `architecture`, `os`, `variant`). */
export interface DescriptorPlatform {
  architecture?: string;
  os?: string;
  variant?: string;
}

/**
 * An OCI content descriptor: an index's entry (a platform image, an attestation manifest), a
 * manifest's config or layer. OCI requires `mediaType`, `digest` and `size`; one read from a
 * registry or a file is unchecked JSON, so a reader acting on a field checks it is there.
 */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: DescriptorPlatform;
  annotations?: Record<string, string>;
}

/**
 * An attestation manifest (BuildKit's and image-builder's provenance/SBOM), not an image: it says
 * so in its annotation, and its platform is `unknown/unknown`.
 */
export function isAttestation(entry: Pick<Descriptor, "platform" | "annotations">): boolean {
  return isAttestationEntry(entry) || entry.platform?.os === "unknown" || entry.platform?.architecture === "unknown";
}

/** `os/architecture[/variant]` of a platform as an entry or an image config spells it; undefined when it names none. */
export function formatPlatform(p: DescriptorPlatform | undefined): string | undefined {
  if (!p?.os || !p.architecture) return undefined;
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** The platform an index entry names, `os/architecture[/variant]`; undefined when it names none. */
export function platformOfEntry(entry: Pick<Descriptor, "platform">): string | undefined {
  return formatPlatform(entry.platform);
}

/** The reverse: `linux/arm/v7` as an index entry's platform (OCI's key order: architecture, os, variant). */
export function entryPlatformOf(platform: string): { architecture: string; os: string; variant?: string } {
  const [os, architecture, variant] = platform.split("/");
  return { architecture, os, ...(variant ? { variant } : {}) };
}

/**
 * The platform images of an index, in its order: image manifests with a platform. Attestation
 * manifests, nested indexes and entries without a platform are none (which platform an entry
 * without one serves is not the index's to say).
 */
export function platformEntries(entries: readonly Descriptor[]): { platform: string; entry: Descriptor }[] {
  const found: { platform: string; entry: Descriptor }[] = [];
  for (const entry of entries) {
    const platform = platformOfEntry(entry);
    if (!platform || isAttestation(entry)) continue;
    if (entry.mediaType !== undefined && !IMAGE_MANIFEST_MEDIA_TYPES.includes(entry.mediaType)) continue;
    found.push({ platform, entry });
  }
  return found;
}

/** The platform image of `wanted` among an index's `entries` (platformEntries, samePlatform); undefined when it has none. */
export function platformEntryOf(entries: readonly Descriptor[], wanted: string): Descriptor | undefined {
  return platformEntries(entries).find((e) => samePlatform(e.platform, wanted))?.entry;
}

/** Whether `platform` (as an index names it) is the `wanted` one, as containerd compares them (`linux/arm64/v8` is `linux/arm64`). */
export function samePlatform(platform: string, wanted: string): boolean {
  return normalizePlatform(platform) === normalizePlatform(wanted);
}

/**
 * Which of an index's platform images (`images`: platformEntries', or an archive's) is the image
 * of `wanted` (`os/arch[/variant]`, compared as containerd does), for every reader of an index
 * (the registry client, what a tag holds, archives, the index step). Without `wanted`: the image
 * of this machine's platform (`host`, given by the shell) where the index has one, else its one
 * image when it has only one. Bad input naming the index's platforms when it has no image of
 * `wanted`, or several and none of `host` (which one is the user's to say: an answer that
 * depended on the machine reading it would differ between machines). Undefined for an index without platform images,
 * whatever is asked: a broken image, which the caller reports as its kind of fault (the
 * registry's content, a bad file), not as a platform missing.
 */
export function imageOfPlatform<T extends { platform: string }>(images: readonly T[], wanted: string | undefined, what: string, host?: string): T | undefined {
  if (images.length === 0) return undefined;
  const platforms = () => images.map((i) => i.platform).join(", ");
  if (wanted !== undefined) {
    const found = images.find((i) => samePlatform(i.platform, wanted));
    if (!found) throw new InputError(`${what} has no ${wanted} image (it has: ${platforms()})`);
    return found;
  }
  const found = defaultImage(images, host);
  if (!found) throw new InputError(`${what} is a multi-platform image (${platforms()})${host ? ` without this machine's platform (${host})` : ""}: pass --platform P`);
  return found;
}

/** imageOfPlatform without a platform asked: `host`'s image, else the one image; undefined for several without `host`'s. */
function defaultImage<T extends { platform: string }>(images: readonly T[], host: string | undefined): T | undefined {
  return (host === undefined ? undefined : images.find((i) => samePlatform(i.platform, host))) ?? (images.length === 1 ? images[0] : undefined);
}

/**
 * The image that stands for a whole index where one row shows it (`images`: its created time,
 * size and build; README: "read from this machine's platform's image (else the first)"): the
 * default imageOfPlatform chooses, else the index's first. Every platform image of a build
 * carries the build's version label, so any of them answers for it.
 */
export function imageShownFor<T extends { platform: string }>(images: readonly T[], host: string): T | undefined {
  return defaultImage(images, host) ?? images[0];
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
  if (wanted !== undefined) {
    const found = imageOfPlatform(platforms.map((platform) => ({ platform })), wanted, what);
    if (!found) throw new InputError(`${what} has no ${wanted} image (it has: none)`);
    return found.platform;
  }
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
  const found = imageOfPlatform(available.map((platform) => ({ platform })), wanted[0], file);
  if (!found) throw new InputError(`holds an index without platform images`, file);
  return found.platform;
}
