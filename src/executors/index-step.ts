// Issue 17, item 4: a layer's image index written through the registry client, once every
// platform image of the layer is in the registry under its platform build tag (pushed by the
// engine in this run, or already there). The same step for a run (executors/docker) and for
// `merge-platforms` (split agents). Every decision is core/execute/image-index.ts's; here the
// registry is read and written. Order: the platform images' descriptors (each checked to be the
// image expected), attachments (attach hook), the index under the build tag (read back), the
// sign hook, then the moving tag (only forward, read back).
import { unlessImageFault } from "../core/registry/transport-rules.js";
import type { PlannedBuild, SignatureResult, TagResult } from "../core/model.js";
import {
  decideIndexBuildTag, decideIndexMovingTag, imageIndex, unwrittenIndex,
  type HeldIndex, type IndexLayer, type IndexResult,
} from "../core/execute/image-index.js";
import { entryPlatformOf, imageShownFor, platformEntries, platformEntryOf, type Descriptor } from "../core/registry/image-index.js";
import { InputError } from "../core/model.js";
import { isOlderBuild } from "../core/execute/moving-tag.js";
import { buildTag, movingTag } from "../core/requests/tags.js";
import { inputsLabel, versionLabel } from "../core/requests/inputs-digest.js";
import { parseImageReference } from "../core/parse/image-reference.js";
import { hostPlatform, indexImage, isIndex, type RegistryClient, type RegistryImage, type RegistryManifest } from "../registry/client.js";
import { isAttestationEntry } from "../core/attestations/manifest.js";

/** A platform image of a layer, in the registry under its platform build tag. */
export interface PlatformImage {
  platform: string;
  build: PlannedBuild;
  /** The image expected under the build's platform build tag: its config digest (the engine's image id). */
  imageId: string;
  /**
   * Its platform moving tag was not moved: it holds another run's image (the manifest's digest).
   * When that is a newer build, the layer's moving tag is left to it too.
   */
  movingTagHeld?: { tag: string; digest: string };
  /** The manifest this run's push stored under the platform build tag (not a reused image's). */
  pushedHere?: string;
}

/**
 * The attachments hook (issue 19: attestations): extra index entries for a platform image,
 * produced after it is in the registry, uploaded by the hook (blobs and manifest by digest)
 * before the index is written. They follow the platform entries, in platform order. They must be
 * deterministic for a rerun to write nothing (same bytes, same digests).
 */
export type AttachHook = ((image: {
  platform: string;
  /** The platform image as the index names it (its manifest's media type, digest and size, and platform). */
  descriptor: Descriptor;
  request: PlannedBuild["request"];
  build: PlannedBuild;
  registry: RegistryClient;
  /** `host/path/name` of the layer's repository. */
  repository: string;
}) => Promise<Descriptor[]>) & {
  /**
   * Told when a build's image is under its build tag, before the layer's index step: it may start
   * on the image's attachments then. `image`: what its push read (undefined when the run did not
   * push it: the hook reads what it needs).
   */
  pushed?: (build: PlannedBuild, image?: PushedImage) => void;
};

/** A build's image as its push left it in the registry, as the push read it. */
export interface PushedImage {
  /** Its manifest, read back from its build tag after the push (this build's image). */
  manifest: RegistryManifest;
  /**
   * Its parents of this run: build tag -> the manifest digest the registry held there just
   * before the push, checked to be the image this build was built on.
   */
  parents: Record<string, string>;
  /**
   * Its config's labels and creation time as the engine has them (the engine's image id is the
   * config's digest: the same config), so that its provenance need not read the config again.
   */
  config?: { labels: Record<string, string>; created: string };
}

/**
 * Called once the index is under the layer's build tag (read back, or found there) and before its
 * moving tag moves (issue 19: signatures). A failure stops the index step: the moving tag stays.
 */
export type IndexSignHook = (index: { registry: RegistryClient; repository: string; digest: string; size: number; mediaType: string; tag: string }) => Promise<SignatureResult | undefined>;

