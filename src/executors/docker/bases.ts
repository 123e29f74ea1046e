// Before building: the images of this repository's science layers that the plan builds on but
// does not build are fetched from the registry, so that children build on exactly the registry's
// images and never on whatever the engine had cached under the same tag.
import { basesNotBuilt } from "../../core/plan/bases-not-built.js";
import { inputsLabel, versionLabel } from "../../core/requests/inputs-digest.js";
import { expectedBaseInputs, pinKey } from "../../core/execute/publishing.js";
import { basesToPull, normalizePlatform } from "../../core/execute/platforms.js";
import { parsePlatformTag, samePlatform } from "../../core/registry/image-index.js";
import { compareBuilds, parseBuildTag } from "../../core/report/published.js";
import { platformTagSuffix } from "../../core/parse/platforms.js";
import type { PrebuiltParent } from "../../core/plan/select-builds.js";
import { InputError, type Plan } from "../../core/model.js";
import { sciReference, splitTag } from "../../core/parse/image-reference.js";
import { registryOf, type DockerCredentials } from "../../registry/credentials.js";
import type { RegistryClient } from "../../registry/client.js";
import { pullImage } from "./pull.js";
import { AUTH_ERROR } from "./push.js";
import type Dockerode from "dockerode";
import type { EngineRunOptions } from "./run-options.js";

export type BaseOptions = Pick<EngineRunOptions, "out" | "signal"> & {
  /** When the run pushes: the registry, asked whether a base pulled from it is whole there. */
  registry?: RegistryClient;
};

/**
 * `prebuilt`: parents of `run --only` requests, built by another run of the same plan. Their
 * build of this plan (`{version}-{n}-{h}`) must be in the registry, else the run is refused.
 * Other bases are pulled when the registry has them; one the registry lacks is used from the
 * engine if it has it (e.g. built locally and never pushed), and is an error otherwise.
 */
