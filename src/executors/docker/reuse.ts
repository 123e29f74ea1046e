// Before a build: is this request's image already there, under its build tag, with the same
// inputs digest? The engine is asked first, then (when pushing) the registry over its HTTP API.
import type Dockerode from "dockerode";
import { inputsLabel, inputsMismatch, versionLabel } from "../../core/requests/inputs-digest.js";
import { buildTag } from "../../core/requests/tags.js";
import { parsePlatformTag, platformEntryOf } from "../../core/registry/image-index.js";
import { builtOnOtherParent, builtOnOtherParentBuild, decideReuse, pinKey, refusalsBeforeBuilding, type FoundImage, type ReuseDecision } from "../../core/execute/publishing.js";
import type { PlannedBuild } from "../../core/model.js";
import { parseImageReference, type ImageReference } from "../../core/parse/image-reference.js";
import { isIndex, RegistryError, type RegistryClient, type RegistryImage } from "../../registry/client.js";
import { decideIndexedImagePutBack, type HeldPlatformImage } from "../../core/execute/image-index.js";
import { putBackIndexedImage } from "../index-step.js";
import { judgeParentsInRegistry } from "../../registry/verify-image.js";
import type { BuiltImage } from "./engine.js";

export interface ReuseCheck {
  decision: ReuseDecision;
  /** The engine's image under the build tag. */
  engineImage?: BuiltImage;
  /** The registry's manifest digest under the build tag. */
  registryDigest?: string;
}

/** `pins`: reference -> image id of the images this run took for its parents; `repo`: the plan's registry location. */
export async function checkReuse(
  docker: Dockerode, registry: RegistryClient | undefined, build: PlannedBuild, o: { overwrite: boolean; pins: Readonly<Record<string, string>>; repo: string; uncommitted?: string[] },
): Promise<ReuseCheck> {
  const tag = buildTag(build.request);
  const label = inputsLabel(build.kind, build.target);
  const [engine, published] = await Promise.all([
    engineImage(docker, tag),
    // A registry that can't answer fails the build: guessing "absent" could overwrite a build tag.
    registry ? registryImage(registry, tag).catch((e: Error) => {
      throw new Error(`cannot check ${tag} in the registry before pushing: ${e.message}`);
    }) : undefined,
  ]);
  const found = (labels: Record<string, string> | undefined, id: string | undefined): FoundImage =>
    ({ inputs: labels?.[label], mismatch: inputsMismatch(labels ?? {}, build), id });
  // The engine's image may have been built on another image of a parent than the one this run
  // took (the registry's, published by another agent): not reusable, or a child would be pushed
  // on a parent the registry does not hold under the parent's build tag.
  const parents = engine || published ? await pinnedParentLabels(docker, build, o) : [];
  const otherParent = engine && parentMismatch(parents, engine.labels);
  const engineFound = engine ? { ...found(engine.labels, engine.image.imageId), ...(otherParent ? { mismatch: otherParent } : {}) } : undefined;
  if (published && "broken" in published) {
    const decision = decideReuse({
      inputsDigest: build.request.inputsDigest, buildTag: tag, pushing: true, overwrite: o.overwrite,
      engine: engineFound, registry: { id: published.configDigest, broken: published.broken },
    });
    return { decision, engineImage: engine?.image, registryDigest: published.digest };
  }
  // So may the registry's (a parent rebuilt after its image was deleted there, by hand or by a
  // retention policy): reusing it would publish a child of a parent build the registry no longer
  // holds. It is judged against what the registry holds under its parents' build tags, not this
  // run's pins (another run of the commit may have published parent and child first, rightly),
  // and asked only when it differs from the pins.
  // Built on another build of a parent this run builds (`--all` on a published commit builds an
  // unchanged parent again under this commit's build tag, and moves {version} to it): not this
  // run's image, whatever the registry holds. A parent the run only pulls ({version}, which may
  // hold a later build of the same inputs), or an earlier build completed by --reconcile, is
  // judged on the registry as before.
  const ofThisRun = parents.filter((p) => !build.earlierBuild && plannedHere(build, p.ref));
  const otherBuild = published && ofThisRun.map((p) => builtOnOtherParentBuild(p.ref, published.config.labels, p.labels)).find((why) => why !== undefined);
  // With --overwrite such parents replace what their build tags hold, so an image built on another
  // image of them is not judged on what the registry holds there now (this run's push of the
  // parent may not have landed yet).
  const otherImage = published && parentMismatch(parents, published.config.labels);
  const overwritten = o.overwrite && published ? parentMismatch(ofThisRun, published.config.labels) : undefined;
  const registryOtherParent = otherBuild ?? overwritten ?? (otherImage && registry
    ? await registryParentProblem(registry, tag, published.config.labels, build.request.platform)
    : undefined);
  const decision = decideReuse({
    inputsDigest: build.request.inputsDigest,
    buildTag: tag,
    engine: engineFound,
    registry: published ? { ...found(published.config.labels, published.configDigest), ...(registryOtherParent ? { mismatch: registryOtherParent } : {}) } : undefined,
    pushing: registry !== undefined,
    overwrite: o.overwrite,
    uncommitted: build.request.contexts.filter((dir) => o.uncommitted?.includes(dir)),
  });
  return { decision, engineImage: engine?.image, registryDigest: published?.digest };
}

