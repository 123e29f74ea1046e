// Before a build: is this request's image already there, under its build tag, with the same
// inputs digest? The engine is asked first, then (when pushing) the registry over its HTTP API.
import type Dockerode from "dockerode";
import { inputsLabel, inputsMismatch } from "../../core/requests/inputs-digest.js";
import { buildTag } from "../../core/requests/tags.js";
import { builtOnOtherParent, decideReuse, pinKey, type FoundImage, type ReuseDecision } from "../../core/execute/publishing.js";
import type { PlannedBuild } from "../../core/model.js";
import type { RegistryClient } from "../../registry/client.js";
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
    registry ? registry.getImage(tag).catch((e: Error) => {
      throw new Error(`cannot check ${tag} in the registry before pushing: ${e.message}`);
    }) : undefined,
  ]);
  const found = (labels: Record<string, string> | undefined, id: string | undefined): FoundImage =>
    ({ inputs: labels?.[label], mismatch: inputsMismatch(labels ?? {}, build), id });
  // The engine's image may have been built on another image of a parent than the one this run
  // took (the registry's, published by another agent): not reusable, or a child would be pushed
  // on a parent the registry does not hold under the parent's build tag.
  const otherParent = engine && await parentMismatch(docker, build, engine.labels, o);
  // So may the registry's (a parent rebuilt after its image was deleted there, by hand or by a
  // retention policy): reusing it would publish a child of a parent build the registry no longer holds.
  const registryOtherParent = published && await parentMismatch(docker, build, published.config.labels, o);
  const decision = decideReuse({
    inputsDigest: build.request.inputsDigest,
    buildTag: tag,
    engine: engine ? { ...found(engine.labels, engine.image.imageId), ...(otherParent ? { mismatch: otherParent } : {}) } : undefined,
    registry: published ? { ...found(published.config.labels, published.configDigest), ...(registryOtherParent ? { mismatch: registryOtherParent } : {}) } : undefined,
    pushing: registry !== undefined,
    overwrite: o.overwrite,
    uncommitted: build.request.contexts.filter((dir) => o.uncommitted?.includes(dir)),
  });
  return { decision, engineImage: engine?.image, registryDigest: published?.digest };
}

async function parentMismatch(
  docker: Dockerode, build: PlannedBuild, labels: Record<string, string>, o: { pins: Readonly<Record<string, string>>; repo: string },
): Promise<string | undefined> {
  for (const ref of Object.keys(build.request.inputs?.parents ?? {})) {
    // The parent of the request's own platform (a run of several holds one per platform).
    const pinned = o.pins[pinKey(`${o.repo}/${ref}`, build.request.platform)];
    if (pinned === undefined) continue;
    const parent = await docker.getImage(pinned).inspect();
    const why = builtOnOtherParent(ref, labels, parent.Config?.Labels ?? {});
    if (why) return why;
  }
  return undefined;
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
