// A client of the Registry HTTP API v2 (the distribution spec): manifests, image configs, tags,
// the catalog and blobs, read without an engine. Credentials come from the docker config as for
// pushes; registries that ask for it get Basic auth or the Bearer token flow (401 with
// `WWW-Authenticate: Bearer realm=…` -> token from the realm -> retry), tokens cached per scope.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import pLimit, { type LimitFunction } from "p-limit";
import { anyPortFetch } from "./any-port-fetch.js";
import {
  formatImageReference, isLoopbackRegistry, parseAuthChallenges, parseImageReference,
  type AuthChallenge, type ImageReference,
} from "../core/parse/image-reference.js";
import { InputError } from "../core/model.js";
import type { DockerCredentials, RegistryAuth } from "./credentials.js";

export const MEDIA_TYPES = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
} as const;
const INDEX_TYPES = new Set<string>([MEDIA_TYPES.dockerList, MEDIA_TYPES.ociIndex]);
const MANIFEST_TYPES = new Set<string>([MEDIA_TYPES.dockerManifest, MEDIA_TYPES.ociManifest]);
const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest].join(", ");

/** The registry could not answer: down, refused credentials, a malformed or mismatching answer. */
export class RegistryError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = "RegistryError";
  }
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

/** An image manifest as the registry serves it: the exact bytes (their digest is its identity). */
export interface RegistryManifest {
  ref: ImageReference;
  /** Digest of what the reference names: the index for a multi-platform image. */
  digest: string;
  /** Digest of the chosen platform's manifest (= `digest` for a single-platform image). */
  manifestDigest: string;
  mediaType: string;
  bytes: Buffer;
  config: Descriptor;
  layers: Descriptor[];
  /** `os/architecture[/variant]`, from the index when there was one. */
  platform?: string;
}

export interface ImageHistoryEntry {
  created?: string;
  createdBy?: string;
  /** A step that made no filesystem layer (ENV, LABEL, …). */
  emptyLayer: boolean;
}

export interface RegistryImage {
  /** Canonical reference: `host/path:tag` or `host/path@digest`. */
  reference: string;
  /** What the reference resolves to (the index for a multi-platform image), as getDigest. */
  digest: string;
  /** The chosen platform's manifest. */
  manifestDigest: string;
  mediaType: string;
  platform?: string;
  config: {
    labels: Record<string, string>;
    created?: string;
    os?: string;
    architecture?: string;
    variant?: string;
    env?: string[];
    /** Build steps, base first (the config's `history`). */
    history: ImageHistoryEntry[];
    /** Uncompressed layer digests (`rootfs.diff_ids`), base first. */
    diffIds: string[];
  };
  configDigest: string;
  layers: { digest: string; size: number; mediaType: string }[];
  /** Bytes to download: config + compressed layers. */
  size: number;
}

export interface RegistryClientOptions {
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  fetch?: typeof fetch;
  /** Per-request timeout for metadata (manifests, configs, tags, tokens); default 60 s. */
  timeoutMs?: number;
}

interface Token {
  value: string;
  expiresAt: number;
}

interface RequestSpec {
  registry: string;
  path: string;
  method?: "GET" | "HEAD";
  accept?: string;
  /** Token scope the request needs, when the registry does not say (`repository:NAME:pull`). */
  scope: string;
  /** What the request is about, for messages (`host/repo:tag`). */
  what: string;
}

export class RegistryClient {
  /** HTTP requests made (token requests included); for benchmarks. */
  requests = 0;
  private readonly limit: LimitFunction;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  /** The challenge each registry answered with: later requests authenticate up front. */
  private readonly challenges = new Map<string, AuthChallenge>();
  private readonly tokens = new Map<string, Promise<Token>>();

