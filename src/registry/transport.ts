// The registry client's transport: one HTTP exchange with a registry, whatever it is for (the
// reads of client.ts; a write path sits on the same calls: a PUT with a body kept in memory is
// sent again after a dropped connection, scopes name `push`). It authenticates as the registry
// asks (Basic, or the Bearer token flow with tokens cached per scope; credentials go to a token
// realm only over https, or to a loopback realm of a loopback registry), retries idempotent
// requests whose connection dropped or whose registry was busy (bounded backoff), bounds the
// wait for an answer and the silence of a streamed body, and reads no answer whole beyond 4 MiB.
// Every error names the registry and what was being read.
import { Readable } from "node:stream";
import pLimit, { type LimitFunction } from "p-limit";
import { anyPortFetch } from "./any-port-fetch.js";
import { packageVersion } from "../files.js";
import { isLoopbackRegistry, parseAuthChallenges, type AuthChallenge } from "../core/parse/image-reference.js";
import {
  backoffMs, credentialsRefusedFor, ERROR_BODY_LIMIT, isDroppedConnection, isIdempotent, isRetryableStatus, METADATA_LIMIT, RETRIES,
  type HttpMethod,
} from "../core/registry/transport-rules.js";
import { basicAuth, type DockerCredentials, type RegistryAuth } from "./credentials.js";
import { sharedAbortController } from "../signals.js";

const USER_AGENT = `image-builder/${packageVersion()}`;

/** The registry could not answer: down, refused credentials, a malformed, oversized or mismatching answer. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    /** A dropped connection or a busy registry: worth another attempt of an idempotent request. */
    readonly transient = false,
  ) {
    super(message);
    this.name = "RegistryError";
  }

  /** What the registry holds is broken (see RegistryContentError), not the exchange with it. */
  get content(): boolean {
    return false;
  }
}

/**
 * What the registry holds is broken, though it answered: a manifest or config that is not what an
 * image's are (not JSON, an unsupported type, another digest than the one asked for), or an index
 * naming a manifest the registry does not have. One image's fault, not the registry's.
 */
export class RegistryContentError extends RegistryError {
  override get content(): boolean {
    return true;
  }
}

export interface TransportOptions {
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  fetch?: typeof fetch;
  /** An answer within this (for answers read whole, all of it; for streamed ones, its headers); default 60 s. */
  timeoutMs?: number;
  /** A streamed body (a layer) may go this long without a byte; default 60 s. */
  idleTimeoutMs?: number;
  /** Attempts after the first of an idempotent request that failed transiently (default 3). */
  retries?: number;
  /** The wait before the first retry, doubled for each (default 250 ms; see core backoffMs). */
  backoffMs?: number;
}

export interface RegistryRequest {
  /** `host[:port]` as images name it. */
  registry: string;
  path: string;
  method?: HttpMethod;
  accept?: string;
  contentType?: string;
  /** Kept in memory, so that an idempotent request (a manifest PUT) can be sent again. */
  body?: Uint8Array;
  /** Token scope the request needs, when the registry does not say (`repository:NAME:pull`). */
  scope: string;
  /** What the request is about, for messages (`manifest of host/repo:tag`). */
  what: string;
  /** Stops the request (and a streamed body) when aborted: Ctrl-C. */
  signal?: AbortSignal;
  /** Retries of this request, when fewer than the transport's (a best-effort one: 0). */
  retries?: number;
  /**
   * The process does not wait for it (its time limit's timer does not hold it): a best-effort
   * request whose answer nobody needs once the command is done (a cancel of an unused upload).
   */
  background?: boolean;
}

interface Token {
  value: string;
  expiresAt: number;
}

/** An answer whose headers arrived: its status, headers and body stream. */
export type RegistryResponse = Response;

const seconds = (ms: number) => `${ms / 1000}s`;
const mebibytes = (bytes: number) => `${bytes / 1024 / 1024} MiB`;

export class RegistryTransport {
  /** HTTP requests made (token requests and retries included); for benchmarks. */
  requests = 0;
  private readonly limit: LimitFunction;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly retries: number;
  private readonly firstBackoffMs: number;
  /** The challenge each registry answered with: later requests authenticate up front. */
  private readonly challenges = new Map<string, AuthChallenge>();
  private readonly tokens = new Map<string, Promise<Token>>();
  /** Registries whose token realm was not given the credentials, and why (for the refusal's message). */
  private readonly withheld = new Map<string, string>();
  /** Aborted by `stop`: every request in flight or to come ends at once. */
  private readonly stopped = sharedAbortController();
  /** The deadlines of requests in flight, which `stop` ends (not a signal tied to each: one living as long as the client keeps them all). */
  private readonly live = new Set<Deadline>();

