// A build request carried out by the engine's BuildKit: `POST /build?version=2` with the same
// context tar, tags, labels and build args as the classic builder. Status arrives as
// `moby.buildkit.trace` messages (protobuf, see buildkit-status.ts), the image id as
// `moby.image.id`, a failure as the stream's error message.
import type Dockerode from "dockerode";
import type { Readable } from "node:stream";
import type { BuildRequest } from "../../core/model.js";
import type { RegistryAuth } from "../../registry/credentials.js";
import type { BuildOptions } from "./build.js";
import { builtImage, type BuiltImage } from "./engine.js";
import { BuildkitProgress } from "./buildkit-progress.js";
import { decodeStatus } from "./buildkit-status.js";
import { openSession } from "./buildkit-session.js";
import { DOCKERFILE_NAME } from "./context.js";
import { engineErrorMessage, messageError, readMessages } from "./messages.js";

export interface BuildkitOptions {
  /** Images whose inline cache metadata this build may reuse (`cachefrom`). */
  cacheFrom: string[];
  /** Write inline cache metadata into the image (`BUILDKIT_INLINE_CACHE=1`), so later builds can use it from the registry. */
  inlineCache: boolean;
}

/** The build query parameters build.ts works out (as the engine names them), the same for both builders. */
export interface BuildQueryOptions {
  buildargs: Record<string, string>;
  labels: Record<string, string>;
  registryconfig?: Record<string, RegistryAuth>;
}

export async function startBuildkitBuild(
  docker: Dockerode, request: BuildRequest, context: Readable, p: BuildQueryOptions, s: BuildOptions,
): Promise<BuiltImage> {
  const bk = s.buildkit ?? { cacheFrom: [], inlineCache: false };
  const options: Record<string, unknown> = {
    version: "2",
    t: request.tags,
    dockerfile: DOCKERFILE_NAME,
    buildargs: bk.inlineCache ? { ...p.buildargs, BUILDKIT_INLINE_CACHE: "1" } : p.buildargs,
    labels: p.labels,
    nocache: s.noCache,
    pull: false, // --pull pulls the bases by reference beforehand (build.ts): pinned parents are not pulled
    rm: true,
    forcerm: true,
  };
  if (s.network) options.networkmode = s.network;
  // Built for the request's platform, under emulation where the engine is another (checked when the run starts).
  if (request.platform) options.platform = request.platform;
  // The API takes a JSON list (querystring would repeat the key).
  if (bk.cacheFrom.length && !s.noCache) options.cachefrom = JSON.stringify(bk.cacheFrom);

  // Registry credentials reach BuildKit only through a session (it ignores X-Registry-Config).
  const session = await openSession(docker, s.creds, s.secrets);
  options.session = session.id;
  try {
    return await run(docker, options, context, p, s);
  } finally {
    session.close();
  }
}

/**
 * How long a build waits for a registry cache lookup (`IMAGE_BUILDER_REGISTRY_CACHE_TIMEOUT`,
 * seconds; default 120): BuildKit's own resolver waits for ever.
 */
export function cacheImportLimitMs(env: NodeJS.ProcessEnv): number {
  const seconds = Number(env.IMAGE_BUILDER_REGISTRY_CACHE_TIMEOUT);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : 120) * 1000;
}

async function run(docker: Dockerode, options: Record<string, unknown>, context: Readable, p: BuildQueryOptions, s: BuildOptions): Promise<BuiltImage> {
  // The build's own signal: the run's, or this build's watchdog (a cache lookup with no answer).
  const controller = new AbortController();
  const stop = () => controller.abort();
  if (s.signal.aborted) stop();
  else s.signal.addEventListener("abort", stop, { once: true });
  try {
    return await runWatched(docker, options, context, p, s, controller);
  } finally {
    s.signal.removeEventListener("abort", stop);
  }
}

async function runWatched(docker: Dockerode, options: Record<string, unknown>, context: Readable, p: BuildQueryOptions, s: BuildOptions, controller: AbortController): Promise<BuiltImage> {
  const signal = controller.signal;
  let stream: NodeJS.ReadableStream;
  try {
    // Not docker.buildImage: for version "2" dockerode opens a BuildKit session of its own that
    // lives until the stream's "end", which an aborted build never reaches.
    stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      docker.modem.dial({
        path: "/build?", method: "POST", file: context, options, registryconfig: p.registryconfig,
        abortSignal: signal, isStream: true, statusCodes: { 200: true, 500: "server error" },
      } as unknown as Parameters<Dockerode["modem"]["dial"]>[0], (err, data) => (err ? reject(err) : resolve(data as NodeJS.ReadableStream))));
  } catch (e) {
    if (s.signal.aborted) throw e;
    throw new Error(engineErrorMessage(e));
  }

  const progress = new BuildkitProgress((line) => s.output(`${line}\n`));
  let imageId: string | undefined;
  let failure: string | undefined;
  const limit = cacheImportLimitMs(process.env);
  let stuck: string | undefined;
  const watchdog = setInterval(() => {
    stuck = progress.stuckCacheImport(Date.now(), limit);
    if (stuck) controller.abort();
  }, Math.min(5000, limit / 4));
  const stuckError = () => new Error(`the registry did not answer the engine's lookup of the cache source ${stuck} in ${limit / 1000}s (BuildKit waits for ever): the build was stopped; --no-registry-cache builds without the registry's images as cache`);
  try {
    await readMessagesOf(stream, progress, s, signal, (id) => (imageId = id), (e) => (failure ??= e));
  } catch (e) {
    if (stuck) throw stuckError();
    throw e;
  } finally {
    clearInterval(watchdog);
  }
  if (stuck) throw stuckError();
  progress.end();
  if (failure) {
    const step = progress.failedStep(failure);
    throw new Error(step ? `${step}: ${failure}` : failure);
  }
  if (!imageId) throw new Error("the engine ended the build without reporting an image id");
  return builtImage(docker, imageId);
}

function readMessagesOf(stream: NodeJS.ReadableStream, progress: BuildkitProgress, s: BuildOptions, signal: AbortSignal, image: (id: string | undefined) => void, failed: (error: string) => void): Promise<void> {
  return readMessages(stream, (m) => {
    // BuildKit's aux values are not the classic builder's objects.
    const aux = m.aux as unknown;
    if (m.id === "moby.buildkit.trace" && typeof aux === "string") {
      progress.update(decodeStatus(aux));
      s.state(progress.state());
    } else if (m.id === "moby.image.id" && typeof aux === "object" && aux) {
      image((aux as { ID?: string }).ID);
    } else {
      const error = messageError(m);
      if (error) {
        failed(error);
        s.output(`ERROR: ${error}\n`);
      } else if (m.stream) {
        s.output(m.stream);
      }
    }
  }, signal);
}
