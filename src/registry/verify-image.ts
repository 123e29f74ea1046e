// `verify IMAGE` (issue 19, item 5): reads what the registry holds for an image and runs the
// checks on it. Each check is a function of the image as read (VerifyTarget) returning its
// judgments, so another check (the attestations' subjects, say) is one more entry in IMAGE_CHECKS.
import type { KeyObject } from "node:crypto";
import { formatImageReference, parseImageReference, type ImageReference } from "../core/parse/image-reference.js";
import { dockerReference } from "../core/signatures/cosign.js";
import { judgeSignatures } from "../core/signatures/verify.js";
import { expectedParents, judgeOwnBuild, judgeParent, ownBuildTags, type VerifyCheck } from "../core/verify/checks.js";
import { RegistryError, type RegistryClient, type RegistryImage } from "./client.js";
import { withPlatformSuffix } from "../core/requests/tags.js";
import { InputError } from "../core/model.js";
import { readSignatures } from "./signatures.js";
import { checkAttestations } from "./attestations.js";
import { isAttestationEntry } from "../core/attestations/manifest.js";
import { isIndexMediaType, parsePlatformTag, platformEntries, type Descriptor } from "../core/registry/image-index.js";

/** One image manifest of the target: the target itself, or a platform image of its index. */
export interface VerifyManifest {
  digest: string;
  /** `os/arch[/variant]` when read from an index (or from the image's config). */
  platform?: string;
  labels: Record<string, string>;
  /** Its layer blobs' digests. */
  layers: string[];
  /**
   * Why the image could not be read (its config blob, or the manifest an index names, is not in
   * the registry): nobody can pull it, and what its labels would say is unknown ({} here).
   */
  unreadable?: string;
}

/** An image as `verify` reads it. */
export interface VerifyTarget {
  reference: string;
  ref: ImageReference;
  /** What the reference resolves to: the index of a multi-platform image, else the image manifest. */
  digest: string;
  mediaType: string;
  /** The index's entries as the registry serves them (attestation manifests included); [] for an image manifest. */
  entries: Descriptor[];
  /** The platform images (the image itself for an image manifest). */
  images: VerifyManifest[];
}

/** The image `reference` names, with each platform image's labels; undefined when the registry has no such image. */
export async function readVerifyTarget(client: RegistryClient, reference: string): Promise<VerifyTarget | undefined> {
  const ref = parseImageReference(reference);
  if (!ref.tag && !ref.digest) ref.tag = "latest";
  const top = await client.getManifest(ref, { noIndexResolution: true });
  if (!top) return undefined;
  const repo = { registry: ref.registry, repository: ref.repository };
  if (!isIndexMediaType(top.mediaType)) {
    const image = await readImage(client, formatImageReference({ ...repo, digest: top.digest }), top.digest);
    if (!image) throw new RegistryError(`${reference}: manifest ${top.digest} went away while it was read`);
    return { reference, ref, digest: top.digest, mediaType: top.mediaType, entries: [], images: [image] };
  }
  const entries = top.indexEntries ?? [];
  const images = await Promise.all(platformEntries(entries).map(async ({ platform, entry }) => {
    const image = await readImage(client, formatImageReference({ ...repo, digest: entry.digest }), entry.digest, platform);
    return image ?? { digest: entry.digest, platform, labels: {}, layers: [], unreadable: `the index names ${entry.digest}, which the registry does not have` };
  }));
  return { reference, ref, digest: top.digest, mediaType: top.mediaType, entries, images };
}

/**
 * One image of the target; undefined when the registry has no such manifest. A manifest whose
 * config blob is gone (or is no config) is an image that fails its checks, not an error of verify.
 */
async function readImage(client: RegistryClient, reference: string, digest: string, platform?: string): Promise<VerifyManifest | undefined> {
  const read = await client.imageOrBroken(reference, { noIndexResolution: true });
  if (!read) return undefined;
  const layers = read.manifest?.layers.map((l) => l.digest) ?? [];
  if (read.image) return { digest, platform: platform ?? read.image.platform, labels: read.image.config.labels, layers };
  return { digest, platform, labels: {}, layers, unreadable: read.broken };
}

