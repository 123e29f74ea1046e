// One push of a run, as the PushQueue orders it: a build's build tag, read back, then its moving
// tag when it moves forward; or, for a reused build whose build tag the registry has, its moving
// tag only. Every tag whose push was attempted is recorded as the registry holds it after the
// push, whatever the push said (a PUT stored but whose reply was lost counts as pushed; a build
// tag another run of this commit replaced means this image is not the published one).
import type Dockerode from "dockerode";
import type { PlannedBuild, TagResult } from "../../core/model.js";
import type { PushResult } from "../../core/execute/outcomes.js";
import type { PushStep } from "../../core/execute/push-queue.js";
import { pushOrder } from "../../core/execute/publishing.js";
import { buildTag } from "../../core/requests/tags.js";
import { decideBuildMovingTag, decideFollowingPlatformTag, isOlderBuild, platformTagToFollow } from "../../core/execute/moving-tag.js";
import { decideBeforePush, lostBuildTag, pushedOtherImage, replacedMovingTag, type BeforePush, supersededParent, tagFromRegistry, type HeldTag } from "../../core/execute/read-back.js";
import { inputsLabel, versionLabel } from "../../core/requests/inputs-digest.js";
import { readImageConfig, summarizeConfig, type RegistryClient, type RegistryManifest } from "../../registry/client.js";
import { unlessImageFault } from "../../core/registry/transport-rules.js";
import type { DockerCredentials } from "../../registry/credentials.js";
import { pushTags } from "./push.js";
import { parseImageReference } from "../../core/parse/image-reference.js";
import { signPublished } from "./sign-step.js";
import type { SigningKey } from "../../core/signatures/keys.js";
import type { PushedImage } from "../index-step.js";
import { errorMessage, type RunReport } from "./run-report.js";

export interface PushStepContext {
  docker: Dockerode;
  creds: DockerCredentials;
  registry: RegistryClient;
  /** Aborted on interrupt only: no push (nor retry) starts; a push in flight goes on to its end. */
  signal: AbortSignal;
  /** Aborted when the wait for pushes in flight after an interrupt ends (a second interrupt, or its bound): stops them. */
  destroy: AbortSignal;
  /** Runs a push when a slot is free (at most `jobs` pushes at once). */
  slot: <T>(push: () => Promise<T>) => Promise<T>;
  /** Asked when a push gets its slot: undefined to go ahead, else why it is not pushed (see PushQueue.begin). */
  begin: (id: string) => string | undefined;
  report: RunReport;
  /** `--allow-tag-rollback`: move a moving tag back to an older build. */
  allowTagRollback: boolean;
  /** `--overwrite`: replace a build tag of other inputs. */
  overwrite: boolean;
  /** The parents of this run a build was built on: their build tags and images (pushed before it). */
  parentsOf: (id: string) => ParentImage[];
  /** `--sign-key`: the image under the build tag is signed before its moving tags move. */
  signKey?: SigningKey;
  /**
   * Told as soon as the build's image is under its build tag, before its moving tags are pushed;
   * `pushed`: what this push read of it (undefined for a reused build whose build tag the
   * registry had). What is made from the image (attestations) may start then.
   */
  inRegistry?: (id: string, pushed: PushedImage | undefined) => void;
  /**
   * The engine's platform, in a run that pushes plain images (no attachments: `--no-attestations`):
   * a `{version}` it moves takes that platform's moving tag along where the registry holds one.
   */
  plainPlatform?: string;
}

export interface ParentImage {
  id: string;
  buildTag: string;
  imageId: string;
}

/** `registryDigest`: for "check moving tag", the registry's digest under the build tag; `imageId`: the build's image. */
export async function carryOutPush(ctx: PushStepContext, step: PushStep, build: PlannedBuild, imageId: string, registryDigest?: string): Promise<PushResult> {
  if (step.action === "not pushed") {
    ctx.report.notPushed(step.id, step.reason);
    return "not pushed";
  }
  return ctx.slot(() => publish(ctx, build, imageId, step.action === "check moving tag" ? registryDigest : undefined));
}

