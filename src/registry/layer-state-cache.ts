// A cache on disk of the package database files of an image's first layers (the states
// image-files.ts computes, after each chain of layers), keyed by the layers' digests. Layers are
// content-addressed, so the state after a chain is the same on every run, and a run reads from the
// registry only the layers no earlier run on this machine read: a release that rebuilds the compat
// layer of images whose science layers hold gigabytes reads the compat layers alone, and a rerun
// (a retry, an agent's share of a split plan, --reconcile) reads none. Each state was computed from
// blobs whose sha256 digests were checked (a chain naming another algorithm is neither looked up
// nor kept); each file's contents are checked against their digest when read back, and a state
// that fails to parse or check is a miss (the layers are read again and the state written anew).
// That catches damage, not a forgery: whoever can write the cache can make it say anything, so it
// is used only where no other user can write it.
//
// Layout, under DIR/sbom-layers/v1 (DIR: IMAGE_BUILDER_CACHE, else $XDG_CACHE_HOME/image-builder,
// else ~/.cache/image-builder):
//   states/<sha256 of the rules and the chain>.json  the files after the chain, by content digest
//   files/<sha256 hex>                               each file's contents, once for every state
// Writes go to a temporary file renamed into place: two runs writing one state each leave a whole one.
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { sha256Hex } from "../core/digest.js";
import { layerRules, snapshotOfFiles, type DatabaseKind, type FoundFile, type LayeredSnapshot } from "../core/sbom/layered-files.js";
import { errorCode, makeDirectory, packageVersion } from "../files.js";

/** The states after chains of layers (each chain: layer digests, base first). */
export interface LayerStateCache {
  /** The longest chain of `layers`' first k layers, k > `above`, whose state is kept, and that state. */
  longest(layers: readonly string[], above: number): Promise<{ layers: number; state: LayeredSnapshot } | undefined>;
  /** Keeps the state after `layers` (all of them). */
  put(layers: readonly string[], state: LayeredSnapshot): Promise<void>;
}

/** `IMAGE_BUILDER_CACHE`: a directory, or `none` (no cache); unset: the user's cache directory, when there is a home. */
export function cacheDirectory(env: NodeJS.ProcessEnv): string | undefined {
  const set = env.IMAGE_BUILDER_CACHE;
  if (set !== undefined && set !== "") return set === "none" ? undefined : set;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "image-builder");
  const home = env.HOME || homedir();
  return home ? join(home, ".cache", "image-builder") : undefined;
}

const KINDS = new Set<DatabaseKind>(["dpkg", "apk", "conda", "python", "r", "os-release"]);
const HEX = /^[0-9a-f]{64}$/;

interface StoredState {
  layers: number;
  files: { path: string; kind: DatabaseKind; layer: number; content: string }[];
  warnings: string[];
}

/**
 * The cache under `dir`. `warn` is told once when the cache cannot be written (a read-only home):
 * the run goes on reading the layers from the registry.
 */