export interface VerifyOptions {
  /** `--key`: the public key signatures must verify with. */
  key: KeyObject;
  /** `--no-attestations`: an image published without them (a single image, not an index) is not a failure. */
  attestationsOptional?: boolean;
}

export type ImageCheck = (client: RegistryClient, target: VerifyTarget, options: VerifyOptions) => Promise<VerifyCheck[]>;

/** Each platform image is the build its tag names (its own version label): not an older build copied under the tag. */
export const verifyBuild: ImageCheck = async (client, target) => {
  const checks = judgeOwnBuild(target.ref, readable(target));
  // Of a moving tag: its build's own tag is there too (a retention policy may keep version tags
  // only); what is built on it, and its attestations, name that tag.
  const name = /(?:sci|rel)\/[^/]+$/.exec(target.ref.repository)?.[0];
  const missing = await Promise.all(ownBuildTags(target.ref, readable(target)).map(async (tag) => {
    const ref = formatImageReference({ ...target.ref, tag, digest: undefined });
    return (await client.getDigest(ref)) === undefined ? { ref, tag } : undefined;
  }));
  return [...checks, ...missing.flatMap((m) => (m ? [{
    check: "build", subject: `${name}:${m.tag}`, ok: false,
    detail: `its build's own tag ${m.ref} is gone: the images built on it look for it there (--reconcile --push writes it again while the image is under its platform build tag)`,
  }] : []))];
};

/** The images whose labels could be read: an unreadable one fails the layers check, and no label can be judged. */
const readable = (target: VerifyTarget) => target.images.filter((i) => i.unreadable === undefined);

/** The signature of the reference's digest and, for an index, of each platform image (as image-builder signs them). */
export const verifySignatures: ImageCheck = async (client, target, { key }) => {
  const isIndex = target.entries.length > 0 || isIndexMediaType(target.mediaType);
  const subjects = [
    { subject: `${isIndex ? "index" : "image"} ${target.digest}`, digest: target.digest },
    ...(isIndex ? target.images.map((i) => ({ subject: `${i.platform} ${i.digest}`, digest: i.digest })) : []),
  ];
  const repository = dockerReference(target.ref);
  return Promise.all(subjects.map(async ({ subject, digest }) => {
    const held = await readSignatures(client, target.ref, digest);
    const verdict = judgeSignatures({ repository, digest }, held?.found, key, held?.unreadable);
    return { check: "signature", subject, ...verdict };
  }));
};

/**
 * The science layers each platform image was built on are what the registry holds under their
 * build tags (the labels it inherited name them): a parent's build tag re-pushed with another
 * build fails.
 */
export const verifyParents: ImageCheck = async (client, target) => {
  const isIndex = target.entries.length > 0;
  // A platform tag (`…:1.0-linux-amd64`, the bare image) is judged on its parents' platform build
  // tags first, as a run judges it: its parents' indexes may not be written (yet, or at all).
  const platformTag = !isIndex && target.ref.tag !== undefined ? parsePlatformTag(target.ref.tag)?.platform : undefined;
  const perImage = await Promise.all(readable(target).map((image) =>
    judgeParentsInRegistry(client, target.ref, image.labels, { platform: image.platform, platformTag, shownPlatform: isIndex ? image.platform : undefined })));
  return perImage.flat();
};

/**
 * Each parent an image's `labels` name (expectedParents) judged against what the registry holds
 * under the parent's build tag, for `platform` (a parent published as an index is read for it).
 * `platformTag`: the image is that platform's image under its platform tag, and the parent's tag
 * of that platform is asked first (a parent's index is written after its children's platform
 * images may be pushed, or only by merge-platforms). `shownPlatform` is named in each subject.
 * What verify checks, and a run before it reuses a registry's image (executors/docker/reuse.ts).
 */
