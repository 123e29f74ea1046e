// One build of a run, up to its image: reused when the engine or the registry has an image of the
// same inputs under the build tag (pulled and tagged as a build would be), otherwise built with
// its parents pinned to the images of this run and a buildtime label.
import type Dockerode from "dockerode";
import type { PlannedBuild } from "../../core/model.js";
import { pinParents } from "../../core/execute/publishing.js";
import { buildTag, movingTag, stripPlatformSuffix } from "../../core/requests/tags.js";
import { splitTag } from "../../core/parse/image-reference.js";
import { buildtimeLabel, inputsLabel } from "../../core/requests/inputs-digest.js";
import { decideBuildMovingTag } from "../../core/execute/moving-tag.js";
import { requestDigestProblem } from "../../core/requests/plan-inputs.js";
import { registryCacheSources } from "../../core/requests/buildkit-cache.js";
import type { RegistryClient } from "../../registry/client.js";
import type { DockerCredentials } from "../../registry/credentials.js";
import { buildImage } from "./build.js";
import { builtImage, type BuiltImage } from "./engine.js";
import type { BuildersOfPlan, RunBuilder } from "./builder.js";
import { pullImage } from "./pull.js";
import { checkReuse, restoreIndexedImageBeforeReuse } from "./reuse.js";
import type { EngineRunOptions } from "./run-options.js";

/** What every build of a run shares. */
export interface BuildStepContext {
  docker: Dockerode;
  creds: DockerCredentials;
  /** When pushing: build tags already in the registry are checked over its HTTP API. */
  registry?: RegistryClient;
  /** The plan's registry location (for BuildKit's registry cache). */
  repo: string;
  builder: RunBuilder;
  builders: BuildersOfPlan;
  options: Pick<EngineRunOptions, "rootDir" | "noCache" | "pull" | "buildArgs" | "overwrite" | "allowTagRollback" | "uncommitted" | "secrets" | "registryCache" | "signKey" | "attach" | "signIndex">;
  /**
   * Build id -> the request's own tags, for a build published as a one-platform index under
   * platform tags (issue 19): the engine keeps its image under them too, as before, and an image
   * published under them without attestations is reused (its attestations added, not rebuilt).
   */
  layerTags?: ReadonlyMap<string, readonly string[]>;
  /** The engine's platform, when the run pushes plain images (no attachments): see PushStepContext.plainPlatform. */
  plainPlatform?: string;
}

/** Where a build's output goes. */
export interface BuildStepOutput {
  output: (text: string) => void;
  line: (text: string) => void;
  state: (doing: string) => void;
}

export interface ImageReady {
  image: BuiltImage;
  /** Set when an image of the same inputs was reused; `push` false: the registry has its build tag. */
  reused?: { push: boolean; registryDigest?: string };
  /**
   * The engine's image being tagged under the layer's own tags (keepLayerTags): not waited for by
   * the build, whose children and push need only its platform tags; why it failed, else undefined.
   */
  layerTags?: Promise<string | undefined>;
}

/**
 * `pins`: image reference -> image id of the images found or built in this run; read when the
 * build starts, after its parents are done. Throws when the build fails or is refused.
 */
