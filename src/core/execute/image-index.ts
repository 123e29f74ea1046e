// Issue 17, item 4: the OCI image index a layer built for several platforms is published as.
// Pure: which builds make one index and under which tags, the index's exact bytes, and the
// decisions about its tags; the executor (executors/docker/index-step.ts) reads the registry,
// asks here, and writes.
//
// - The engine pushes each platform's image under its platform tags (`{version}-{n}-{h}-linux-arm64`);
//   the layer's own tags `{version}-{n}-{h}` and `{version}` hold the index of them all.
// - The index is written only when every platform's image is in the registry: build tag first
//   (read back), then the moving tag, only forward (judged on the version label of the platform
//   images inside the index it holds, as for a single image).
// - Deterministic bytes: platform entries in the plan's platform order, attachments after them,
//   keys in a fixed order, no timestamps; a rerun computes the same digest and writes nothing.
import { parentsFirst } from "../plan/graph.js";
import type { BuildResult, IndexResult, PlannedBuild } from "../model.js";
import { platformTags, stripPlatformSuffix } from "../requests/tags.js";
import { buildTag, movingTag } from "../requests/tags.js";
import { platformsOfPlan } from "./platforms.js";
import { decideMovingTag, type MovingTagDecision } from "./moving-tag.js";
import type { Descriptor } from "../registry/image-index.js";
import { sha256Digest } from "../digest.js";

export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

/** A layer published as one index: its builds, one per platform. */
export interface IndexLayer {
  /** The layer's build id without the platform (`sci/x`, `rel/x:1.0`). */
  id: string;
  /** `{repo}/…:{version}-{n}-{h}`: written first, never moved (like an image's build tag). */
  buildTag: string;
  /** `{repo}/…:{version}`: moved to the index only forward. */
  movingTag: string;
  /** Its builds, in the plan's platform order. */
  members: { platform: string; id: string }[];
}

/** `sci/x@linux/arm64` -> `sci/x`. */
function layerId(id: string, platform: string): string {
  const suffix = `@${platform}`;
  return id.endsWith(suffix) ? id.slice(0, -suffix.length) : id;
}

/**
 * The layers of a plan built for named platforms, each with its builds in the plan's platform
 * order; a plan without platforms has none. Made from the whole plan, so that a run of a part of
 * it (`run --only`, `--platform`) knows which layers it holds every platform of.
 */
export function indexLayers(builds: Pick<PlannedBuild, "id" | "request">[]): IndexLayer[] {
  const order = platformsOfPlan({ builds: builds as PlannedBuild[] });
  const layers = new Map<string, IndexLayer>();
  for (const b of builds) {
    const platform = b.request.platform;
    if (platform === undefined) continue;
    const id = layerId(b.id, platform);
    let layer = layers.get(id);
    if (!layer) {
      layer = { id, buildTag: stripPlatformSuffix(buildTag(b.request), platform), movingTag: stripPlatformSuffix(movingTag(b.request), platform), members: [] };
      layers.set(id, layer);
    }
    layer.members.push({ platform, id: b.id });
  }
  for (const layer of layers.values()) layer.members.sort((a, b) => order.indexOf(a.platform) - order.indexOf(b.platform));
  return [...layers.values()];
}

/**
 * Builds whose images get attachments (attestations): each build for no named platform is
 * published as a one-platform index, as buildx does. The engine pushes it under platform tags made
 * here from the engine's own platform; the layer's own tags hold the index. Builds for a named
 * platform are left as they are: their layers' indexes are `indexLayers`'. Each build is judged
 * alone: a plan mixing both (layers that declare platforms beside layers that don't) published
 * the others as plain images with no attestations, or (`run --only`) under platform tags alone
 * (hunter24). `onePlatform`: the one-platform layers, apart.
 */
export function singlePlatformIndexes<B extends Pick<PlannedBuild, "id" | "request">>(builds: B[], enginePlatform: string): { builds: B[]; layers: IndexLayer[]; onePlatform: IndexLayer[] } {
  const plain = builds.filter((b) => b.request.platform === undefined);
  const onePlatform = plain.map((b) => ({ id: b.id, buildTag: buildTag(b.request), movingTag: movingTag(b.request), members: [{ platform: enginePlatform, id: b.id }] }));
  return {
    builds: builds.map((b) => (b.request.platform !== undefined ? b : { ...b, request: { ...b.request, tags: platformTags(b.request, enginePlatform) } })),
    layers: [...indexLayers(builds), ...onePlatform],
    onePlatform,
  };
}

