// `--reconcile`: what the registry holds under each build's moving tag, read over its HTTP API
// (credentials from the docker config, as for pushes). A registry that can't answer is an error,
// never "everything is missing". With a signing key, also whether each image there is signed by it.
import type { KeyObject } from "node:crypto";
import { parseImageReference } from "../core/parse/image-reference.js";
import { dockerReference } from "../core/signatures/cosign.js";
import { judgeSignatures } from "../core/signatures/verify.js";
import { readSignatures } from "../registry/signatures.js";
import { inputsLabel, inputsMismatch, versionLabel } from "../core/requests/inputs-digest.js";
import { movingTag, stripPlatformSuffix, withPlatformSuffix } from "../core/requests/tags.js";
import { attestationEntryOf } from "../core/attestations/manifest.js";
import { heldBuildTag, type PublishedImage } from "../core/plan/reconcile.js";
import { decideIndexedImagePutBack } from "../core/execute/image-index.js";
import { InputError, type Plan, type PlannedBuild } from "../core/model.js";
import { DockerCredentials } from "../registry/credentials.js";
import { RegistryClient } from "../registry/client.js";
import { isImageFault } from "../core/registry/transport-rules.js";
import { attestationOfImageProblems } from "../registry/attestations.js";
import { judgeParentsInRegistry } from "../registry/verify-image.js";

/**
 * `signedBy`: the public half of the run's signing key, whose signature each image must have;
 * `attestations`: also whether each image has its attestations in the index under the layer's
 * moving tag (runs publish them by default).
 */