/**
 * After the reuse check of a platform image published in its layer's index (`indexTag`), when its
 * platform build tag holds an image (`o.held`, its manifest digest: never on a push of a new
 * build): when that is another image of the same inputs than the one the index names, and the
 * indexed one is sound (decideIndexedImagePutBack), the indexed one is put back, and the caller
 * checks again, so that the published image is reused, and the children built on it too (hunter19
 * F1: a run of the commit killed between its platform push and its index step left the tag so; its
 * put-back never ran). One read (the index) when the tag holds the indexed image, as on a rerun.
 * A failure is said and leaves the tags as the check found them. Returns whether it put one back.
 */
export async function restoreIndexedImageBeforeReuse(registry: RegistryClient, build: PlannedBuild, indexTag: string, o: { held: string; overwrite: boolean; line: (text: string) => void }): Promise<boolean> {
  if (o.overwrite) return false;
  const tag = buildTag(build.request);
  const platform = build.request.platform ?? parsePlatformTag(parseImageReference(tag).tag ?? "")?.platform;
  try {
    const top = await registry.getManifest(indexTag, { noIndexResolution: true });
    if (!top || !isIndex(top) || platform === undefined) return false;
    // An index without this platform's image: the reuse check's and the index step's to judge.
    const entry = platformEntryOf(top.indexEntries ?? [], platform);
    if (!entry || entry.digest === o.held) return false;
    const r = parseImageReference(indexTag);
    const [held, indexed] = await Promise.all([registry.getManifest(tag), registry.getManifest({ registry: r.registry, repository: r.repository, digest: entry.digest })]);
    if (!held || !indexed || held.digest !== held.manifestDigest || held.digest === entry.digest) return false;
    const [indexedImage, heldImage] = await Promise.all([registry.imageOf(indexed), registry.imageOf(held)]);
    const about = (image: RegistryImage, digest: string, fault?: string): HeldPlatformImage => ({
      digest, inputs: image.config.labels[inputsLabel(build.kind, build.target)], build: image.config.labels[versionLabel(build.kind, build.target)], ...(fault ? { fault } : {}),
    });
    const labels = indexedImage.config.labels;
    const fault = inputsMismatch(labels, build) ?? await registryParentProblem(registry, tag, labels, build.request.platform);
    const putBack = decideIndexedImagePutBack({
      inputsDigest: build.request.inputsDigest, build: build.request.labels[versionLabel(build.kind, build.target)],
      held: about(heldImage, held.digest), indexed: about(indexedImage, indexed.digest, fault), overwrite: o.overwrite,
    });
    if (!putBack) return false;
    return (await putBackIndexedImage({ registry, line: o.line }, indexTag, build, indexed, held.digest, `its platform build tag held another build of the same inputs, ${held.digest}, not indexed`)).length > 0;
  } catch (e) {
    o.line(`${tag} not checked against the image the index ${indexTag} names: ${(e as Error).message}`);
    return false;
  }
}

/**
 * Before a push builds anything: refused when a build would be refused at its turn, after the
 * builds before it had published (refusalsBeforeBuilding). One HEAD of each build tag (and what
 * it holds read when it holds something), which each build's own check reads again when its
 * turn comes: another run may have pushed it since, and that image is then reused.
 */
export async function refuseBeforeBuilding(registry: RegistryClient, builds: readonly PlannedBuild[], o: { overwrite?: boolean; uncommitted?: string[] }): Promise<{ uncancelled: () => string[] }> {
  const held = new Map<string, Record<string, string>>();
  const toPush = new Map<string, ImageReference>();
  await Promise.all(builds.map(async (build) => {
    const tag = buildTag(build.request);
    // A HEAD first: a push of new builds (the usual one) finds none, and reads nothing more.
    const read = await registry.getDigest(tag).then((there) => there === undefined ? undefined : registryImage(registry, tag)).catch((e: Error) => {
      throw new Error(`cannot check ${tag} in the registry before pushing: ${e.message}`);
    });
    if (read && !("broken" in read)) held.set(build.id, read.config.labels);
    // A new build goes there, or (--overwrite) one replacing an image of other inputs.
    const replaced = o.overwrite && read && ("broken" in read || read.config.labels[inputsLabel(build.kind, build.target)] !== build.request.inputsDigest);
    if (!read || replaced) {
      const ref = parseImageReference(tag);
      toPush.set(`${ref.registry}/${ref.repository}`, ref);
    }
  }));
  const refusals = refusalsBeforeBuilding(builds, held, { overwrite: o.overwrite ?? false, uncommitted: o.uncommitted });
  // Where a new build goes: may these credentials push there? (Credentials scoped to some
  // repositories published half a release, then were refused the rest.)
  // Only a refusal (401, 403) or another answer the registry gives a write (a repository it won't
  // create: 404) says the push would fail; a registry that is busy or drops the connection says
  // nothing of rights, and the pushes find out (they retry).
  // The checks' cancels are not waited for (see checkPush): why each that failed did, for the run to say.
  const cancels: { name: string; cancelled: Promise<string | undefined> }[] = [];
  const denied = (await Promise.all([...toPush].map(([name, ref]) => registry.checkPush(ref).then(({ cancelled }) => void cancels.push({ name, cancelled }), (e: Error) => {
    const status = e instanceof RegistryError ? e.status : undefined;
    return status !== undefined && status >= 400 && status < 500 ? { id: name, message: `may not push to ${name}: ${e.message}` } : undefined;
  })))).filter((d) => d !== undefined);
  const all = [...denied, ...refusals];
  const uncancelled = cancelsSoFar(cancels);
  if (all.length === 0) return { uncancelled };
  const more = all.length > 1 ? ` (and ${all.length - 1} more refused: ${all.slice(1).map((r) => r.id).join(", ")})` : "";
  throw new Error(`refused before building anything: ${all[0].message}${more}`);
}

