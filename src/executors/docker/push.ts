// Pushing a built image's tags through the Engine API, with retries for transient failures.
import type Dockerode from "dockerode";
import { splitTag } from "../../core/parse/image-reference.js";
import { registryOf, type DockerCredentials } from "../../registry/credentials.js";
import { abortError, engineErrorMessage, messageError, readMessages } from "./messages.js";
import { AUTH_ERROR, isTransient } from "../../core/registry/transport-rules.js";

export interface PushOptions {
  creds: DockerCredentials;
  /** Destroys the engine's push stream (a second interrupt, or the wait for pushes in flight ran out). */
  signal: AbortSignal;
  /**
   * An interrupt: no retry starts, but the push in flight goes on to its end. The engine carries
   * on with a request it has sent whatever the client does (a manifest PUT already on its way is
   * stored), so only the end of its stream says the registry has what it will get.
   */
  stop?: AbortSignal;
  /**
   * The image to push: the name is tagged to it just before each push. The engine pushes by
   * name, and names are shared by every run on the engine: another run of the same commit may
   * have retagged the name since this run built its image (the engine resolves the name when the
   * push starts; the read-back checks the registry's image is this one).
   */
  imageId?: string;
  /** One line of push output. */
  line: (text: string) => void;
  /** Retries after the first attempt, for transient errors only. */
  retries?: number;
  /** First backoff; doubled for each retry. */
  backoffMs?: number;
}

/**
 * Pushes every tag, in the order given, one after the other; returns tag -> registry digest.
 * Throws on the first failure: later tags are not pushed (callers put the build tag first).
 */
export async function pushTags(docker: Dockerode, tags: string[], s: PushOptions): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  for (const ref of tags) digests[ref] = await pushWithRetry(docker, ref, s);
  return digests;
}

// Which failures are worth another attempt is one rule for the engine's pushes and the registry
// client (a plain `EOF` on a manifest PUT too: a PUT is idempotent).
export { AUTH_ERROR, isTransient } from "../../core/registry/transport-rules.js";

async function pushWithRetry(docker: Dockerode, ref: string, s: PushOptions): Promise<string> {
  const retries = s.retries ?? 3;
  let delay = s.backoffMs ?? 1000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await pushOnce(docker, ref, s);
    } catch (e) {
      const message = (e as Error).message;
      // The engine retries each layer upload itself ("Retrying in N seconds"), for about a
      // minute: when it has given up, another round would only multiply that wait.
      const engineRetried = e instanceof PushError && e.engineRetried;
      if (s.signal.aborted || s.stop?.aborted || attempt >= retries || engineRetried || !isTransient(message)) throw e;
      s.line(`push of ${ref} failed (${message}); retry ${attempt + 1}/${retries} in ${delay / 1000}s`);
      await sleep(delay, s.signal);
      delay *= 2;
    }
  }
}

async function pushOnce(docker: Dockerode, ref: string, s: PushOptions): Promise<string> {
  const { name, tag } = splitTag(ref);
  const auth = await s.creds.forImage(ref);
  if (s.imageId) {
    try {
      await docker.getImage(s.imageId).tag({ repo: name, tag });
    } catch (e) {
      throw new Error(`tag ${s.imageId} as ${ref} before pushing it: ${engineErrorMessage(e)}`);
    }
  }
  let stream: NodeJS.ReadableStream;
  try {
    // Always send an X-Registry-Auth header, empty without credentials, as the docker CLI does.
    stream = await docker.getImage(name).push({ tag, authconfig: auth ?? {}, abortSignal: s.signal });
  } catch (e) {
    if (s.signal.aborted) throw abortError(s.signal);
    throw new Error(`push ${ref}: ${engineErrorMessage(e)}`);
  }
  let digest: string | undefined;
  let failure: string | undefined;
  // Layers the engine is retrying and has not (yet) got across.
  const retrying = new Set<string>();
  const shown = new Set<string>();
  await readMessages(stream, (m) => {
    failure ??= messageError(m);
    if (m.id && m.status) {
      if (/^Retrying in /.test(m.status)) retrying.add(m.id);
      else if (/^(Pushed|Layer already exists|Mounted from)/.test(m.status)) retrying.delete(m.id);
    }
    if (m.aux?.Digest) digest = m.aux.Digest;
    // Layer progress repeats per chunk; one line per layer and state is plenty.
    if (m.status && !m.progressDetail?.total) {
      const line = `${m.id ? `${m.id}: ` : ""}${m.status}`;
      if (!shown.has(line)) s.line(line);
      shown.add(line);
    }
  }, s.signal);
  if (failure) {
    // A layer the engine gave up on after its own retries; a failure after every layer got
    // across (the manifest) was not retried by the engine, and is left to pushWithRetry.
    const engineRetried = retrying.size > 0;
    const refused = AUTH_ERROR.test(failure);
    const hint = !refused ? "" : auth
      ? ` (the credentials for ${registryOf(ref)} in ${s.creds.file} were refused, or may not push to this repository)`
      : ` (no credentials for ${registryOf(ref)} in ${s.creds.file})`;
    // The registry's errors, one per line in the engine's message (`errors:\ndenied: …\nunauthorized: …`), as one line.
    const said = failure.replace(/^errors:\s*/, "").split(/\s*\n\s*/).filter(Boolean).join("; ");
    throw new PushError(`push ${ref}: ${said}${hint}${engineRetried ? " (after the engine's own retries)" : ""}`, engineRetried);
  }
  if (!digest) throw new Error(`push ${ref}: the engine reported no digest`);
  s.line(`pushed ${ref}@${digest}`);
  return digest;
}

class PushError extends Error {
  constructor(message: string, readonly engineRetried: boolean) {
    super(message);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
