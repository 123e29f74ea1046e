// Issue 9: what a run may publish. Pure decisions; the executor asks the engine and the registry
// and acts on them.
//
// - The immutable build tag `{version}-{n}-{h}` is never moved to an image of other inputs
//   (unless --overwrite); an image under it with the same inputs digest is reused, not rebuilt.
// - The moving tag `{version}` is pushed only after the build tag of the same image.
import { rewriteImageRefs } from "../parse/dockerfile/index.js";
import { buildTag } from "../requests/tags.js";
import type { BuildRequest, Plan } from "../model.js";

/** Tags in push order: the build tag first, so the moving tag never points at an unpublished build. */
export function pushOrder(request: Pick<BuildRequest, "tags">): string[] {
  const first = buildTag(request);
  return [first, ...request.tags.filter((t) => t !== first)];
}

/** An image found under the build tag: its inputs label, and why it doesn't match (inputsMismatch). */
export interface FoundImage {
  inputs?: string;
  mismatch?: string;
}

export interface ReuseQuestion {
  /** The request's inputs digest (absent in plans made before inputs digests: never reused). */
  inputsDigest?: string;
  buildTag: string;
  /** The engine's image under the build tag, if any. */
  engine?: FoundImage;
  /** With --push: the registry's image under the build tag, if any (undefined when not pushing). */
  registry?: FoundImage;
  pushing: boolean;
  overwrite: boolean;
  /** This build's layer directories with uncommitted changes (built as they are, tagged as HEAD). */
  uncommitted?: string[];
}

export type ReuseDecision =
  | { action: "build"; why: string }
  /** `from`: where the image is; `push`: the registry lacks it, so it is pushed. */
  | { action: "reuse"; from: "engine" | "registry"; push: boolean }
  | { action: "refuse"; message: string };

export function decideReuse(q: ReuseQuestion): ReuseDecision {
  const digest = q.inputsDigest;
  const same = (img?: FoundImage) => img !== undefined && digest !== undefined && img.inputs === digest && img.mismatch === undefined;
  if (q.pushing && q.registry) {
    if (same(q.registry)) return { action: "reuse", from: same(q.engine) ? "engine" : "registry", push: false };
    if (!q.overwrite) {
      // On a dirty checkout the registry's image is most likely the commit's own build, and
      // replacing it with uncommitted work is the one thing not to do: a commit gets new tags.
      const advice = q.uncommitted?.length
        ? `; ${q.uncommitted.join(", ")} ${q.uncommitted.length === 1 ? "has" : "have"} uncommitted changes: commit them first (a new commit gets its own build tags)`
        : " (--overwrite replaces it)";
      return {
        action: "refuse",
        message: `${q.buildTag} is already in the registry with ${q.registry.mismatch ?? `inputs ${q.registry.inputs ?? "(none recorded)"}`}, but this build's inputs are ${digest ?? "(none recorded)"}: build tags are immutable${advice}`,
      };
    }
    return { action: "build", why: "--overwrite: replaces the registry's image of other inputs" };
  }
  if (same(q.engine)) return { action: "reuse", from: "engine", push: q.pushing };
  if (q.engine) return { action: "build", why: `the engine's ${q.buildTag} has other inputs` };
  return { action: "build", why: "not built yet" };
}

/**
 * The request's Dockerfile with its references to this repository's images (`{repo}/sci/…:{v}`,
 * as the planner wrote them) pointed at the exact images the run built, reused or pulled for
 * them (`pins`: reference -> image id), so a moving tag retagged meanwhile by another run on the
 * same engine can't change what a child is built on.
 */
export function pinParents(request: Pick<BuildRequest, "dockerfile" | "buildArgs">, pins: Record<string, string>): string {
  return Object.keys(pins).length === 0 ? request.dockerfile : rewriteImageRefs(request.dockerfile, pins, request.buildArgs);
}

/** `{repo}/sci/{target}:{version}` -> the inputs digest this plan's requests expect of it. */
export function expectedBaseInputs(plan: Plan): Map<string, string> {
  const expected = new Map<string, string>();
  for (const b of plan.builds) {
    for (const [ref, digest] of Object.entries(b.request.inputs?.parents ?? {})) expected.set(`${plan.repo}/${ref}`, digest);
  }
  return expected;
}
