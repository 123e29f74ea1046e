// Before building: the images of this repository's science layers that the plan builds on but
// does not build are fetched from the registry, so that children build on exactly the registry's
// images and never on whatever the engine had cached under the same tag.
import { externalBases } from "../../core/external-bases.js";
import type { ExternalParent } from "../../core/select-builds.js";
import { InputError, type Plan } from "../../core/types.js";
import { DockerCredentials } from "./auth.js";
import { checkEngine, connectEngine } from "./engine.js";
import { abortError, engineErrorMessage, messageError, readMessages } from "./messages.js";
import { splitTag } from "./push.js";
import type Dockerode from "dockerode";

export interface BaseSettings {
  out: NodeJS.WritableStream;
  signal?: AbortSignal;
  dockerConfigDir?: string;
}

/**
 * `external`: parents of `run --only` requests, built by another run of the same plan. Their
 * build of this plan (`{version}-{n}-{h}`) must be in the registry, else the run is refused.
 * Other bases are pulled when the registry has them; one the registry lacks is used from the
 * engine if it has it (e.g. built locally and never pushed), and is an error otherwise.
 */
export async function prepareBases(plan: Plan, external: ExternalParent[], s: BaseSettings): Promise<void> {
  const fromParents = new Set(external.map((p) => p.baseTag));
  const others = externalBases(plan).filter((ref) => !fromParents.has(ref));
  if (external.length === 0 && others.length === 0) return;
  const engine = connectEngine();
  await checkEngine(engine);
  const { docker } = engine;
  const creds = await DockerCredentials.load(s.dockerConfigDir);
  const signal = s.signal ?? new AbortController().signal;

  const pull = async (ref: string): Promise<string | undefined> => {
    const auth = (await creds.forImage(ref)) ?? {};
    let failure: string | undefined;
    try {
      const stream = await docker.pull(ref, { authconfig: auth, abortSignal: signal });
      await readMessages(stream, (m) => { failure ??= messageError(m); }, signal);
    } catch (e) {
      if (signal.aborted) throw abortError(signal);
      failure ??= engineErrorMessage(e);
    }
    return failure === undefined ? undefined : creds.redact(failure);
  };

  for (const p of external) {
    const failure = await pull(p.buildTag);
    if (failure) {
      throw new InputError(`parent ${p.id} is missing from the registry: ${p.buildTag} (${failure}); build and push it first`);
    }
    const { name, tag } = splitTag(p.baseTag);
    await docker.getImage(p.buildTag).tag({ repo: name, tag });
    s.out.write(`[${p.id}] pulled ${p.buildTag}\n`);
  }
  for (const ref of others) {
    const failure = await pull(ref);
    if (!failure) {
      s.out.write(`[base] pulled ${ref}\n`);
      continue;
    }
    if (await hasImage(docker, ref)) {
      s.out.write(`[base] ${ref}: not in the registry (${failure}); using the engine's own copy\n`);
    } else {
      throw new Error(`base image ${ref} is neither in the registry nor in the engine (${failure}); build it first (e.g. --include its directory)`);
    }
  }
}

async function hasImage(docker: Dockerode, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch {
    return false;
  }
}