/**
 * The push-rights checks' cancels as they stand when asked, never waited for (hunter20 F4: a
 * registry that never answered one held a short run to the cancel's bound at its end): why each
 * that ended failed, and each not ended yet, named by its repository. The run asks at its end.
 */
export function cancelsSoFar(cancels: readonly { name: string; cancelled: Promise<string | undefined> }[]): () => string[] {
  const ended = new Map<string, string | undefined>();
  for (const c of cancels) void c.cancelled.then((why) => ended.set(c.name, why), (e: Error) => ended.set(c.name, e.message));
  return () => cancels.flatMap((c) => {
    if (!ended.has(c.name)) return [`cancel of the upload in ${c.name}: no answer by the end of the run (it may still go through)`];
    const why = ended.get(c.name);
    return why === undefined ? [] : [why];
  });
}

/** The labels of the images this run took for the request's parents (of its own platform), read once for both checks. */
async function pinnedParentLabels(
  docker: Dockerode, build: PlannedBuild, o: { pins: Readonly<Record<string, string>>; repo: string },
): Promise<{ ref: string; labels: Record<string, string> }[]> {
  const parents: { ref: string; labels: Record<string, string> }[] = [];
  for (const ref of Object.keys(build.request.inputs?.parents ?? {})) {
    // The parent of the request's own platform (a run of several holds one per platform).
    const pinned = o.pins[pinKey(`${o.repo}/${ref}`, build.request.platform)];
    if (pinned === undefined) continue;
    parents.push({ ref, labels: (await docker.getImage(pinned).inspect()).Config?.Labels ?? {} });
  }
  return parents;
}

/** Whether the parent `ref` (`sci/{target}:{version}`) is built (or reused as this commit's build) in this run: a build the request depends on. */
function plannedHere(build: PlannedBuild, ref: string): boolean {
  const target = /^sci\/([^:]+):/.exec(ref)?.[1];
  return target !== undefined && build.dependsOn.some((id) => id === `sci/${target}` || id.startsWith(`sci/${target}@`));
}

function parentMismatch(parents: { ref: string; labels: Record<string, string> }[], labels: Record<string, string>): string | undefined {
  for (const parent of parents) {
    const why = builtOnOtherParent(parent.ref, labels, parent.labels);
    if (why) return why;
  }
  return undefined;
}

/**
 * Why the registry's image under `tag` is not built on what the registry holds under its parents'
 * build tags (verify's judgment); undefined when it is.
 */
async function registryParentProblem(registry: RegistryClient, tag: string, labels: Record<string, string>, platform: string | undefined): Promise<string | undefined> {
  const ref = parseImageReference(tag);
  const own = ref.tag === undefined ? undefined : parsePlatformTag(ref.tag);
  let checks;
  try {
    checks = await judgeParentsInRegistry(registry, ref, labels, { platform, platformTag: own?.platform });
  } catch (e) {
    throw new Error(`cannot check the parents of ${tag} in the registry before pushing: ${(e as Error).message}`);
  }
  const failed = checks.find((c) => !c.ok);
  return failed && `an image built on ${failed.subject}, of which ${failed.detail}`;
}

/**
 * The registry's image under `tag`, or what is known of it when the registry can't give it for a
 * fault of the image's (`broken`: why; its config blob lost, say): a run then pushes the engine's
 * image of it again when that is the manifest's config (decideReuse).
 */
async function registryImage(registry: RegistryClient, tag: string): Promise<RegistryImage | { digest?: string; configDigest?: string; broken: string } | undefined> {
  const read = await registry.imageOrBroken(tag);
  if (!read) return undefined;
  return read.image ?? { digest: read.manifest?.digest, configDigest: read.manifest?.config.digest, broken: read.broken! };
}

async function engineImage(docker: Dockerode, tag: string): Promise<{ image: BuiltImage; labels: Record<string, string> } | undefined> {
  try {
    const info = await docker.getImage(tag).inspect();
    const labels = info.Config?.Labels ?? {};
    return { image: { imageId: info.Id, created: info.Created, labels }, labels };
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
}
