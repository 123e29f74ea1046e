// At the start of a run whose plan names platforms: the engine's own platform (GET /version), and
// for every other one a probe build (core/execute/platform-probe.ts) that runs a tiny program of
// that platform, so a missing emulator is found before anything is built (and on a remote engine,
// where this machine's binfmt_misc says nothing).
import type Dockerode from "dockerode";
import tar from "tar-stream";
import { PROBE_DOCKERFILE, probeExecutable } from "../../core/execute/platform-probe.js";
import { enginePlatform, foreignPlatforms, platformRefusal, platformsOfPlan } from "../../core/execute/platforms.js";
import { InputError, type Plan } from "../../core/model.js";
import { engineErrorMessage, messageError, readMessages } from "./messages.js";

/**
 * Refuses the run (InputError, nothing built) when the engine can't build one of the plan's
 * platforms with `builder`; `note` says what could not be checked. Nothing is asked of an engine
 * for a plan without platforms.
 */
export async function checkEnginePlatforms(
  docker: Dockerode, plan: Plan, builder: "buildkit" | "classic", signal: AbortSignal, note: (line: string) => void,
): Promise<void> {
  const wanted = platformsOfPlan(plan);
  if (wanted.length === 0) return;
  const version = await docker.version();
  const engine = enginePlatform({ os: version.Os, arch: version.Arch });
  const failed = new Map<string, string>();
  if (builder === "buildkit") {
    for (const platform of foreignPlatforms(wanted, engine)) {
      const program = probeExecutable(platform);
      if (!program) {
        note(`image-builder: note: the engine is ${engine}; whether it can run ${platform} (emulation) is known only when building`);
        continue;
      }
      const failure = await probe(docker, platform, program, signal);
      if (failure) failed.set(platform, failure);
    }
  }
  const refusal = platformRefusal(plan, engine, builder, failed);
  if (refusal) throw new InputError(refusal);
}

/** Builds the probe for `platform` (no cache, no network, no tag) and removes its image; the failure, if any. */
async function probe(docker: Dockerode, platform: string, program: Uint8Array, signal: AbortSignal): Promise<string | undefined> {
  const pack = tar.pack();
  pack.entry({ name: "Dockerfile", mode: 0o644 }, PROBE_DOCKERFILE);
  pack.entry({ name: "probe", mode: 0o755 }, Buffer.from(program));
  pack.finalize();
  let stream: NodeJS.ReadableStream;
  try {
    stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      docker.modem.dial({
        path: "/build?", method: "POST", file: pack,
        options: { version: "2", platform, nocache: true, networkmode: "none", rm: true, forcerm: true },
        abortSignal: signal, isStream: true, statusCodes: { 200: true, 400: "bad parameter", 500: "server error" },
      } as unknown as Parameters<Dockerode["modem"]["dial"]>[0], (err, data) => (err ? reject(err) : resolve(data as NodeJS.ReadableStream))));
  } catch (e) {
    if (signal.aborted) throw e;
    return engineErrorMessage(e);
  }
  let failure: string | undefined;
  let image: string | undefined;
  await readMessages(stream, (m) => {
    failure ??= messageError(m);
    const aux = m.aux as { ID?: string } | undefined;
    if (m.id === "moby.image.id" && aux?.ID) image = aux.ID;
  }, signal);
  if (image) await docker.getImage(image).remove({ force: true }).catch(() => undefined);
  if (failure === undefined) return undefined;
  return /exec format error/i.test(failure) ? "exec format error: no emulator for it is registered" : failure.split("\n")[0];
}
