// Issue 9: what a run may publish. Pure decisions; the executor asks the engine and the registry
// and acts on them.
//
// - The immutable build tag `{version}-{n}-{h}` is never moved to an image of other inputs
//   (unless --overwrite); an image under it with the same inputs digest is reused, not rebuilt.
// - The moving tag `{version}` is pushed only after the build tag of the same image.
import { rewriteImageRefs } from "../parse/dockerfile/index.js";
import { platformArgs } from "../parse/platforms.js";
import { sciReference } from "../parse/image-reference.js";
import { buildTag } from "../requests/tags.js";
import { buildtimeLabel, inputsLabel, inputsMismatch, versionLabel } from "../requests/inputs-digest.js";
import type { BuildRequest, Plan, PlannedBuild } from "../model.js";

/** Tags in push order: the build tag first, so the moving tag never points at an unpublished build. */
export function pushOrder(request: Pick<BuildRequest, "tags">): string[] {
  const first = buildTag(request);
  return [first, ...request.tags.filter((t) => t !== first)];
}

/** An image found under the build tag: its inputs label, and why it doesn't match (inputsMismatch). */
export interface FoundImage {
  inputs?: string;
  mismatch?: string;
  /** The image's id: the engine's image id, or the registry's config digest (the same for one image). */
  id?: string;
  /**
   * The registry's manifest is there, but not its image (its config blob is gone: deleted by hand
   * or by a garbage collection): why, and its labels (inputs, mismatch) unknown.
   */
  broken?: string;
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
  /** This build's layer directories that differ from the commit (uncommitted changes, or hidden from git status): built as they are, tagged as HEAD. */
  uncommitted?: string[];
}

export type ReuseDecision =
  | { action: "build"; why: string }
  /**
   * `from`: where the image is taken from; `push`: the registry lacks it, so it is pushed. When the
   * registry has it, the registry's image is the published one (issue 16, item 4): taken from the
   * engine only when the engine's is that very image (a RUN step need not build the same bytes twice).
   */
  | { action: "reuse"; from: "engine" | "registry"; push: boolean; note?: string }
  | { action: "refuse"; message: string };

export function decideReuse(q: ReuseQuestion): ReuseDecision {
  const digest = q.inputsDigest;
  const same = (img?: FoundImage) => img !== undefined && digest !== undefined && img.inputs === digest && img.mismatch === undefined;
  if (q.pushing && q.registry?.broken !== undefined) {
    // The engine's image is the one the registry's manifest names (its id is the config's digest):
    // pushed again, it puts back what the registry lost. Another is not known to be the same build.
    if (same(q.engine) && q.engine!.id === q.registry.id) {
      return { action: "reuse", from: "engine", push: true, note: `${q.buildTag} in the registry is broken (${q.registry.broken}): the engine's image of it (${q.registry.id}) is pushed again` };
    }
    if (q.overwrite) return { action: "build", why: "--overwrite: replaces the registry's broken image" };
    return {
      action: "refuse",
      message: `${q.buildTag} is in the registry, but broken (${q.registry.broken}), and the engine has no image ${q.registry.id ?? "of it"} to push again: which build it is can't be read, and build tags are immutable (--overwrite pushes this build over it)`,
    };
  }
  if (q.pushing && q.registry) {
    if (same(q.registry)) {
      const engineHasIt = same(q.engine) && q.engine!.id !== undefined && q.engine!.id === q.registry.id;
      return { action: "reuse", from: engineHasIt ? "engine" : "registry", push: false };
    }
    if (!q.overwrite) {
      // On a dirty checkout the registry's image is most likely the commit's own build, and
      // replacing it with uncommitted work is the one thing not to do: a commit gets new tags.
      const advice = q.uncommitted?.length
        ? `; ${q.uncommitted.join(", ")} ${q.uncommitted.length === 1 ? "differs" : "differ"} from the commit (uncommitted changes, or what git status does not show: see the warning): commit the changes first, or build a clean checkout (a new commit gets its own build tags)`
        : " (--overwrite replaces it)";
      return {
        action: "refuse",
        // Inputs that differ are named; the same inputs on another parent build, the parent.
        message: q.registry.inputs === digest && q.registry.mismatch !== undefined
          ? `${q.buildTag} is already in the registry with ${q.registry.mismatch}: build tags are immutable${advice}`
          : `${q.buildTag} is already in the registry with ${q.registry.mismatch ?? `inputs ${q.registry.inputs ?? "(none recorded)"}`}, but this build's inputs are ${digest ?? "(none recorded)"}: build tags are immutable${advice}`,
      };
    }
    return { action: "build", why: "--overwrite: replaces the registry's image of other inputs" };
  }
  if (same(q.engine)) return { action: "reuse", from: "engine", push: q.pushing };
  if (q.engine) return { action: "build", why: `the engine's ${q.buildTag} has other inputs` };
  return { action: "build", why: "not built yet" };
}

/**
 * Whether an image found under a child's build tag was built on another build of parent `ref`
 * (`sci/{target}:{version}`) than the image this run took for it (issue 16, item 4): labels are
 * inherited, so the child carries the buildtime of the parent it was built on, and every build
 * sets its own. A parent the child does not inherit labels from (a `COPY --from` source) can't be
 * checked. Returns why it doesn't match, or undefined.
 */
