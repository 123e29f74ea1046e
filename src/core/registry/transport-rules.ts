// The registry client's rules that need no I/O: which failures are worth another attempt and how
// long to wait, which requests may be sent again, how much of an answer is read, where
// credentials may go, and when pagination has to stop. The transport (src/registry/transport.ts)
// applies them; the engine's pushes (executors/docker/push.ts) use the same failure rules.

/** Answers read whole (manifests, image configs, token answers, tag and catalog pages): containerd's limit. */
export const METADATA_LIMIT = 4 * 1024 * 1024;
/** Of an error answer, only the start is read (for the message). */
export const ERROR_BODY_LIMIT = 64 * 1024;
/** Attempts after the first, for a failure worth another one. */
export const RETRIES = 3;
/** Pages of a paginated list (`Link: rel="next"`) read at most: 1,000 × n=1000 names. */
export const MAX_PAGES = 1000;

export type HttpMethod = "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";

/**
 * Whether a request can be sent again after a failure without changing what it does: reads,
 * and PUTs (a manifest PUT, or a blob upload's closing PUT, stores the same content under the
 * same name again). POST and PATCH move an upload session on: never resent.
 */
export function isIdempotent(method: HttpMethod): boolean {
  return method === "GET" || method === "HEAD" || method === "PUT" || method === "DELETE";
}

/** Error codes of a connection that went away under a request (Node's net/http, undici). */
const DROPPED_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);
/** The same, as messages say it: Node's, undici's, and Go's (the engine's: `Put "…": EOF`). */
const DROPPED_MESSAGE = /\bEOF\b|socket hang up|other side closed|connection reset|broken pipe|ECONNRESET|EPIPE|UND_ERR_SOCKET|server closed the connection/i;

/**
 * A connection dropped under the request: worth another attempt of an idempotent request. `e`:
 * an error with the code of it or of its cause (fetch wraps it), or a message.
 */
export function isDroppedConnection(e: string | { code?: unknown; message?: unknown; cause?: unknown }): boolean {
  if (typeof e === "string") return DROPPED_MESSAGE.test(e);
  for (let err: unknown = e, depth = 0; err && typeof err === "object" && depth < 4; err = (err as { cause?: unknown }).cause, depth++) {
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (typeof code === "string" && DROPPED_CODES.has(code)) return true;
    if (typeof message === "string" && DROPPED_MESSAGE.test(message)) return true;
  }
  return false;
}

/**
 * Whether a failure reading one published image is that image's own (what it names is missing: a
 * 404; or what the registry holds for it is broken: `content`) rather than the registry's (down,
 * refusing credentials, busy, too slow, too large an answer). The registry commands leave such an
 * image out of a listing and say so; a failure of the registry's fails the command.
 */
export function isImageFault(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const { status, content } = e as { status?: unknown; content?: unknown };
  return content === true || status === 404;
}

/** What `read` gives, or undefined when it fails for a fault of the image's (isImageFault); other failures stay failures. */
export async function unlessImageFault<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (e) {
    if (isImageFault(e)) return undefined;
    throw e;
  }
}

/** HTTP statuses of a registry that is busy or restarting, not of a wrong request. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/** A registry refusing credentials, or asking for them (engine messages). */
export const AUTH_ERROR = /unauthorized|authentication required|no basic auth credentials|access denied|denied:|forbidden|\b40[13]\b/i;
const TRANSIENT_MESSAGE = new RegExp([
  "received unexpected HTTP status: 5\\d\\d",
  "HTTP code 5\\d\\d",
  "\\b5\\d\\d (Internal Server Error|Bad Gateway|Service Unavailable|Gateway Time-?out)",
  "timeout",
  "timed out",
  "ETIMEDOUT",
  "TLS handshake timeout",
  // Two pushes of one layer to one repository at once (two runs of a commit, on two engines): the
  // registry answered one's manifest PUT so while the other's upload of the layer was committed;
  // pushed again, the layer is there. A layer really missing fails the retries too.
  "manifest blob unknown",
].join("|"), "i");

/** An engine's push failure worth another attempt: server errors, dropped connections, timeouts; never auth failures. */
export function isTransient(message: string): boolean {
  return !AUTH_ERROR.test(message) && (TRANSIENT_MESSAGE.test(message) || isDroppedConnection(message));
}

/** The wait before attempt `retry` (0 for the first retry): doubling from `firstMs`, at most 8 times it. */
export function backoffMs(retry: number, firstMs = 250): number {
  return firstMs * 2 ** Math.min(retry, 3);
}

const isLoopbackHost = (host: string) => {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
};

/**
 * Whether credentials may be sent to a Bearer challenge's token realm: over https, or over plain
 * http when the realm and the registry are both on this machine (a test or local registry). Any
 * other realm gets the token request without them (undefined: they may go; else why not).
 */
export function credentialsRefusedFor(realm: { protocol: string; hostname: string }, registryIsLoopback: boolean): string | undefined {
  if (realm.protocol === "https:") return undefined;
  if (realm.protocol === "http:" && registryIsLoopback && isLoopbackHost(realm.hostname)) return undefined;
  return `the token realm ${realm.protocol}//${realm.hostname} is not https`;
}

/** The `Link: <…>; rel="next"` of a paginated answer, as a path on the same registry (its host is never followed). */
export function nextLinkPath(link: string | null | undefined): string | undefined {
  const m = link?.match(/<([^>]+)>\s*;\s*rel="?next"?/);
  if (!m) return undefined;
  const url = new URL(m[1], "http://registry.invalid");
  return `${url.pathname}${url.search}`;
}

/**
 * Pages read so far of one list; `next` says whether to read another. A page pointing back at
 * one already read (a loop) or a list longer than `maxPages` pages is an error, not a hang.
 */
export class Pagination {
  private readonly seen = new Set<string>();

  constructor(private readonly what: string, private readonly maxPages = MAX_PAGES) {}

  /** Records `path` as read; returns an error message when it must not be read. */
  visit(path: string): string | undefined {
    if (this.seen.has(path)) return `${this.what}: the registry's next page (Link rel="next") points back at ${path}, already read: a pagination loop`;
    if (this.seen.size >= this.maxPages) return `${this.what}: more than ${this.maxPages} pages (Link rel="next"); stopped`;
    this.seen.add(path);
    return undefined;
  }
}
