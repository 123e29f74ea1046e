// The files of an image that say which packages it holds, as the image's filesystem has them: its
// layers applied in order, whiteouts honoured (the OCI image spec's layer changesets). The shell
// streams each layer's tar past `LayeredFiles` one entry at a time and hands over the contents of
// only the files `wantsContent` names, so no layer is ever held in memory.
import { reductionRules } from "./packages.js";

/** The package databases read from an image's filesystem. */
export type DatabaseKind = "dpkg" | "apk" | "conda" | "python" | "r" | "os-release";

/** A tar entry as the shell sees it: its name as written in the layer, its type and size. */
export interface LayerEntry {
  name: string;
  /** tar-stream's types: "file", "directory", "symlink", "link" (a hard link), … */
  type: string;
  size?: number;
  /** A hard link's target (another entry of the same layer or a lower one). */
  linkname?: string;
}

/** A package database file of the final filesystem. */
export interface FoundFile {
  /** Absolute path in the image, `/var/lib/dpkg/status`. */
  path: string;
  kind: DatabaseKind;
  content: string;
  /** Index (0 = base) of the layer that wrote it last. */
  layer: number;
}

/**
 * Files bigger than this are not read (a status file of a full Debian is a few MB; a
 * METADATA with an embedded README can be some hundred kB): a warning names them instead.
 */
export const MAX_DATABASE_BYTES = 64 * 1024 * 1024;

/**
 * The package files of one image held at once, at most (bytes of the filesystem's files, as
 * layers leave them): a layer of a few MB can inflate to GBs of files with database names (an
 * Anaconda environment's conda-meta is tens of MB). Files past it are not read, with a warning.
 */
export const MAX_IMAGE_DATABASE_BYTES = 256 * 1024 * 1024;

/** How much LayeredFiles reads: of one file, and of all the files of the image. */
export interface ReadLimits {
  file: number;
  image: number;
}

const LIMITS: ReadLimits = { file: MAX_DATABASE_BYTES, image: MAX_IMAGE_DATABASE_BYTES };

const R_DESCRIPTION = /(?:^|\/)(?:R\/library|site-library)\/[^/]+\/DESCRIPTION$/;

/** What kind of package database the file at `path` (normalized, no leading `/`) is, if any. */
export function databaseKind(path: string): DatabaseKind | undefined {
  if (path === "var/lib/dpkg/status" || /^var\/lib\/dpkg\/status\.d\/[^/.]+$/.test(path)) return "dpkg";
  if (path === "lib/apk/db/installed") return "apk";
  if (path === "etc/os-release" || path === "usr/lib/os-release") return "os-release";
  if (/(?:^|\/)conda-meta\/[^/]+\.json$/.test(path)) return "conda";
  if (/\.dist-info\/METADATA$/.test(path) || /\.egg-info\/PKG-INFO$/.test(path)) return "python";
  // distutils writes a bare `NAME-VERSION.egg-info` file, in the PKG-INFO format
  if (/(?:site|dist)-packages\/[^/]+\.egg-info$/.test(path)) return "python";
  if (R_DESCRIPTION.test(path)) return "r";
  return undefined;
}