/** An entry with its keys in a fixed order (annotations sorted), whatever order it was made in. */
function canonicalEntry(e: Descriptor): Descriptor {
  const p = e.platform;
  return {
    mediaType: e.mediaType,
    digest: e.digest,
    size: e.size,
    ...(p ? { platform: { ...(p.architecture !== undefined ? { architecture: p.architecture } : {}), ...(p.os !== undefined ? { os: p.os } : {}), ...(p.variant ? { variant: p.variant } : {}) } } : {}),
    ...(e.annotations && Object.keys(e.annotations).length
      ? { annotations: Object.fromEntries(Object.entries(e.annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) }
      : {}),
  };
}

/** The index of `platforms` (in that order) and `attachments` after them: its exact bytes and digest. */
export function imageIndex(platforms: Descriptor[], attachments: Descriptor[] = []): { bytes: Buffer; digest: string; mediaType: string } {
  const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...platforms, ...attachments].map(canonicalEntry) };
  const bytes = Buffer.from(JSON.stringify(index), "utf8");
  return { bytes, digest: sha256Digest(bytes), mediaType: OCI_INDEX };
}

/** What the registry holds under an index's build tag before it is written. */
export interface HeldIndex {
  digest: string;
  /** An index (or manifest list); false: a single image. */
  isIndex: boolean;
  /** For an index: the inputs label of its image for each platform it has (undefined: no label). */
  inputs: Record<string, string | undefined>;
  /** The digests of its images: an index's platform images (attachments aside), or the single image's own. */
  images?: string[];
}

export type IndexBuildTagDecision =
  | { action: "already" }
  | { action: "put"; why?: string }
  | { action: "superseded"; reason: string }
  | { action: "refuse"; reason: string };

/**
 * Whether the index is written under the layer's build tag, from what the registry holds there:
 * this very index (nothing to write); nothing (written); with `overwrite`, anything (written over);
 * an index of the same inputs for every platform (another run of this commit published its own
 * images first: superseded); anything else is refused, build tags being immutable.
 */
export function decideIndexBuildTag(q: {
  tag: string; digest: string; expected: Record<string, string | undefined>; held?: HeldIndex; overwrite: boolean;
  /** The digests of this index's platform images, in its order. */
  images?: string[];
}): IndexBuildTagDecision {
  const { held } = q;
  if (!held) return { action: "put" };
  if (held.digest === q.digest) return { action: "already" };
  // The very images this index names, published without its attachments (issue 19: attestations
  // added to images pushed with --no-attestations, by --reconcile): the build tag gets them, its
  // images unchanged.
  const sameImages = (a: string[] | undefined, b: string[] | undefined) => a !== undefined && b !== undefined && a.length > 0 && a.join(" ") === b.join(" ");
  if (sameImages(held.images, q.images)) return { action: "put", why: `${q.tag} holds these very images without their attachments` };
  // --overwrite replaces whatever is there: the platform tags hold this run's images (the index step
  // checked them), pushed over an earlier build's of the same inputs (a child rebuilt on a new build
  // of its parent), and the index must name them, not the images they replaced.
  if (q.overwrite) return { action: "put", why: "--overwrite" };
  const platforms = Object.keys(q.expected);
  const sameInputs = held.isIndex && platforms.every((p) => q.expected[p] !== undefined && held.inputs[p] === q.expected[p]);
  if (sameInputs) {
    return { action: "superseded", reason: `not published: another run of this commit published the index ${q.tag} (${held.digest}) of its own images of the same inputs; the moving tag is left to that run` };
  }
  const what = held.isIndex
    ? `an index of other images (${platforms.map((p) => `${p}: ${held.inputs[p] ?? "none"}`).join(", ")})`
    : "a single image, not an index";
  return {
    action: "refuse",
    reason: `${q.tag} is already in the registry (${held.digest}) holding ${what}, but this build's inputs are ${platforms.map((p) => `${p}: ${q.expected[p] ?? "(none recorded)"}`).join(", ")}: build tags are immutable (--overwrite replaces it)`,
  };
}

/** An image of a platform as the registry holds it: its manifest digest and what its labels say of its build. */
export interface HeldPlatformImage {
  digest: string;
  inputs?: string;
  /** Its version label (`{version}-{n}-{h}`). */
  build?: string;
  /** Why it is not of the build's inputs (inputsMismatch), or built on a parent build the registry no longer holds. */
  fault?: string;
}

/**
 * Before a platform image's reuse check: whether the image the layer's index build tag names goes
 * back under the platform build tag, which holds another image of the same inputs (hunter19 F1:
 * another run of this commit pushed its own over the indexed one and ended before its index step,
 * whose put-back never ran). The index is what was published, and what the children built on it
 * stand on; anything else is left to the reuse check (an index of other inputs stays a refusal),
 * and so is everything under --overwrite, which replaces on purpose.
 */
export function decideIndexedImagePutBack(q: {
  inputsDigest?: string;
  /** This build's version label. */
  build?: string;
  /** What the platform build tag holds (undefined: nothing). */
  held?: HeldPlatformImage;
  /** The index build tag's image of this platform (undefined: no index there, or none with it, or unreadable). */
  indexed?: HeldPlatformImage;
  overwrite: boolean;
}): boolean {
  const { held, indexed } = q;
  if (q.overwrite || q.inputsDigest === undefined || !held || !indexed || held.digest === indexed.digest) return false;
  const ours = (image: HeldPlatformImage) => image.inputs === q.inputsDigest && image.build === q.build;
  return ours(held) && ours(indexed) && indexed.fault === undefined;
}

