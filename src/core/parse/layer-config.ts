// Turns the raw files of science/ and compat/ directories into ScienceLayer / CompatLayer data,
// checking each field (rule 1). Pure: the I/O shell hands in the file texts.
import { parseJsonWithComments, type JsonValue } from "./json-with-comments.js";
import { checkPlatforms, ENGINE_PLATFORMS, platformTagSuffix } from "./platforms.js";
import { InputError, type CompatLayer, type GitInfo, type RepoSnapshot, type ScienceLayer } from "../model.js";

/** The file that makes a directory under science/ or compat/ a layer. */
export const LAYER_CONFIG_FILE = "sciserver-image.json";

/** The files of one layer directory as read from disk; a missing file is `undefined`. */
export interface RawLayerFiles {
  kind: "science" | "compat";
  dir: string;
  config: string;
  dockerfile?: string;
}

// A docker repository path component (lowercase: registries refuse capitals), which is what
// image and target become in `{repo}/sci/{target}` and `{repo}/rel/{image}`.
// Docker's separators between alphanumerics: "_", "__" or any number of "-" (no ".": tags).
const NAME = /^[a-z0-9]+(?:(?:__?|-+)[a-z0-9]+)*$/;
const VERSION = /^\d+(?:\.\d+)*$/;

export function checkName(value: unknown, field: string, file: string): string {
  if (typeof value !== "string") throw new InputError(`"${field}" must be a string`, file);
  if (!NAME.test(value)) {
    const hint = /[A-Z]/.test(value) ? " (docker image names must be lowercase)" : "";
    throw new InputError(
      `invalid ${field} "${value}": use lowercase letters, digits, "-" and "_", starting and ending with a letter or digit${hint}`,
      file,
    );
  }
  return value;
}

function asObject(value: JsonValue, file: string): Record<string, JsonValue> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InputError("must contain a JSON object", file);
  }
  return value;
}

const SCIENCE_FIELDS = new Set(["image", "version", "target", "compat", "platforms"]);
const COMPAT_FIELDS = new Set(["includes"]);

function rejectUnknownFields(obj: Record<string, JsonValue>, known: Set<string>, file: string): void {
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) throw new InputError(`unknown field "${key}" (expected ${[...known].join(", ")})`, file);
  }
}

/**
 * A layer directory's name goes into the generated compat Dockerfile's first line (and every
 * message): one with a line end would add an instruction of its own there. Refused, as a name.
 */
function checkDirName(path: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(path)) {
    throw new InputError("a layer directory whose name has a control character or a line end: rename it", path);
  }
}

export function parseScienceLayer(raw: RawLayerFiles): ScienceLayer {
  const path = `science/${raw.dir}`;
  checkDirName(path);
  const file = `${path}/${LAYER_CONFIG_FILE}`;
  const { value, rawNumbers } = parseJsonWithComments(raw.config, file);
  const obj = asObject(value, file);
  rejectUnknownFields(obj, SCIENCE_FIELDS, file);
  if (obj.image === undefined) throw new InputError(`missing required field "image"`, file);
  const image = checkName(obj.image, "image", file);

  const version = scienceVersion(obj, rawNumbers, file);
  const target = obj.target === undefined ? raw.dir : checkName(obj.target, "target", file);
  if (obj.target === undefined && !NAME.test(raw.dir)) {
    throw new InputError(`directory name "${raw.dir}" is not a valid target; set "target" explicitly`, file);
  }
  let compat: string | undefined;
  if (obj.compat !== undefined) {
    if (typeof obj.compat !== "string" || !isPlainName(obj.compat)) {
      throw new InputError(`invalid compat ${JSON.stringify(obj.compat)}: name a directory under compat/`, file);
    }
    compat = obj.compat;
  }
  const platforms = obj.platforms === undefined ? undefined : checkPlatforms(obj.platforms, file);
  if (raw.dockerfile === undefined) throw new InputError("missing Dockerfile", `${path}/Dockerfile`);
  return { dir: raw.dir, path, image, version, target, compat, dockerfile: raw.dockerfile, ...(platforms ? { platforms } : {}) };
}

