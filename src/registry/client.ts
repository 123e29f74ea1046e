// A client of the Registry HTTP API v2 (the distribution spec), without an engine: manifests,
// image configs, tags, the catalog and blobs read; small blobs and manifests written. It sits on the transport (transport.ts:
// authentication, retries, timeouts, size limits), as go-containerregistry's remote API sits on
// its transport: this file says what to ask and checks what came back (digests, media types,
// pagination), the transport how to ask.
import { createHash } from "node:crypto";
import { pipeline, Transform, type Readable } from "node:stream";
import { formatImageReference, parseImageReference, type ImageReference } from "../core/parse/image-reference.js";
import { InputError } from "../core/model.js";
import { isImageFault, nextLinkPath, Pagination } from "../core/registry/transport-rules.js";
import { formatPlatform, imageOfPlatform, platformEntries, platformOfEntry, type Descriptor } from "../core/registry/image-index.js";
import { isSha256Digest, sha256Digest } from "../core/digest.js";
import { checkImageConfig, type ImageConfigJson } from "../core/formats/image-config.js";
import type { DockerCredentials } from "./credentials.js";
import { RegistryContentError, RegistryError, RegistryTransport, statusError, type RegistryRequest, type RegistryResponse, type TransportOptions } from "./transport.js";

export { RegistryContentError, RegistryError } from "./transport.js";

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

/** Whether a manifest the registry served is an index (OCI image index or Docker manifest list). */
export function isIndex(manifest: Pick<RegistryManifest, "mediaType"> | undefined): boolean {
  return manifest !== undefined && INDEX_TYPES.has(manifest.mediaType);
}
const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest].join(", ");


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
  /** The entries of the index `ref` names, when it names one (platform images, attestation manifests). */
  indexEntries?: Descriptor[];
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
  /** The entries of the index the reference names, when it names one (see RegistryManifest.indexEntries). */
  indexEntries?: Descriptor[];
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

/** Requests in flight (default 8), timeouts, retries: see TransportOptions. */
export type RegistryClientOptions = TransportOptions & {
  /** How long the cancel of an upload this client does not use is waited for (default CANCEL_UPLOAD_MS). */
  cancelUploadMs?: number;
};

/**
 * The cancel of an unused upload session is best effort (the registry purges sessions anyway):
 * a registry that does not answer it must not add the whole request bound to a run.
 */
export const CANCEL_UPLOAD_MS = 3000;

export class RegistryClient {
  readonly transport: RegistryTransport;
  private readonly cancelUploadMs: number;

  constructor(creds: DockerCredentials, options: RegistryClientOptions = {}) {
    this.transport = new RegistryTransport(creds, options);
    this.cancelUploadMs = options.cancelUploadMs ?? CANCEL_UPLOAD_MS;
  }

  /** HTTP requests made (token requests and retries included); for benchmarks. */
  get requests(): number {
    return this.transport.requests;
  }

  /** Ends every request in flight and refuses later ones (RegistryTransport.stop): for good. */
  stop(): void {
    this.transport.stop();
  }

  /**
   * The image behind `ref`; undefined only when the registry says the repository or manifest is
   * unknown (404). A multi-platform index yields `platform` (`os/arch[/variant]`; without it, as
   * indexImage chooses). Throws RegistryError otherwise.
   */
  async getImage(ref: string, options: { platform?: string } = {}): Promise<RegistryImage | undefined> {
    const manifest = await this.getManifest(ref, options);
    if (!manifest) return undefined;
    return this.imageOf(manifest);
  }

  /**
   * The image behind `ref`, or what is known of it when the registry can't give it for a fault of
   * the image's own (`broken`: why; its config blob lost, an index naming a manifest it does not
   * have): its manifest when that was read. undefined when the registry has no such manifest.
   */
  async imageOrBroken(ref: string, options: { platform?: string; noIndexResolution?: boolean } = {}): Promise<{ manifest?: RegistryManifest; image?: RegistryImage; broken?: string } | undefined> {
    let manifest: RegistryManifest | undefined;
    try {
      manifest = await this.getManifest(ref, options);
      if (!manifest) return undefined;
      return { manifest, image: await this.imageOf(manifest) };
    } catch (e) {
      if (!isImageFault(e)) throw e;
      return { manifest, broken: (e as Error).message };
    }
  }