/**
 * Whether the index moves to the moving tag, from what the registry holds there (its digest and
 * the version label of its image, for an index the image of one of its platforms): only forward,
 * as an image's moving tag (see moving-tag.ts).
 */
export function decideIndexMovingTag(q: {
  tag: string; digest: string; ours: string | undefined; held?: { digest: string; label: string | undefined }; allowRollback: boolean;
}): MovingTagDecision {
  return decideMovingTag({
    movingTag: q.tag, ours: q.ours, allowRollback: q.allowRollback,
    held: q.held && { isThisImage: q.held.digest === q.digest, label: q.held.label },
  });
}

/**
 * Why a layer's index is not written when the run ends without it: the first of its platforms
 * whose image is not in the registry, and what became of it. `status`: each member's build
 * status and push result (undefined: the run did not get to it).
 */
export function indexNotWritten(layer: IndexLayer, status: (id: string) => { build?: string; push?: string; reason?: string }): string {
  for (const m of layer.members) {
    const s = status(m.id);
    if (s.push === "pushed") continue;
    const what = s.push ?? (s.build === "built" || s.build === "reused" ? "not pushed" : s.build ?? "not run");
    return `index not written: the ${m.platform} image (${m.id}) is ${what}${s.reason ? ` (${s.reason})` : ""}; ${layer.buildTag} and ${layer.movingTag} are left as they were`;
  }
  // Every platform image pushed, and still no index: the run stopped (interrupt, --fail-fast) before its step.
  return `index not written: the run stopped before its index step; ${layer.buildTag} and ${layer.movingTag} are left as they were`;
}

export type { IndexResult };

/** A layer's index result with both tags not written and why. */
/** `layers` with every layer after the layers it builds on (`dependsOn`: a build's parents), otherwise in their order. */
export function indexLayersParentsFirst(layers: readonly IndexLayer[], dependsOn: (id: string) => readonly string[]): IndexLayer[] {
  const byId = new Map(layers.map((l) => [l.id, l]));
  return parentsFirst(layers.map((l) => l.id), (id) => parentIndexLayers(byId.get(id)!, layers, dependsOn).map((l) => l.id)).map((id) => byId.get(id)!);
}

/** The layers of `layers` whose builds `layer`'s builds build on (`dependsOn`: a build's parents). */
export function parentIndexLayers(layer: IndexLayer, layers: readonly IndexLayer[], dependsOn: (id: string) => readonly string[]): IndexLayer[] {
  const parents = new Set(layer.members.flatMap((m) => dependsOn(m.id)));
  return layers.filter((l) => l !== layer && l.members.some((m) => parents.has(m.id)));
}

/**
 * Why `layer`'s index is not written: the index of `parent`, which it builds on, was not, so its
 * `{version}` would serve an image built on one that the parent's `{version}` does not serve.
 */
export function withheldIndexReason(layer: IndexLayer, parent: IndexLayer): string {
  return `index not written: the index of ${parent.id}, which it builds on, was not; ${layer.buildTag} and ${layer.movingTag} are left as they were`;
}

export function unwrittenIndex(layer: IndexLayer, status: IndexResult["status"], reason: string): IndexResult {
  return {
    id: layer.id, platforms: Object.fromEntries(layer.members.map((m) => [m.platform, m.id])), status, reason,
    tags: [layer.buildTag, layer.movingTag].map((tag) => ({ tag, pushed: false, reason })),
  };
}

/**
 * `merge-platforms`: why a platform image of a layer can't go into its index, from what the
 * registry holds under its platform build tag (`held`: its inputs label; undefined: nothing) and
 * what the agents' results say of its build (`result`; undefined: no results file has it).
 * Undefined when it is there with the plan's inputs.
 */
export function missingPlatformImage(
  member: { platform: string; id: string }, tag: string, expected: string | undefined,
  held: { inputs?: string } | undefined, result: Pick<BuildResult, "status" | "pushed" | "reason" | "signature"> | undefined,
): string | undefined {
  // In the registry, but its agent could not sign it: an index must not publish it unsigned.
  if (result?.signature?.status === "failed") return `${member.platform} (${member.id}) is not published as asked: its signature failed (${result.signature.reason})`;
  if (held && expected !== undefined && held.inputs === expected) return undefined;
  const said = result === undefined ? "no results file has it"
    : `its results say ${result.status}${result.pushed ? ", pushed" : result.status === "built" || result.status === "reused" ? ", not pushed" : ""}${result.reason ? ` (${result.reason})` : ""}`;
  const where = held ? `${tag} holds an image of inputs ${held.inputs ?? "(none recorded)"}, not the plan's ${expected ?? "(none recorded)"}` : `the registry does not hold ${tag}`;
  return `${member.platform} (${member.id}) is missing: ${where}; ${said}`;
}