export function builtOnOtherParent(ref: string, childLabels: Record<string, string>, parentLabels: Record<string, string>): string | undefined {
  const differs = inheritedDiffers(ref, childLabels, parentLabels, buildtimeLabel);
  return differs && `built on another build of ${ref} (buildtime ${differs.built}) than the one this run uses (buildtime ${differs.pinned})`;
}

/**
 * Why an image built on `ref` can't stand for this run's: built on another build of it (its
 * version label names another `{version}-{n}-{h}`) than the one this run uses. Unlike another
 * image of the same build (a concurrent run's, judged on what the registry holds under that build
 * tag), reusing it would leave it on a build this run moves `{version}` away from.
 */
export function builtOnOtherParentBuild(ref: string, childLabels: Record<string, string>, parentLabels: Record<string, string>): string | undefined {
  const differs = inheritedDiffers(ref, childLabels, parentLabels, versionLabel);
  return differs && `an image built on sci/${differs.target}:${differs.built}, while this run's ${ref} is build ${differs.pinned}`;
}

/**
 * Before a push builds anything: the refusals its builds would meet, each only when its turn came,
 * after the builds before it had published their images and moved their `{version}` (an `--all`
 * run on a commit already published pushed the unchanged parents' new builds, then refused their
 * children, leaving the split family the refusal is there to prevent). Asked of what the registry
 * holds under each build's build tag (`held`: build id -> that image's labels; absent: nothing,
 * or an image that can't be read, which the build's own check judges with the engine's): an image
 * of other inputs, or one built on another build of a parent this run builds (whose build the
 * plan names). The rest of the reuse check (the parents' images and buildtimes) needs the parents
 * built, and stays with each build.
 */
export function refusalsBeforeBuilding(
  builds: readonly PlannedBuild[], held: ReadonlyMap<string, Record<string, string>>, o: { overwrite: boolean; uncommitted?: readonly string[] },
): { id: string; message: string }[] {
  const refusals: { id: string; message: string }[] = [];
  for (const build of builds) {
    const labels = held.get(build.id);
    if (labels === undefined) continue;
    // A parent of this run: its build's version label is the plan's, whether it is built or reused.
    const otherBuild = build.earlierBuild ? undefined : Object.keys(build.request.inputs?.parents ?? {}).map((ref) => {
      const target = sciReference(ref)?.target;
      const parent = target === undefined ? undefined : builds.find((b) => b.kind === "science" && b.target === target && build.dependsOn.includes(b.id));
      const label = versionLabel("science", target ?? "");
      return parent && builtOnOtherParentBuild(ref, labels, { [label]: parent.request.labels[label] });
    }).find((why) => why !== undefined);
    const decision = decideReuse({
      inputsDigest: build.request.inputsDigest, buildTag: buildTag(build.request), pushing: true, overwrite: o.overwrite,
      registry: { inputs: labels[inputsLabel(build.kind, build.target)], mismatch: otherBuild ?? inputsMismatch(labels, build) },
      uncommitted: build.request.contexts.filter((dir) => o.uncommitted?.includes(dir)),
    });
    if (decision.action === "refuse") refusals.push({ id: build.id, message: decision.message });
  }
  return refusals;
}

/** The parent's label (`labelOf` its target) as the child inherited it and as the pinned parent has it, when both have it and they differ. */
function inheritedDiffers(
  ref: string, childLabels: Record<string, string>, parentLabels: Record<string, string>, labelOf: (kind: "science", target: string) => string,
): { target: string; built: string; pinned: string } | undefined {
  const target = /^sci\/([^:]+):/.exec(ref)?.[1];
  if (target === undefined) return undefined;
  const label = labelOf("science", target);
  const [built, pinned] = [childLabels[label], parentLabels[label]];
  return built === undefined || pinned === undefined || built === pinned ? undefined : { target, built, pinned };
}

/**
 * The key of `pins` for the image of `reference` built for `platform`: a run building several
 * platforms holds one image per platform under the reference children's Dockerfiles name.
 */
export function pinKey(reference: string, platform: string | undefined): string {
  return platform === undefined ? reference : `${reference}@${platform}`;
}

/**
 * The request's Dockerfile with its references to this repository's images (`{repo}/sci/…:{v}`,
 * as the planner wrote them) pointed at the exact images the run built, reused or pulled for
 * them (`pins`: pinKey -> image id; the request's own platform's), so a moving tag retagged
 * meanwhile by another run on the same engine can't change what a child is built on.
 */
export function pinParents(request: Pick<BuildRequest, "dockerfile" | "buildArgs" | "platform">, pins: Record<string, string>): string {
  const own: Record<string, string> = {};
  const suffix = request.platform === undefined ? undefined : `@${request.platform}`;
  for (const [key, id] of Object.entries(pins)) {
    if (suffix === undefined ? !key.includes("@") : key.endsWith(suffix)) own[suffix === undefined ? key : key.slice(0, -suffix.length)] = id;
  }
  return Object.keys(own).length === 0 ? request.dockerfile : rewriteImageRefs(request.dockerfile, own, { ...request.buildArgs, ...platformArgs(request.platform) });
}

/** pinKey(`{repo}/sci/{target}:{version}`, platform) -> the inputs digest this plan's requests expect of it. */
export function expectedBaseInputs(plan: Plan): Map<string, string> {
  const expected = new Map<string, string>();
  for (const b of plan.builds) {
    for (const [ref, digest] of Object.entries(b.request.inputs?.parents ?? {})) expected.set(pinKey(`${plan.repo}/${ref}`, b.request.platform), digest);
  }
  return expected;
}
