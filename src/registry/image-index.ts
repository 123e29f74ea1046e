// What a tag of the registry holds, read as the registry commands show it: one image, or an image
// index (OCI index, Docker manifest list) of several platforms' images, each read with its config
// (labels, so breadcrumbs per platform). Attestation manifests in an index are no images.
import { formatImageReference } from "../core/parse/image-reference.js";
import { unlessImageFault } from "../core/registry/transport-rules.js";
import { imageOfPlatform, imageShownFor, isIndexMediaType, platformEntries, type Descriptor } from "../core/registry/image-index.js";
import { hostPlatform, parseJson, RegistryContentError, type RegistryClient, type RegistryImage, type RegistryManifest } from "./client.js";

export interface PlatformImage {
  platform: string;
  /** `digest` is the index's, `manifestDigest` this platform's, `reference` the tag. */
  image: RegistryImage;
}

export interface TaggedImage {
  /** The tag's digest: the index's, or the one image's manifest. */
  digest: string;
  mediaType: string;
  /** The tag holds an index. */
  index: boolean;
  /** Every platform's image, in the index's order (one for a tag holding an image). */
  platforms: PlatformImage[];
  /** `platform` when asked (imageOfPlatform's rule); else the image that stands for the index in a row: this machine's platform's, else the one, else the first. */
  image: RegistryImage;
}

/**
 * The image or index under `ref`; undefined on 404. `platform`: the one to choose (bad input when
 * the index has none such); `only`: read that platform's image alone, not every platform's.
 */
export async function readTaggedImage(client: RegistryClient, ref: string, options: { platform?: string; only?: boolean } = {}): Promise<TaggedImage | undefined> {
  const top = await client.getManifest(ref, { noIndexResolution: true });
  if (!top) return undefined;
  if (!isIndexMediaType(top.mediaType)) {
    const image = await client.imageOf(top);
    return { digest: top.digest, mediaType: top.mediaType, index: false, platforms: [{ platform: image.platform ?? "-", image }], image };
  }
  const what = formatImageReference(top.ref);
  const body = parseJson(top.bytes, `index of ${what}`) as { manifests?: Descriptor[] };
  const entries = platformEntries(Array.isArray(body.manifests) ? body.manifests : []);
  if (entries.length === 0) throw new RegistryContentError(`${what}: an index without platform images`);
  const wanted = options.platform ? imageOfPlatform(entries, options.platform, what)! : imageShownFor(entries, hostPlatform())!;
  const read = options.only ? [wanted] : entries;
  const platforms = await Promise.all(read.map(async ({ platform, entry }): Promise<PlatformImage> => {
    const manifest = await platformManifest(client, top, entry.digest);
    manifest.platform = platform;
    // The whole index's entries, attestation manifests included: a stored SBOM is found by them
    // (as unchecked as client.getManifest's own reading of an index's entries).
    manifest.indexEntries = body.manifests as RegistryManifest["indexEntries"];
    return { platform, image: await client.imageOf(manifest) };
  }));
  return { digest: top.digest, mediaType: top.mediaType, index: true, platforms, image: platforms[read.indexOf(wanted)].image };
}

/**
 * The platform whose image `manifestDigest` is in the index under `ref`; undefined when `ref` holds
 * no index, or one without that image, or cannot be read for a fault of its own (it is read, and
 * reported, as a tag of its own).
 */
export async function platformInIndex(client: RegistryClient, ref: string, manifestDigest: string): Promise<string | undefined> {
  return unlessImageFault((async () => {
    const top = await client.getManifest(ref, { noIndexResolution: true });
    if (!top || !isIndexMediaType(top.mediaType)) return undefined;
    const body = parseJson(top.bytes, `index of ${formatImageReference(top.ref)}`) as { manifests?: Descriptor[] };
    return platformEntries(Array.isArray(body.manifests) ? body.manifests : []).find((e) => e.entry.digest === manifestDigest)?.platform;
  })());
}

/** Every manifest an index names (platform images and attestations), with their bytes, for export. */
export async function readIndexManifests(client: RegistryClient, top: RegistryManifest): Promise<RegistryManifest[]> {
  const body = parseJson(top.bytes, `index of ${formatImageReference(top.ref)}`) as { manifests?: Descriptor[] };
  return Promise.all((body.manifests ?? []).map((e) => platformManifest(client, top, e.digest)));
}

/** The manifest `digest` of the index `top`, as the tag's image (`digest`: the index's). */
async function platformManifest(client: RegistryClient, top: RegistryManifest, digest: string): Promise<RegistryManifest> {
  const what = formatImageReference(top.ref);
  const ref = { ...top.ref, tag: undefined, digest };
  const manifest = await client.getManifest(ref);
  if (!manifest) throw new RegistryContentError(`${what}: the index names manifest ${digest}, which the registry does not have`, 404);
  if (manifest.manifestDigest !== digest) throw new RegistryContentError(`${what}: the index names manifest ${digest}, an index itself (nested indexes are not read)`);
  return { ...manifest, ref: top.ref, digest: top.digest };
}