export async function prepareBases(
  docker: Dockerode, creds: DockerCredentials, plan: Plan, prebuilt: PrebuiltParent[], s: BaseOptions,
): Promise<Record<string, string>> {
  /** Base reference -> the image id it was found at: builds are pinned to it (see pinParents). */
  const pins: Record<string, string> = {};
  const expected = expectedBaseInputs(plan);
  // Build arguments are inputs: a parent published without them is another build of it.
  const buildArgs = [...new Set(plan.builds.flatMap((b) => Object.keys(b.request.buildArgs)))].sort();
  const withArgs = buildArgs.length === 0 ? "" : ` with this run's build argument${buildArgs.length === 1 ? "" : "s"} ${buildArgs.join(", ")} (part of its inputs)`;
  // (An image-builder before modes were git's digested files otherwise on agents not under umask 022: README, Inputs digest.)
  const whose = `another commit's build holds the tag${buildArgs.length === 0 ? "" : ", or one built without those build arguments"}, or an older image-builder's that digested the files otherwise (README, upgrading)`;
  /** `inspected`: the image's inspect, when the caller has it already. */
  const pin = async (ref: string, image: string, inspected?: Dockerode.ImageInspectInfo, platform?: string) => {
    const info = inspected ?? await docker.getImage(image).inspect();
    // A build of a platform is pinned to that platform's image: a tag holding another platform's would build on the wrong one.
    const held = [info.Os, info.Architecture, (info as { Variant?: string }).Variant].filter(Boolean).join("/");
    if (platform !== undefined && !samePlatform(held, platform)) {
      throw new InputError(`base image ${image} is a ${normalizePlatform(held)} image, not ${platform}: its platform tag holds another platform's image`);
    }
    // The image under the tag must be this checkout's layer: another commit's build of it (a
    // branch that pushed the moving tag meanwhile) would make the children something no
    // commit describes.
    const other = otherInputs(ref, info, platform);
    if (other) {
      const { target, found, want, build } = other;
      throw new Error(`base image ${image}${build ? ` (build ${build})` : ""} was built from other inputs (${found}) than this checkout's sci/${target}${withArgs} (${want}): ${whose}; build it in this run too (--include its directory) or publish this checkout's first (--reconcile; with --allow-tag-rollback when that build's commit was amended or force-pushed away, not when it is only newer)`);
    }
    pins[pinKey(ref, platform)] = info.Id;
    return info;
  };
  /** The image is another build of the layer than this checkout's: its inputs, this checkout's, and its build. */
  const otherInputs = (ref: string, info: Dockerode.ImageInspectInfo, platform?: string) => {
    const want = expected.get(pinKey(ref, platform));
    const target = sciReference(ref)?.target;
    const found = target === undefined ? undefined : info.Config?.Labels?.[inputsLabel("science", target)];
    if (want === undefined || found === undefined || found === want) return undefined;
    return { target: target!, found, want, build: info.Config?.Labels?.[versionLabel("science", target!)] };
  };
  /**
   * `{version}` holds a later commit's build of the layer than this checkout's (published while this
   * commit's pipeline waited, or before it was retried): a build of exactly this checkout's inputs
   * under one of the layer's build tags up to this commit's is taken instead, the newest first
   * (asked only when pushing, by its registry; a listing it can't give leaves the refusal). A run of an older commit then publishes its build
   * tags on it, {version} staying where it is (moving tags only move forward).
   */
  const ownBuild = async (ref: string, pulled: string, platform: string | undefined, want: string, target: string, held: string | undefined): Promise<string | undefined> => {
    const { name, tag } = splitTag(ref);
    // Only for a commit older than the build {version} holds (its pipeline ran late, or again):
    // another branch's build there, of a lower number, is refused as before.
    const newer = held === undefined ? undefined : parseBuildTag(held);
    if (!s.registry || !newer || newer.number <= plan.buildNumber) return undefined;
    const builds = (await s.registry.listTags(name).catch(() => [] as string[])).flatMap((t) => {
      const own = platform === undefined ? t : parsePlatformTag(t);
      const build = typeof own === "string" ? parseBuildTag(own) : own && samePlatform(own.platform, platform!) ? parseBuildTag(own.tag) : undefined;
      return build && build.version === tag && build.number <= plan.buildNumber ? [{ t, build }] : [];
    }).sort((a, b) => compareBuilds(b.build, a.build));
    // A few reads at most: this checkout's build is one of the layer's last before it.
    for (const { t } of builds.slice(0, 8)) {
      const candidate = `${name}:${t}`;
      if (candidate === pulled) continue;
      const image = await s.registry.getImage(candidate, platform === undefined ? {} : { platform }).catch(() => undefined);
      if (image?.config.labels[inputsLabel("science", target)] === want) return candidate;
    }
    return undefined;
  };
  // A parent of this repository pulled to build on: its build's own tag (`{version}-{n}-{h}`, its
  // index's) must be there, or every image built on it fails verify, which looks for it there (a
  // retention policy that keeps version tags only). Refused before building, as --reconcile writes it again.
  const lostBuildTag = async (reference: string, info: Dockerode.ImageInspectInfo): Promise<string | undefined> => {
    const target = sciReference(reference)?.target;
    const build = target === undefined ? undefined : info.Config?.Labels?.[versionLabel("science", target)];
    if (!s.registry || build === undefined) return undefined;
    const tag = `${reference.slice(0, reference.lastIndexOf(":"))}:${build}`;
    // A registry that can't say is not taken to have lost it (the pull itself just worked).
    const held = await s.registry.getDigest(tag).catch(() => "unknown");
    return held === undefined ? tag : undefined;
  };
  const fromParents = new Set(prebuilt.map((p) => p.baseTag));
  const others = basesNotBuilt(plan).filter((ref) => !fromParents.has(ref));
  const signal = s.signal ?? new AbortController().signal;

  /**
   * undefined when pulled. `notFound`: the registry answered that it has no such image (the
   * engine's 404); anything else (credentials, a registry that is down or failing) is not taken
   * to mean the image is absent, since falling back would build on a stale copy.
   */
  const pull = async (ref: string): Promise<{ message: string; notFound: boolean } | undefined> => {
    const failure = await pullImage(docker, creds, ref, signal);
    return failure && { message: failure.message, notFound: isNotFound(failure.statusCode, failure.message) };
  };
  const cannotPull = (what: string, ref: string, message: string) =>
    new Error(`cannot pull ${what} ${ref} from the registry: ${message}${credentialsHint(ref, message)}`);
  const credentialsHint = (ref: string, message: string) =>
    AUTH_ERROR.test(message) ? ` (credentials for ${registryOf(ref)} come from ${creds.file})` : "";

  for (const p of prebuilt) {
    const failure = await pull(p.buildTag);
    if (failure && failure.notFound) {
      throw new InputError(`parent ${p.id} is missing from the registry: ${p.buildTag} (${failure.message}); build and push it first`);
    }
    if (failure) throw cannotPull(`parent ${p.id}`, p.buildTag, failure.message);
    // Locally under its moving tag, as after a build (a platform's: its own, see requests/tags.ts).
    const { name, tag } = splitTag(p.platform ? `${p.baseTag}-${platformTagSuffix(p.platform)}` : p.baseTag);
    await docker.getImage(p.buildTag).tag({ repo: name, tag });
    await pin(p.baseTag, p.buildTag, undefined, p.platform);
    s.out.write(`[${p.id}] pulled ${p.buildTag}\n`);
  }
  // A base of a build of a platform: that platform's image, by its platform moving tag.
  for (const { reference, platform, pull: ref } of basesToPull(plan, others)) {
    const failure = await pull(ref);
    if (!failure) {
      let from = ref;
      const held = await docker.getImage(ref).inspect();
      const other = otherInputs(reference, held, platform);
      const own = other && await ownBuild(reference, ref, platform, other.want, other.target, other.build);
      if (own) {
        const again = await pull(own);
        if (again) throw cannotPull("base image", own, again.message);
        s.out.write(`[base] ${ref} holds build ${other.build ?? "(unlabelled)"} of other inputs; ${own} holds this checkout's: building on it (${reference} stays where it is)\n`);
        from = own;
      }
      const info = own ? await pin(reference, own, undefined, platform) : await pin(reference, ref, held, platform);
      const lost = await lostBuildTag(reference, info);
      if (lost) {
        throw new Error(`base image ${ref}'s build has lost its own tag ${lost} (deleted by a retention policy that keeps version tags?): the images built on it would fail verify, which looks for it there; run --reconcile --push first, which writes it again where its image still is`);
      }
      s.out.write(`[base] pulled ${from}\n`);
      // The engine's pull takes a config it has already without asking for it: the registry's
      // copy may have lost it (a blob deleted), and nobody else can pull the base. What this run
      // builds on it is whole; said, so the base gets repaired.
      const broken = s.registry && (await s.registry.imageOrBroken(from).catch(() => undefined))?.broken;
      if (broken) s.out.write(`[base] warning: ${from} in the registry is broken (${broken}): nobody can pull it, though what this run builds on it can be pulled; --reconcile --push from an engine that has it puts it back\n`);
      continue;
    }
    if (!failure.notFound) throw cannotPull("base image", ref, failure.message);
    const own = await docker.getImage(ref).inspect().catch(() => undefined);
    if (own) {
      await pin(reference, ref, own, platform);
      s.out.write(`[base] ${ref}: not in the registry (${failure.message}); using the engine's own copy\n`);
    } else {
      throw new InputError(`base image ${ref} is neither in the registry nor in the engine (${failure.message}); build it first (e.g. --include its directory)`);
    }
  }
  return pins;
}


/**
 * The registry has no such image: the engine's 404, unless it is a refusal in disguise. The
 * engine answers 404 too for "pull access denied … may require 'docker login': denied: …"
 * (Docker Hub, GHCR and ECR say so for missing or expired credentials), and a refusal must not
 * fall back to a local copy.
 */
export function isNotFound(statusCode: number | undefined, message: string): boolean {
  return statusCode === 404 && !AUTH_ERROR.test(message) && !/may require 'docker login'/i.test(message);
}