export interface IndexStepContext {
  registry: RegistryClient;
  /** `--overwrite`: replace an index build tag of other images. */
  overwrite: boolean;
  /** `--allow-tag-rollback`: move the moving tag back to an older build. */
  allowTagRollback: boolean;
  attach?: AttachHook;
  sign?: IndexSignHook;
  /** One line of output about the layer. */
  line: (text: string) => void;
  /** An interrupt: the step does not start, or stops before the moving tag. */
  signal?: AbortSignal;
}

const INTERRUPTED = "not pushed: interrupted";

/** Writes of a moving tag another run keeps writing at the same time, each judged again first. */
const MOVING_ATTEMPTS = 3;

/** Writes the index of `layer` from its platform images (`images`, one per member). Never throws: failures are in the result. */
export async function writeIndex(ctx: IndexStepContext, layer: IndexLayer, images: PlatformImage[]): Promise<IndexResult> {
  if (ctx.signal?.aborted) return unwrittenIndex(layer, "not pushed", INTERRUPTED);
  let digest: string | undefined;
  let signature: SignatureResult | undefined;
  const [buildResult, movingResult]: TagResult[] = [{ tag: layer.buildTag, pushed: false }, { tag: layer.movingTag, pushed: false }];
  const result = (status: IndexResult["status"], reason?: string): IndexResult => {
    for (const t of [buildResult, movingResult]) if (!t.pushed && reason) t.reason ??= reason;
    return {
      id: layer.id, platforms: Object.fromEntries(layer.members.map((m) => [m.platform, m.id])), status,
      ...(digest ? { digest } : {}), tags: [buildResult, movingResult], ...(signature ? { signature } : {}), ...(reason ? { reason } : {}),
    };
  };
  const repository = repositoryOf(layer.buildTag);
  try {
    const entries: Descriptor[] = [];
    for (const image of images) {
      const tag = buildTag(image.build.request);
      // Read again, not taken from the push's read-back: another run of this commit may have
      // pushed its image under the tag since, and the index must name what the tag holds.
      const manifest = await ctx.registry.getManifest(tag).catch((e: Error) => {
        throw new Error(`cannot read ${tag} from the registry for the index: ${e.message}`);
      });
      if (!manifest) return result("not pushed", `index not written: the registry does not hold ${tag}; ${layer.buildTag} and ${layer.movingTag} are left as they were`);
      if (manifest.digest !== manifest.manifestDigest) return result("push failed", `index not written: ${tag} holds an index, not a ${image.platform} image; ${layer.buildTag} and ${layer.movingTag} are left as they were`);
      if (manifest.config.digest !== image.imageId) {
        return result("superseded", `index not written: ${tag} holds another image (${manifest.config.digest}) than this ${image.platform} build (${image.imageId}); ${layer.buildTag} and ${layer.movingTag} are left as they were`);
      }
      entries.push({ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length, platform: entryPlatformOf(image.platform) });
    }
    const attachments: Descriptor[] = [];
    if (ctx.attach) {
      for (const [i, image] of images.entries()) {
        attachments.push(...await ctx.attach({ platform: image.platform, descriptor: entries[i], request: image.build.request, build: image.build, registry: ctx.registry, repository }));
      }
    }
    const index = imageIndex(entries, attachments);
    digest = index.digest;
    const expected = Object.fromEntries(images.map((i) => [i.platform, i.build.request.inputsDigest]));

    // The build tag: written once, never moved to an index of other images.
    const held = await heldIndex(ctx, layer.buildTag, images, index.digest);
    const decision = decideIndexBuildTag({ tag: layer.buildTag, digest: index.digest, expected, held, overwrite: ctx.overwrite, images: entries.map((e) => e.digest) });
    if (decision.action === "superseded") {
      buildResult.registryDigest = held!.digest;
      const restored = await restoreIndexedImages(ctx, layer.buildTag, images, entries.map((e) => e.digest));
      return result("superseded", restored.length ? `${decision.reason}; ${restored.join("; ")}` : decision.reason);
    }
    if (decision.action === "refuse") {
      if (held) buildResult.registryDigest = held.digest;
      return result("push failed", decision.reason);
    }
    let written = 0;
    if (decision.action === "put") {
      if (ctx.signal?.aborted) return result("not pushed", INTERRUPTED);
      const failure = await put(ctx, layer.buildTag, index);
      const back = await readDigest(ctx, layer.buildTag);
      if (back !== index.digest) {
        if (back) buildResult.registryDigest = back;
        if (back && !failure) return result("superseded", `not published: another run wrote ${layer.buildTag} too, and the registry holds its index (${back}), not this one; the moving tag is left to that run`);
        return result("push failed", failure ?? `the index was written, but the registry does not hold it under ${layer.buildTag}`);
      }
      written++;
      ctx.line(`index ${layer.buildTag}@${index.digest} written (${layer.members.map((m) => m.platform).join(", ")})`);
    }
    Object.assign(buildResult, { pushed: true, digest: index.digest });
    // Nothing is signed after an interrupt (as in a run's push step): a rerun signs it.
    if (ctx.signal?.aborted) return result("not pushed", INTERRUPTED);
    try {
      signature = await ctx.sign?.({ registry: ctx.registry, repository, digest: index.digest, size: index.bytes.length, mediaType: index.mediaType, tag: layer.buildTag });
    } catch (e) {
      // Recorded as the index's signature: the read back at the end of the run does not undo it.
      signature = { status: "failed", digest: index.digest, reason: (e as Error).message };
      return result("push failed", signature.reason);
    }

    // The moving tag: only forward. Judged again when another run wrote it at the same time: an
    // older build's index there is moved over (two runs of consecutive commits), a newer one stays.
    const build = images[0].build;
    const ours = build.request.labels[versionLabel(build.kind, build.target)];
    // Two runs of consecutive commits: the newer one's write of the moving tag can land between
    // this run's read of it and its own write, which then moves it back unseen. The platform
    // moving tag told this run already; the layer's moving tag follows it.
    for (const image of images) {
      if (!image.movingTagHeld) continue;
      // Its build: a newer one leaves the layer's moving tag to it (read only then, which is rare).
      const { tag, digest: there } = image.movingTagHeld;
      const label = await heldVersion(ctx, tag, [image], index.digest).then((h) => h?.label, () => undefined);
      if (!isOlderBuild(ours, label)) continue;
      const reason = `not moved: ${tag} holds a newer build (${label}, manifest ${there}), so ${layer.movingTag} is left to it`;
      Object.assign(movingResult, { reason });
      ctx.line(reason);
      return written > 0 ? result("pushed") : { ...result("pushed"), already: true };
    }
    for (let attempt = 1; ; attempt++) {
      if (ctx.signal?.aborted) return result("not pushed", INTERRUPTED);
      // Each attempt records afresh: what the last one found there is not what this one finds.
      delete movingResult.registryDigest;
      const current = await heldVersion(ctx, layer.movingTag, images, index.digest);
      const moving = decideIndexMovingTag({ tag: layer.movingTag, digest: index.digest, ours, held: current, allowRollback: ctx.allowTagRollback });
      if (!moving.move) {
        Object.assign(movingResult, { registryDigest: current!.digest, reason: moving.reason });
        ctx.line(moving.reason);
        if (isOlderBuild(ours, current!.label)) await platformTagsOnToNewer(ctx, layer.movingTag, images, entries);
        // Nothing written (the build tag held this index already): not counted as an index pushed.
        return written > 0 ? result("pushed") : { ...result("pushed"), already: true };
      }
      if (moving.already) {
        Object.assign(movingResult, { pushed: true, digest: index.digest });
        break;
      }
      if (moving.back) ctx.line(moving.back);
      const failure = await put(ctx, layer.movingTag, index);
      const back = await readDigest(ctx, layer.movingTag);
      if (back !== index.digest) {
        if (back) movingResult.registryDigest = back;
        if (back && !failure) {
          // Another run wrote it at the same time: an older build's index (its write landed last) is
          // moved over; this commit's or a newer one's stays.
          const there = await heldVersion(ctx, layer.movingTag, images, index.digest);
          if (there && there.digest !== index.digest && isOlderBuild(there.label, ours)) {
            if (attempt < MOVING_ATTEMPTS) {
              ctx.line(`another run wrote ${layer.movingTag} at the same time with an older build's index (${there.label}): moved forward again`);
              continue;
            }
            return result("push failed", `not moved: another run kept writing ${layer.movingTag} with an older build's index (${there.label}, ${there.digest}), after ${MOVING_ATTEMPTS} writes of this one`);
          }
          movingResult.reason = `not moved: another run wrote ${layer.movingTag} at the same time, and the registry holds its index (${back}), not this one`;
          ctx.line(movingResult.reason);
          return result("pushed");
        }
        return result("push failed", failure ?? `the index was written, but the registry does not hold it under ${layer.movingTag}`);
      }
      Object.assign(movingResult, { pushed: true, digest: index.digest, ...(moving.back ? { reason: moving.back } : {}) });
      written++;
      ctx.line(`index ${layer.movingTag}@${index.digest} written`);
      break;
    }
    if (written > 0) return result("pushed");
    ctx.line(`index ${layer.buildTag} and ${layer.movingTag} already in the registry (${index.digest})`);
    return { ...result("pushed"), already: true };
  } catch (e) {
    return result("push failed", (e as Error).message);
  }
}

