// A cache on disk of the package database files of an image's first layers (the states
// image-files.ts computes, after each chain of layers), keyed by the layers' digests. Layers are
// content-addressed, so the state after a chain is the same on every run, and a run reads from the
// registry only the layers no earlier run on this machine read: a release that rebuilds the compat
// layer of images whose science layers hold gigabytes reads the compat layers alone, and a rerun
// (a retry, an agent's share of a split plan, --reconcile) reads none.
//
// One record per chain of k layers, holding what its k-th layer changed (the files it added or
// replaced, with their contents; the paths it removed; its warnings): the state after k layers is
// the records of its chain's first 1..k layers applied in order, so each file's contents are
// written once, in the record of the layer that wrote it. Each record was computed from blobs whose
// sha256 digests were checked (a chain naming another algorithm is neither looked up nor kept),
// and starts with the digest of the rest of it: a record cut short or damaged is a miss (the
// layers are read again and the record written anew). That catches damage, not a forgery:
// whoever can write the cache can make it say anything, so it is used only where no other user
// can write it.
//
// Layout: DIR/sbom-layers/v2/<sha256 of the tool's version, the rules and the chain>.json, where DIR
// is IMAGE_BUILDER_CACHE, else $XDG_CACHE_HOME/image-builder, else ~/.cache/image-builder. Writes
// go to a temporary file renamed into place: two runs writing one record leave a whole one.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, lstat, mkdir, open, readdir, realpath, rename, rm, rmdir, utimes, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { sha256Hex } from "../core/digest.js";
import { layerRules, snapshotOfFiles, type DatabaseKind, type FoundFile, type LayeredSnapshot } from "../core/sbom/layered-files.js";
import { errorCode, makeDirectory, packageVersion } from "../files.js";

/** The states after chains of layers (each chain: layer digests, base first). */
export interface LayerStateCache {
  /** The longest chain of `layers`' first k layers, k > `above`, whose state is kept, and that state. */
  longest(layers: readonly string[], above: number): Promise<{ layers: number; state: LayeredSnapshot } | undefined>;
  /** Keeps the state after `layers` (all of them), given the state after all but the last (`previous`). */
  put(layers: readonly string[], state: LayeredSnapshot, previous: LayeredSnapshot | undefined): Promise<void>;
}

const OFF = new Set(["none", "off", "no", "false", "0"]);

/**
 * Where the cache is: `IMAGE_BUILDER_CACHE` (an absolute path; `none`, `off`: no cache), else
 * `$XDG_CACHE_HOME/image-builder` (an absolute one: the XDG spec ignores a relative one), else
 * `~/.cache/image-builder`. A relative `IMAGE_BUILDER_CACHE` is a problem: it would put the cache
 * into whatever directory the command runs in, the user's repository most often.
 */
export function cacheDirectory(env: NodeJS.ProcessEnv): { dir?: string; problem?: string } {
  const set = env.IMAGE_BUILDER_CACHE?.trim();
  if (set) {
    if (OFF.has(set.toLowerCase())) return {};
    if (!isAbsolute(set)) return { problem: `IMAGE_BUILDER_CACHE=${set}: not an absolute path, so no SBOM cache is used (IMAGE_BUILDER_CACHE=none turns it off)` };
    return { dir: set };
  }
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return { dir: join(env.XDG_CACHE_HOME, "image-builder") };
  const home = env.HOME || homedir();
  return home && isAbsolute(home) ? { dir: join(home, ".cache", "image-builder") } : {};
}

const KINDS = new Set<DatabaseKind>(["dpkg", "apk", "conda", "python", "r", "os-release"]);
/** A record bigger than this is not read (the package databases of one layer are some MB, a large environment's some tens). */
const MAX_RECORD_BYTES = 1024 * 1024 * 1024;
/** A temporary file older than this is left over from a run that was killed: removed. */
const STALE_TMP_MS = 60 * 60 * 1000;
/**
 * A record no run has read or written for this long is removed (those of an earlier version of
 * image-builder, of images long replaced): the cache of a CI agent does not grow for ever. A hit
 * marks its record used. Looked over at most once a day (the time of `sbom-layers/.pruned`).
 */
export const UNUSED_RECORD_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/** What the last layer of a chain changed. */
interface LayerRecord {
  layers: number;
  /** Paths (as LayerFiles keys them, no leading `/`) the layer removed from the state before it. */
  removed: string[];
  /** Files it added or replaced. */
  files: FoundFile[];
  /** Warnings it gave. */
  warnings: string[];
}