export async function judgeParentsInRegistry(
  client: RegistryClient, ref: Pick<ImageReference, "registry" | "repository">, labels: Record<string, string>,
  o: { platform?: string; platformTag?: string; shownPlatform?: string } = {},
): Promise<VerifyCheck[]> {
  return Promise.all(expectedParents(ref, labels).map(async (parent) => {
    const tags = o.platformTag ? [withPlatformSuffix(parent.buildTag, o.platformTag), parent.buildTag] : [parent.buildTag];
    let held: RegistryImage | undefined;
    for (const tag of tags) {
      // Labels are the image's own text: one that makes no reference is a failed check, not an error of verify's.
      const read = await client.imageOrBroken(tag, o.platform ? { platform: o.platform } : {}).catch((e: Error) => {
        if (e instanceof InputError) return { broken: `its labels name it by no image reference (${e.message})`, image: undefined };
        throw e;
      });
      // Its config blob lost (or an index naming a manifest it lacks): not the build this image was built on, as far as anyone can tell.
      if (read?.broken) return { ...judgeParent(parent, undefined, o.shownPlatform), detail: `the registry's image under ${tag} can't be read (${read.broken})` };
      held = read?.image;
      if (held) break;
    }
    return judgeParent(parent, held?.config.labels, o.shownPlatform);
  }));
}

/**
 * The attestations of each platform image (issue 19, item 5): there, about the image's own digest,
 * untampered, and naming parents the registry still holds under their build tags (checkAttestations).
 * A single image (or an index without any) has none: a failure, unless `--no-attestations` says it
 * was published without them (a tag moved to a signed platform image would otherwise pass without
 * its provenance).
 */
export const verifyAttestations: ImageCheck = async (client, target, { attestationsOptional }) => {
  const isIndex = target.entries.length > 0 || isIndexMediaType(target.mediaType);
  if (!isIndex) {
    // A platform tag (`…:1.0-7-3f2a9c1-linux-amd64`) holds the bare image: its attestations are in the layer's index.
    const platformTag = target.ref.tag === undefined ? undefined : parsePlatformTag(target.ref.tag);
    const why = platformTag
      ? `a platform image: its attestations are in the index under ${formatImageReference({ ...target.ref, tag: platformTag.tag })}; verify that tag`
      : "a single image, not an index: it has no attestations (published with --no-attestations? verify --no-attestations accepts that)";
    return [{ check: "attestations", subject: `image ${target.digest}`, ok: attestationsOptional === true,
      detail: attestationsOptional ? "a single image, published without attestations (--no-attestations)" : why }];
  }
  if (attestationsOptional && !target.entries.some(isAttestationEntry)) {
    return [{ check: "attestations", subject: `index ${target.digest}`, ok: true, detail: "an index without attestations (--no-attestations)" }];
  }
  const problems = [...new Set(await checkAttestations(client, formatImageReference({ ...target.ref, tag: undefined, digest: target.digest })))];
  if (problems.length === 0) {
    return [{ check: "attestations", subject: `index ${target.digest}`, ok: true, detail: `provenance and SBOM of ${target.images.map((i) => i.platform).join(", ")}, about each image's digest; the parents they name are under their build tags` }];
  }
  return problems.map((detail) => ({ check: "attestations", subject: `index ${target.digest}`, ok: false, detail }));
};

/**
 * Every layer of each platform image is in the registry (a HEAD each), and its manifest and config
 * were read: a blob deleted by hand or by a garbage collection leaves a manifest, a signature and
 * attestations that check out, and an image nobody can pull.
 */
export const verifyLayers: ImageCheck = async (client, target) => Promise.all(target.images.map(async (image) => {
  const subject = `${image.platform ?? "image"} ${image.digest}`;
  if (image.unreadable) return { check: "layers", subject, ok: false, detail: `${image.unreadable}: the image can't be pulled` };
  const missing = (await Promise.all(image.layers.map(async (digest) => ((await client.hasBlob(target.ref, digest)) ? undefined : digest)))).filter((d) => d !== undefined);
  return missing.length === 0
    ? { check: "layers", subject, ok: true, detail: `all ${image.layers.length} in the registry` }
    : { check: "layers", subject, ok: false, detail: `the registry does not have ${missing.length === 1 ? "layer" : "layers"} ${missing.join(", ")}: the image can't be pulled` };
}));

/** Every check `verify` makes, in the order it prints them. */
export const IMAGE_CHECKS: ImageCheck[] = [verifyBuild, verifyLayers, verifySignatures, verifyParents, verifyAttestations];

export async function verifyImage(client: RegistryClient, target: VerifyTarget, options: VerifyOptions, checks: ImageCheck[] = IMAGE_CHECKS): Promise<VerifyCheck[]> {
  const results: VerifyCheck[] = [];
  for (const check of checks) results.push(...(await check(client, target, options)));
  return results;
}