/** `host/path/name` of a tag. */
function repositoryOf(tag: string): string {
  const r = parseImageReference(tag);
  return `${r.registry}/${r.repository}`;
}

/** PUTs the index under `tag`; the error, if any (what the registry holds is read back either way). */
async function put(ctx: IndexStepContext, tag: string, index: { bytes: Buffer; mediaType: string }): Promise<string | undefined> {
  try {
    await ctx.registry.putManifest(parseImageReference(tag), index.bytes, index.mediaType);
    return undefined;
  } catch (e) {
    return `write of the index ${tag}: ${(e as Error).message}`;
  }
}

async function readDigest(ctx: Pick<IndexStepContext, "registry">, tag: string): Promise<string | undefined> {
  const m = await ctx.registry.getManifest(tag, { noIndexResolution: true }).catch((e: Error) => {
    throw new Error(`cannot read ${tag} back from the registry: ${e.message}`);
  });
  return m?.digest;
}

/**
 * A layer whose index this run does not write (a parent's was not: another run's was found there,
 * see restoreIndexedImages), whose platform image this run's push put over another run's already
 * indexed one (two runs of one commit): that image is put back too, so the other run's family is
 * whole again. Read only for images this run pushed; returns what was put back.
 */
export async function restoreWithheldIndexImages(ctx: IndexStepContext, layer: IndexLayer, images: PlatformImage[]): Promise<string[]> {
  if (!images.some((i) => i.pushedHere !== undefined)) return [];
  try {
    const held = await heldIndex(ctx, layer.buildTag, images, "");
    const sameInputs = held?.isIndex && images.every((i) => i.build.request.inputsDigest !== undefined && held.inputs[i.platform] === i.build.request.inputsDigest);
    if (!sameInputs) return [];
    const ours = await Promise.all(images.map(async (i) => (await ctx.registry.getManifest(buildTag(i.build.request)))?.digest));
    return await restoreIndexedImages(ctx, layer.buildTag, images, ours);
  } catch (e) {
    return [`its images could not be checked against the index another run wrote (${(e as Error).message})`];
  }
}

