// Helpers for tests against the real engine and registries started by test/engine/start.sh.
import type Dockerode from "dockerode";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { readTar, type TarEntry } from "./tar.js";
import type { Plan, PlannedBuild } from "../../src/core/model.js";
import { connectEngine, executePlan, type EngineRunOptions, type RunOutcome } from "../../src/executors/docker/index.js";
import { RegistryClient } from "../../src/registry/client.js";
import { DockerCredentials } from "../../src/registry/credentials.js";

export interface TestEngine {
  docker: Dockerode;
  /** Plain-HTTP registry, host:port. */
  registry: string;
  /** Basic-auth registry, host:port, and its credentials. */
  authRegistry: string;
  authUser: string;
  authPass: string;
}

let cached: TestEngine | undefined;

/**
 * The engine from the environment (`source STATE_DIR/env.sh`). Without it the calling test
 * fails, never skips: a suite that silently tests nothing is worse than a red one.
 */
export function requireEngine(): TestEngine {
  if (cached) return cached;
  const env = process.env;
  const missing = ["DOCKER_HOST", "IB_REGISTRY", "IB_AUTH_REGISTRY", "IB_AUTH_USER", "IB_AUTH_PASS"].filter((k) => !env[k]);
  if (missing.length) {
    const how = "start one with: bash test/engine/start.sh /tmp/image-builder-test-engine && source /tmp/image-builder-test-engine/env.sh";
    const where = env.CI === "true" ? "CI run without a test engine (CI=true)" : "no test engine";
    throw new Error(`${where}: ${missing.join(", ")} not set; ${how}`);
  }
  cached = {
    docker: connectEngine(env).docker,
    registry: env.IB_REGISTRY!,
    authRegistry: env.IB_AUTH_REGISTRY!,
    authUser: env.IB_AUTH_USER!,
    authPass: env.IB_AUTH_PASS!,
  };
  return cached;
}

/** A repository path no other test (or earlier run) uses, e.g. `127.0.0.1:5055/t-1a2b3c4d`. */
export function uniqueRepo(registry: string): string {
  return `${registry}/t-${randomBytes(4).toString("hex")}`;
}

/** A writable that keeps everything written to it, standing in for stderr. */
export function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join("") };
}

/**
 * The builder the engine tests run under: `IB_TEST_BUILDER` (buildkit or classic; test/run.sh
 * runs the builder-sensitive files under each), default BuildKit, which `auto` picks on the
 * test engine. The CLI tests get it as DOCKER_BUILDKIT (see helpers/cli.ts).
 */
export const TEST_BUILDER: "buildkit" | "classic" = process.env.IB_TEST_BUILDER === "classic" ? "classic" : "buildkit";

/** A run's settings, and the docker config directory its credentials come from (default: DOCKER_CONFIG or ~/.docker). */
export type TestRunOptions = EngineRunOptions & { dockerConfigDir?: string };

export function runOptions(rootDir: string, out: Writable, extra: Partial<TestRunOptions> = {}): TestRunOptions {
  return {
    rootDir, jobs: 2, noCache: false, pull: false, buildArgs: {}, push: false, failFast: false,
    progress: "plain", out, builder: TEST_BUILDER, ...extra,
  };
}

/** executePlan on the test engine, with the credentials and registry client the CLI would make. */
export async function runPlan(plan: Plan, { dockerConfigDir, ...opts }: TestRunOptions): Promise<RunOutcome> {
  const creds = await DockerCredentials.load(dockerConfigDir);
  return executePlan(plan, opts, { engine: connectEngine(), creds, registry: opts.push ? new RegistryClient(creds) : undefined });
}

/** The line of build output that starts a step (`pattern`: a regular expression source), under the test builder. */
export function stepLine(pattern: string): RegExp {
  return TEST_BUILDER === "classic" ? new RegExp(`Step \\d+/\\d+ : ${pattern}`) : new RegExp(`#\\d+ \\[[^\\]]*\\] ${pattern}`);
}

/** Build output that shows the step `pattern` (a regular expression source) answered by the build cache. */
export function cachedStep(pattern: string): RegExp {
  return TEST_BUILDER === "classic"
    ? new RegExp(`Step \\d+/\\d+ : ${pattern}[^\\n]*\\n[^\\n]*Using cache`)
    : new RegExp(`#(\\d+) \\[[^\\]]*\\] ${pattern}[^\\n]*\\n(?:[^\\n]*\\n)*?[^\\n]*#\\1 CACHED`);
}

/**
 * Whether a process whose command line contains `marker` runs on this machine: a build step's
 * process, whichever builder runs it (BuildKit's steps are no engine containers). The test
 * engine is local (test/engine/start.sh); give the step a marker no other run shares.
 */