  /** The image an image manifest (from getManifest) describes: its config read. */
  async imageOf(manifest: RegistryManifest): Promise<RegistryImage> {
    const configBytes = await this.getBlob(manifest.ref, manifest.config.digest);
    const config = readImageConfig(configBytes, `config ${manifest.config.digest} of ${formatImageReference(manifest.ref)}`);
    return {
      reference: formatImageReference(manifest.ref),
      digest: manifest.digest,
      manifestDigest: manifest.manifestDigest,
      mediaType: manifest.mediaType,
      platform: manifest.platform ?? formatPlatform(config),
      ...(manifest.indexEntries ? { indexEntries: manifest.indexEntries } : {}),
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
    const digest = await this.transport.exchange(spec, async (res) => {
      if (res.status === 404) return null;
      await expectOk(res, spec);
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
    if (r.digest && top.digest !== r.digest) throw new RegistryContentError(`${what}: the registry's manifest has digest ${top.digest}`);
    if (!INDEX_TYPES.has(top.mediaType)) return this.toManifest(r, top, top.digest);
    const index = parseJson(top.bytes, `manifest of ${what}`) as { manifests?: Descriptor[] };
    const entries = checkedDescriptors(Array.isArray(index.manifests) ? index.manifests : [], `index ${what}`);
    if (options.noIndexResolution) return { ref: r, digest: top.digest, manifestDigest: top.digest, mediaType: top.mediaType, bytes: top.bytes, config: { mediaType: "", digest: "", size: 0 }, layers: [], indexEntries: entries };
    const chosen = indexImage(entries, options.platform, what).entry;
    const inner = await this.fetchManifest(r, chosen.digest);
    if (!inner) throw new RegistryContentError(`${what}: the index names manifest ${chosen.digest}, which the registry does not have`, 404);
    if (inner.digest !== chosen.digest) throw new RegistryContentError(`${what}: manifest ${chosen.digest} has digest ${inner.digest}`);
    const manifest = this.toManifest(r, inner, top.digest);
    manifest.platform = platformOfEntry(chosen);
    manifest.indexEntries = entries;
    return manifest;
  }

  /** Tags of `repository` (`host[:port]/path/name`), following pagination; [] when unknown. */
  async listTags(repository: string): Promise<string[]> {
    const r = parseImageReference(repository);
    const tags = await this.paginate(`/v2/${r.repository}/tags/list?n=1000`, (path) => ({
      registry: r.registry, path, scope: `repository:${r.repository}:pull`, what: `tags of ${r.registry}/${r.repository}`,
    }), (status) => status === 404, (body: { tags?: string[] | null }) => body.tags);
    return tags ?? [];
  }

  /** Repository names of `registry` (`host[:port]`), following pagination; undefined without `_catalog`. */
  async catalog(registry: string): Promise<string[] | undefined> {
    const host = parseImageReference(`${registry}/x`).registry;
    // The catalog is optional: registries without it answer 404 (or 405 / UNSUPPORTED).
    return this.paginate("/v2/_catalog?n=1000", (path) => ({ registry: host, path, scope: "registry:catalog:*", what: `catalog of ${host}` }),
      (status) => status === 404 || status === 405, (body: { repositories?: string[] | null }) => body.repositories)
      // a registry that lists a repository twice: read once
      .then((names) => names && [...new Set(names)]);
  }

  /**
   * Every page of a list (`Link: rel="next"`), each read whole (bounded); undefined when the
   * first page is `missing`. A next page already read, or too many, is an error, not a loop.
   */
  private async paginate<B>(first: string, spec: (path: string) => RegistryRequest, missing: (status: number) => boolean, items: (body: B) => string[] | null | undefined): Promise<string[] | undefined> {
    const names: string[] = [];
    const pages = new Pagination(spec(first).what);
    for (let path: string | undefined = first; path; ) {
      const refused = pages.visit(path);
      if (refused) throw new RegistryError(refused);
      const req = spec(path);
      const page = await this.transport.exchange(req, async (res) => {
        if (missing(res.status)) return undefined;
        await expectOk(res, req);
        const body = await this.transport.readWhole(res, req);
        return { body: parseJson(body, req.what) as B, next: nextLinkPath(res.headers.get("link")) };
      });
      if (!page) return undefined;
      // A list of names, or none: anything else (a string spread into its characters, a number
      // among them) is no answer of the API. A loop, not a spread: a page can hold 100,000s.
      const list: unknown = items(page.body) ?? [];
      if (!Array.isArray(list) || list.some((n) => typeof n !== "string")) throw new RegistryContentError(`${spec(path).what}: not a list of names`);
      for (const name of list as string[]) names.push(name);
      path = page.next;
    }
    return names;
  }

  /** A small blob's bytes (an image config: at most 4 MiB, or `limit`), digest verified. */
  async getBlob(ref: ImageReference, digest: string, options: { signal?: AbortSignal; limit?: number } = {}): Promise<Buffer> {
    const spec = { ...this.blobSpec(ref, digest), signal: options.signal };
    const bytes = await this.transport.exchange(spec, async (res) => {
      await expectOk(res, spec);
      return this.transport.readWhole(res, spec, options.limit);
    });
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw new RegistryContentError(`${spec.what}: content has digest ${actual}`);
    return bytes;
  }

  /**
   * A blob as a stream, for layers of any size (not held in memory; the caller verifies the
   * digest while consuming it). The stream fails, naming the registry and blob, when the
   * registry sends nothing for the idle timeout; `signal` stops it (Ctrl-C).
   */
  async openBlob(ref: ImageReference, digest: string, options: { signal?: AbortSignal; size?: number } = {}): Promise<Readable> {
    const spec = { ...this.blobSpec(ref, digest), signal: options.signal };
    const body = await this.transport.stream(spec, (res) => expectOk(res, spec));
    if (options.size === undefined) return body;
    // pipeline: the body's errors (an idle timeout) reach the reader, and a reader that stops ends the body.
    const sized = sizedStream(options.size, spec.what);
    pipeline(body, sized, () => undefined);
    return sized;
  }

  // -------------------------------------------------------------------------------------------
  // Writing: small blobs (configs, attestations, signatures) and manifests or indexes, with push
  // scope. Layers are pushed by the engine.

  /** Whether `ref`'s repository has the blob (HEAD). */
  async hasBlob(ref: ImageReference, digest: string): Promise<boolean> {
    const spec: RegistryRequest = { ...this.blobSpec(ref, digest), method: "HEAD" };
    return this.transport.exchange(spec, async (res) => {
      if (res.status === 404) return false;
      await expectOk(res, spec);
      return true;
    });
  }

  /**
   * Makes a blob of repository `from` (`path/name` on the same registry) one of `ref`'s
   * repository without sending it (a cross-repository mount). False when the registry declines
   * (it does not have it there, or will not mount): upload it then.
   */
  async mountBlob(ref: ImageReference, digest: string, from: string): Promise<boolean> {
    const spec: RegistryRequest = {
      registry: ref.registry, method: "POST", path: `/v2/${ref.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
      scope: `${pushScope(ref)} repository:${from}:pull`, what: `mount of blob ${digest} from ${ref.registry}/${from} into ${ref.registry}/${ref.repository}`,
    };
    const declined = await this.transport.exchange(spec, async (res) => {
      if (res.status === 201) return undefined;
      await expectOk(res, spec);
      return { location: res.headers.get("location") };
    });
    // 202: an upload session instead; not used, so ended (outside the request's concurrency slot).
    if (declined?.location) await this.endUpload(ref, declined.location, spec.what);
    return declined === undefined;
  }

  /**
   * Throws the registry's refusal unless this client may push to `ref`'s repository: an upload
   * started, then cancelled (as go-containerregistry's CheckPushPermission). Asking for a token
   * is not enough: a token service may grant a narrower scope than asked, said only by the write.
   * Resolves once the upload is started; `cancelled`: its cancel, not waited for here (a registry
   * slow to answer it must not hold up the run), ending within cancelUploadMs with why it failed
   * (undefined: cancelled).
   */
  async checkPush(ref: ImageReference): Promise<{ cancelled: Promise<string | undefined> }> {
    const what = `a push to ${ref.registry}/${ref.repository}`;
    const start: RegistryRequest = { registry: ref.registry, method: "POST", path: `/v2/${ref.repository}/blobs/uploads/`, scope: pushScope(ref), what };
    const location = await this.transport.exchange(start, async (res) => {
      await expectOk(res, start);
      return res.headers.get("location");
    });
    return { cancelled: location ? this.endUpload(ref, location, `cancel of the upload in ${ref.registry}/${ref.repository}`) : Promise.resolve(undefined) };
  }

  /**
   * Stores `bytes` as a blob of `ref`'s repository unless it has it already (a monolithic
   * upload: POST for a session, PUT with the digest). The POST is never sent twice; the PUT is
   * (it is idempotent), and when its reply was lost the blob is looked for before failing.
   */
  async putBlob(ref: ImageReference, bytes: Uint8Array, options: { ask?: boolean } = {}): Promise<"exists" | "uploaded"> {
    const digest = sha256Digest(Buffer.from(bytes));
    // `ask: false`: content the caller knows is new (a HEAD would only cost a round trip).
    if (options.ask !== false && await this.hasBlob(ref, digest)) return "exists";
    const what = `upload of blob ${digest} to ${ref.registry}/${ref.repository}`;
    const start: RegistryRequest = { registry: ref.registry, method: "POST", path: `/v2/${ref.repository}/blobs/uploads/`, scope: pushScope(ref), what };
    const location = await this.transport.exchange(start, async (res) => {
      await expectOk(res, start);
      const at = res.headers.get("location");
      if (!at) throw new RegistryError(`${what}: registry ${ref.registry} started an upload without a Location`);
      return at;
    });
    const path = this.transport.pathOn(ref.registry, location, what);
    const finish: RegistryRequest = {
      registry: ref.registry, method: "PUT", path: `${path}${path.includes("?") ? "&" : "?"}digest=${encodeURIComponent(digest)}`,
      body: bytes, contentType: "application/octet-stream", scope: pushScope(ref), what,
    };
    try {
      await this.transport.exchange(finish, async (res) => {
        await expectOk(res, finish);
        const stored = res.headers.get("docker-content-digest");
        if (stored && stored !== digest) throw new RegistryError(`${what}: registry ${ref.registry} stored it as ${stored}`);
      });
    } catch (e) {
      // A PUT sent again after a lost reply finds its session closed: the blob may be there.
      if (!(e instanceof RegistryError) || !(await this.hasBlob(ref, digest).catch(() => false))) throw e;
    }
    return "uploaded";
  }

  /**
   * Stores `bytes` (an image manifest or an index, `mediaType`) under `ref`'s tag (or digest);
   * returns its digest. Sent again after a dropped connection: a manifest PUT is idempotent.
   */
  /** `signal`: stops the write (and its retries) where it is (a second interrupt). */
  async putManifest(ref: ImageReference, bytes: Uint8Array, mediaType: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    const digest = sha256Digest(Buffer.from(bytes));
    const reference = ref.digest ?? ref.tag;
    if (!reference) throw new InputError(`${formatImageReference(ref)}: a manifest is stored under a tag or digest`);
    if (ref.digest && ref.digest !== digest) throw new InputError(`${formatImageReference(ref)}: the manifest's digest is ${digest}`);
    const spec: RegistryRequest = {
      registry: ref.registry, method: "PUT", path: `/v2/${ref.repository}/manifests/${reference}`, body: bytes, contentType: mediaType,
      scope: pushScope(ref), what: `manifest of ${formatImageReference(ref)}`, ...(options.signal ? { signal: options.signal } : {}),
    };
    const put = () => this.transport.exchange(spec, async (res) => {
      await expectOk(res, spec);
      const stored = res.headers.get("docker-content-digest");
      if (stored && stored !== digest) throw new RegistryError(`${spec.what}: registry ${ref.registry} stored it as ${stored}, not ${digest}`);
      return digest;
    });
    if (!ref.digest) return put();
    try {
      return await put();
    } catch (e) {
      // Content-addressed: another run storing the very same bytes at the same moment (the
      // attestations of two runs of one commit) made the registry answer 400 DIGEST_INVALID once
      // while their blobs were being uploaded, and the other's PUT stored it 100 ms later. Asked
      // again after a moment: there (stored by either), or written once more.
      if (!(e instanceof RegistryError) || e.status !== 400) throw e;
      await new Promise((resolve) => setTimeout(resolve, 250));
      if (await this.getDigest(formatImageReference(ref)).catch(() => undefined) === digest) return digest;
      return put();
    }
  }

  /**
   * Ends an upload session this client does not use (a declined mount, a push check), waiting at
   * most cancelUploadMs and never retrying; why it could not, else undefined (a session already gone
   * counts as ended). A session not ended is left to the registry's purge of uploads.
   */
  private async endUpload(ref: ImageReference, location: string, what: string): Promise<string | undefined> {
    const bound = AbortSignal.timeout(this.cancelUploadMs);
    try {
      const spec: RegistryRequest = { registry: ref.registry, method: "DELETE", path: this.transport.pathOn(ref.registry, location, what), scope: pushScope(ref), what, signal: bound, retries: 0, background: true };
      await this.transport.exchange(spec, async (res) => {
        if (!res.ok && res.status !== 404) throw await statusError(res, spec);
        await res.body?.cancel().catch(() => undefined);
      });
      return undefined;
    } catch (e) {
      return bound.aborted ? `${what}: no answer within ${this.cancelUploadMs / 1000} s` : (e as Error).message;
    }
  }

  private blobSpec(ref: ImageReference, digest: string): RegistryRequest {
    // Never a path (or an archive entry name) made of what a registry wrote: `sha512:../../x`.
    if (!isSha256Digest(digest)) throw new RegistryContentError(`blob ${JSON.stringify(digest).slice(0, 100)} of ${ref.registry}/${ref.repository}: not a sha256 digest (sha256: and 64 lowercase hex digits)`);
    return { registry: ref.registry, path: `/v2/${ref.repository}/blobs/${digest}`, scope: `repository:${ref.repository}:pull`, what: `blob ${digest} of ${ref.registry}/${ref.repository}` };
  }

  private manifestSpec(r: ImageReference, reference: string, method: "GET" | "HEAD"): RegistryRequest {
    return {
      registry: r.registry, path: `/v2/${r.repository}/manifests/${reference}`, method, accept: MANIFEST_ACCEPT,
      scope: `repository:${r.repository}:pull`, what: `manifest of ${formatImageReference(r)}`,
    };
  }

  private async fetchManifest(r: ImageReference, reference: string) {
    const spec = this.manifestSpec(r, reference, "GET");
    return this.transport.exchange(spec, async (res) => {
      if (res.status === 404) return undefined;
      await expectOk(res, spec);
      // Bounded: an endless answer is refused at 4 MiB, not read into memory.
      const bytes = await this.transport.readWhole(res, spec);
      const header = (res.headers.get("content-type") ?? "").split(";")[0].trim();
      const body = parseJson(bytes, spec.what) as { mediaType?: string };
      return { bytes, digest: sha256Digest(bytes), mediaType: body.mediaType ?? header };
    });
  }

  private toManifest(r: ImageReference, m: { bytes: Buffer; digest: string; mediaType: string }, digest: string): RegistryManifest {
    const what = formatImageReference(r);
    if (!MANIFEST_TYPES.has(m.mediaType)) {
      throw new RegistryContentError(`${what}: unsupported manifest type ${m.mediaType || "(none)"} (expected a v2 or OCI image manifest)`);
    }
    const body = parseJson(m.bytes, `manifest of ${what}`) as { config?: Descriptor; layers?: Descriptor[] };
    if (!body.config?.digest || !Array.isArray(body.layers)) throw new RegistryContentError(`${what}: malformed manifest (no config or layers)`);
    const [config, ...layers] = checkedDescriptors([body.config, ...body.layers], `manifest of ${what}`);
    return { ref: r, digest, manifestDigest: m.digest, mediaType: m.mediaType, bytes: m.bytes, config, layers };
  }
}

/** The parts of an image config (the JSON blob) that are read. */
export type { ImageConfigJson };

/** A config blob's bytes as a config: JSON, of the shape image-builder reads (else `fail`'s error, a content error by default). */
export function readImageConfig(bytes: Buffer, what: string, fail: (message: string) => Error = (m) => new RegistryContentError(m)): ImageConfigJson {
  return checkImageConfig(parseJson(bytes, what, fail), what, fail);
}

export function summarizeConfig(config: ImageConfigJson): RegistryImage["config"] {
  const c = config.config ?? {};
  return {
    labels: c.Labels ?? {},
    created: config.created ?? undefined,
    os: config.os ?? undefined,
    architecture: config.architecture ?? undefined,
    variant: config.variant ?? undefined,
    env: c.Env ?? undefined,
    history: (config.history ?? []).map((h) => ({ created: h.created ?? undefined, createdBy: h.created_by ?? undefined, emptyLayer: h.empty_layer === true })),
    diffIds: config.rootfs?.diff_ids ?? [],
  };
}

export function requireTagOrDigest(ref: string): ImageReference {
  const r = parseImageReference(ref);
  if (!r.tag && !r.digest) r.tag = "latest";
  return r;
}

/** Passes a blob through, hashing and counting it (a streamed layer is verified by the caller); `digest()` once it ended. */
export function hashingStream(): Transform & { digest: () => string; bytes: () => number } {
  const hash = createHash("sha256");
  let n = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      n += chunk.length;
      done(null, chunk);
    },
  }) as Transform & { digest: () => string; bytes: () => number };
  let result: string | undefined;
  t.digest = () => (result ??= `sha256:${hash.digest("hex")}`);
  t.bytes = () => n;
  return t;
}

/** A JSON object from `bytes`; `fail` makes the error (a RegistryError unless told otherwise). */
export function parseJson(bytes: Buffer, what: string, fail: (message: string) => Error = (m) => new RegistryContentError(m)): object {
  try {
    const value = JSON.parse(bytes.toString("utf8"));
    if (typeof value !== "object" || value === null) throw new Error();
    return value as object;
  } catch {
    throw fail(`${what}: not a JSON object`);
  }
}

/** The token scope of a write to `ref`'s repository. */
const pushScope = (ref: ImageReference) => `repository:${ref.repository}:push,pull`;

async function expectOk(res: RegistryResponse, req: Pick<RegistryRequest, "what" | "registry">): Promise<void> {
  if (!res.ok) throw await statusError(res, req);
}

/** This machine's platform as images name it (`linux/amd64`, `linux/arm64`). */
export function hostPlatform(): string {
  const arch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x" };
  return `linux/${arch[process.arch] ?? process.arch}`;
}

/**
 * The platform image of the index whose entries are `entries` for `wanted`, by the core's rule
 * (imageOfPlatform) with this machine's platform as the default: what every reader of an index
 * in the registry chooses by. An index without platform images is a broken image (a fault of
 * the registry's content, not bad input).
 */
export function indexImage(entries: readonly Descriptor[], wanted: string | undefined, what: string): { platform: string; entry: Descriptor } {
  const chosen = imageOfPlatform(platformEntries(entries), wanted, what, hostPlatform());
  if (!chosen) throw new RegistryContentError(`${what}: an index without platform images`);
  return chosen;
}


/**
 * The descriptors a registry's manifest or index names, each a sha256 digest and a size: their
 * digests become request paths and archive entry names, so one a hostile registry wrote
 * (`sha512:../../../tmp/x`, a size of -1) is refused before it is used.
 */
function checkedDescriptors(list: Descriptor[], what: string): Descriptor[] {
  for (const d of list) {
    if (typeof d !== "object" || d === null || !isSha256Digest(d.digest)) {
      throw new RegistryContentError(`${what}: names ${JSON.stringify((d as Descriptor | null)?.digest ?? null).slice(0, 100)}, not a sha256 digest (sha256: and 64 lowercase hex digits)`);
    }
    if (!Number.isSafeInteger(d.size) || d.size < 0) throw new RegistryContentError(`${what}: ${d.digest} has size ${JSON.stringify(d.size)}, not a byte count`);
  }
  return list;
}

/**
 * A blob's bytes, failing as soon as more arrive than the size its descriptor declares, or when
 * they end short: a registry sending an endless layer would fill a disk or hold a reader forever
 * (the digest is only known at the end).
 */
function sizedStream(size: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > size) done(new RegistryContentError(`${what}: the registry sent more than its ${size} bytes`));
      else done(null, chunk);
    },
    flush(done) {
      done(seen < size ? new RegistryContentError(`${what}: the registry sent ${seen} of its ${size} bytes`) : null);
    },
  });
}