export function layerStateCache(dir: string, warn: (text: string) => void): LayerStateCache {
  const top = join(dir, "sbom-layers");
  const root = join(top, "v1");
  const statesDir = join(root, "states");
  const filesDir = join(root, "files");
  // The rules and the tool's version are part of every key: a state another version computed
  // (by other rules, another tar reader) is not found.
  const rules = sha256Hex(`${packageVersion()}\n${layerRules()}`);
  const keyOf = (layers: readonly string[]) => sha256Hex(`${rules}\n${layers.join("\n")}`);
  let warned = false;
  const said = (text: string) => {
    if (!warned) warn(text);
    warned = true;
  };
  const digests = new WeakMap<FoundFile, string>();
  /** Contents this process wrote or found there. */
  const written = new Set<string>();

  // Whoever can write the cache can say what an image's SBOM lists: it is used only where no one
  // else can write it (made here private; one found otherwise is refused, with a warning).
  const usable: Promise<boolean> = (async () => {
    try {
      makeDirectory(dir);
      for (const d of [top, root, statesDir, filesDir]) await mkdir(d, { mode: 0o700 }).catch((e: unknown) => {
        if (errorCode(e) !== "EEXIST") throw e;
      });
    } catch (e) {
      said(`the SBOM cache ${dir} cannot be written (${errorCode(e)}): layers are read from the registry on every run (IMAGE_BUILDER_CACHE=none turns the cache off)`);
      return false;
    }
    const uid = process.getuid?.();
    for (const d of [dir, top, root, statesDir, filesDir]) {
      const s = await lstat(d);
      const why = !s.isDirectory() ? "not a directory" : uid !== undefined && s.uid !== uid ? "owned by another user" : s.mode & 0o022 ? "writable by others" : undefined;
      if (why) {
        said(`the SBOM cache is not used: ${d} is ${why} (whoever can write it could change what the SBOMs list); layers are read from the registry`);
        return false;
      }
    }
    return true;
  })();

  const readState = async (layers: readonly string[]): Promise<LayeredSnapshot | undefined> => {
    let text: string;
    try {
      text = await readFile(join(statesDir, `${keyOf(layers)}.json`), "utf8");
    } catch {
      return undefined;
    }
    try {
      const stored = JSON.parse(text) as StoredState;
      if (stored.layers !== layers.length || !Array.isArray(stored.files) || !Array.isArray(stored.warnings)) return undefined;
      const files: FoundFile[] = [];
      let whole = stored.warnings.every((w) => typeof w === "string");
      for (const f of stored.files) {
        if (typeof f.path !== "string" || !f.path.startsWith("/") || !KINDS.has(f.kind) || !Number.isInteger(f.layer) || f.layer < 0 || f.layer >= layers.length || !HEX.test(f.content)) return undefined;
        const bytes = await readFile(join(filesDir, f.content)).catch(() => undefined);
        if (!bytes || sha256Hex(bytes) !== f.content) {
          // Gone or damaged (a disk's fault): the state is a miss; each damaged file is removed,
          // so that the state written anew once the layers are read puts it back.
          if (bytes) await rm(join(filesDir, f.content), { force: true });
          written.delete(f.content);
          whole = false;
          continue;
        }
        files.push({ path: f.path, kind: f.kind, layer: f.layer, content: bytes.toString("utf8") });
      }
      return whole ? snapshotOfFiles(files, layers.length, stored.warnings) : undefined;
    } catch {
      // Not whole, or a file of it gone: a miss; the layers are read again and the state written anew.
      return undefined;
    }
  };

  /** Writes `bytes` to `path` whole: a temporary file renamed into place. */
  const writeWhole = async (path: string, bytes: Buffer | string) => {
    const tmp = `${path}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
    try {
      await writeFile(tmp, bytes, { mode: 0o600 });
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  };

  return {
    async longest(layers, above) {
      if (!(await usable)) return undefined;
      for (let k = layers.length; k > above; k--) {
        const state = await readState(layers.slice(0, k));
        if (state) return { layers: k, state };
      }
      return undefined;
    },
    async put(layers, state) {
      if (!(await usable)) return;
      try {
        const files: StoredState["files"] = [];
        for (const file of state.files.values()) {
          // The states after each layer of an image share most files (the same objects): each hashed and written once.
          let content = digests.get(file);
          if (!content) digests.set(file, (content = sha256Hex(file.content)));
          files.push({ path: file.path, kind: file.kind, layer: file.layer, content });
          if (written.has(content)) continue;
          // Contents are named by their digest: one already there is these bytes.
          const path = join(filesDir, content);
          if (!(await stat(path).catch(() => undefined))) await writeWhole(path, file.content);
          written.add(content);
        }
        const stored: StoredState = { layers: layers.length, files, warnings: [...state.warnings] };
        await writeWhole(join(statesDir, `${keyOf(layers)}.json`), JSON.stringify(stored));
      } catch (e) {
        said(`the SBOM cache ${dir} cannot be written (${errorCode(e)}): layers are read from the registry (IMAGE_BUILDER_CACHE=none turns the cache off)`);
      }
    },
  };
}

/** The cache `env` names (cacheDirectory), or none; `warn` as layerStateCache's. */
export function layerStateCacheFromEnv(env: NodeJS.ProcessEnv, warn: (text: string) => void): LayerStateCache | undefined {
  const dir = cacheDirectory(env);
  return dir ? layerStateCache(dir, warn) : undefined;
}

/** A warning of the cache on stderr, as the commands print theirs. */
export const warnOnStderr = (text: string) => void process.stderr.write(`image-builder: warning: ${text}\n`);
