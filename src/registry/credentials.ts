// Registry credentials from the docker CLI's configuration (`$DOCKER_CONFIG/config.json`):
// inline `auths` entries, per-registry `credHelpers` and a default `credsStore`, resolved the way
// the docker CLI resolves them. Every secret seen joins the run's SecretSet, so output can be redacted.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { InputError } from "../core/model.js";
import { SecretSet } from "../core/report/redaction.js";

/** What the Engine API takes as X-Registry-Auth (push) and per registry in X-Registry-Config. */
export interface RegistryAuth {
  serveraddress: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Docker Hub's canonical host, as the docker CLI keys it. */
const DOCKER_HUB = "index.docker.io";
const HUB_SERVER = "https://index.docker.io/v1/";
const HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

/** `https://index.docker.io/v1/`, `127.0.0.1:5000/`, `Docker.io` -> a comparable host[:port]. */
export function normalizeRegistry(key: string): string {
  const host = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/.*$/, "").toLowerCase();
  return HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/** The registry an image reference lives in (its first component if it looks like a host). */
export function registryOf(ref: string): string {
  const slash = ref.indexOf("/");
  if (slash < 0) return DOCKER_HUB;
  const first = ref.slice(0, slash);
  const isHost = first.includes(".") || first.includes(":") || first === "localhost";
  return isHost ? normalizeRegistry(first) : DOCKER_HUB;
}

/** How a registry is named to credential helpers and in X-Registry-Config. */
function serverAddress(host: string): string {
  return host === DOCKER_HUB ? HUB_SERVER : host;
}

/**
 * Every credential any DockerCredentials of this process has seen, whichever command loaded it:
 * what the CLI masks in all it writes (a registry may echo credentials in an error's body, and a
 * command need not have passed its own set along for that line to be masked).
 */
export const SEEN_CREDENTIALS = new SecretSet();

export class DockerCredentials {
  private readonly cache = new Map<string, Promise<RegistryAuth | undefined>>();

  private constructor(
    /** config.json path, for messages. */
    readonly file: string,
    private readonly config: ConfigFile,
    private readonly env: NodeJS.ProcessEnv,
    /** The run's secrets, which every credential seen joins (the inline ones now, a helper's when it answers). */
    readonly secrets: SecretSet,
  ) {
    for (const entry of Object.values(config.auths ?? {})) {
      if (!entry) continue;
      this.remember(entry.auth, entry.password, entry.identitytoken, entry.registrytoken);
      if (entry.auth) this.remember(decodeAuth(entry.auth).password);
      // What a Basic header carries, which a registry may echo in an error.
      if (entry.username || entry.password) this.remember(basicAuth(entry.username, entry.password));
    }
  }

  /**
   * Reads `<dir>/config.json`, dir defaulting to $DOCKER_CONFIG or ~/.docker. A missing file
   * means no credentials; an unreadable or malformed one is bad input (as for the docker CLI).
   */
  static async load(dir?: string, env: NodeJS.ProcessEnv = process.env, secrets = new SecretSet()): Promise<DockerCredentials> {
    const file = join(dir || env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker"), "config.json");
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return new DockerCredentials(file, {}, env, secrets);
      throw new InputError(`cannot read docker config ${file}: ${(e as Error).message}`);
    }
    let config: unknown;
    try {
      config = JSON.parse(text);
    } catch {
      // Not the parser's message: it may quote the file's content, credentials included.
      throw new InputError(`docker config ${file} is not valid JSON`);
    }
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
      throw new InputError(`docker config ${file} is not a JSON object`);
    }
    return new DockerCredentials(file, config as ConfigFile, env, secrets);
  }

  /** Credentials for the registry of an image reference, or undefined when there are none. */
  forImage(ref: string): Promise<RegistryAuth | undefined> {
    return this.forRegistry(registryOf(ref));
  }

  forRegistry(registry: string): Promise<RegistryAuth | undefined> {
    const host = normalizeRegistry(registry);
    let p = this.cache.get(host);
    if (!p) {
      p = this.resolve(host);
      this.cache.set(host, p);
    }
    return p;
  }

  /** Docker CLI order: the registry's credHelper, else the credsStore, else the inline entry. */
  private async resolve(host: string): Promise<RegistryAuth | undefined> {
    const server = serverAddress(host);
    const helper = findKey(this.config.credHelpers, host);
    if (helper !== undefined) return this.fromHelper(this.config.credHelpers![helper], server, `credHelpers["${helper}"]`);
    if (this.config.credsStore) {
      const fromStore = await this.fromHelper(this.config.credsStore, server, "credsStore");
      if (fromStore) return fromStore;
    }
    const key = findKey(this.config.auths, host);
    if (key === undefined) return undefined;
    const entry = this.config.auths![key] ?? {};
    const auth: RegistryAuth = { serveraddress: server };
    if (entry.auth) Object.assign(auth, decodeAuth(entry.auth));
    if (entry.username) auth.username = entry.username;
    if (entry.password) auth.password = entry.password;
    if (entry.identitytoken) auth.identitytoken = entry.identitytoken;
    if (entry.registrytoken) auth.registrytoken = entry.registrytoken;
    const empty = !auth.username && !auth.password && !auth.identitytoken && !auth.registrytoken;
    return empty ? undefined : auth;
  }

