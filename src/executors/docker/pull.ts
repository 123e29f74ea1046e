// Pulling one image through the Engine API, with the docker config's credentials for its
// registry. Every pull of the executor goes through here: bases, parents, reused images, --pull,
// BuildKit frontends.
import type Dockerode from "dockerode";
import type { DockerCredentials } from "../../registry/credentials.js";
import { abortError, engineErrorMessage, messageError, readMessages } from "./messages.js";

/** Why a pull failed (redacted), and the engine's HTTP status when it refused the request. */
export interface PullFailure {
  message: string;
  statusCode?: number;
}

/**
 * undefined when pulled. A failure inside the engine's stream counts like a rejected request
 * (the engine reports most pull errors in the stream). An aborted pull throws.
 * `credentialsOptional`: a credential helper that fails leaves the pull anonymous.
 */
export async function pullImage(
  docker: Dockerode, creds: DockerCredentials, ref: string, signal: AbortSignal, o: { credentialsOptional?: boolean } = {},
): Promise<PullFailure | undefined> {
  const auth = o.credentialsOptional ? await creds.forImage(ref).catch(() => undefined) : await creds.forImage(ref);
  let failure: string | undefined;
  let statusCode: number | undefined;
  try {
    const stream = await docker.pull(ref, { authconfig: auth ?? {}, abortSignal: signal });
    await readMessages(stream, (m) => { failure ??= messageError(m); }, signal);
  } catch (e) {
    if (signal.aborted) throw abortError(signal);
    failure ??= engineErrorMessage(e);
    statusCode = (e as { statusCode?: number }).statusCode;
  }
  return failure === undefined ? undefined : { message: creds.redact(failure), statusCode };
}