  constructor(private readonly creds: DockerCredentials, options: TransportOptions = {}) {
    this.limit = pLimit(options.concurrency ?? 8);
    this.fetchImpl = options.fetch ?? (anyPortFetch as typeof fetch);
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.retries = options.retries ?? RETRIES;
    this.firstBackoffMs = options.backoffMs ?? 250;
  }

  /**
   * Ends every request in flight at once, and every later one before it is sent: an interrupted
   * run that waited as long as it said it would (or was interrupted again) stops waiting for a
   * registry that does not answer. Each fails with a RegistryError saying so, never retried.
   */
  stop(): void {
    this.stopped.abort();
    for (const d of this.live) d.abort();
  }

  /** A request's deadline, ended by `stop` too (at once when the client is stopped already). */
  private deadlineFor(req: Pick<RegistryRequest, "signal" | "background">): Deadline {
    const d = new Deadline(this.timeoutMs, req.signal, this.live);
    if (req.background) d.unref();
    if (this.stopped.signal.aborted) d.abort();
    return d;
  }

  /** What a request ended by `stop` fails with. */
  private stoppedError(req: Pick<RegistryRequest, "registry" | "what">): RegistryError {
    return new RegistryError(`${req.what}: stopped waiting for registry ${req.registry} (the run was interrupted)`);
  }

  /**
   * Sends `req` (authenticated, within the concurrency limit) and hands the answer to `read`,
   * all within the timeout. An idempotent request is sent again when its connection dropped
   * (while sending or while `read` read the body) or the registry answered 429/5xx.
   */
  exchange<T>(req: RegistryRequest, read: (res: RegistryResponse) => Promise<T>): Promise<T> {
    return this.withRetries(req, () => this.attempt(req, read, false));
  }

  /**
   * Opens a streamed body (a layer of any size; not held in memory, not counted against the
   * concurrency limit once the headers arrived). Retried like `exchange` until the headers are
   * there; the body fails with a RegistryError when it goes `idleTimeoutMs` without a byte.
   * `check` sees the answer first (throws for a wrong status).
   */
  stream(req: RegistryRequest, check: (res: RegistryResponse) => Promise<void>): Promise<Readable> {
    return this.withRetries(req, () => this.attempt<Readable>(req, async (res) => {
      await check(res);
      if (!res.body) throw new RegistryError(`${req.what}: registry ${req.registry} sent no body`);
      return res as unknown as Readable; // made the guarded body by attempt()
    }, true));
  }

