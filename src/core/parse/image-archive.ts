// The rules for an image tar file (docker-archive or OCI layout) before anything trusts it: the
// names its entries get when the engine extracts them, and the image metadata files the engine
// loads from (`manifest.json`, the legacy `repositories`, `index.json`). The engine cleans every
// name as it extracts (`x/../manifest.json` becomes `manifest.json`, a later entry replaces an
// earlier one), so the check must see the archive exactly as the engine will, or refuse it.
import { InputError } from "../model.js";
import type { Descriptor } from "../registry/image-index.js";
import { isSha256Digest } from "../digest.js";

export type ArchiveEntryType = "file" | "directory" | "symlink" | "link" | string;

export interface RawArchiveEntry {
  /** As stored in the tar header. */
  name: string;
  type: ArchiveEntryType;
  /** Target of a symbolic link (relative to the link's directory) or hard link (archive-relative). */
  linkname?: string;
}

/**
 * The name an entry is extracted as: `./a//b/` -> `a/b`; "" for the archive's root directory.
 * Absolute names and names with a `..` component are refused: the engine would fold them onto
 * other entries (`x/../manifest.json` is `manifest.json` to it).
 */
export function normalizeEntryName(name: string): string {
  if (name.startsWith("/")) throw new InputError(`entry ${JSON.stringify(name)} has an absolute name`);
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new InputError(`entry ${JSON.stringify(name)} has a ".." in its name`);
  return parts.join("/");
}

/**
 * Every file the archive holds by its extracted name, mapped to the name of the regular file
 * entry whose content it is (itself, or what a link points at: `docker save` links a layer that
 * two images share). Refused: two entries with one name (after normalising; directories may
 * repeat), links that leave the archive or point at no file, and entries of any other type.
 */
export function resolveArchiveEntries(entries: RawArchiveEntry[]): Map<string, string> {
  const types = new Map<string, RawArchiveEntry>();
  for (const e of entries) {
    const name = normalizeEntryName(e.name);
    if (name === "" && e.type === "directory") continue;
    const earlier = types.get(name);
    if (earlier && !(earlier.type === "directory" && e.type === "directory")) {
      throw new InputError(`entry ${JSON.stringify(e.name)} has the same name as an earlier one (${JSON.stringify(earlier.name)}); the engine would load only the last`);
    }
    if (!["file", "directory", "symlink", "link"].includes(e.type)) throw new InputError(`entry ${JSON.stringify(e.name)} is a ${e.type}, not a file or directory`);
    types.set(name, e);
  }
  const files = new Map<string, string>();
  const resolve = (name: string, seen: Set<string>): string => {
    const e = types.get(name);
    if (!e) throw new InputError(`a link points at ${JSON.stringify(name)}, which is not in the archive`);
    if (e.type === "file") return name;
    if (e.type === "directory") throw new InputError(`a link points at the directory ${JSON.stringify(name)}`);
    if (seen.has(name)) throw new InputError(`the link ${JSON.stringify(e.name)} is part of a loop`);
    seen.add(name);
    const target = e.linkname ?? "";
    if (target.startsWith("/")) throw new InputError(`the link ${JSON.stringify(e.name)} points outside the archive (${target})`);
    // A symbolic link is relative to its directory, a hard link to the archive.
    const base = e.type === "symlink" ? name.split("/").slice(0, -1) : [];
    const parts: string[] = [...base];
    for (const p of target.split("/")) {
      if (p === "" || p === ".") continue;
      if (p === "..") {
        if (parts.length === 0) throw new InputError(`the link ${JSON.stringify(e.name)} points outside the archive (${target})`);
        parts.pop();
      } else parts.push(p);
    }
    return resolve(parts.join("/"), seen);
  };
  for (const [name, e] of types) if (e.type !== "directory") files.set(name, resolve(name, new Set()));
  return files;
}

/** One image of a docker-archive's `manifest.json`, its paths normalised. */
export interface DockerArchiveEntry {
  config: string;
  repoTags: string[];
  layers: string[];
}

/** `manifest.json` as the engine reads it: every entry, each with a config and layers. */
export function dockerArchiveEntries(json: unknown): DockerArchiveEntry[] {
  if (!Array.isArray(json) || json.length === 0) throw new InputError("manifest.json names no image (a list of {Config, RepoTags, Layers})");
  return json.map((raw: unknown, i) => {
    const m = (raw ?? {}) as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    const where = `manifest.json entry ${i + 1}`;
    if (typeof m.Config !== "string" || !Array.isArray(m.Layers) || !m.Layers.every((l) => typeof l === "string")) {
      throw new InputError(`${where} names no image (Config, Layers)`);
    }
    if (m.RepoTags !== undefined && m.RepoTags !== null && !(Array.isArray(m.RepoTags) && m.RepoTags.every((t) => typeof t === "string"))) {
      throw new InputError(`${where}: RepoTags is not a list of names`);
    }
    const path = (p: string) => {
      try {
        return normalizeEntryName(p);
      } catch (e) {
        throw new InputError(`${where}: ${(e as Error).message.replace(/^entry/, "path")}`);
      }
    };
    return { config: path(m.Config), repoTags: (m.RepoTags as string[] | null | undefined) ?? [], layers: (m.Layers as string[]).map(path) };
  });
}

