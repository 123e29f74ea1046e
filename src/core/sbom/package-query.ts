// `contains --package 'numpy<1.26'`: which packages of an image match a name and a version
// condition. Versions are compared by each ecosystem's rules where they differ: PEP 440 for
// Python (and conda, whose versions follow it but for a few forms), Debian's for everything else
// (dpkg's algorithm: epochs, `~` before anything, digits compared as numbers), which also orders
// apk's and R's versions as their tools do in the common cases.
//
// PEP 440 is @renovatebot/pep440 (Renovate's, well kept): pre-, post- and dev-releases, local
// versions and normalization (`1.26.0rc1 < 1.26.0`, `1.0 == 1.0.0`) are more than a few lines.
import pep440 from "@renovatebot/pep440";
import { InputError } from "../model.js";
import type { FoundPackage, PackageType } from "./packages.js";

export type VersionOperator = "==" | "!=" | "<" | "<=" | ">" | ">=";

export interface PackageQuery {
  /** As written: `numpy<1.26`. */
  text: string;
  /** Only packages of this type (`pypi/numpy`), else any. */
  type?: PackageType;
  name: string;
  /** `prefix`: `==1.26.*`, `!=1.26.*` (PEP 440's prefix match): the versions of release 1.26. */
  condition?: { operator: VersionOperator; version: string; prefix?: boolean };
}

/**
 * A version a query may name: a digit first (after an epoch, `2:`), then letters, digits and
 * `.+~_-` in segments none of which is empty; `.*` after it with `==` or `!=` only. Anything else
 * (`latest`, `1..2`, `$`) would be compared by dpkg's rules as if it were one, and match nothing
 * or everything, which in a security check reads as an answer.
 */
const QUERY_VERSION = /^(?:\d+:)?\d[A-Za-z0-9+~_-]*(?:\.[A-Za-z0-9+~_-]+)*$/;

const TYPES: readonly PackageType[] = ["deb", "apk", "conda", "pypi", "cran"];

/** `NAME`, `NAME<1.26` (`==`, `!=`, `<`, `<=`, `>`, `>=`), optionally `TYPE/NAME…` (`pypi/numpy<1.26`). */
export function parsePackageQuery(text: string): PackageQuery {
  const m = /^\s*(?:([a-z]+)\/)?([A-Za-z0-9][A-Za-z0-9._+-]*)\s*(?:(==|!=|<=|>=|<|>|=)\s*([^\s<>=!]+))?\s*$/.exec(text);
  if (!m) throw new InputError(`--package "${text}": expected NAME, NAME<VERSION (==, !=, <, <=, >, >=) or TYPE/NAME… (TYPE: ${TYPES.join(", ")})`);
  const [, type, name, written, given] = m;
  if (type !== undefined && !TYPES.includes(type as PackageType)) throw new InputError(`--package "${text}": unknown package type "${type}" (${TYPES.join(", ")})`);
  const operator = (written === "=" ? "==" : written) as VersionOperator | undefined;
  const prefix = given?.endsWith(".*") ?? false;
  const version = prefix ? given!.slice(0, -2) : given;
  if (operator && prefix && operator !== "==" && operator !== "!=") throw new InputError(`--package "${text}": a version ending in .* goes with == or != only (the versions of a release: ==1.26.*)`);
  if (version !== undefined && !QUERY_VERSION.test(version)) throw new InputError(`--package "${text}": "${given}" is no version (a version starts with a digit, after an epoch such as 2:, and has no empty part: 1.26, 2:1.2-3, 1.26.*)`);
  return {
    text: text.trim(), name, ...(type ? { type: type as PackageType } : {}),
    ...(operator ? { condition: { operator, version: version!, ...(prefix ? { prefix } : {}) } } : {}),
  };
}

/** Whether `version` is of release `prefix` (`1.26.*`): PEP 440's rule for Python and conda, else the same by segments (`1.26`, `1.26.4`, `1.26-1`; not `1.260`). */
function inRelease(type: PackageType, version: string, prefix: string): boolean {
  // Pre-releases of the release count (1.26.0rc1 is of 1.26): a security check asks for them too.
  if ((type === "pypi" || type === "conda") && pep440.valid(version) && pep440.valid(`${prefix}.0`)) return pep440.satisfies(version, `==${prefix}.*`, { prereleases: true });
  // No epoch is epoch 0, in the version as in the query (dpkg's rule).
  const [bare, wanted] = [version, prefix].map((v) => v.replace(/^0:/, ""));
  // Of the release when what follows is no further digit of its last part: 1.1.1w and 9.2p1 are
  // of 1.1.1 and 9.2, 2024a of 2024; 1.260 is not of 1.26.
  return bare.startsWith(wanted) && !/^\d/.test(bare.slice(wanted.length));
}

/** A name as its ecosystem compares names: PyPI's normalized (PEP 503), every other case-insensitive. */
function comparableName(type: PackageType | undefined, name: string): string {
  const lower = name.toLowerCase();
  return type === "pypi" ? lower.replace(/[-_.]+/g, "-") : lower;
}