  /** The whole body of an answer, at most `limit` bytes (else a RegistryError naming the registry). */
  async readWhole(res: RegistryResponse, req: Pick<RegistryRequest, "registry" | "what">, limit = METADATA_LIMIT): Promise<Buffer> {
    const declared = Number(res.headers.get("content-length") ?? NaN);
    const tooLarge = (size: string) => new RegistryError(`${req.what}: registry ${req.registry} answered with ${size}, more than the ${mebibytes(limit)} read at most`);
    if (declared > limit) {
      await res.body?.cancel().catch(() => undefined);
      throw tooLarge(`${declared} bytes`);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = res.body?.getReader();
    if (!reader) return Buffer.alloc(0);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > limit) {
          await reader.cancel().catch(() => undefined);
          throw tooLarge(`more than ${limit} bytes`);
        }
        chunks.push(value);
      }
    } catch (e) {
      throw this.readError(e, req);
    }
    return Buffer.concat(chunks);
  }

  /** An error while reading a body, as a RegistryError naming the registry (a dropped connection is transient). */
  readError(e: unknown, req: Pick<RegistryRequest, "registry" | "what">): Error {
    if (e instanceof RegistryError) return e;
    const err = e as Error & { name?: string };
    if (err.name === "TimeoutError") return new RegistryError(`${req.what}: registry ${req.registry} did not answer within ${seconds(this.timeoutMs)}`);
    if (this.stopped.signal.aborted) return this.stoppedError(req);
    if (err.name === "AbortError") return err;
    const dropped = isDroppedConnection(err);
    return new RegistryError(`${req.what}: ${dropped ? "the connection to" : "reading the answer of"} registry ${req.registry} ${dropped ? "dropped" : "failed"} (${causeOf(err)})`, undefined, dropped);
  }

  private async withRetries<T>(req: RegistryRequest, once: () => Promise<T>): Promise<T> {
    const method = req.method ?? "GET";
    for (let retry = 0; ; retry++) {
      try {
        return await once();
      } catch (e) {
        const again = e instanceof RegistryError && e.transient && isIdempotent(method) && retry < Math.min(req.retries ?? this.retries, this.retries) && !req.signal?.aborted && !this.stopped.signal.aborted;
        if (!again) throw e;
        await sleep(backoffMs(retry, this.firstBackoffMs), req.signal, this.stopped.signal);
      }
    }
  }

  /**
   * One attempt, authenticating as the registry asks: a 401 is answered once with credentials
   * (Basic) or a token (Bearer); a second 401, or a 403, is a refusal. `stream`: the timeout
   * ends with the headers and the body is guarded by the idle timeout instead.
   */
  private async attempt<T>(req: RegistryRequest, read: (res: RegistryResponse) => Promise<T>, stream: boolean): Promise<T> {
    let authorization = await this.authorizationFor(req, undefined);
    for (let challenged = false; ; challenged = true) {
      const outcome = await this.limit(async (): Promise<{ retry: string } | { value: T }> => {
        const deadline = this.deadlineFor(req);
        let handedOver = false;
        try {
          const res = await this.send(req, authorization, deadline);
          // A 401 or 403 from where the registry redirected to (blob storage) is not the
          // registry's: its challenge would send the registry's credentials to that host's realm.
          const answeredBy = res.url ? new URL(res.url).origin : undefined;
          if ((res.status === 401 || res.status === 403) && answeredBy && answeredBy !== registryBase(req.registry).origin) {
            await res.body?.cancel().catch(() => undefined);
            throw new RegistryError(`${req.what}: ${req.registry} redirected the request to ${answeredBy}, which answered HTTP ${res.status}; the registry's credentials are not sent to another host`, res.status);
          }
          if (res.status === 401 && !challenged) {
            await res.body?.cancel().catch(() => undefined);
            return { retry: res.headers.get("www-authenticate") ?? "" };
          }
          if (res.status === 401 || res.status === 403) throw await this.refusal(req, res);
          if (isRetryableStatus(res.status) && isIdempotent(req.method ?? "GET")) throw await statusError(res, req, true);
          const value = await read(res);
          if (!stream) return { value };
          // From here the body's idle timer takes over from the deadline.
          handedOver = true;
          return { value: this.guarded(value as unknown as RegistryResponse, req, deadline) as T };
        } catch (e) {
          throw deadline.expired ? new RegistryError(`${req.what}: registry ${req.registry} did not answer within ${seconds(this.timeoutMs)}`) : this.readError(e, req);
        } finally {
          if (!handedOver) deadline.clear();
        }
      });
      if ("value" in outcome) return outcome.value;
      const challenge = parseAuthChallenges(outcome.retry).find((c) => c.scheme === "bearer" || c.scheme === "basic");
      if (!challenge) throw new RegistryError(`${req.what}: ${req.registry} answered 401 without a Basic or Bearer challenge`, 401);
      this.challenges.set(req.registry, challenge);
      authorization = await this.authorizationFor(req, challenge, authorization);
      if (!authorization) {
        throw new RegistryError(`${req.what}: ${req.registry} requires credentials and the docker config ${this.creds.file} has none for it`, 401);
      }
    }
  }

  /** The body of a streamed answer, failing when it goes idleTimeoutMs without a byte. */
  private guarded(res: RegistryResponse, req: RegistryRequest, deadline: Deadline): Readable {
    deadline.clear();
    const reader = res.body!.getReader();
    const idleMs = this.idleTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    let received = 0;
    const mapError = (e: unknown) => this.readError(e, { registry: req.registry, what: `${req.what} (after ${received} bytes)` });
    return new Readable({
      read() {
        // Timed only while waiting for the registry, not while the consumer is slow.
        timer = setTimeout(() => {
          deadline.abort();
          this.destroy(new RegistryError(`${req.what}: registry ${req.registry} sent nothing for ${seconds(idleMs)} (after ${received} bytes); given up`));
        }, idleMs);
        reader.read().then(({ done, value }) => {
          clearTimeout(timer);
          if (this.destroyed) return;
          if (done) return void this.push(null);
          received += value.byteLength;
          this.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
        }, (e: unknown) => {
          clearTimeout(timer);
          if (!this.destroyed) this.destroy(mapError(e));
        });
      },
      destroy(err, done) {
        clearTimeout(timer);
        reader.cancel().catch(() => undefined);
        deadline.abort();
        done(err);
      },
    });
  }

  private async refusal(req: RegistryRequest, res: RegistryResponse): Promise<RegistryError> {
    const said = await errorSummary(res);
    const withheld = this.withheld.get(req.registry);
    const auth = await this.credentials(req.registry).catch(() => undefined);
    // With Bearer a request always carries a token (an anonymous one when the config has no
    // credentials), and a token service may accept the credentials and grant less than asked:
    // the registry's challenge then says `insufficient_scope`.
    const has = Boolean(auth?.username || auth?.password || auth?.identitytoken || auth?.registrytoken);
    const challenge = parseAuthChallenges(res.headers.get("www-authenticate") ?? "").find((c) => c.scheme === "bearer");
    const creds = withheld
      ? `the credentials from the docker config were not sent: ${withheld}`
      : !has
        ? `the registry requires credentials, and the docker config ${this.creds.file} has none for ${req.registry}`
        : res.status === 403 || challenge?.params.error === "insufficient_scope"
          ? `the credentials from the docker config are not allowed ${allowedWhat(challenge?.params.scope ?? req.scope)}`
          : "the credentials from the docker config were refused";
    return new RegistryError(`${req.what}: access denied by ${req.registry} (HTTP ${res.status}${said ? `: ${said}` : ""}); ${creds}`, res.status);
  }

  /** The Authorization header for a request, from the registry's (remembered) challenge. */
  /** `rejected`: the Authorization the registry just answered 401 to (a token not to be given again). */
  private async authorizationFor(req: RegistryRequest, fresh: AuthChallenge | undefined, rejected?: string): Promise<string | undefined> {
    const challenge = fresh ?? this.challenges.get(req.registry);
    if (!challenge) return undefined;
    const auth = await this.credentials(req.registry);
    if (challenge.scheme === "basic") {
      if (!auth?.username && !auth?.password) return undefined;
      return `Basic ${basicAuth(auth.username, auth.password)}`;
    }
    if (auth?.registrytoken) return `Bearer ${auth.registrytoken}`;
    // The scope the registry asked for (when this is its answer to this request) and ours: a
    // cross-repository mount needs pull on the other repository too, which no challenge names.
    const scope = [...new Set(`${fresh?.params.scope ?? ""} ${req.scope}`.split(" ").filter(Boolean))].join(" ");
    const token = await this.token(req, challenge, scope, auth, fresh === undefined ? undefined : rejected?.replace(/^Bearer /, "") ?? "");
    return `Bearer ${token}`;
  }

  private async credentials(registry: string): Promise<RegistryAuth | undefined> {
    try {
      return await this.creds.forRegistry(registry); // Docker Hub's aliases are one registry there
    } catch (e) {
      throw new RegistryError(`credentials for ${registry}: ${(e as Error).message}`);
    }
  }

  /**
   * A token for `scope` from the challenge's realm, cached until shortly before it expires.
   * `rejected`: renewing after a 401 to the token given (`""`: none was): a token the cache got
   * since (requests sent at once each meet the first challenge) serves; that one is fetched again.
   */
  private async token(req: RegistryRequest, challenge: AuthChallenge, scope: string, auth: RegistryAuth | undefined, rejected: string | undefined): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError(`${req.what}: ${req.registry}'s Bearer challenge names no realm`);
    const key = `${realm} ${challenge.params.service ?? ""} ${scope}`;
    const cached = this.tokens.get(key);
    if (cached) {
      const t = await cached.catch(() => undefined);
      if (t && t.expiresAt > Date.now() && t.value !== rejected) return t.value;
      // Another request may have renewed it meanwhile.
      const now = this.tokens.get(key);
      if (now !== cached && now) {
        const n = await now.catch(() => undefined);
        if (n && n.expiresAt > Date.now() && n.value !== rejected) return n.value;
      }
    }
    const pending = this.fetchToken(req, realm, challenge.params.service, scope, auth);
    this.tokens.set(key, pending);
    try {
      return (await pending).value;
    } catch (e) {
      this.tokens.delete(key);
      throw e;
    }
  }

  private async fetchToken(req: RegistryRequest, realm: string, service: string | undefined, scope: string, auth: RegistryAuth | undefined): Promise<Token> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`${req.what}: ${req.registry}'s token realm "${realm}" is not a URL`);
    }
    const what = `${req.what}: the token service of ${req.registry} (${url.origin})`;
    const hasCredentials = Boolean(auth?.identitytoken || auth?.username || auth?.password);
    // Credentials travel only where nobody on the way reads them.
    const refused = hasCredentials ? credentialsRefusedFor(url, isLoopbackRegistry(req.registry)) : undefined;
    if (refused) this.withheld.set(req.registry, refused);
    const init: RequestInit = { headers: { "user-agent": USER_AGENT } };
    if (auth?.identitytoken && !refused) {
      // An OAuth refresh token (what `docker login` keeps for some registries).
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: auth.identitytoken, client_id: "image-builder", scope });
      if (service) form.set("service", service);
      Object.assign(init, { method: "POST", body: form.toString(), headers: { ...init.headers, "content-type": "application/x-www-form-urlencoded" } });
    } else {
      if (service) url.searchParams.set("service", service);
      for (const one of scope.split(" ")) url.searchParams.append("scope", one);
      if ((auth?.username || auth?.password) && !refused) {
        init.headers = { ...init.headers, authorization: `Basic ${basicAuth(auth.username, auth.password)}` };
      }
    }
    const body = await this.limit(async () => {
      const deadline = this.deadlineFor(req);
      const tokenReq = { registry: req.registry, what };
      try {
        const res = await this.sendUrl(url, { ...init, signal: deadline.signal }, `${req.what}: the token service of ${req.registry}`, deadline);
        const elsewhere = res.status >= 300 && res.status < 400 ? res.headers.get("location") : null;
        if (elsewhere) {
          await res.body?.cancel().catch(() => undefined);
          throw new RegistryError(`${req.what}: the token service of ${req.registry} redirected the token request to ${new URL(elsewhere, url).origin}; its body (a refresh token) is not sent to another host`, res.status);
        }
        if (!res.ok) {
          const said = await errorSummary(res);
          const denied = res.status === 401 || res.status === 403;
          const why = refused ? `refused the request without credentials (${refused}, so the credentials from the docker config were not sent)` : denied ? "refused the credentials from the docker config" : "failed";
          throw new RegistryError(`${req.what}: the token service of ${req.registry} ${why} (HTTP ${res.status}${said ? `: ${said}` : ""})`, res.status);
        }
        return await this.readWhole(res, tokenReq);
      } catch (e) {
        throw deadline.expired ? new RegistryError(`${what} did not answer within ${seconds(this.timeoutMs)}`) : this.readError(e, tokenReq);
      } finally {
        deadline.clear();
      }
    });
    let answer: { token?: string; access_token?: string; refresh_token?: unknown; expires_in?: number } = {};
    try {
      answer = JSON.parse(body.toString("utf8"));
    } catch {
      // no token: said below
    }
    const value = answer.token ?? answer.access_token;
    if (!value) throw new RegistryError(`${req.what}: the token service of ${req.registry} answered without a token`);
    // A credential for its scope while it lives: masked wherever it could be echoed.
    this.creds.rememberToken(value);
    if (typeof answer.refresh_token === "string") this.creds.rememberToken(answer.refresh_token);
    // The spec's default lifetime is 60 s; renew a little early.
    const lifetime = Math.max(10, Number(answer.expires_in) || 60);
    return { value, expiresAt: Date.now() + (lifetime - 5) * 1000 };
  }

  /**
   * A location the registry answered with (an upload's `Location`, absolute or relative) as a
   * path for a request to it; a location on another host is refused (credentials stay here).
   */
  pathOn(registry: string, location: string, what: string): string {
    const base = registryBase(registry);
    const url = new URL(location, base);
    if (url.origin !== base.origin) throw new RegistryError(`${what}: registry ${registry} sent a location on another host (${url.origin}); not followed`);
    return `${url.pathname}${url.search}`;
  }

  private send(req: RegistryRequest, authorization: string | undefined, deadline: Deadline): Promise<RegistryResponse> {
    // Named, as the engine names itself (`docker/…`): a registry's logs tell whose requests they are.
    const headers: Record<string, string> = { "user-agent": USER_AGENT };
    if (req.accept) headers.accept = req.accept;
    if (req.contentType) headers["content-type"] = req.contentType;
    if (authorization) headers.authorization = authorization;
    const init: RequestInit = { method: req.method ?? "GET", headers, signal: deadline.signal };
    if (req.body) init.body = req.body as unknown as BodyInit;
    // Joined as text: a path is never read as another host (`//host/…`).
    return this.sendUrl(new URL(`${registryBase(req.registry).origin}${req.path}`), init, `registry ${req.registry}`, deadline);
  }

  /** `server`: who is asked, as an error names it (`registry HOST`, or a request's token service: not the registry, which may be up). */
  private async sendUrl(url: URL, init: RequestInit, server: string, deadline: Deadline): Promise<RegistryResponse> {
    try {
      // Not sent once stopped (or interrupted) while it waited for a slot or a token.
      init.signal?.throwIfAborted();
      this.requests++;
      return await this.fetchImpl(url, { ...init, redirect: "follow" });
    } catch (e) {
      if (deadline.expired || (e as Error).name === "AbortError") throw e;
      const dropped = isDroppedConnection(e as Error);
      throw new RegistryError(`${server} ${dropped ? "dropped the connection" : "cannot be reached"} (${url.protocol}//${url.host}): ${causeOf(e as Error)}`, undefined, dropped);
    }
  }
}