export async function readPublishedInputs(plan: Plan, dockerConfigDir?: string, options: { signedBy?: KeyObject; attestations?: boolean } = {}): Promise<Map<string, PublishedImage>> {
  const client = new RegistryClient(await DockerCredentials.load(dockerConfigDir));
  // The parents' builds are shared by many images (and a layer's platform image is judged under its
  // own tag and in its index): each tag is read once per run for the parent checks.
  const parentReads = new Map<string, ReturnType<RegistryClient["imageOrBroken"]>>();
  const parentClient: RegistryClient = Object.create(client, {
    imageOrBroken: {
      value: (ref: string, o: { platform?: string } = {}) => {
        const key = `${ref}\n${o.platform ?? ""}`;
        if (!parentReads.has(key)) parentReads.set(key, client.imageOrBroken(ref, o));
        return parentReads.get(key)!;
      },
    },
  });
  const read = async (b: PlannedBuild, ref: string, platform?: string): Promise<PublishedImage> => {
    try {
      let broken: string | undefined;
      const image = await client.getImage(ref, platform === undefined ? {} : { platform }).catch((e: Error) => {
        if (e instanceof InputError) return undefined; // the index has no image of this platform
        // The tag is there, but what it names is not (a manifest deleted by digest) or is broken: as good as missing.
        if (isImageFault(e)) {
          broken = e.message;
          return undefined;
        }
        throw e;
      });
      if (broken) return { found: false, broken };
      // A platform's image inside an index: only an index counts (a single image under the layer's
      // tag is no index of its platforms). getImage says which it read: an index's entries.
      if (!image || (platform !== undefined && image.indexEntries === undefined)) return { found: false };
      const labels = image.config.labels;
      const published: PublishedImage & { found: true } = { found: true, inputs: labels[inputsLabel(b.kind, b.target)], mismatch: inputsMismatch(labels, b), build: labels[versionLabel(b.kind, b.target)] };
      // The moving tag's image of this checkout's inputs: its build's own tag must be there too, and
      // for the index of a layer's platforms (`platform` given) the index's build tag.
      if (published.inputs === b.request.inputsDigest) {
        const own = heldBuildTag(b.request, published.build);
        const held = own && platform !== undefined ? stripPlatformSuffix(own, platform) : own;
        if (held && (await client.getDigest(held)) === undefined) {
          published.buildTagMissing = held;
          // Only the index's tag gone (a tag-only delete), its image still under its platform build
          // tag: the build is completed where it is, its index written there again (reconcile.ts).
          const imageTag = platform !== undefined ? own : image.indexEntries !== undefined && image.platform ? withPlatformSuffix(held, image.platform) : undefined;
          if (imageTag && (await client.getDigest(imageTag)) === image.manifestDigest) published.imageTagHeld = imageTag;
        } else if (held) {
          // The index's platform build tag holding another image of these inputs (a run of the commit
          // ended between its push of that tag and its index step): its run puts the index's image back.
          const imageTag = platform !== undefined ? own : options.attestations && image.indexEntries !== undefined && image.platform ? withPlatformSuffix(held, image.platform) : undefined;
          const there = imageTag && await client.getManifest(imageTag, { noIndexResolution: true });
          const thereLabels = there && there.digest !== image.manifestDigest && there.digest === there.manifestDigest ? (await client.imageOf(there)).config.labels : undefined;
          // The run's rule (its parents are judged below, as the run judges them before reusing it).
          if (imageTag && there && thereLabels && decideIndexedImagePutBack({
            inputsDigest: b.request.inputsDigest, build: published.build, overwrite: false,
            held: { digest: there.digest, inputs: thereLabels[inputsLabel(b.kind, b.target)], build: thereLabels[versionLabel(b.kind, b.target)] },
            indexed: { digest: image.manifestDigest, inputs: published.inputs, build: published.build, ...(published.mismatch ? { fault: published.mismatch } : {}) },
          })) {
            published.imageTagOther = { tag: imageTag, held: there.digest, image: image.manifestDigest };
          }
        }
      }
      // Attestations are entries of an index, next to the image they are about: an image without
      // platforms is published as a one-platform index under its own tags; a platform image's are
      // in its layer's index (`platform` given). Its platform tags hold the bare image: not asked.
      const repository = parseImageReference(ref);
      // Built on the builds its labels name, which the registry must still hold (verify's judgment,
      // and a run's before it reuses a registry image: a parent's platform build tag first): one
      // built on a build since lost (deleted by digest, say) fails verify, so it is rebuilt.
      if (published.inputs === b.request.inputsDigest && published.mismatch === undefined) {
        const platformTag = image.platform ?? platform ?? b.request.platform;
        const failed = (await judgeParentsInRegistry(parentClient, repository, labels, platformTag ? { platform: platformTag, platformTag } : {})).find((c) => !c.ok);
        if (failed) published.parentFault = `${failed.subject}, of which ${failed.detail}`;
      }
      // A layer without platforms: its platform moving tag holds the bare image `{version}` serves,
      // for clients that want no index. Published as a one-platform index (for its attestations) it
      // must be there; published plain (--no-attestations), only where an attested push left one (a
      // push moves it with `{version}`). Judged as a run judges a tag: the same image is the same
      // config (a manifest of other bytes is not pushed again), and a newer build there stays
      // (reconcile.ts); one missing or on an older build is planned, reused, and its run moves it.
      const indexed = image.indexEntries !== undefined;
      if (b.request.platform === undefined && image.platform && Boolean(options.attestations) === indexed) {
        const platformTag = withPlatformSuffix(ref, image.platform);
        const manifest = await client.getManifest(platformTag);
        if (manifest?.config.digest !== image.configDigest && (manifest || indexed)) {
          const held = manifest && { digest: manifest.manifestDigest, build: (await client.imageOf(manifest)).config.labels[versionLabel(b.kind, b.target)] };
          published.platformTag = { tag: platformTag, held, image: image.manifestDigest };
        }
      }
      if (options.attestations && (b.request.platform === undefined || platform !== undefined)) {
        // There, untampered and about this image: an entry naming a manifest since deleted, or
        // statements about another image, are no attestations (the run makes them again).
        const entry = attestationEntryOf(image.indexEntries ?? [], image.manifestDigest);
        const faults = entry ? await attestationOfImageProblems(client, repository, { platform: image.platform ?? "image", digest: image.manifestDigest }, entry) : [];
        published.attested = entry !== undefined && faults.length === 0;
        if (faults.length) published.attestationFault = faults[0];
      }
      if (!options.signedBy) return published;
      // What the tag names is signed: the image, or the index and the platform image in it (as a run signs them, and verify checks them).
      const digests = [...new Set([image.digest, image.manifestDigest])];
      const signed = await Promise.all(digests.map(async (digest) => {
        const held = await readSignatures(client, repository, digest);
        return judgeSignatures({ repository: dockerReference(repository), digest }, held?.found, options.signedBy!, held?.unreadable).ok;
      }));
      return { ...published, signed: signed.every(Boolean) };
    } catch (e) {
      throw new Error(`--reconcile: cannot read ${ref} from the registry: ${(e as Error).message}`);
    }
  };
  const answers = await Promise.all(plan.builds.map(async (b): Promise<[string, PublishedImage]> => {
    const own = await read(b, movingTag(b.request));
    const platform = b.request.platform;
    if (platform === undefined) return [b.id, own];
    return [b.id, { ...own, index: await read(b, stripPlatformSuffix(movingTag(b.request), platform), platform) }];
  }));
  return new Map(answers);
}