  constructor(private readonly creds: DockerCredentials, options: RegistryClientOptions = {}) {
    this.limit = pLimit(options.concurrency ?? 8);
    this.fetchImpl = options.fetch ?? (anyPortFetch as typeof fetch);
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /**
   * The image behind `ref`; undefined only when the registry says the repository or manifest is
   * unknown (404). A multi-platform index yields `platform` (`os/arch[/variant]`; default: this
   * machine's linux platform, else the first real platform). Throws RegistryError otherwise.
   */
  async getImage(ref: string, options: { platform?: string } = {}): Promise<RegistryImage | undefined> {
    const manifest = await this.getManifest(ref, options);
    if (!manifest) return undefined;
    const configBytes = await this.getBlob(manifest.ref, manifest.config.digest);
    const config = parseJson(configBytes, `config ${manifest.config.digest} of ${formatImageReference(manifest.ref)}`) as ImageConfigJson;
    return {
      reference: formatImageReference(manifest.ref),
      digest: manifest.digest,
      manifestDigest: manifest.manifestDigest,
      mediaType: manifest.mediaType,
      platform: manifest.platform ?? platformString(config),
      config: summarizeConfig(config),
      configDigest: manifest.config.digest,
      layers: manifest.layers.map(({ digest, size, mediaType }) => ({ digest, size, mediaType })),
      size: manifest.config.size + manifest.layers.reduce((sum, l) => sum + l.size, 0),
    };
  }

  /** Manifest digest of `ref` (HEAD, Docker-Content-Digest); undefined on 404. */
  async getDigest(ref: string): Promise<string | undefined> {
    const r = requireTagOrDigest(ref);
    const spec = this.manifestSpec(r, r.digest ?? r.tag!, "HEAD");
    const digest = await this.exchange(spec, async (res) => {
      if (res.status === 404) return null;
      await expectOk(res, `manifest of ${spec.what}`);
      return res.headers.get("docker-content-digest");
    });
    if (digest === null) return undefined;
    if (digest) return digest;
    // Registries need not send the header on HEAD: hash the manifest itself.
    return (await this.getManifest(ref, { noIndexResolution: true }))?.digest;
  }

  /**
   * The manifest of `ref` with its exact bytes, the platform's manifest when `ref` names an
   * index; undefined on 404. `noIndexResolution`: return the index itself (digest only).
   */
  async getManifest(ref: string | ImageReference, options: { platform?: string; noIndexResolution?: boolean } = {}): Promise<RegistryManifest | undefined> {
    const r = typeof ref === "string" ? requireTagOrDigest(ref) : ref;
    const what = formatImageReference(r);
    const top = await this.fetchManifest(r, r.digest ?? r.tag!);
    if (!top) return undefined;
    if (r.digest && top.digest !== r.digest) throw new RegistryError(`${what}: the registry's manifest has digest ${top.digest}`);
    if (!INDEX_TYPES.has(top.mediaType)) return this.toManifest(r, top, top.digest);
    const index = parseJson(top.bytes, `manifest of ${what}`) as { manifests?: Descriptor[] };
    const entries = Array.isArray(index.manifests) ? index.manifests : [];
    if (options.noIndexResolution) return { ref: r, digest: top.digest, manifestDigest: top.digest, mediaType: top.mediaType, bytes: top.bytes, config: { mediaType: "", digest: "", size: 0 }, layers: [] };
    const chosen = choosePlatform(entries, options.platform, what);
    const inner = await this.fetchManifest(r, chosen.digest);
    if (!inner) throw new RegistryError(`${what}: the index names manifest ${chosen.digest}, which the registry does not have`, 404);
    if (inner.digest !== chosen.digest) throw new RegistryError(`${what}: manifest ${chosen.digest} has digest ${inner.digest}`);
    const manifest = this.toManifest(r, inner, top.digest);
    manifest.platform = descriptorPlatform(chosen);
    return manifest;
  }

  /** Tags of `repository` (`host[:port]/path/name`), following pagination; [] when unknown. */
  async listTags(repository: string): Promise<string[]> {
    const r = parseImageReference(repository);
    const tags: string[] = [];
    let path: string | undefined = `/v2/${r.repository}/tags/list?n=1000`;
    while (path) {
      const spec: RequestSpec = { registry: r.registry, path, scope: `repository:${r.repository}:pull`, what: `${r.registry}/${r.repository}` };
      const page = await this.exchange(spec, async (res) => {
        if (res.status === 404) return undefined;
        await expectOk(res, `tags of ${spec.what}`);
        return { body: (await res.json().catch(() => malformed(`tags of ${spec.what}`))) as { tags?: string[] | null }, next: nextLink(res) };
      });
      if (!page) return [];
      tags.push(...(page.body.tags ?? []));
      path = page.next;
    }
    return tags;
  }

  /** Repository names of `registry` (`host[:port]`), following pagination; undefined without `_catalog`. */
  async catalog(registry: string): Promise<string[] | undefined> {
    const host = parseImageReference(`${registry}/x`).registry;
    const names: string[] = [];
    let path: string | undefined = "/v2/_catalog?n=1000";
    while (path) {
      const spec: RequestSpec = { registry: host, path, scope: "registry:catalog:*", what: `catalog of ${host}` };
      const page = await this.exchange(spec, async (res) => {
        // The catalog is optional: registries without it answer 404 (or 405 / UNSUPPORTED).
        if (res.status === 404 || res.status === 405) return undefined;
        await expectOk(res, spec.what);
        return { body: (await res.json().catch(() => malformed(spec.what))) as { repositories?: string[] | null }, next: nextLink(res) };
      });
      if (!page) return undefined;
      names.push(...(page.body.repositories ?? []));
      path = page.next;
    }
    return names;
  }

  /** A (small) blob's bytes, digest verified. */
  async getBlob(ref: ImageReference, digest: string): Promise<Buffer> {
    const spec = this.blobSpec(ref, digest);
    const bytes = await this.exchange(spec, async (res) => {
      await expectOk(res, spec.what);
      return Buffer.from(await res.arrayBuffer());
    });
    const actual = sha256(bytes);
    if (digest.startsWith("sha256:") && actual !== digest) throw new RegistryError(`${spec.what}: content has digest ${actual}`);
    return bytes;
  }

  /**
   * A blob as a stream, for layers of any size (not held in memory; the caller verifies the
   * digest while consuming it). Not counted against the concurrency limit once headers arrived.
   */
  async openBlob(ref: ImageReference, digest: string): Promise<Readable> {
    const spec = this.blobSpec(ref, digest);
    const res = await this.exchange(spec, async (r) => {
      await expectOk(r, spec.what);
      return r;
    }, { stream: true });
    if (!res.body) throw new RegistryError(`${spec.what}: empty response`);
    return Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
  }

  private blobSpec(ref: ImageReference, digest: string): RequestSpec {
    return { registry: ref.registry, path: `/v2/${ref.repository}/blobs/${digest}`, scope: `repository:${ref.repository}:pull`, what: `blob ${digest} of ${ref.registry}/${ref.repository}` };
  }

  private manifestSpec(r: ImageReference, reference: string, method: "GET" | "HEAD"): RequestSpec {
    return {
      registry: r.registry, path: `/v2/${r.repository}/manifests/${reference}`, method, accept: MANIFEST_ACCEPT,
      scope: `repository:${r.repository}:pull`, what: formatImageReference(r),
    };
  }

  private async fetchManifest(r: ImageReference, reference: string) {
    const spec = this.manifestSpec(r, reference, "GET");
    return this.exchange(spec, async (res) => {
      if (res.status === 404) return undefined;
      await expectOk(res, `manifest of ${spec.what}`);
      const bytes = Buffer.from(await res.arrayBuffer());
      const header = (res.headers.get("content-type") ?? "").split(";")[0].trim();
      const body = parseJson(bytes, `manifest of ${spec.what}`) as { mediaType?: string };
      return { bytes, digest: sha256(bytes), mediaType: body.mediaType ?? header };
    });
  }

  private toManifest(r: ImageReference, m: { bytes: Buffer; digest: string; mediaType: string }, digest: string): RegistryManifest {
    const what = formatImageReference(r);
    if (!MANIFEST_TYPES.has(m.mediaType)) {
      throw new RegistryError(`${what}: unsupported manifest type ${m.mediaType || "(none)"} (expected a v2 or OCI image manifest)`);
    }
    const body = parseJson(m.bytes, `manifest of ${what}`) as { config?: Descriptor; layers?: Descriptor[] };
    if (!body.config?.digest || !Array.isArray(body.layers)) throw new RegistryError(`${what}: malformed manifest (no config or layers)`);
    return { ref: r, digest, manifestDigest: m.digest, mediaType: m.mediaType, bytes: m.bytes, config: body.config, layers: body.layers };
  }

  // -------------------------------------------------------------------------------------------
  // HTTP with authentication.

  /**
   * Sends the request, authenticating as the registry asks, and hands the response to `read`
   * (inside the concurrency limit). A 401 is answered once with credentials (Basic) or a token
   * (Bearer); a second 401, or a 403, is a refusal.
   */
  private async exchange<T>(spec: RequestSpec, read: (res: Response) => Promise<T>, options: { stream?: boolean } = {}): Promise<T> {
    let authorization = await this.authorizationFor(spec, undefined);
    for (let attempt = 0; ; attempt++) {
      const outcome: { retry: string } | { value: T } = await this.limit(async (): Promise<{ retry: string } | { value: T }> => {
        const res = await this.send(spec, authorization, options.stream);
        if (res.status === 401 && attempt === 0) {
          await res.body?.cancel().catch(() => undefined);
          return { retry: res.headers.get("www-authenticate") ?? "" };
        }
        if (res.status === 401 || res.status === 403) {
          const said = await errorSummary(res);
          const creds = authorization ? "the credentials from the docker config were refused" : "the registry requires credentials";
          throw new RegistryError(`${spec.what}: access denied by ${spec.registry} (HTTP ${res.status}${said ? `: ${said}` : ""}); ${creds}`, res.status);
        }
        return { value: await read(res) };
      });
      if ("value" in outcome) return outcome.value;
      const challenge = parseAuthChallenges(outcome.retry).find((c) => c.scheme === "bearer" || c.scheme === "basic");
      if (!challenge) throw new RegistryError(`${spec.what}: ${spec.registry} answered 401 without a Basic or Bearer challenge`, 401);
      this.challenges.set(spec.registry, challenge);
      authorization = await this.authorizationFor(spec, challenge);
      if (!authorization) {
        throw new RegistryError(`${spec.what}: ${spec.registry} requires credentials and the docker config ${this.creds.file} has none for it`, 401);
      }
    }
  }

  /** The Authorization header for a request, from the registry's (remembered) challenge. */
  private async authorizationFor(spec: RequestSpec, fresh: AuthChallenge | undefined): Promise<string | undefined> {
    const challenge = fresh ?? this.challenges.get(spec.registry);
    if (!challenge) return undefined;
    const auth = await this.credentials(spec.registry);
    if (challenge.scheme === "basic") {
      if (!auth?.username && !auth?.password) return undefined;
      return `Basic ${Buffer.from(`${auth.username ?? ""}:${auth.password ?? ""}`).toString("base64")}`;
    }
    if (auth?.registrytoken) return `Bearer ${auth.registrytoken}`;
    // The scope the registry asked for (when this is its answer to this request), else ours.
    const scope = fresh?.params.scope ?? spec.scope;
    const token = await this.token(spec, challenge, scope, auth, fresh !== undefined);
    return `Bearer ${token}`;
  }

  private async credentials(registry: string): Promise<RegistryAuth | undefined> {
    try {
      return await this.creds.forRegistry(registry); // Docker Hub's aliases are one registry there
    } catch (e) {
      throw new RegistryError(`credentials for ${registry}: ${(e as Error).message}`);
    }
  }

  /** A token for `scope` from the challenge's realm, cached until shortly before it expires. */
  private async token(spec: RequestSpec, challenge: AuthChallenge, scope: string, auth: RegistryAuth | undefined, renew: boolean): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError(`${spec.what}: ${spec.registry}'s Bearer challenge names no realm`);
    const key = `${realm} ${challenge.params.service ?? ""} ${scope}`;
    const cached = this.tokens.get(key);
    if (cached && !renew) {
      const t = await cached.catch(() => undefined);
      if (t && t.expiresAt > Date.now()) return t.value;
    }
    const pending = this.fetchToken(spec, realm, challenge.params.service, scope, auth);
    this.tokens.set(key, pending);
    try {
      return (await pending).value;
    } catch (e) {
      this.tokens.delete(key);
      throw e;
    }
  }