/**
 * The names the legacy `repositories` file gives (`{"busybox": {"stable": "<layer id>"}}`); each
 * must be one manifest.json gives too, or an engine reading that file would tag something unchecked.
 */
export function checkRepositoriesFile(json: unknown, repoTags: readonly string[]): void {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new InputError("repositories is not a JSON object");
  for (const [repo, tags] of Object.entries(json as Record<string, unknown>)) {
    if (typeof tags !== "object" || tags === null) throw new InputError(`repositories: ${repo} has no tags`);
    for (const tag of Object.keys(tags)) {
      if (!repoTags.includes(`${repo}:${tag}`)) throw new InputError(`repositories names ${repo}:${tag}, which manifest.json does not: the engine may tag an image that was not checked`);
    }
  }
}

/**
 * One image per file: an archive the engine would load several images from is refused, so the
 * image checked (and shown) is the image loaded. `counts`: images per metadata file.
 */
export function requireOneImage(counts: { file: string; images: number }[]): void {
  for (const { file, images } of counts) {
    if (images > 1) throw new InputError(`${file} names ${images} images; an image file must hold one (pass one file per image)`);
  }
}

/**
 * A descriptor of an OCI layout (index.json's, or an index's entry) as the file has it, unchecked:
 * `mediaType` and `size` may be missing, `urls` (a blob outside the file) present.
 */
export type LayoutDescriptor = Omit<Descriptor, "mediaType" | "size"> & Partial<Pick<Descriptor, "mediaType" | "size">> & { urls?: unknown };

/** A blob of the archive as read: the digest and size of its content, and its JSON (metadata-sized blobs). */
export interface LayoutBlob {
  digest: string;
  size: number;
  json: () => unknown;
}

/** An image manifest reached from index.json: its descriptor (platform from the index naming it) and JSON. */
export interface LayoutManifest {
  descriptor: LayoutDescriptor;
  manifest: { mediaType?: string; config?: { digest: string; size: number }; layers?: { digest: string; size: number; mediaType: string }[] };
  /** The index that named it (undefined: index.json itself). */
  index?: LayoutDescriptor;
}

/** Nesting deeper than this is no image anyone wrote (buildx and skopeo write index.json -> index -> manifests). */
const MAX_INDEX_DEPTH = 4;

/**
 * Every image manifest an OCI layout names, from index.json's `roots` down through nested indexes,
 * checked before anything trusts it: a descriptor must name a blob of the archive (a sha256 digest:
 * nothing else is a path under blobs/sha256, and no `urls` elsewhere), the blob's content must have
 * its digest and size, and an index may not name itself or an index above it (a loop) or nest
 * deeper than MAX_INDEX_DEPTH. A manifest an index names that the archive does not hold is left
 * out (nothing the engine could load); one index.json names must be there. `blob`: the archive's
 * blob of a digest, if any.
 */
export function layoutManifests(roots: readonly LayoutDescriptor[], blob: (digest: string) => LayoutBlob | undefined): LayoutManifest[] {
  const found: LayoutManifest[] = [];
  const visit = (d: LayoutDescriptor, parents: LayoutDescriptor[]) => {
    const what = `${parents.length ? "manifest" : "index.json's manifest"} ${JSON.stringify(d.digest)}`;
    if (!isSha256Digest(d.digest)) throw new InputError(`${what} points outside the archive's blobs (a sha256 digest names a blob)`);
    if (d.urls !== undefined) throw new InputError(`${what} points outside the archive (urls)`);
    if (parents.some((p) => p.digest === d.digest)) throw new InputError(`${what} is part of a loop of indexes`);
    const b = blob(d.digest);
    if (!b) {
      if (parents.length === 0) throw new InputError(`${what} is missing from the archive`);
      return;
    }
    if (b.digest !== d.digest) throw new InputError(`${what} is corrupted: its content has digest ${b.digest}`);
    if (d.size !== undefined && typeof d.size !== "number") throw new InputError(`${what}: its descriptor's size ${JSON.stringify(d.size)} is not a number`);
    if (d.size !== undefined && b.size !== d.size) throw new InputError(`${what} has ${b.size} bytes, its descriptor says ${d.size}`);
    const json = b.json() as { manifests?: unknown; mediaType?: string };
    if (json.manifests === undefined) {
      found.push({ descriptor: d, manifest: json as LayoutManifest["manifest"], index: parents[parents.length - 1] });
      return;
    }
    if (!Array.isArray(json.manifests)) throw new InputError(`index ${d.digest}: "manifests" is not a list`);
    if (parents.length + 1 > MAX_INDEX_DEPTH) throw new InputError(`index ${d.digest} is nested ${parents.length + 1} deep (at most ${MAX_INDEX_DEPTH})`);
    for (const child of json.manifests as LayoutDescriptor[]) visit(child ?? { digest: "" }, [...parents, d]);
  };
  for (const root of roots) visit(root, []);
  return found;
}
