// Connecting to the Docker Engine API the way the docker CLI would, from DOCKER_HOST & co.
import Dockerode from "dockerode";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface Engine {
  docker: Dockerode;
  /** Where we connect, for messages: `unix:///var/run/docker.sock`, `tcp://host:2376`, ... */
  address: string;
}

const DEFAULT_SOCKET = "/var/run/docker.sock";

/**
 * Resolves DOCKER_HOST (unix://, tcp:// with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, ssh://) from
 * `env`, not from process.env: docker-modem would read process.env by itself, so every
 * connection field is passed explicitly to override its defaults.
 */
export function connectEngine(env: NodeJS.ProcessEnv = process.env): Engine {
  const host = env.DOCKER_HOST?.trim() || `unix://${DEFAULT_SOCKET}`;
  // Fields docker-modem may have filled from process.env; set them all so `env` alone decides.
  const reset = { socketPath: undefined, host: undefined, port: undefined, protocol: undefined,
    ca: undefined, cert: undefined, key: undefined, username: undefined };

  if (host.startsWith("unix://")) {
    const socketPath = host.slice("unix://".length) || DEFAULT_SOCKET;
    return { docker: new Dockerode({ ...reset, socketPath }), address: `unix://${socketPath}` };
  }

  let url: URL;
  try {
    url = new URL(host.includes("://") ? host : `tcp://${host}`);
  } catch {
    throw new Error(`DOCKER_HOST=${redactHost(host)} is not a valid address (expected unix://, tcp:// or ssh://)`);
  }

  if (url.protocol === "tcp:" || url.protocol === "http:" || url.protocol === "https:") {
    // Like the docker CLI: any non-empty DOCKER_TLS_VERIFY means TLS with verification.
    const tls = Boolean(env.DOCKER_TLS_VERIFY) || url.protocol === "https:";
    const port = url.port || (tls ? "2376" : "2375");
    const opts: Dockerode.DockerOptions = { ...reset, host: url.hostname, port, protocol: tls ? "https" : "http" };
    if (tls) {
      const certDir = env.DOCKER_CERT_PATH || join(env.HOME || homedir(), ".docker");
      const read = (f: string) => {
        try {
          return readFileSync(join(certDir, f));
        } catch (e) {
          throw new Error(`TLS for DOCKER_HOST=${redactHost(host)} needs ${join(certDir, f)}: ${(e as Error).message}`);
        }
      };
      Object.assign(opts, { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") });
    }
    return { docker: new Dockerode(opts), address: `${tls ? "https" : "tcp"}://${url.hostname}:${port}` };
  }

  if (url.protocol === "ssh:") {
    const username = decodeURIComponent(url.username) || undefined;
    const port = url.port || "22";
    const docker = new Dockerode({
      ...reset,
      protocol: "ssh",
      host: url.hostname,
      port,
      username,
      sshOptions: { agent: env.SSH_AUTH_SOCK },
    });
    return { docker, address: `ssh://${username ? `${username}@` : ""}${url.hostname}:${port}` };
  }

  throw new Error(`DOCKER_HOST=${redactHost(host)} has an unsupported scheme ${url.protocol} (expected unix://, tcp:// or ssh://)`);
}

/**
 * Pings the engine. Throws an Error with a one-line message naming the address tried and
 * DOCKER_HOST, so the CLI can print it as is.
 */
export async function checkEngine(
  engine?: Engine,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 10_000,
): Promise<{ address: string; version: string; apiVersion: string; os: string; arch: string }> {
  engine ??= connectEngine(env);
  const hostNote = env.DOCKER_HOST ? `DOCKER_HOST=${redactHost(env.DOCKER_HOST)}` : "DOCKER_HOST is not set";
  try {
    const signal = AbortSignal.timeout(timeoutMs);
    // dockerode accepts { abortSignal } here; its type definitions don't say so.
    type Abortable<T> = (opts: { abortSignal: AbortSignal }) => Promise<T>;
    const ping = engine.docker.ping.bind(engine.docker) as unknown as Abortable<unknown>;
    const version = engine.docker.version.bind(engine.docker) as unknown as Abortable<Dockerode.DockerVersion>;
    await ping({ abortSignal: signal });
    const v = await version({ abortSignal: signal });
    return { address: engine.address, version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch };
  } catch (e) {
    const cause = oneLine(e instanceof Error ? e.message : String(e)) || "no answer";
    throw new Error(`cannot reach the Docker engine at ${engine.address} (${hostNote}): ${cause}`);
  }
}

/** A DOCKER_HOST may carry a password in its user info (ssh://user:pw@host): never print it. */
function redactHost(host: string): string {
  return host.replace(/\/\/([^/@:]*):[^/@]*@/, "//$1:***@");
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

/** An image the engine has (built, loaded or pulled), as a build's result. */
export interface BuiltImage {
  imageId: string;
  /** The image's `Created` time as the engine reports it (RFC 3339). */
  created: string;
  /**
   * Its labels as the engine has them: its config's (the image id is the config's digest), so what
   * is made from the image in the registry (its provenance) need not read that config again.
   */
  labels?: Record<string, string>;
}

/** The engine's image `id` as a BuiltImage (its creation time asked for). */
export async function builtImage(docker: Dockerode, id: string): Promise<BuiltImage> {
  const info = await docker.getImage(id).inspect();
  return { imageId: info.Id, created: info.Created, labels: info.Config?.Labels ?? {} };
}