export async function makeImage(
  ctx: BuildStepContext, build: PlannedBuild, pins: Readonly<Record<string, string>>, signal: AbortSignal, out: BuildStepOutput,
): Promise<ImageReady> {
  const { docker, options } = ctx;
  const reuseOptions = { overwrite: options.overwrite ?? false, pins, repo: ctx.repo, uncommitted: options.uncommitted };
  const layerTags = ctx.layerTags?.get(build.id);
  const asLayer: PlannedBuild | undefined = layerTags && { ...build, request: { ...build.request, tags: [...layerTags] } };
  // The index build tag of the layer this platform image is published in (a one-platform index's, or a layer of platforms').
  const indexTag = asLayer ? buildTag(asLayer.request) : build.request.platform !== undefined ? stripPlatformSuffix(buildTag(build.request), build.request.platform) : undefined;
  let check = await checkReuse(docker, ctx.registry, build, reuseOptions);
  // Its platform build tag holds an image (a rerun, not a push of a new build): the one its index names? Else that is put back, and checked.
  if (ctx.registry && indexTag && check.registryDigest !== undefined && !signal.aborted
    && await restoreIndexedImageBeforeReuse(ctx.registry, build, indexTag, { held: check.registryDigest, overwrite: reuseOptions.overwrite, line: out.line })) {
    check = await checkReuse(docker, ctx.registry, build, reuseOptions);
  }
  let reuseFrom = build;
  if (asLayer && check.decision.action === "build") {
    // Published before as a plain image under the layer's own tags (--no-attestations): that
    // image, pushed under its platform tags now, goes into the index with its attestations.
    // Only a chance to reuse: whatever else the layer's tag holds (an index, even one without images,
    // or an answer the registry can't give) is judged by the index step, which reads it again and
    // refuses or reports it; here the build goes on as planned.
    const published = await checkReuse(docker, ctx.registry, asLayer, reuseOptions).catch(() => undefined);
    if (published?.decision.action === "reuse") {
      check = { ...published, decision: { ...published.decision, push: true }, registryDigest: undefined };
      reuseFrom = asLayer;
    }
  }
  const d = check.decision;
  if (d.action === "refuse") throw new Error(d.message);
  // --reconcile planned it as an earlier build, to complete, never to build: an image built now
  // would be published under that build's name.
  if (d.action === "build" && build.earlierBuild) {
    throw new Error(`refused: ${buildTag(build.request)} was planned to be reused (--reconcile: the earlier build {version} holds), but the engine and the registry have no image of it of these inputs; plan again (--reconcile)`);
  }
  if (d.action === "reuse") {
    if (d.note) out.line(d.note);
    // The engine's image was inspected by the reuse check; one pulled is inspected once pulled.
    const image = d.from === "engine" ? check.engineImage! : await pullReused(ctx, buildTag(reuseFrom.request), signal);
    // The local moving tag follows, as after a build (forward only).
    await moveLocalMovingTag(ctx, build, image.imageId, await localMovingTag(docker, build), out);
    return { image, reused: { push: d.push, registryDigest: check.registryDigest }, ...layerTagsOf(ctx, asLayer, image.imageId, out) };
  }
  // The image is labelled with the request's inputs digest: the request must make it (issue 16, item 1).
  const problem = requestDigestProblem(build, ctx.repo, { ...build.request.buildArgs, ...options.buildArgs });
  if (problem) throw new Error(`refused: ${problem}, so its image would be labelled with inputs it is not built from`);
  const labelled = build.request.labels[inputsLabel(build.kind, build.target)] !== undefined;
  const { builders, notes, unavailable } = ctx.builders;
  if (unavailable.has(build.id)) throw new Error(unavailable.get(build.id));
  if (notes.has(build.id)) out.line(notes.get(build.id)!);
  const request = {
    ...build.request,
    dockerfile: pinParents(build.request, pins),
    // When this image is built, to the millisecond: a child's is always later than its
    // parent's, which orders the breadcrumbs of images whose labels leave no history (BuildKit).
    labels: { ...build.request.labels, [buildtimeLabel(build.kind, build.target)]: (Date.now() / 1000).toFixed(3) },
  };
  const before = await localMovingTag(docker, build);
  const image = await buildImage(docker, request, {
    // rootDir, noCache, pull, buildArgs, secrets (BuildOptions picks them; the rest is not read)
    ...options,
    creds: ctx.creds,
    signal,
    output: out.output,
    note: out.line,
    state: out.state,
    builder: builders.get(build.id) ?? ctx.builder.builder, network: ctx.builder.network,
    expectContext: labelled ? build.request.inputs?.context : undefined,
    buildkit: {
      inlineCache: true,
      cacheFrom: options.registryCache === false ? [] : registryCacheSources(build.request, ctx.repo, options.buildArgs),
    },
  });
  // The build tagged the moving tag too: put it back when it held a newer build.
  await moveLocalMovingTag(ctx, build, image.imageId, before, out, { tagged: true });
  return { image, ...layerTagsOf(ctx, asLayer, image.imageId, out) };
}

/**
 * The layer's own tags, kept by the engine too, started and not waited for: each tag is a write of
 * the engine's whole reference store (about 10 ms on an engine holding thousands of tags), and a
 * build waiting for two of them held up every build after it in its chain.
 */
function layerTagsOf(ctx: BuildStepContext, asLayer: PlannedBuild | undefined, imageId: string, out: BuildStepOutput): Pick<ImageReady, "layerTags"> {
  if (!asLayer) return {};
  return { layerTags: keepLayerTags(ctx, asLayer, imageId, out).then(() => undefined, (e: unknown) => `the engine did not keep ${buildTag(asLayer.request)}: ${(e as Error).message}`) };
}

/** The engine's image under the layer's own tags too (`asLayer`: the build with them): its build tag, and its moving tag forward. */
async function keepLayerTags(ctx: BuildStepContext, asLayer: PlannedBuild, imageId: string, out: BuildStepOutput): Promise<void> {
  const { name, tag } = splitTag(buildTag(asLayer.request));
  await ctx.docker.getImage(imageId).tag({ repo: name, tag });
  await moveLocalMovingTag(ctx, asLayer, imageId, await localMovingTag(ctx.docker, asLayer), out);
}

type LocalImage = { id: string; labels: Record<string, string> };

/** The engine's image under the build's moving tag `{version}`, if any. */
async function localMovingTag(docker: Dockerode, build: PlannedBuild): Promise<LocalImage | undefined> {
  const info = await docker.getImage(movingTag(build.request)).inspect().catch(() => undefined);
  return info && { id: info.Id, labels: info.Config?.Labels ?? {} };
}

/**
 * The engine's moving tag moves to this build's image only forward, as the registry's does
 * (issue 16, item 2): a rerun of an older commit leaves it on the newer build (`before`).
 * `tagged`: the build tagged it already (as the request's tags); a tag there already is not
 * written again (a write of the engine's whole reference store).
 */
async function moveLocalMovingTag(ctx: BuildStepContext, build: PlannedBuild, imageId: string, before: LocalImage | undefined, out: BuildStepOutput, o: { tagged?: boolean } = {}): Promise<void> {
  const ref = movingTag(build.request);
  const decision = decideBuildMovingTag(build, ref, imageId, before, ctx.options.allowTagRollback ?? false);
  const { name, tag } = splitTag(ref);
  if (decision.move) {
    if (!o.tagged && before?.id !== imageId) await ctx.docker.getImage(imageId).tag({ repo: name, tag });
  }
  else {
    await ctx.docker.getImage(before!.id).tag({ repo: name, tag });
    out.line(`the engine's ${decision.reason.replace(/^not moved: /, "")}: left there`);
  }
}

/** A reused image the engine lacks: pulled by its build tag, so children can build on it. */
async function pullReused(ctx: BuildStepContext, ref: string, signal: AbortSignal): Promise<BuiltImage> {
  const failure = await pullImage(ctx.docker, ctx.creds, ref, signal);
  if (failure) throw new Error(`pull ${ref}: ${failure.message}`);
  return builtImage(ctx.docker, ref);
}