/**
 * Another run of this commit indexed its images, and this run's push of the same platform build
 * tag landed after it had (both found the tag missing before pushing; a registry has no
 * compare-and-swap): the platform tags hold this run's image, the published index the other's,
 * which no platform tag held any more, and every rerun refused the layer as immutable. The index's
 * image (the same inputs: decideIndexBuildTag) is put back under the platform build tag, and under
 * the platform moving tag where this run moved it; this run's image is left unpublished. `ours`:
 * the manifest digests its platform build tags hold, as this run read them. Returns what was put back.
 */
async function restoreIndexedImages(ctx: IndexStepContext, indexTag: string, images: PlatformImage[], ours: (string | undefined)[]): Promise<string[]> {
  const done: string[] = [];
  try {
    const top = await ctx.registry.getManifest(indexTag, { noIndexResolution: true });
    if (!top || !isIndex(top)) return done;
    const r = parseImageReference(indexTag);
    for (const [i, image] of images.entries()) {
      const entry = indexImage(top.indexEntries ?? [], image.platform, indexTag).entry;
      // Only an image this run's push put there: a reused one may be an --overwrite's, whose index step never ran.
      if (ours[i] === undefined || entry.digest === ours[i] || image.pushedHere !== ours[i]) continue;
      const indexed = await ctx.registry.getManifest({ registry: r.registry, repository: r.repository, digest: entry.digest });
      if (!indexed) continue;
      for (const tag of await putBackIndexedImage(ctx, indexTag, image.build, indexed, ours[i]!, "this run's push had replaced it")) {
        done.push(`its image ${entry.digest} put back under ${tag}, where this run's push had replaced it after that run indexed it`);
      }
    }
  } catch (e) {
    done.push(`its images could not be put back under their platform tags (${(e as Error).message}): a rerun tries again`);
  }
  return done;
}