/** Pushes the build tag (unless the registry has it: `held`), reads it back, then moves the moving tags forward. */
async function publish(ctx: PushStepContext, build: PlannedBuild, imageId: string, held?: string): Promise<PushResult> {
  const { report } = ctx;
  const { id } = build;
  const [first, ...moving] = pushOrder(build.request);
  const buildTagResult: TagResult = held ? { tag: first, pushed: true, digest: held } : { tag: first, pushed: false };
  const movingResults: TagResult[] = moving.map((tag) => ({ tag, pushed: false }));
  const tags: TagResult[] = [buildTagResult, ...movingResults];
  report.pushing(id, tags);
  const stopped = ctx.begin(id);
  if (stopped) {
    report.notPushed(id, stopped);
    return "not pushed";
  }
  report.pushStarts(id);
  report.progress.phase(id, "pushing");
  let pushedNow = 0;
  let pushed: PushedImage | undefined;
  try {
    if (!held) {
      // Checked again just before the push: another run may have replaced a parent's build tag
      // since it was read back, and a child must not land on a parent the registry doesn't hold.
      const superseded = (reason: string): PushResult => {
        for (const t of tags) t.reason = reason;
        report.superseded(id, reason);
        return "superseded";
      };
      const parents = await parentsInRegistry(ctx, id);
      // As when the parent's own push finds its build tag held by another run's image (PushQueue):
      // not pushed, its build tag left alone (it said superseded here, which its own build tag did
      // not show, so the report, reading the results, said otherwise: hunter21 F3).
      if (parents.replaced) {
        const reason = supersededParent(parents.replaced);
        for (const t of tags) t.reason = reason;
        report.notPushed(id, reason);
        return "not pushed";
      }
      const before = await beforePush(ctx, build, imageId);
      if (before.action === "superseded") {
        buildTagResult.registryDigest = before.registryDigest;
        return superseded(before.reason);
      }
      if (before.action === "refuse") return ended(ctx, id, before.reason, tags);
      const { failure, held: there, manifest: readBack, unread } = await pushAndReadBack(ctx, id, buildTagResult, imageId);
      if (!buildTagResult.pushed) {
        // Not read back (an interrupt stopped the wait, or the registry did not answer): not known to be missing.
        if (unread) return ended(ctx, id, ctx.signal.aborted ? INTERRUPTED : buildTagResult.reason!, tags);
        if (there && !failure) {
          // Stored, then replaced before it was read back: another run of this commit pushed it too.
          const reason = lostBuildTag(first, there.digest);
          buildTagResult.reason = reason;
          report.superseded(id, reason);
          return "superseded";
        }
        return ended(ctx, id, failure ?? NOT_THERE, tags);
      }
      pushedNow++;
      if (readBack) pushed = { manifest: readBack, parents: parents.digests };
    }
    ctx.inRegistry?.(id, pushed);
    // Nothing is written after an interrupt, a signature included (a rerun or --reconcile signs it).
    if (ctx.signal.aborted) return ended(ctx, id, INTERRUPTED, tags);
    // Signed once in the registry (pushed now, or there already: a rerun finds its signature and
    // writes nothing), before a moving tag can point at it.
    const signature = await signPublished({ registry: ctx.registry, signKey: ctx.signKey, line: (text) => report.progress.line(id, text) }, first, { digest: buildTagResult.digest! })
      .catch((e: unknown) => {
        report.signingFailed(id, buildTagResult.digest!, e);
        throw e;
      });
    if (signature) report.signature(id, signature);
    // What the moving tags get: the very manifest the build tag holds, written by the registry
    // client (one request; the engine's push of another name asks again for every layer, and
    // pushes whatever image the name has when it starts: another run may have retagged it).
    let source = pushed?.manifest;
    const ours = build.request.labels[versionLabel(build.kind, build.target)];
    // Platform moving tags looked for once `{version}` moved (platformTagToFollow): appended to
    // movingResults as they come up, and to the tags recorded only where the registry holds them.
    const following = new Set<TagResult>();
    for (const result of movingResults) {
      let onImage = false;
      // Judged again when another run wrote it at the same time (index-step.ts does the same).
      for (let attempt = 1; ; attempt++) {
        if (ctx.signal.aborted) {
          // A platform moving tag that follows `{version}` is not started after an interrupt: the
          // build's own tags are written, and a rerun moves it.
          if (!following.has(result)) return ended(ctx, id, INTERRUPTED, tags);
          if (tags.includes(result)) tags.splice(tags.indexOf(result), 1);
          break;
        }
        // Each attempt records afresh: what the last one found there is not what this one finds.
        delete result.registryDigest;
        delete result.reason;
        // A platform moving tag that follows `{version}`, whose read an interrupt stopped: left where it is, as if not started.
        const decision = await movingTagDecision(ctx, build, imageId, result.tag, following.has(result)).catch((e: unknown) => {
          if (following.has(result) && ctx.signal.aborted) return undefined;
          throw e;
        });
        // A platform tag the registry does not hold: nothing written, nothing recorded.
        if (!decision) break;
        if (following.has(result) && !tags.includes(result)) tags.push(result);
        if (!decision.move) {
          Object.assign(result, { registryDigest: decision.registryDigest, reason: decision.reason });
          report.notMoved(id, decision.reason);
          break;
        }
        if (decision.already) {
          Object.assign(result, { pushed: true, digest: decision.registryDigest });
          onImage = true;
          break;
        }
        if (decision.back) report.progress.line(id, decision.back);
        // Interrupted since its read: not written (nothing is, after an interrupt), as if not started.
        if (following.has(result) && ctx.signal.aborted) {
          tags.splice(tags.indexOf(result), 1);
          break;
        }
        source ??= await buildTagManifest(ctx, first, imageId);
        // Within the build tag's repository only: another one need not have the image's blobs.
        const put = source && sameRepository(first, result.tag) ? source : undefined;
        const { failure, held: there, unread } = put ? await putAndReadBack(ctx, id, result, imageId, put) : await pushAndReadBack(ctx, id, result, imageId);
        if (!result.pushed && unread) {
          // Its write stopped by an interrupt, a platform moving tag that follows `{version}` does not fail the push (the build's own tags are written).
          if (following.has(result) && ctx.signal.aborted) {
            result.reason = INTERRUPTED;
            break;
          }
          return ended(ctx, id, ctx.signal.aborted ? INTERRUPTED : result.reason!, tags);
        }
        // Said in --results and the summary too: a tag moved back on purpose is not an ordinary push.
        if (result.pushed && decision.back) {
          result.reason = decision.back;
          report.movedBack(id, decision.back);
        }
        if (!result.pushed && there && !failure) {
          // Stored, then replaced: another run moved it too. An older build's image there (two runs
          // of consecutive commits, the older's write landing last) is moved over; this commit's
          // or a newer one's stays.
          const label = (await heldImage(ctx, result.tag, imageId, `cannot read ${result.tag} back from the registry`))?.labels?.[versionLabel(build.kind, build.target)];
          if (isOlderBuild(label, ours)) {
            if (attempt < MOVING_ATTEMPTS) {
              report.progress.line(id, `another run wrote ${result.tag} at the same time with an older build (${label}): moved forward again`);
              continue;
            }
            return ended(ctx, id, `not moved: another run kept writing ${result.tag} with an older build (${label}), after ${MOVING_ATTEMPTS} writes of this one`, tags);
          }
          result.reason = replacedMovingTag(result.tag, there.digest);
          report.notMoved(id, result.reason);
          break;
        }
        if (!result.pushed) return ended(ctx, id, failure ?? NOT_THERE, tags);
        pushedNow++;
        onImage = true;
        break;
      }
      // `{version}` on this image (written now, or a rerun: a run interrupted between the two writes
      // left the other behind): the platform moving tag an attested push left goes with it (hunter18 F3).
      const follow = following.has(result) ? undefined : platformTagToFollow(build.request, ctx.plainPlatform, onImage);
      if (follow) {
        const next: TagResult = { tag: follow, pushed: false };
        following.add(next);
        movingResults.push(next);
      }
    }
    if (pushedNow === 0) report.alreadyPublished(id);
    else report.pushed(id, pushedNow);
    return "pushed";
  } catch (err) {
    // The registry could not be read where a decision needed it.
    return ended(ctx, id, errorMessage(err), tags);
  } finally {
    report.digests(id, tags);
  }
}

