// Rule 7 and 8: the names, labels and Dockerfiles of science and compat builds, as build requests.
import { rewriteImageRefs } from "../parse/dockerfile/index.js";
import { withoutTrailingSlashes } from "../parse/repo-config.js";
import { platformArgs } from "../parse/platforms.js";
import { platformTags } from "./tags.js";
import { fragmentMark } from "./fragment-marks.js";
import { buildtimeLabel, dockerfileForInputs, inputsDigest, inputsLabel, versionLabel } from "./inputs-digest.js";
import type { BuildKind, BuildRequest, CompatLayer, PlannedBuild, PlanOptions, RequestInputs, RequestWithInputs, ScienceLayer } from "../model.js";

export interface Naming {
  repo: string;
  /** `{n}-{h}`: build number and short commit. */
  buildSuffix: string;
  buildTime: string;
  buildArgs: Record<string, string>;
}

export function naming(options: PlanOptions): Naming {
  return {
    repo: withoutTrailingSlashes(options.repo),
    buildSuffix: `${options.git.buildNumber}-${options.git.shortCommit}`,
    buildTime: String(options.buildTime),
    buildArgs: options.buildArgs,
  };
}

export function scienceImage(n: Naming, layer: Pick<ScienceLayer, "target" | "version">): string {
  return `${n.repo}/sci/${layer.target}:${layer.version}`;
}

/**
 * The `docker build` command line of a planned build, for people reading a plan (`-vvv`): derived
 * from the request, so it always says what the request says (plans once stored it, and
 * `run --build-arg` left it stale). It names the layer's own Dockerfile and, for a compat build,
 * the contexts joined with `+`: not meant to be pasted into a shell.
 */
export function dockerBuildCommand(build: Pick<PlannedBuild, "kind" | "source" | "request">): string[] {
  const r = build.request;
  const [file, context] = build.kind === "science" ? [`${build.source}/Dockerfile`, build.source] : ["-", r.contexts.join("+")];
  return [
    "docker", "build", "--file", file,
    ...(r.platform ? ["--platform", r.platform] : []),
    ...r.tags.flatMap((t) => ["--tag", t]),
    ...Object.entries(r.labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    ...Object.entries(r.buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
    context,
  ];
}

/**
 * `refs` maps image references as the Dockerfile resolves them to a parent's `{target}:{version}`.
 * They are pointed at this run's repo, whatever registry the Dockerfile spells, so that `--repo`
 * to a test registry never reads from production.
 */
export function scienceRequest(
  n: Naming, layer: ScienceLayer, refs: Record<string, string>, inputs: RequestInputs, platform?: string,
): RequestWithInputs {
  const imageRewrites: Record<string, string> = {};
  for (const [ref, tag] of Object.entries(refs)) imageRewrites[ref] = `${n.repo}/sci/${tag}`;
  const tags = requestTags(`${n.repo}/sci/${layer.target}`, layer.version, n, platform);
  const labels = {
    [versionLabel("science", layer.target)]: `${layer.version}-${n.buildSuffix}`,
    [buildtimeLabel("science", layer.target)]: n.buildTime,
  };
  const buildArgs = { ...n.buildArgs };
  // FROM lines resolve per platform (TARGETARCH …); the engine sets those args itself when building.
  const dockerfile = rewriteImageRefs(layer.dockerfile, imageRewrites, { ...n.buildArgs, ...platformArgs(platform) });
  return withInputs(n, { kind: "science", image: layer.image, version: layer.version, target: layer.target }, {
    contexts: [layer.path],
    dockerfile,
    buildArgs,
    tags,
    labels,
    imageRewrites,
    ...(platform ? { platform } : {}),
  }, inputs);
}

/**
 * The moving tag and the build tag (core/requests/tags.ts names them). A build for a named
 * platform gets tags of its own, `{version}-linux-arm64` and `{version}-{n}-{h}-linux-arm64`: the
 * engine holds one image per tag, and `{version}` and `{version}-{n}-{h}` hold the image index of
 * every platform (the platform last, so a platform's tags sort with the build's).
 */
export function requestTags(name: string, version: string, n: Pick<Naming, "buildSuffix">, platform: string | undefined): string[] {
  const tags = [`${name}:${version}`, `${name}:${version}-${n.buildSuffix}`];
  return platform ? platformTags({ tags }, platform) : tags;
}

/** The request with its inputs digest, in `inputsDigest` and as a label. */
export function withInputs(
  n: Pick<Naming, "repo">,
  build: { kind: BuildKind; image: string; version: string; target: string; finalImages?: string[] },
  request: Omit<BuildRequest, "inputsDigest" | "inputs">,
  inputs: RequestInputs,
): RequestWithInputs {
  const digest = inputsDigest(build.kind, dockerfileForInputs({ ...build, request }, n.repo), request.buildArgs, inputs, request.platform);
  const label = inputsLabel(build.kind, build.target);
  return {
    ...request,
    labels: { ...request.labels, [label]: digest },
    inputsDigest: digest,
    inputs,
  };
}

/**
 * `compatLayers`: the resolved includes of the final layer's compat, itself last. `refs`: their
 * `COPY --from` references to science layers -> `{target}:{version}`, pointed at this run's repo
 * like a science layer's.
 */
export function compatRequest(
  n: Naming, layer: ScienceLayer, compatLayers: CompatLayer[], inputs: RequestInputs, refs: Record<string, string> = {}, platform?: string,
): RequestWithInputs {
  const imageRewrites: Record<string, string> = {};
  for (const [ref, tag] of Object.entries(refs)) imageRewrites[ref] = `${n.repo}/sci/${tag}`;
  const full = `${layer.image}:${layer.version}-${n.buildSuffix}`;
  const tags = requestTags(`${n.repo}/rel/${layer.image}`, layer.version, n, platform);
  const labels = {
    [versionLabel("compat", layer.target)]: full,
    [buildtimeLabel("compat", layer.target)]: n.buildTime,
  };
  const parts = [
    `# Generated by image-builder: ${layer.image}:${layer.version} = science/${layer.dir} + ${compatLayers.map((c) => c.path).join(" + ")}`,
    `FROM ${scienceImage(n, layer)}`,
    // A byte order mark only counts at the top of a file: here it would spoil the first instruction.
    ...compatLayers.map((c) => `\n${fragmentMark(`${c.path}/Dockerfile`)}\n${c.dockerfile.replace(/^\uFEFF/, "").replace(/\s+$/, "")}`),
    `\nENV SCISERVER_IMAGE=${full}`,
    "",
  ];
  const buildArgs = { ...n.buildArgs };
  const contexts = compatLayers.map((c) => c.path);
  const finalImages = [full, `${layer.image}:${layer.version}`];
  return withInputs(n, { kind: "compat", image: layer.image, version: layer.version, target: layer.target, finalImages }, {
    contexts,
    dockerfile: rewriteImageRefs(parts.join("\n"), imageRewrites, { ...n.buildArgs, ...platformArgs(platform) }),
    buildArgs,
    tags,
    labels,
    imageRewrites,
    ...(platform ? { platform } : {}),
  }, inputs);
}