/** What a token scope (`repository:NAME:pull,push`, the first of several) allows, as a refusal says it: `to push to NAME`. */
function allowedWhat(scope: string): string {
  const [kind, name, actions] = (scope.split(" ")[0] ?? "").split(":");
  if (kind !== "repository" || !name) return `this (${scope.split(" ")[0] || "no scope named"})`;
  return actions?.split(",").includes("push") ? `to push to ${name}` : `to read ${name}`;
}

/** Where a registry is spoken to: loopback over plain HTTP (as the engine's insecure default), all else HTTPS. */
function registryBase(registry: string): URL {
  const scheme = isLoopbackRegistry(registry) ? "http" : "https";
  const host = registry === "docker.io" ? "registry-1.docker.io" : registry;
  return new URL(`${scheme}://${host}`);
}

/** A request's time limit, and Ctrl-C: one signal for fetch and its body. */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  expired = false;
  readonly signal: AbortSignal;

  /** `live`: the set of deadlines in flight it belongs to until cleared (RegistryTransport.stop ends them). */
  constructor(ms: number, outer?: AbortSignal, private readonly live?: Set<Deadline>) {
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort();
    }, ms);
    this.signal = outer ? AbortSignal.any([this.controller.signal, outer]) : this.controller.signal;
    live?.add(this);
  }

  /** Its timer no longer keeps the process alive (a background request). */
  unref(): void {
    this.timer.unref();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.live?.delete(this);
  }

  abort(): void {
    this.clear();
    this.controller.abort();
  }
}