const INTERRUPTED = "not pushed: push interrupted";
const NOT_THERE = "the push ended, but the registry does not hold the tag";

/**
 * Pushes `result.tag`, then records in `result` what the registry holds under it: the push's
 * failure, if any, and the manifest there.
 */
async function pushAndReadBack(ctx: PushStepContext, id: string, result: TagResult, imageId: string): Promise<{ failure?: string; held?: HeldTag; manifest?: RegistryManifest; unread?: true }> {
  for (let attempt = 1; ; attempt++) {
    const { failure, digest } = await pushTag(ctx, id, result.tag, imageId);
    const after = await recordReadBack(ctx, id, result, imageId, failure, "push");
    // The registry holds the very manifest this push sent, of another image: another run on the
    // engine retagged the name between the tagging and the push's start. That image got there by
    // this push, not by its own run's: push this run's again (its run does not claim it).
    if (!pushedOtherImage(imageId, after.held, failure, digest) || attempt >= RETAGGED_RETRIES || ctx.signal.aborted) return { failure, held: after.held, manifest: after.manifest, unread: after.unread };
    ctx.report.progress.line(id, `the engine pushed another run's image under ${result.tag} (its name was retagged as the push started): pushing this run's again`);
  }
}

/**
 * Writes `source` (the manifest under the build tag) under `result.tag` through the registry
 * client, then records in `result` what the registry holds under it, as pushAndReadBack does.
 */