/**
 * The layer's moving tag (`tag`) holds a newer build's index, yet a platform moving tag holds this
 * run's image (`ours`: the images this run's index names): two runs of consecutive commits, this
 * older run's write of the platform moving tag landing after the newer run's. The platform moving
 * tag is moved on to the newer build's image of its platform, as the layer's moving tag names it
 * (a moving tag only moves forward). Nothing else is touched: a platform moving tag on any other
 * image stays. A failure is said, not thrown (the index itself is written).
 */
async function platformTagsOnToNewer(ctx: IndexStepContext, tag: string, images: PlatformImage[], ours: Descriptor[]): Promise<void> {
  try {
    const top = await ctx.registry.getManifest(tag, { noIndexResolution: true });
    if (!top || !isIndex(top)) return;
    const r = parseImageReference(tag);
    for (const [i, image] of images.entries()) {
      if (ctx.signal?.aborted) return;
      const platformTag = movingTag(image.build.request);
      // The newer index without this platform (a build for other platforms) says nothing of it.
      const newer = platformEntryOf(top.indexEntries ?? [], image.platform);
      if (!newer || newer.digest === ours[i].digest || await readDigest(ctx, platformTag) !== ours[i].digest) continue;
      const manifest = await ctx.registry.getManifest({ registry: r.registry, repository: r.repository, digest: newer.digest });
      if (!manifest) continue;
      await ctx.registry.putManifest(parseImageReference(platformTag), manifest.bytes, manifest.mediaType);
      if (await readDigest(ctx, platformTag) === newer.digest) {
        ctx.line(`moved ${platformTag} on to ${newer.digest}, the ${image.platform} image of the newer build ${tag} holds: this run's write of it had landed after that build's`);
      }
    }
  } catch (e) {
    ctx.line(`${tag} holds a newer build, and this run's platform images could not be checked against it (${(e as Error).message}): a newer run, or --reconcile --push, moves them on`);
  }
}

/**
 * Puts `indexed`, the image the index `indexTag` names, back under the build's platform build tag,
 * and under its platform moving tag where that holds `replaced` (a later build's stays); each tag
 * is read back and said (`why` the tag held another image). Returns the tags put back.
 */