/** A tar entry name as the engine extracts it: `./a/b`, `/a/b`, `a/./b` and `a//b` are `a/b`. */
export function normalizeName(name: string): string {
  // By segments, so that a name normalized is normalized again the same (`a/././b`, `a//b`: `a/b`);
  // `..` as the engine cleans it (`x/../a` is `a`, and none leads above the root: `../../a` is `a`).
  const segments: string[] = [];
  for (const segment of name.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return segments.join("/");
}

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";

const dirOf = (path: string) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");
const baseOf = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/** The state after some layers (LayeredFiles.snapshot): images sharing those layers start from it. */
export interface LayeredSnapshot {
  readonly files: ReadonlyMap<string, FoundFile>;
  readonly layers: number;
  readonly warnings: readonly string[];
}

/**
 * The state after `layers` layers that held `files` (as `LayeredSnapshot.files` lists them) and
 * gave `warnings`: what a cache keeps of a snapshot is enough, the directories follow from the
 * files.
 */
export function snapshotOfFiles(files: readonly FoundFile[], layers: number, warnings: readonly string[]): LayeredSnapshot {
  // As LayeredFiles keys its files: the path it gave the file, without its leading `/`.
  const byPath = new Map(files.map((file) => [file.path.slice(1), file]));
  return { files: byPath, layers, warnings: [...warnings] };
}

/**
 * Bumped whenever what a layer does to the state changes in a way the text of layerRules may not
 * show (how the shell maps tar entries, say).
 */
export const LAYER_RULES_VERSION = 5;

/**
 * The rules by which a layer changes the state (which files are package databases, how entries
 * and whiteouts apply, which files are too big), as text: a cache keys its states by it (with the
 * tool's version), so a state kept by a version whose rules differ is not found.
 */
export function layerRules(): string {
  return [LAYER_RULES_VERSION, databaseKind, R_DESCRIPTION, normalizeName, dirOf, baseOf, WHITEOUT, OPAQUE, LayeredFiles, MAX_DATABASE_BYTES, MAX_IMAGE_DATABASE_BYTES, reductionRules()].map(String).join("\n");
}

export class LayeredFiles {
  /** The files of the layers below the current one. */
  private readonly lower: Map<string, FoundFile>;
  /**
   * The files and directories (with files) of `lower` directly in each directory ("" the root;
   * a directory without files has no entry): a deletion visits what is under its directory only,
   * not every file (a layer of N whiteouts over N directories was N² steps).
   */
  private readonly children = new Map<string, Set<string>>();
  /** The current layer's files, applied over `lower` when the layer ends (its deletions apply to lower layers only). */
  private current = new Map<string, FoundFile>();
  private layer: number;
  /** The characters of the files of `lower` and `current`: what the image limit counts. */
  private held = 0;
  /** Whether a file was left out for the image limit (warned once). */
  private overLimit = false;
  readonly warnings: string[];

  /** Empty, or as `from` left it: the next layer is the one after `from`'s. */
  constructor(from?: LayeredSnapshot, private readonly limits: ReadLimits = LIMITS) {
    this.lower = new Map(from?.files);
    this.layer = from ? from.layers - 1 : -1;
    this.warnings = [...(from?.warnings ?? [])];
    for (const [path, file] of this.lower) {
      this.held += file.content.length;
      this.link(path);
    }
  }

  /** The state once the current layer has ended; later layers do not change it. */
  snapshot(): LayeredSnapshot {
    this.commit();
    return { files: new Map(this.lower), layers: this.layer + 1, warnings: [...this.warnings] };
  }

  /** Starts the next layer (base first). */
  startLayer(): void {
    this.commit();
    this.layer++;
  }

  /** Whether the shell should read `entry`'s contents and pass them to `add`. */
  wantsContent(entry: LayerEntry): boolean {
    if (entry.type !== "file") return false;
    const path = normalizeName(entry.name);
    if (!databaseKind(path)) return false;
    const size = entry.size ?? 0;
    if (size > this.limits.file) {
      this.warnings.push(`/${path}: ${size} bytes, more than ${this.limits.file}: not read`);
      return false;
    }
    return this.fits(path, size);
  }

  /**
   * Whether a file of `size` at `path` keeps the image's files within the image limit (what it
   * replaces is not counted against it); else a warning, the first time. Sizes of files not read
   * yet are bytes, of files held characters (as many or fewer).
   */
  private fits(path: string, size: number): boolean {
    const replaced = (this.current.get(path) ?? this.lower.get(path))?.content.length ?? 0;
    if (this.held - replaced + size <= this.limits.image) return true;
    if (!this.overLimit) this.warnings.push(`/${path}: ${size} bytes would take the package files read from this image past ${this.limits.image} bytes: not read (nor any later file that would)`);
    this.overLimit = true;
    return false;
  }

  /** One entry of the current layer, with its contents when `wantsContent` asked for them. */
  add(entry: LayerEntry, content?: Uint8Array): void {
    if (this.layer < 0) throw new Error("LayeredFiles.add before startLayer");
    const path = normalizeName(entry.name);
    if (!path) return;
    const base = baseOf(path);
    if (base === OPAQUE) {
      // The directory's contents in lower layers are gone; the directory itself stays.
      this.removeUnder(dirOf(path));
      return;
    }
    if (base.startsWith(WHITEOUT)) {
      const dir = dirOf(path);
      this.remove(`${dir ? `${dir}/` : ""}${base.slice(WHITEOUT.length)}`);
      return;
    }
    if (entry.type === "directory") {
      // A directory where a lower layer had a file replaces the file; what is under it stays.
      this.removeExactly(path);
      return;
    }
    // A file, link or anything else replaces whatever lower layers had at the path, a directory included.
    this.remove(path);
    const kind = databaseKind(path);
    if (!kind) return;
    let text: string | undefined;
    if (entry.type === "file" && content) text = Buffer.from(content).toString("utf8");
    else if (entry.type === "link" && entry.linkname !== undefined) {
      // A hard link (conda links its package cache into the environment) has its target's contents.
      const target = normalizeName(entry.linkname);
      const targetKind = databaseKind(target);
      text = (this.current.get(target) ?? this.lower.get(target))?.content;
      if (text === undefined && targetKind === undefined) {
        this.warnings.push(`/${path}: a hard link to /${target}, which was not read`);
      } else if (targetKind !== kind) {
        // What is kept of the target is what its own kind reads (reduceDatabaseFile), not this kind's.
        this.warnings.push(`/${path}: a hard link to /${target}, a package file of another kind, which was not read as this one`);
        text = undefined;
      }
      // Each link is a file of its own to the scan and the cache: it counts as one.
      if (text !== undefined && !this.fits(path, text.length)) text = undefined;
    }
    this.held -= this.current.get(path)?.content.length ?? 0;
    if (text !== undefined) {
      this.current.set(path, { path: `/${path}`, kind, content: text, layer: this.layer });
      this.held += text.length;
    } else this.current.delete(path);
  }

  /** The package database files of the final filesystem, by path. */
  files(): FoundFile[] {
    this.commit();
    return [...this.lower.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private commit(): void {
    for (const [path, file] of this.current) {
      const replaced = this.lower.get(path);
      if (replaced) this.held -= replaced.content.length;
      else this.link(path);
      this.lower.set(path, file);
    }
    this.current = new Map();
  }

  /** Removes the lower layers' file or directory at `path`. */
  private remove(path: string): void {
    this.removeExactly(path);
    this.removeUnder(path);
  }

  private removeExactly(path: string): void {
    const file = this.lower.get(path);
    if (!file) return;
    this.lower.delete(path);
    this.held -= file.content.length;
    this.unlink(path);
  }

  /** Removes everything lower layers hold under directory `dir` ("" is the root). */
  private removeUnder(dir: string): void {
    const files: string[] = [];
    for (const pending = [dir]; pending.length > 0;) {
      for (const entry of this.children.get(pending.pop()!) ?? []) {
        if (this.lower.has(entry)) files.push(entry);
        // (A path can be both: a lower layer's file under which a later layer put files.)
        if (this.children.has(entry)) pending.push(entry);
      }
    }
    for (const path of files) this.removeExactly(path);
  }

  /** `path` (a file of `lower`) and its directories as entries of their parents' (children). */
  private link(path: string): void {
    for (let entry = path; ;) {
      const parent = dirOf(entry);
      const siblings = this.children.get(parent);
      if (siblings?.has(entry)) return;
      if (siblings) siblings.add(entry);
      else this.children.set(parent, new Set([entry]));
      if (!parent) return;
      entry = parent;
    }
  }

  /**
   * `path` no longer a file of `lower`: out of its directory's entries, and each directory left
   * empty out of its parent's. An entry that is still a file of `lower`, or still has entries under
   * it (a path can be both), stays.
   */
  private unlink(path: string): void {
    for (let entry = path; ;) {
      if (this.lower.has(entry) || (this.children.get(entry)?.size ?? 0) > 0) return;
      const parent = dirOf(entry);
      const siblings = this.children.get(parent);
      siblings?.delete(entry);
      if (siblings?.size === 0) this.children.delete(parent);
      if (!parent) return;
      entry = parent;
    }
  }
}