async function putAndReadBack(ctx: PushStepContext, id: string, result: TagResult, imageId: string, source: RegistryManifest): Promise<{ failure?: string; held?: HeldTag; unread?: true }> {
  let failure: string | undefined;
  if (ctx.signal.aborted) failure = INTERRUPTED;
  else {
    try {
      // Stopped only as an engine push is: by a second interrupt, or the bound of the wait after one.
      await ctx.registry.putManifest(parseImageReference(result.tag), source.bytes, source.mediaType, { signal: ctx.destroy });
      ctx.report.progress.line(id, `wrote ${result.tag}@${source.digest} (the manifest under the build tag)`);
    } catch (e) {
      failure = ctx.destroy.aborted ? INTERRUPTED : `write of ${result.tag}: ${errorMessage(e)}`;
    }
  }
  const after = await recordReadBack(ctx, id, result, imageId, failure, "the write");
  return { failure, held: after.held, unread: after.unread };
}

/**
 * Records in `result` what the registry holds under its tag after a push or write (`what`) that
 * failed or not: a reply lost on the way counts as pushed when the registry holds this image.
 */
async function recordReadBack(ctx: PushStepContext, id: string, result: TagResult, imageId: string, failure: string | undefined, what: string) {
  const after = await readBack(ctx, result.tag, imageId, failure);
  Object.assign(result, after.result);
  if (result.pushed && failure) ctx.report.progress.line(id, `${what} of ${result.tag} reported an error, but the registry holds this image under it: ${failure}`);
  return after;
}

/**
 * The manifest under the build tag, for the moving tags of a build whose build tag the registry
 * already had (its push did not read it back); undefined when it is not this image's (the
 * engine pushes the moving tag then, and its read-back judges what the registry got).
 */
async function buildTagManifest(ctx: PushStepContext, tag: string, imageId: string): Promise<RegistryManifest | undefined> {
  const manifest = await ctx.registry.getManifest(tag).catch(() => undefined);
  return manifest && manifest.digest === manifest.manifestDigest && manifest.config.digest === imageId ? manifest : undefined;
}

function sameRepository(a: string, b: string): boolean {
  const [ra, rb] = [parseImageReference(a), parseImageReference(b)];
  return ra.registry === rb.registry && ra.repository === rb.repository;
}

/** Attempts at pushing a tag whose name another run on the engine keeps retagging. */
const RETAGGED_RETRIES = 3;

/** Writes of a moving tag another run keeps writing with an older build at the same time, each judged again first. */
const MOVING_ATTEMPTS = 3;

/** Pushes one tag; the error (or INTERRUPTED) when the push did not say it landed, else the manifest digest it pushed. */
async function pushTag(ctx: PushStepContext, id: string, tag: string, imageId: string): Promise<{ failure?: string; digest?: string }> {
  if (ctx.signal.aborted) return { failure: INTERRUPTED };
  try {
    const digests = await pushTags(ctx.docker, [tag], { creds: ctx.creds, signal: ctx.destroy, stop: ctx.signal, imageId, line: (text) => ctx.report.progress.line(id, text) });
    return { digest: digests[tag] };
  } catch (err) {
    return { failure: ctx.destroy.aborted ? INTERRUPTED : errorMessage(err) };
  }
}

/**
 * What the registry holds under `tag` after pushing it. Always read (cheap: one manifest), since
 * a push's word is not the registry's: a reply can be lost, another run can push the same tag.
 */
async function readBack(ctx: PushStepContext, tag: string, imageId: string, failure: string | undefined): Promise<{ result: TagResult; held?: HeldTag; manifest?: RegistryManifest; unread?: true }> {
  let held: HeldTag | undefined;
  let manifest: RegistryManifest | undefined;
  try {
    manifest = await ctx.registry.getManifest(tag);
    held = manifest && { digest: manifest.digest, configDigest: manifest.config.digest };
  } catch (e) {
    // Unknown: the push's own word is all there is.
    const why = `${failure ? `${failure}; ` : ""}could not read ${tag} back from the registry: ${errorMessage(e)}`;
    return { result: { tag, pushed: false, reason: why }, unread: true };
  }
  const result = tagFromRegistry(tag, imageId, held, failure);
  return { result, held, manifest };
}