export function processRunning(marker: string): boolean {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue; // ended meanwhile
    }
    if (cmdline.replaceAll("\0", " ").includes(marker)) return true;
  }
  return false;
}

/** Polls `condition` until it holds; fails with `why()` after `timeoutMs` (generous: machines are loaded). */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, why: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A plan of handcrafted builds; `waves` derived from `dependsOn` as the planner would. */
export function makePlan(repo: string, builds: PlannedBuild[]): Plan {
  const depth = new Map<string, number>();
  const depthOf = (b: PlannedBuild): number => {
    if (!depth.has(b.id)) {
      const parents = builds.filter((p) => b.dependsOn.includes(p.id));
      depth.set(b.id, parents.length ? 1 + Math.max(...parents.map(depthOf)) : 0);
    }
    return depth.get(b.id)!;
  };
  const waves: string[][] = [];
  for (const b of builds) (waves[depthOf(b)] ??= []).push(b.id);
  return { repo, commit: "abc1234", buildNumber: 7, builds, waves };
}

/** A science-like build of one context directory. */
export function build(id: string, tags: string[], dockerfile: string, extra: Partial<PlannedBuild> & { contexts?: string[] } = {}): PlannedBuild {
  const { contexts, ...rest } = extra;
  const ctx = contexts ?? [`science/${id.replace(/^.*\//, "")}`];
  return {
    id, kind: "science", image: "img", version: "1.0", target: id.replace(/^.*\//, ""), source: ctx[ctx.length - 1],
    reasons: ["test"], dependsOn: [],
    // No inputs label: a hand-made request is never taken for an earlier build and reused.
    request: {
      contexts: ctx, dockerfile, buildArgs: {}, tags, labels: {}, imageRewrites: {},
      inputsDigest: `sha256:${randomBytes(32).toString("hex")}`, inputs: { context: "", parents: {} },
    },
    ...rest,
  };
}

// ---------------------------------------------------------------------------------------------
// The registry's HTTP API: what really landed.

/** The `Authorization` header of basic auth. */
export function basicAuth(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
}

/** A request to the registry's HTTP API (`path` after `/v2/`), with basic auth when given: nothing of image-builder's code. */
export async function registryRequest(registry: string, path: string, options: { auth?: [string, string]; accept?: string; method?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (options.auth) headers.authorization = basicAuth(...options.auth);
  if (options.accept) headers.accept = options.accept;
  const res = await fetch(`http://${registry}/v2/${path}`, { method: options.method ?? "GET", headers });
  // Read whole here: an answer whose body a caller leaves unread (it asked for the status only)
  // keeps its connection in use, and the test process would not end after its last test.
  const body = await res.arrayBuffer();
  return new Response([101, 204, 205, 304].includes(res.status) ? null : body, { status: res.status, headers: res.headers });
}

async function registryGet(registry: string, path: string, auth?: [string, string], accept?: string): Promise<Response> {
  return registryRequest(registry, path, { auth, accept });
}

/**
 * The requests that write (PUT, POST, PATCH, DELETE) to repository path `path` (`t-…`, below
 * it too) that a test registry logs from now on, whoever sends them (image-builder or the engine):
 * `which` is the plain registry or the one with basic auth (test/engine/start.sh's directories).
 */
export function registryWritesFromNow(which: "registry" | "registry-auth", path: string): () => string[] {
  const requests = registryRequestsFromNow(which, path);
  return () => requests().filter((l) => /"(PUT|POST|PATCH|DELETE) /.test(l));
}

/** The registry's access log lines, from now on, of requests under `path` (a repository path prefix). */
export function registryRequestsFromNow(which: "registry" | "registry-auth", path: string): () => string[] {
  const log = join(process.env.IB_ENGINE_STATE!, which, "registry.log");
  const since = statSync(log).size;
  return () => readFileSync(log).subarray(since).toString().split("\n").filter((l) => l.includes(`/v2/${path}/`));
}

/** Tags of `repo` (`host:port/name`) in its registry; [] when the repository doesn't exist. */
export async function registryTags(repo: string, auth?: [string, string]): Promise<string[]> {
  const { registry, name } = splitRepo(repo);
  const res = await registryGet(registry, `${name}/tags/list`, auth);
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`GET tags/list of ${repo}: HTTP ${res.status}`);
  const body = (await res.json()) as { tags?: string[] | null };
  return [...(body.tags ?? [])].sort();
}

const MANIFEST_TYPES = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";

/**
 * The manifest digest and the image config (labels, env) of `repo:tag` as the registry has it; for
 * an image index (an image published with its attestations), of its linux/amd64 image
 * (`indexDigest`: the index's own).
 */
export async function registryImage(ref: string, auth?: [string, string]) {
  const colon = ref.lastIndexOf(":");
  const { registry, name } = splitRepo(ref.slice(0, colon));
  const tag = ref.slice(colon + 1);
  let res = await registryGet(registry, `${name}/manifests/${tag}`, auth, `application/vnd.oci.image.index.v1+json, ${MANIFEST_TYPES}`);
  if (!res.ok) throw new Error(`GET manifest of ${ref}: HTTP ${res.status}`);
  let digest = res.headers.get("docker-content-digest") ?? "";
  let indexDigest: string | undefined;
  let manifest = (await res.json()) as { config: { digest: string }; manifests?: { digest: string; platform?: { os?: string; architecture?: string } }[] };
  if (manifest.manifests) {
    indexDigest = digest;
    const image = manifest.manifests.find((m) => m.platform?.os === "linux" && m.platform.architecture === "amd64");
    if (!image) throw new Error(`${ref}: an index without a linux/amd64 image`);
    res = await registryGet(registry, `${name}/manifests/${image.digest}`, auth, MANIFEST_TYPES);
    if (!res.ok) throw new Error(`GET manifest ${image.digest} of ${ref}: HTTP ${res.status}`);
    digest = image.digest;
    manifest = (await res.json()) as typeof manifest;
  }
  const blob = await registryGet(registry, `${name}/blobs/${manifest.config.digest}`, auth);
  if (!blob.ok) throw new Error(`GET config blob of ${ref}: HTTP ${blob.status}`);
  const config = (await blob.json()) as { config: { Labels?: Record<string, string>; Env?: string[] } };
  return { digest, ...(indexDigest ? { indexDigest } : {}), configDigest: manifest.config.digest, labels: config.config.Labels ?? {}, env: config.config.Env ?? [] };
}

/** What the registry serves under `repo:tag` asked for an image index (issue 17): its digest, media type and entries. */
export async function registryIndex(ref: string): Promise<{ digest: string; mediaType: string; manifests: { mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string; variant?: string }; annotations?: Record<string, string> }[] }> {
  const colon = ref.lastIndexOf(":");
  const { registry, name } = splitRepo(ref.slice(0, colon));
  const res = await registryGet(registry, `${name}/manifests/${ref.slice(colon + 1)}`, undefined, `application/vnd.oci.image.index.v1+json, ${MANIFEST_TYPES}`);
  if (!res.ok) throw new Error(`GET manifest of ${ref}: HTTP ${res.status}`);
  const body = (await res.json()) as { mediaType: string; manifests?: never[] };
  return { digest: res.headers.get("docker-content-digest") ?? "", mediaType: body.mediaType, manifests: body.manifests ?? [] };
}

/** The entry names of each layer of `repo:tag` as the registry has it, base first (whiteouts included). */
export async function registryLayerEntries(ref: string): Promise<string[][]> {
  const colon = ref.lastIndexOf(":");
  const { registry, name } = splitRepo(ref.slice(0, colon));
  const res = await registryGet(registry, `${name}/manifests/${ref.slice(colon + 1)}`, undefined, MANIFEST_TYPES);
  if (!res.ok) throw new Error(`GET manifest of ${ref}: HTTP ${res.status}`);
  const manifest = (await res.json()) as { layers: { digest: string }[] };
  const layers: string[][] = [];
  for (const layer of manifest.layers) {
    const blob = await registryGet(registry, `${name}/blobs/${layer.digest}`);
    if (!blob.ok) throw new Error(`GET layer ${layer.digest} of ${ref}: HTTP ${blob.status}`);
    layers.push([...(await readTar(Readable.from(gunzipSync(Buffer.from(await blob.arrayBuffer()))))).keys()]);
  }
  return layers;
}

function splitRepo(repo: string): { registry: string; name: string } {
  const slash = repo.indexOf("/");
  return { registry: repo.slice(0, slash), name: repo.slice(slash + 1) };
}

// ---------------------------------------------------------------------------------------------
// Inside images.

export type ImageFile = TarEntry;

/**
 * Reads files from an image without running it: creates a container (never started) and takes
 * `path` out with the archive API. Returns path-in-archive (`dir/file`) -> file; {} when `path`
 * is absent.
 */
export async function filesInImage(docker: Dockerode, image: string, path: string): Promise<Record<string, ImageFile>> {
  const container = await docker.createContainer({ Image: image, Cmd: ["true"] });
  try {
    let archive: NodeJS.ReadableStream;
    try {
      archive = await container.getArchive({ path });
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return {};
      throw e;
    }
    const files: Record<string, ImageFile> = {};
    for (const [name, entry] of await readTar(archive)) {
      files[name.replace(/\/$/, "")] = { ...entry, mode: entry.mode & 0o7777 };
    }
    return files;
  } finally {
    await container.remove({ force: true });
  }
}