  /** Runs `docker-credential-<name> get` with the server on stdin (the helper protocol). */
  private async fromHelper(name: string, server: string, where: string): Promise<RegistryAuth | undefined> {
    const program = `docker-credential-${name}`;
    const { code, stdout, spawnError } = await run(program, ["get"], server, this.env, helperTimeoutMs(this.env));
    if (spawnError) {
      throw new Error(`credential helper ${program} (${where} in ${this.file}) could not run: ${spawnError}`);
    }
    if (code !== 0) {
      if (/credentials not found/i.test(stdout)) return undefined;
      // What a helper that failed printed is not shown: it may be its answer after all, or hold a
      // token of the store behind it (a vault's), which no mask knows. The user can run it.
      const own = code === null && /^(did not answer within|killed by) /.test(stdout) ? stdout : undefined;
      if (own !== undefined) throw new Error(`credential helper ${program} failed for ${server}: ${own}`);
      throw new Error(`credential helper ${program} failed for ${server} (${code === null ? "stopped" : `exit code ${code}`}); what it printed is not shown, as it may hold credentials: run \`echo ${server} | ${program} get\` to see it`);
    }
    let answer: { Username?: string; Secret?: string };
    try {
      answer = JSON.parse(stdout);
    } catch {
      throw new Error(`credential helper ${program} gave no JSON for ${server}`);
    }
    if (!answer.Secret) return undefined;
    this.remember(answer.Secret, basicAuth(answer.Username, answer.Secret));
    // Helpers store identity tokens (OAuth refresh tokens) under the user name "<token>".
    return answer.Username === "<token>"
      ? { serveraddress: server, identitytoken: answer.Secret }
      : { serveraddress: server, username: answer.Username, password: answer.Secret };
  }

  /** Replaces every line of every known secret in `text` (core/report/redaction.ts). */
  redact(text: string): string {
    return this.secrets.redact(text);
  }

  /** A bearer token a registry's token service gave for these credentials: masked as they are (a registry may echo it). */
  rememberToken(token: string): void {
    this.remember(token);
  }

  private remember(...values: (string | undefined)[]): void {
    this.secrets.add(...values);
    SEEN_CREDENTIALS.add(...values);
  }
}

function findKey(map: Record<string, unknown> | undefined, host: string): string | undefined {
  return Object.keys(map ?? {}).find((k) => normalizeRegistry(k) === host);
}

/** The base64 `user:password` of a Basic Authorization header. */
export function basicAuth(username: string | undefined, password: string | undefined): string {
  return Buffer.from(`${username ?? ""}:${password ?? ""}`).toString("base64");
}

function decodeAuth(auth: string): { username: string; password: string } {
  const plain = Buffer.from(auth, "base64").toString("utf8");
  const colon = plain.indexOf(":");
  return colon < 0 ? { username: plain, password: "" } : { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
}

function firstLine(s: string): string {
  return s.trim().split("\n")[0]?.slice(0, 200) ?? "";
}

/** How long a helper may take: IMAGE_BUILDER_CREDENTIAL_HELPER_TIMEOUT seconds (a keyring that asks for a passphrase), else 30. */
function helperTimeoutMs(env: NodeJS.ProcessEnv): number {
  const seconds = Number(env.IMAGE_BUILDER_CREDENTIAL_HELPER_TIMEOUT);
  // Node's timers take at most 2^31-1 ms (about 24 days); more would fire at once.
  return Math.min((Number.isFinite(seconds) && seconds > 0 ? seconds : 30) * 1000, 2 ** 31 - 1);
}

function run(program: string, args: string[], input: string, env: NodeJS.ProcessEnv, timeoutMs: number) {
  return new Promise<{ code: number | null; stdout: string; spawnError?: string }>((resolve) => {
    // In the command's own process group and session: Ctrl-C reaches the helper as it reaches the
    // command, and a helper that asks for a passphrase on the terminal (pass, gpg) can.
    const child = spawn(program, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let settled = false;
    let afterExit: NodeJS.Timeout | undefined;
    const done = (outcome: { code: number | null; stdout: string; spawnError?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(afterExit);
      // Not waiting for the pipes: a process the helper started (a blocked pinentry, a daemon)
      // may hold them open for as long as it lives.
      child.stdout.destroy();
      child.stderr.destroy();
      resolve(outcome);
    };
    // Our own timer rather than spawn's `timeout`: Node leaves that one running when the helper
    // can't be started, which kept the process alive for the whole limit after a missing helper.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      done({ code: null, stdout: `did not answer within ${timeoutMs / 1000} s (stopped; IMAGE_BUILDER_CREDENTIAL_HELPER_TIMEOUT)` });
    }, timeoutMs);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (e: NodeJS.ErrnoException) => {
      done({ code: null, stdout, spawnError: e.code === "ENOENT" ? "not found on PATH" : e.message });
    });
    // Helpers print their errors on stdout; stderr is the fallback.
    const outcome = (code: number | null, signal: NodeJS.Signals | null) => ({ code, stdout: stdout || stderr || (signal ? `killed by ${signal}` : "") });
    child.on("close", (code, signal) => done(outcome(code, signal)));
    // A helper that exited while something it started (gpg-agent) holds its output open: what it
    // wrote is read within a moment of its exit, then taken as its answer.
    child.on("exit", (code, signal) => {
      afterExit = setTimeout(() => done(outcome(code, signal)), 1000);
    });
    child.stdin.on("error", () => undefined); // a helper that exits without reading stdin
    child.stdin.end(input);
  });
}