/**
 * The parents' build tags as the registry holds them now: the first parent whose build tag no
 * longer holds the image this build was built on (`replaced`), else the manifest digest under
 * each (build tag -> digest: what the build's provenance names).
 */
async function parentsInRegistry(ctx: PushStepContext, id: string): Promise<{ replaced?: string; digests: Record<string, string> }> {
  const digests: Record<string, string> = {};
  for (const parent of ctx.parentsOf(id)) {
    const manifest = await ctx.registry.getManifest(parent.buildTag).catch((e: Error) => {
      throw new Error(`cannot read ${parent.buildTag} back from the registry before pushing a child of it: ${e.message}`);
    });
    if (manifest?.config.digest !== parent.imageId) return { replaced: parent.id, digests };
    digests[parent.buildTag] = manifest.manifestDigest;
  }
  return { digests };
}

/** Whether the build tag may still be pushed, from what the registry holds under it now. */
async function beforePush(ctx: PushStepContext, build: PlannedBuild, imageId: string): Promise<BeforePush & { registryDigest?: string }> {
  const tag = buildTag(build.request);
  const image = await heldImage(ctx, tag, imageId, `cannot check ${tag} in the registry before pushing`);
  const held = image && { digest: image.digest, configDigest: image.configDigest, inputs: image.labels?.[inputsLabel(build.kind, build.target)] };
  return { ...decideBeforePush({ buildTag: tag, imageId, inputsDigest: build.request.inputsDigest, held, overwrite: ctx.overwrite }), registryDigest: image?.digest };
}

/**
 * What the registry holds under `tag` for a decision before a push: its manifest, and the labels
 * of its image when that is another image than this run's `imageId` (this run's own labels are
 * known, so its config is not read: a rerun finds most moving tags on its own images).
 * `what`: what the read was for, for its error.
 */
async function heldImage(ctx: PushStepContext, tag: string, imageId: string, what: string): Promise<(HeldTag & { labels?: Record<string, string> }) | undefined> {
  try {
    const manifest = await ctx.registry.getManifest(tag);
    if (!manifest) return undefined;
    const held: HeldTag = { digest: manifest.digest, configDigest: manifest.config.digest };
    if (held.configDigest === imageId) return held;
    // An image whose config blob the registry lost (or never had whole): no labels to go by, and
    // nobody can pull it. Judged as an image no build labelled (a moving tag moves over it; a build
    // tag is kept, unless --overwrite).
    const config = await unlessImageFault(ctx.registry.getBlob(manifest.ref, held.configDigest));
    if (config === undefined) return held;
    return { ...held, labels: summarizeConfig(readImageConfig(config, `config ${held.configDigest} of ${tag}`)).labels };
  } catch (e) {
    throw new Error(`${what}: ${errorMessage(e)}`);
  }
}

type MovingDecision = ReturnType<typeof decideBuildMovingTag> & { registryDigest?: string };

/**
 * Whether the moving tag moves to this image: only forward (issue 16, item 2), from what the
 * registry holds now. `following`: a platform moving tag that follows `{version}`; undefined when
 * the registry holds nothing under it (decideFollowingPlatformTag).
 */
async function movingTagDecision(ctx: PushStepContext, build: PlannedBuild, imageId: string, tag: string, following = false): Promise<MovingDecision | undefined> {
  // A registry that can't say what the moving tag holds can't let it move: it might be newer.
  const current = await heldImage(ctx, tag, imageId, `cannot read ${tag} from the registry before moving it`);
  const held = current && { id: current.configDigest, labels: current.labels };
  const decision = following
    ? decideFollowingPlatformTag(build, tag, imageId, held, ctx.allowTagRollback)
    : decideBuildMovingTag(build, tag, imageId, held, ctx.allowTagRollback);
  return decision && { ...decision, registryDigest: current?.digest };
}

/** A push that did not get every tag across: interrupted, or failed. */
function ended(ctx: PushStepContext, id: string, failure: string, tags: TagResult[]): PushResult {
  for (const t of tags) if (!t.pushed) t.reason ??= failure === INTERRUPTED ? INTERRUPTED : "not pushed";
  if (failure === INTERRUPTED) {
    ctx.report.notPushed(id, INTERRUPTED);
    return "not pushed";
  }
  ctx.report.pushFailed(id, new Error(failure));
  return "push failed";
}