  private async fetchToken(spec: RequestSpec, realm: string, service: string | undefined, scope: string, auth: RegistryAuth | undefined): Promise<Token> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`${spec.what}: ${spec.registry}'s token realm "${realm}" is not a URL`);
    }
    const init: RequestInit = { headers: {} };
    if (auth?.identitytoken) {
      // An OAuth refresh token (what `docker login` keeps for some registries).
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: auth.identitytoken, client_id: "image-builder", scope });
      if (service) form.set("service", service);
      Object.assign(init, { method: "POST", body: form.toString(), headers: { "content-type": "application/x-www-form-urlencoded" } });
    } else {
      if (service) url.searchParams.set("service", service);
      url.searchParams.set("scope", scope);
      if (auth?.username || auth?.password) {
        init.headers = { authorization: `Basic ${Buffer.from(`${auth.username ?? ""}:${auth.password ?? ""}`).toString("base64")}` };
      }
    }
    const res = await this.limit(() => this.sendUrl(url, init, `token service of ${spec.registry} (${url.origin})`));
    if (!res.ok) {
      const said = await errorSummary(res);
      const refused = res.status === 401 || res.status === 403;
      throw new RegistryError(
        `${spec.what}: the token service of ${spec.registry} ${refused ? "refused the credentials from the docker config" : "failed"} (HTTP ${res.status}${said ? `: ${said}` : ""})`,
        res.status,
      );
    }
    const body = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string; expires_in?: number };
    const value = body.token ?? body.access_token;
    if (!value) throw new RegistryError(`${spec.what}: the token service of ${spec.registry} answered without a token`);
    // The spec's default lifetime is 60 s; renew a little early.
    const lifetime = Math.max(10, Number(body.expires_in) || 60);
    return { value, expiresAt: Date.now() + (lifetime - 5) * 1000 };
  }

  private send(spec: RequestSpec, authorization: string | undefined, stream = false): Promise<Response> {
    const scheme = isLoopbackRegistry(spec.registry) ? "http" : "https";
    const host = spec.registry === "docker.io" ? "registry-1.docker.io" : spec.registry;
    const headers: Record<string, string> = {};
    if (spec.accept) headers.accept = spec.accept;
    if (authorization) headers.authorization = authorization;
    return this.sendUrl(new URL(`${scheme}://${host}${spec.path}`), { method: spec.method ?? "GET", headers }, spec.registry, stream);
  }

  private async sendUrl(url: URL, init: RequestInit, server: string, stream = false): Promise<Response> {
    this.requests++;
    try {
      // A layer download may take longer than any fixed limit; metadata may not.
      return await this.fetchImpl(url, { ...init, redirect: "follow", signal: stream ? undefined : AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
      const why = err.name === "TimeoutError" ? `no answer within ${this.timeoutMs / 1000}s` : (err.cause?.code ?? err.code ?? err.cause?.message ?? err.message);
      throw new RegistryError(`registry ${server} cannot be reached (${url.protocol}//${url.host}): ${why}`);
    }
  }
}

/** The parts of an image config (the JSON blob) that are read. */
export interface ImageConfigJson {
  created?: string;
  os?: string;
  architecture?: string;
  variant?: string;
  config?: { Labels?: Record<string, string> | null; Env?: string[] | null };
  history?: { created?: string; created_by?: string; empty_layer?: boolean }[];
  rootfs?: { diff_ids?: string[] };
}

export function summarizeConfig(config: ImageConfigJson): RegistryImage["config"] {
  const c = config.config ?? {};
  return {
    labels: c.Labels ?? {},
    created: config.created,
    os: config.os,
    architecture: config.architecture,
    variant: config.variant,
    env: c.Env ?? undefined,
    history: (config.history ?? []).map((h) => ({ created: h.created, createdBy: h.created_by, emptyLayer: h.empty_layer === true })),
    diffIds: config.rootfs?.diff_ids ?? [],
  };
}

export function requireTagOrDigest(ref: string): ImageReference {
  const r = parseImageReference(ref);
  if (!r.tag && !r.digest) r.tag = "latest";
  return r;
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** A JSON object from `bytes`; `fail` makes the error (a RegistryError unless told otherwise). */
export function parseJson(bytes: Buffer, what: string, fail: (message: string) => Error = (m) => new RegistryError(m)): object {
  try {
    const value = JSON.parse(bytes.toString("utf8"));
    if (typeof value !== "object" || value === null) throw new Error();
    return value as object;
  } catch {
    throw fail(`${what}: not a JSON object`);
  }
}

function malformed(what: string): never {
  throw new RegistryError(`${what}: the registry's answer is not JSON`);
}

async function expectOk(res: Response, what: string): Promise<void> {
  if (res.ok) return;
  const said = await errorSummary(res);
  throw new RegistryError(`${what}: HTTP ${res.status}${said ? ` (${said})` : ""}`, res.status);
}

/** The first of the registry's `{"errors":[{code,message}]}`, or the start of the body. */
async function errorSummary(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const e = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
    if (e) return [e.code, e.message].filter(Boolean).join(": ");
  } catch {
    // not JSON
  }
  return text.trim().split("\n")[0].slice(0, 200);
}

/** The `Link: <…>; rel="next"` of a paginated answer, as a path. */
function nextLink(res: Response): string | undefined {
  const link = res.headers.get("link");
  const m = link?.match(/<([^>]+)>\s*;\s*rel="?next"?/);
  if (!m) return undefined;
  const url = new URL(m[1], "http://registry.invalid");
  return `${url.pathname}${url.search}`;
}

function descriptorPlatform(d: Descriptor): string | undefined {
  const p = d.platform;
  if (!p?.os || !p.architecture) return undefined;
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

export function platformString(c: ImageConfigJson): string | undefined {
  return c.os && c.architecture ? [c.os, c.architecture, c.variant].filter(Boolean).join("/") : undefined;
}

/** This machine's platform as images name it (`linux/amd64`, `linux/arm64`). */
export function hostPlatform(): string {
  const arch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x" };
  return `linux/${arch[process.arch] ?? process.arch}`;
}

/**
 * The entry of a multi-platform index for `wanted` (`os/arch[/variant]`; a missing variant
 * matches any). Without `wanted`: this machine's platform, else the first entry that is a
 * platform at all (build attestations say `unknown/unknown`).
 */
export function choosePlatform(entries: Descriptor[], wanted: string | undefined, what: string): Descriptor {
  const images = entries.filter((e) => MANIFEST_TYPES.has(e.mediaType) || !e.mediaType);
  const matches = (p: string) => (e: Descriptor) => {
    const [os, arch, variant] = p.split("/");
    return e.platform?.os === os && e.platform?.architecture === arch && (!variant || e.platform?.variant === variant);
  };
  const available = images.map(descriptorPlatform).filter((p) => p && !p.startsWith("unknown/"));
  if (wanted) {
    const found = images.find(matches(wanted));
    if (!found) throw new InputError(`${what} has no ${wanted} image (it has: ${available.join(", ") || "none"})`);
    return found;
  }
  const chosen = images.find(matches(hostPlatform())) ?? images.find((e) => e.platform?.os && e.platform.os !== "unknown") ?? images[0];
  if (!chosen) throw new RegistryError(`${what}: multi-platform index without image manifests`);
  return chosen;
}
