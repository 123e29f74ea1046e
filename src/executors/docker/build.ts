// One build request, carried out through the Engine API (`POST /build`): the classic builder, or
// BuildKit (`version=2`, see buildkit.ts).
import type Dockerode from "dockerode";
import type { Builder } from "../../core/requests/builder-choice.js";
import { parseDockerfile } from "../../core/parse/dockerfile/index.js";
import { platformArgs } from "../../core/parse/platforms.js";
import type { BuildRequest } from "../../core/model.js";
import { registryOf, type DockerCredentials, type RegistryAuth } from "../../registry/credentials.js";
import type { Readable } from "node:stream";
import { collectContext, ContextChangedError, DOCKERFILE_NAME, packContext } from "./context.js";
import { labelsInDockerfile } from "./labels.js";
import { pullImage } from "./pull.js";
import { startBuildkitBuild, type BuildkitOptions, type BuildQueryOptions } from "./buildkit.js";
import { pinnedIdsAsTags } from "./builder.js";
import { isSha256Digest } from "../../core/digest.js";
import type { EngineRunOptions } from "./run-options.js";
import { engineErrorMessage, messageError, readMessages, type EngineMessage } from "./messages.js";
import { builtImage, type BuiltImage } from "./engine.js";

/** One build's options: the run's (`--build-arg` values win over the request's `buildArgs`), and its own. */
export interface BuildOptions extends Pick<EngineRunOptions, "rootDir" | "noCache" | "pull" | "buildArgs" | "secrets"> {
  creds: DockerCredentials;
  signal: AbortSignal;
  /** Raw build output (may end mid-line). */
  output: (text: string) => void;
  /** A whole line from us rather than the engine. */
  note: (line: string) => void;
  /** What the live view shows the build doing (BuildKit; the classic builder's `Step k/n` lines say it). */
  state: (doing: string) => void;
  builder: Builder;
  /** `--network`: the network mode of RUN steps; undefined leaves it to the engine. */
  network?: string;
  /** BuildKit only. */
  buildkit?: BuildkitOptions;
  /**
   * The request's context digest, when its image is labelled with its inputs: the context as
   * streamed must make it, else the build fails before the engine has the whole context.
   */
  expectContext?: string;
}

export async function buildImage(docker: Dockerode, request: BuildRequest, s: BuildOptions): Promise<BuiltImage> {
  const buildargs = { ...request.buildArgs, ...s.buildArgs };
  // The planner already pointed references to this repository's layers at the run's --repo
  // (request.imageRewrites says which): the request's Dockerfile is built as it stands, with its
  // labels added as one LABEL instruction (one build step rather than one per label).
  // BuildKit sets the `labels` parameter's labels on the image without steps; the Dockerfile then
  // stays the same from build to build, which matters as BuildKit's `COPY .` sees it (context.ts).
  const { dockerfile, labels } = s.builder === "buildkit"
    ? { dockerfile: request.dockerfile, labels: request.labels }
    : labelsInDockerfile(request.dockerfile, request.labels);
  // FROM lines as the engine resolves them for the request's platform (TARGETARCH …).
  const resolveArgs = { ...buildargs, ...platformArgs(request.platform) };
  const bases = parseDockerfile(request.dockerfile, resolveArgs).imageRefs.map((r) => r.image);
  // --pull is done here rather than by the engine, which would also try to pull the image ids
  // that parents are pinned to (and fail): only bases named by reference are pulled.
  if (s.pull) for (const ref of bases.filter((b) => !isSha256Digest(b))) await pullBase(docker, ref, s);
  const registryconfig = await pullCredentials(bases, s);
  const entries = await collectContext(s.rootDir, request.contexts);
  // BuildKit can't take an image id for a base (the classic builder can): it gets a tag instead.
  const pinned = s.builder === "buildkit" ? await pinnedIdsAsTags(docker, dockerfile, resolveArgs) : undefined;
  const context = packContext(entries, pinned?.dockerfile ?? dockerfile, { dockerignore: s.builder === "classic", expectDigest: s.expectContext });
  // The engine reports a context that stopped short as a broken upload: the reason is ours.
  let changed: ContextChangedError | undefined;
  context.on("error", (e) => {
    if (e instanceof ContextChangedError) changed = e;
  });
  try {
    return await buildFromContext(docker, request, context, { buildargs, labels, registryconfig }, s);
  } catch (e) {
    throw changed ?? e;
  } finally {
    context.destroy();
    await pinned?.release();
  }
}

async function buildFromContext(
  docker: Dockerode, request: BuildRequest, context: Readable, { buildargs, labels, registryconfig }: BuildQueryOptions, s: BuildOptions,
): Promise<BuiltImage> {
  if (s.builder === "buildkit") return startBuildkitBuild(docker, request, context, { buildargs, labels, registryconfig }, s);

  let imageId: string | undefined;
  let failure: string | undefined;
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(context, {
      // The API takes `t` once per tag; dockerode's types only allow one.
      t: request.tags as unknown as string,
      labels,
      buildargs,
      nocache: s.noCache,
      pull: false,
      dockerfile: DOCKERFILE_NAME,
      rm: true,
      forcerm: true,
      registryconfig: registryconfig as Dockerode.RegistryConfig,
      abortSignal: s.signal,
      ...(s.network ? { networkmode: s.network } : {}),
    });
  } catch (e) {
    if (s.signal.aborted) throw e;
    throw new Error(engineErrorMessage(e));
  }
  await readMessages(stream, (m) => {
    showMessage(m, s.output);
    if (m.aux?.ID) imageId = m.aux.ID;
    failure ??= messageError(m);
  }, s.signal);
  if (failure) throw new Error(failure);
  if (!imageId) throw new Error("the engine ended the build without reporting an image id");
  return builtImage(docker, imageId);
}

/**
 * X-Registry-Config for pulling the Dockerfile's base images: credentials for exactly the
 * registries it names. A credential problem only warns: the base may well be in the engine.
 */
async function pullCredentials(bases: string[], s: BuildOptions) {
  const registries = new Set(bases.filter((b) => !isSha256Digest(b)).map(registryOf));
  const config: Record<string, RegistryAuth> = {};
  for (const registry of registries) {
    try {
      const auth = await s.creds.forRegistry(registry);
      if (auth) config[auth.serveraddress] = auth;
    } catch (e) {
      s.note(`warning: no credentials for pulling from ${registry}: ${(e as Error).message}`);
    }
  }
  return Object.keys(config).length ? config : undefined;
}

async function pullBase(docker: Dockerode, ref: string, s: BuildOptions): Promise<void> {
  s.note(`pulling ${ref} (--pull)`);
  const failure = await pullImage(docker, s.creds, ref, s.signal);
  if (failure) throw new Error(`--pull: cannot pull ${ref}: ${failure.message}`);
}

/** Build output as text; pull progress bars (repeated per layer) are left out. */
function showMessage(m: EngineMessage, output: (text: string) => void): void {
  if (m.stream) output(m.stream);
  else if (m.status && !m.progressDetail?.total) output(`${m.id ? `${m.id}: ` : ""}${m.status}\n`);
  const error = messageError(m);
  if (error) output(`ERROR: ${error}\n`);
}
