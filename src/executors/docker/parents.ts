// `run --only`: parents built by another run of the same plan (another agent, an earlier wave)
// are fetched from the registry before the builds start, so children build on exactly this plan's
// parent images and not on whatever the engine had under the same tag.
import type { ExternalParent } from "../../core/select-builds.js";
import { InputError } from "../../core/types.js";
import { DockerCredentials } from "./auth.js";
import { checkEngine, connectEngine } from "./engine.js";
import { engineErrorMessage, messageError, readMessages } from "./messages.js";
import { splitTag } from "./push.js";

export interface FetchSettings {
  out: NodeJS.WritableStream;
  signal?: AbortSignal;
  dockerConfigDir?: string;
}

export async function fetchParents(parents: ExternalParent[], s: FetchSettings): Promise<void> {
  const engine = connectEngine();
  await checkEngine(engine);
  const { docker } = engine;
  const creds = await DockerCredentials.load(s.dockerConfigDir);
  const signal = s.signal ?? new AbortController().signal;
  for (const p of parents) {
    const auth = (await creds.forImage(p.buildTag)) ?? {};
    // The registry must have this plan's build of the parent: refuse before building anything.
    try {
      await docker.getImage(p.buildTag).distribution({ authconfig: auth, abortSignal: signal } as object);
    } catch (e) {
      throw new InputError(`parent ${p.id} is missing from the registry: ${p.buildTag} (${creds.redact(engineErrorMessage(e))}); build and push it first`);
    }
    s.out.write(`[${p.id}] pulling ${p.buildTag}\n`);
    let failure: string | undefined;
    try {
      const stream = await docker.pull(p.buildTag, { authconfig: auth, abortSignal: signal });
      await readMessages(stream, (m) => { failure ??= messageError(m); }, signal);
    } catch (e) {
      failure ??= engineErrorMessage(e);
    }
    if (failure) throw new Error(`pull ${p.buildTag}: ${creds.redact(failure)}`);
    const { name, tag } = splitTag(p.baseTag);
    await docker.getImage(p.buildTag).tag({ repo: name, tag });
  }
}