/** A science config's `version` as written (`2.10`, not the number 2.1), "1.0" when not given; an InputError naming `file` when it is no version. */
export function scienceVersion(obj: Record<string, JsonValue>, rawNumbers: Record<string, string>, file: string): string {
  if (obj.version === undefined) return "1.0";
  const v = typeof obj.version === "number" ? rawNumbers.version ?? String(obj.version) : obj.version;
  if (typeof v !== "string" || !VERSION.test(v)) {
    // as written: 2.10e0 is shown as such, not as the number it parses to
    const shown = typeof obj.version === "number" ? v : JSON.stringify(obj.version);
    throw new InputError(`invalid version ${shown}: use dotted digits such as "2.4"`, file);
  }
  return v;
}

export function parseCompatLayer(raw: RawLayerFiles): CompatLayer {
  const path = `compat/${raw.dir}`;
  checkDirName(path);
  const file = `${path}/${LAYER_CONFIG_FILE}`;
  const obj = asObject(parseJsonWithComments(raw.config, file).value, file);
  rejectUnknownFields(obj, COMPAT_FIELDS, file);
  const includes = obj.includes ?? [];
  if (!Array.isArray(includes)) throw new InputError(`"includes" must be a list of compat layer names`, file);
  for (const inc of includes) {
    if (typeof inc !== "string" || !isPlainName(inc)) {
      throw new InputError(`invalid include ${JSON.stringify(inc)}: includes are plain compat directory names`, file);
    }
  }
  if (raw.dockerfile === undefined) throw new InputError("missing Dockerfile", `${path}/Dockerfile`);
  return { dir: raw.dir, path, includes: includes as string[], dockerfile: raw.dockerfile };
}

/** A directory name with no path in it: not "", ".", "..", nor anything with a slash. */
function isPlainName(s: string): boolean {
  return s.length > 0 && s !== "." && s !== ".." && !/[\\/]/.test(s) && !/^\s|\s$/.test(s);
}

export function readLayers(raw: RawLayerFiles[]): RepoSnapshot {
  const science: ScienceLayer[] = [];
  const compat: CompatLayer[] = [];
  for (const r of raw) {
    if (r.kind === "science") science.push(parseScienceLayer(r));
    else compat.push(parseCompatLayer(r));
  }
  const byDir = (a: { dir: string }, b: { dir: string }) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0);
  return { science: science.sort(byDir), compat: compat.sort(byDir) };
}

// Docker's limits on a reference (distribution/reference): a tag of at most 128 characters, a name
// (registry and path) of at most 255.
const MAX_TAG = 128;
const MAX_NAME = 255;

/**
 * The names and tags a layer's builds get (`{repo}/sci/{target}`, `{repo}/rel/{image}`, tagged
 * `{version}-{n}-{h}`) are within docker's limits, which only the whole name shows: checked when
 * planning, rather than refused by the engine mid-run.
 */
export function checkImageNames(snapshot: RepoSnapshot, repo: string, git: GitInfo, platforms?: readonly string[]): void {
  // A platform's images get its suffix (`-linux-amd64`): a layer's platforms (--platform, or its
  // own), and with attestations every pushed image, the engine's platform: any Docker runs on.
  const longest = (list: readonly string[]) => list.map((p) => `-${platformTagSuffix(p)}`).reduce((a, b) => (b.length > a.length ? b : a));
  for (const l of snapshot.science) {
    const file = `${l.path}/${LAYER_CONFIG_FILE}`;
    const suffix = longest([...(platforms ?? l.platforms ?? []), ...ENGINE_PLATFORMS]);
    const tag = `${l.version}-${git.buildNumber}-${git.shortCommit}`;
    if (tag.length + suffix.length > MAX_TAG) {
      throw new InputError(`version ${l.version} makes the tag "${tag}${suffix}" ${tag.length + suffix.length} characters long (with the platform suffix a push adds), over docker's limit of ${MAX_TAG}`, file);
    }
    for (const [field, name] of [["target", `${repo}/sci/${l.target}`], ["image", `${repo}/rel/${l.image}`]]) {
      if (name.length > MAX_NAME) {
        throw new InputError(`${field} makes the image name "${name}" ${name.length} characters long, over docker's limit of ${MAX_NAME} (with repo ${repo})`, file);
      }
    }
  }
}