/** The code of what went wrong (fetch wraps it as the cause), else its message. */
function causeOf(e: Error): string {
  const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.code ?? err.cause?.message ?? err.message;
}

/** An answer with a status the request did not expect, as a RegistryError naming the registry and what the registry said. */
export async function statusError(res: RegistryResponse, req: Pick<RegistryRequest, "what" | "registry">, transient = false): Promise<RegistryError> {
  const said = await errorSummary(res);
  return new RegistryError(`${req.what}: registry ${req.registry} answered HTTP ${res.status}${said ? ` (${said})` : ""}`, res.status, transient);
}

/** The first of the registry's `{"errors":[{code,message}]}`, or the start of the body (at most ERROR_BODY_LIMIT read). */
export async function errorSummary(res: RegistryResponse): Promise<string> {
  let text = "";
  const reader = res.body?.getReader();
  try {
    const decoder = new TextDecoder();
    while (reader && text.length < ERROR_BODY_LIMIT) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // what was read is all there is
  } finally {
    await reader?.cancel().catch(() => undefined);
  }
  try {
    const e = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
    if (e) return [e.code, e.message].filter(Boolean).join(": ");
  } catch {
    // not JSON
  }
  return text.trim().split("\n")[0].slice(0, 200);
}

function sleep(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      for (const s of signals) s?.removeEventListener("abort", done);
      resolve();
    }
    for (const s of signals) s?.addEventListener("abort", done, { once: true });
  });
}