export async function putBackIndexedImage(
  ctx: Pick<IndexStepContext, "registry" | "line">, indexTag: string, build: PlannedBuild, indexed: RegistryManifest, replaced: string, why: string,
): Promise<string[]> {
  const done: string[] = [];
  for (const tag of [buildTag(build.request), movingTag(build.request)]) {
    if (tag !== buildTag(build.request) && await readDigest(ctx, tag) !== replaced) continue;
    await ctx.registry.putManifest(parseImageReference(tag), indexed.bytes, indexed.mediaType);
    if (await readDigest(ctx, tag) === indexed.digest) {
      done.push(tag);
      ctx.line(`put back ${tag}@${indexed.digest}: the image the index ${indexTag} names (${why})`);
    }
  }
  return done;
}

/**
 * What the registry holds under the index's build tag, with the inputs of its images of the
 * layer's platforms (not read when it is this very index, `ours`: a rerun reads one manifest).
 */
async function heldIndex(ctx: IndexStepContext, tag: string, images: PlatformImage[], ours: string): Promise<HeldIndex | undefined> {
  try {
    const top = await ctx.registry.getManifest(tag, { noIndexResolution: true });
    if (!top) return undefined;
    const inputs: Record<string, string | undefined> = {};
    if (isIndex(top) && top.digest !== ours) {
      for (const image of images) {
        const held = await imageInIndex(ctx, tag, top, image.platform).catch(() => undefined);
        inputs[image.platform] = held?.config.labels[inputsLabel(image.build.kind, image.build.target)];
      }
    }
    // Its images (an index's platform entries, attachments aside), so that one holding this index's images without its attachments is told apart.
    const heldImages = isIndex(top) ? (top.indexEntries ?? []).filter((e) => !isAttestationEntry(e)).map((e) => e.digest) : [top.digest];
    return { digest: top.digest, isIndex: isIndex(top), inputs, images: heldImages };
  } catch (e) {
    throw new Error(`cannot check ${tag} in the registry before writing the index: ${(e as Error).message}`);
  }
}

/**
 * What the registry holds under the moving tag: its digest and the version label of its image (of
 * the layer's first platform, for an index); the label is not read when it is this very index (`ours`).
 */
async function heldVersion(ctx: IndexStepContext, tag: string, images: PlatformImage[], ours: string): Promise<{ digest: string; label: string | undefined } | undefined> {
  const { build, platform } = images[0];
  try {
    const top = await ctx.registry.getManifest(tag, { noIndexResolution: true });
    if (!top) return undefined;
    if (top.digest === ours) return { digest: top.digest, label: undefined };
    // A single image: its config. An index: its image of this platform, else (an index without
    // it) the image that stands for it (every platform image of a build has the build's version label).
    // An image whose config blob the registry lost has no label to go by (the tag moves over it, as a run's moving tag does).
    const image = await unlessImageFault(isIndex(top) ? imageInIndex(ctx, tag, top, platform, { orShown: true }) : ctx.registry.imageOf(top));
    return { digest: top.digest, label: image?.config.labels[versionLabel(build.kind, build.target)] };
  } catch (e) {
    throw new Error(`cannot read ${tag} from the registry before moving it: ${(e as Error).message}`);
  }
}

/**
 * The image of `platform` in the index `top` that `tag` held (indexImage's rule; `orShown`: an
 * index without it answers with the image that stands for it): its manifest by digest and its
 * config, from the index already read (not read again by tag, which may have moved since).
 */
async function imageInIndex(ctx: IndexStepContext, tag: string, top: RegistryManifest, platform: string, options: { orShown?: boolean } = {}): Promise<RegistryImage | undefined> {
  const entries = top.indexEntries ?? [];
  let entry: Descriptor;
  try {
    entry = indexImage(entries, platform, tag).entry;
  } catch (e) {
    const shown = options.orShown && e instanceof InputError ? imageShownFor(platformEntries(entries), hostPlatform()) : undefined;
    if (!shown) throw e;
    entry = shown.entry;
  }
  const r = parseImageReference(tag);
  const manifest = await ctx.registry.getManifest({ registry: r.registry, repository: r.repository, digest: entry.digest });
  return manifest && ctx.registry.imageOf(manifest);
}