/**
 * The cache under `dir`. `warn` is told once when the cache cannot be used (not writable, or
 * writable by others): the run goes on reading the layers from the registry.
 */
export function layerStateCache(dir: string, warn: (text: string) => void): LayerStateCache {
  const top = join(dir, "sbom-layers");
  const root = join(top, "v2");
  // The tool's version and the rules are part of every key: a state another version computed (by
  // other rules, another tar reader) is not found.
  const rules = sha256Hex(`${packageVersion()}\n${layerRules()}`);
  const fileOf = (layers: readonly string[]) => join(root, `${sha256Hex(`${rules}\n${layers.join("\n")}`)}.json`);
  let warned = false;
  const said = (text: string) => {
    if (!warned) warn(text);
    warned = true;
  };

  const usable: Promise<boolean> = (async () => {
    try {
      makeDirectory(dirname(dir));
      for (const d of [dir, top, root]) await makePrivate(d);
    } catch (e) {
      said(`the SBOM cache ${dir} cannot be written (${errorCode(e)}): layers are read from the registry (IMAGE_BUILDER_CACHE=none turns the cache off)`);
      return false;
    }
    try {
      // The directory named may be a link (to a disk with room); the ones in it are this tool's own.
      const checks: [string, string][] = [[await realpath(dir), dir], [top, top], [root, root]];
      for (const [path, named] of checks) {
        const problem = await privacyProblem(path);
        if (problem) {
          said(problem.startsWith("is not")
            ? `the SBOM cache is not used: ${named} ${problem}; layers are read from the registry`
            : `the SBOM cache is not used: ${named} ${problem} (whoever can write it could change what the SBOMs list); layers are read from the registry`);
          return false;
        }
      }
    } catch (e) {
      said(`the SBOM cache ${dir} cannot be used (${errorCode(e)}): layers are read from the registry (IMAGE_BUILDER_CACHE=none turns the cache off)`);
      return false;
    }
    await removeLeftovers(root);
    return true;
  })();

  /** The record of `layers`' last layer, when whole. */
  const readRecord = async (layers: readonly string[]): Promise<LayerRecord | undefined> => {
    const text = await readRegularFile(fileOf(layers));
    if (text === undefined) return undefined;
    const newline = text.indexOf("\n");
    const body = text.slice(newline + 1);
    if (newline < 0 || text.slice(0, newline) !== sha256Hex(body)) return undefined;
    try {
      const r = JSON.parse(body) as LayerRecord;
      if (r.layers !== layers.length || !Array.isArray(r.removed) || !Array.isArray(r.files) || !Array.isArray(r.warnings)) return undefined;
      if (!r.removed.every((p) => typeof p === "string") || !r.warnings.every((w) => typeof w === "string")) return undefined;
      for (const f of r.files) {
        if (typeof f !== "object" || f === null || typeof f.path !== "string" || !f.path.startsWith("/") || !KINDS.has(f.kind) || typeof f.content !== "string" || f.layer !== layers.length - 1) return undefined;
      }
      // Used: kept when unused ones are removed (a failure to mark it costs it nothing now).
      const now = new Date();
      await utimes(fileOf(layers), now, now).catch(() => undefined);
      return r;
    } catch {
      return undefined;
    }
  };

  return {
    async longest(layers, above) {
      if (!(await usable)) return undefined;
      // The state after k layers is the records of its first 1..k layers applied in order: read
      // forward, each record once, up to the first one missing or not whole.
      const files = new Map<string, FoundFile>();
      const warnings: string[] = [];
      let k = 0;
      for (; k < layers.length; k++) {
        const record = await readRecord(layers.slice(0, k + 1));
        if (!record) break;
        for (const path of record.removed) files.delete(path);
        for (const f of record.files) files.set(f.path.slice(1), { path: f.path, kind: f.kind, content: f.content, layer: f.layer });
        warnings.push(...record.warnings);
      }
      return k > above ? { layers: k, state: snapshotOfFiles([...files.values()], k, warnings) } : undefined;
    },
    async put(layers, state, previous) {
      if (!(await usable)) return;
      const before = previous?.files ?? new Map<string, FoundFile>();
      const record: LayerRecord = {
        layers: layers.length,
        removed: [...before.keys()].filter((path) => !state.files.has(path)),
        // LayeredFiles carries a file over as the same object; a file the layer wrote is a new one.
        files: [...state.files.entries()].filter(([path, f]) => !sameFile(before.get(path), f)).map(([, f]) => ({ path: f.path, kind: f.kind, content: f.content, layer: f.layer })),
        warnings: state.warnings.slice(previous?.warnings.length ?? 0),
      };
      if (record.files.some((f) => f.layer !== layers.length - 1)) return; // not a layer's own changes: nothing kept
      const body = JSON.stringify(record);
      const path = fileOf(layers);
      const tmp = `${path}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
      try {
        await writeFile(tmp, `${sha256Hex(body)}\n${body}`, { mode: 0o600 });
        await rename(tmp, path);
      } catch (e) {
        await rm(tmp, { force: true });
        said(`the SBOM cache ${dir} cannot be written (${errorCode(e)}): layers are read from the registry (IMAGE_BUILDER_CACHE=none turns the cache off)`);
      }
    },
  };
}

const sameFile = (a: FoundFile | undefined, b: FoundFile) => a === b || (a !== undefined && a.layer === b.layer && a.kind === b.kind && a.content === b.content);

/** Makes `dir` private (0700, whatever the umask) when it is not there yet. */
async function makePrivate(dir: string): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (e) {
    if (errorCode(e) === "EEXIST") return;
    throw e;
  }
  await chmod(dir, 0o700);
}

/** Why `path` is no private directory of this user, if it is not. */
async function privacyProblem(path: string): Promise<string | undefined> {
  const s = await lstat(path);
  if (s.isSymbolicLink()) return "is not a directory but a symbolic link";
  if (!s.isDirectory()) return "is not a directory";
  const uid = process.getuid?.();
  if (uid !== undefined && s.uid !== uid) return "is owned by another user";
  if (s.mode & 0o022) return `is writable by ${s.mode & 0o002 ? "others" : "its group"}`;
  return undefined;
}

/** The contents of `path` when it is a regular file (not a link, a FIFO, a device, a directory) of a sane size. */
async function readRegularFile(path: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const s = await handle.stat();
    if (!s.isFile() || s.size > MAX_RECORD_BYTES) return undefined;
    return await handle.readFile("utf8");
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

/**
 * Removes the temporary files of writes a killed run left (older than an hour: not another run's,
 * under way) and, once a day, the records unused for UNUSED_RECORD_DAYS.
 */
async function removeLeftovers(root: string): Promise<void> {
  const now = Date.now();
  const top = dirname(root);
  const marker = join(top, ".pruned");
  const pruned = await lstat(marker).then((s) => s.mtimeMs, () => 0);
  const prune = now - pruned > DAY_MS;
  if (prune) await writeFile(marker, "", { mode: 0o600 }).then(() => utimes(marker, new Date(now), new Date(now))).catch(() => undefined);
  // An earlier layout's directory (`v1/`, of versions before this one's keys) is pruned by the same
  // rule: its records go when no run (an older image-builder's, on a downgrade) has used them for
  // UNUSED_RECORD_DAYS, and the directory when it is empty.
  const earlier = prune ? (await readdir(top).catch(() => [] as string[])).filter((n) => /^v\d+$/.test(n) && join(top, n) !== root) : [];
  for (const dir of [root, ...earlier.map((n) => join(top, n))]) {
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(names.map(async (n) => {
      const old = n.endsWith(".tmp") ? STALE_TMP_MS : prune && n.endsWith(".json") ? UNUSED_RECORD_DAYS * DAY_MS : undefined;
      if (old === undefined) return;
      const s = await lstat(join(dir, n)).catch(() => undefined);
      if (s?.isFile() && now - s.mtimeMs > old) await rm(join(dir, n), { force: true });
    }));
    if (dir !== root) await rmdir(dir).catch(() => undefined); // only when empty
  }
}

/** The cache `env` names (cacheDirectory), or none; `warn` as layerStateCache's, also told of a cache directory named wrong. */
export function layerStateCacheFromEnv(env: NodeJS.ProcessEnv, warn: (text: string) => void): LayerStateCache | undefined {
  const { dir, problem } = cacheDirectory(env);
  if (problem) warn(problem);
  return dir ? layerStateCache(dir, warn) : undefined;
}

/** A warning of the cache on stderr, as the commands print theirs. */
export const warnOnStderr = (text: string) => void process.stderr.write(`image-builder: warning: ${text}\n`);