export function matchesQuery(p: FoundPackage, q: PackageQuery): boolean {
  if (q.type && p.type !== q.type) return false;
  if (comparableName(p.type, p.name) !== comparableName(p.type, q.name)) return false;
  if (!q.condition) return true;
  if (q.condition.prefix) return inRelease(p.type, p.version, q.condition.version) === (q.condition.operator === "==");
  const c = compareVersions(p.type, withoutLocalLabel(p.type, p.version, q.condition.version), q.condition.version);
  switch (q.condition.operator) {
    case "==": return c === 0;
    case "!=": return c !== 0;
    case "<": return c < 0;
    case "<=": return c <= 0;
    case ">": return c > 0;
    case ">=": return c >= 0;
  }
}

/**
 * PEP 440: a local version label (`2.0.1+cu118`, torch's CUDA builds) is ignored when matching a
 * specifier that has none, so `torch==2.0.1` and `<=2.0.1` hold for it and `>2.0.1` does not.
 * (An ordering alone puts it after 2.0.1.)
 */
function withoutLocalLabel(type: PackageType, version: string, wanted: string): string {
  if ((type !== "pypi" && type !== "conda") || wanted.includes("+")) return version;
  const plus = version.indexOf("+");
  const bare = plus < 0 ? version : version.slice(0, plus);
  return plus > 0 && pep440.valid(version) && pep440.valid(bare) ? bare : version;
}

/** Negative, zero or positive as `a` is older than, the same as or newer than `b`, by `type`'s rules. */
export function compareVersions(type: PackageType, a: string, b: string): number {
  if ((type === "pypi" || type === "conda") && pep440.valid(a) && pep440.valid(b)) return pep440.compare(a, b);
  if (type === "deb") return compareDebian(a, b);
  if (type === "apk") {
    const [x, y] = [apkVersion(a), apkVersion(b)];
    if (x && y) return compareApk(x, y);
  }
  return verrevcmp(a, b);
}

/** apk's pre-release suffixes sort before the release, its others after (apk-tools' version.c). */
const APK_SUFFIXES = ["alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p"];

interface ApkVersion { numbers: string[]; letter: string; suffixes: [number, number][]; revision: number }

/** `1.2.3a_rc1_p2-r4`: numbers, a letter, suffixes (each with a number), a revision; undefined if not of that form. */
function apkVersion(v: string): ApkVersion | undefined {
  const m = /^(\d+(?:\.\d+)*)([a-z]?)((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)(?:-r(\d+))?$/.exec(v);
  if (!m) return undefined;
  const suffixes = [...m[3].matchAll(/_([a-z]+)(\d*)/g)].map(([, name, n]) => [APK_SUFFIXES.indexOf(name), Number(n || 0)] as [number, number]);
  return { numbers: m[1].split("."), letter: m[2], suffixes, revision: Number(m[4] ?? 0) };
}

function compareApk(a: ApkVersion, b: ApkVersion): number {
  for (let i = 0; i < Math.max(a.numbers.length, b.numbers.length); i++) {
    const [x, y] = [a.numbers[i], b.numbers[i]];
    // A version with more parts is the newer one (1.2.3 after 1.2).
    if (x === undefined || y === undefined) return x === undefined ? -1 : 1;
    // After the first part, one with a leading zero compares as a decimal fraction (1.02 before 1.1).
    const fraction = i > 0 && (x.startsWith("0") || y.startsWith("0"));
    const c = fraction ? (x < y ? -1 : x > y ? 1 : 0) : Number(x) - Number(y);
    if (c !== 0) return c;
  }
  if (a.letter !== b.letter) return a.letter < b.letter ? -1 : 1;
  const none: [number, number] = [APK_SUFFIXES.indexOf(""), 0];
  for (let i = 0; i < Math.max(a.suffixes.length, b.suffixes.length); i++) {
    const [x, y] = [a.suffixes[i] ?? none, b.suffixes[i] ?? none];
    if (x[0] !== y[0]) return x[0] - y[0];
    if (x[1] !== y[1]) return x[1] - y[1];
  }
  return a.revision - b.revision;
}

/** Debian policy 5.6.12: epoch numerically, then upstream version, then revision (after the last `-`). */
function compareDebian(a: string, b: string): number {
  const split = (v: string) => {
    const colon = v.indexOf(":");
    const epoch = colon > 0 && /^\d+$/.test(v.slice(0, colon)) ? Number(v.slice(0, colon)) : 0;
    const rest = colon > 0 ? v.slice(colon + 1) : v;
    const dash = rest.lastIndexOf("-");
    return { epoch, upstream: dash >= 0 ? rest.slice(0, dash) : rest, revision: dash >= 0 ? rest.slice(dash + 1) : "" };
  };
  const [x, y] = [split(a), split(b)];
  return x.epoch - y.epoch || verrevcmp(x.upstream, y.upstream) || verrevcmp(x.revision, y.revision);
}

/** dpkg's verrevcmp: non-digit runs by character (`~` first, letters before other characters), digit runs as numbers. */
function verrevcmp(a: string, b: string): number {
  const order = (c: string | undefined) => {
    if (c === undefined || /\d/.test(c)) return 0;
    if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
    if (c === "~") return -1;
    return c.charCodeAt(0) + 256;
  };
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !/\d/.test(a[i])) || (j < b.length && !/\d/.test(b[j]))) {
      const ac = order(a[i]);
      const bc = order(b[j]);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === "0") i++;
    while (b[j] === "0") j++;
    while (i < a.length && /\d/.test(a[i]) && j < b.length && /\d/.test(b[j])) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /\d/.test(a[i])) return 1;
    if (j < b.length && /\d/.test(b[j])) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}
