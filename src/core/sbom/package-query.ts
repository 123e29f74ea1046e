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
  condition?: { operator: VersionOperator; version: string };
}

const TYPES: readonly PackageType[] = ["deb", "apk", "conda", "pypi", "cran"];

/** `NAME`, `NAME<1.26` (`==`, `!=`, `<`, `<=`, `>`, `>=`), optionally `TYPE/NAME…` (`pypi/numpy<1.26`). */
export function parsePackageQuery(text: string): PackageQuery {
  const m = /^\s*(?:([a-z]+)\/)?([A-Za-z0-9][A-Za-z0-9._+-]*)\s*(?:(==|!=|<=|>=|<|>|=)\s*([^\s<>=!]+))?\s*$/.exec(text);
  if (!m) throw new InputError(`--package "${text}": expected NAME, NAME<VERSION (==, !=, <, <=, >, >=) or TYPE/NAME… (TYPE: ${TYPES.join(", ")})`);
  const [, type, name, operator, version] = m;
  if (type !== undefined && !TYPES.includes(type as PackageType)) throw new InputError(`--package "${text}": unknown package type "${type}" (${TYPES.join(", ")})`);
  return {
    text: text.trim(), name, ...(type ? { type: type as PackageType } : {}),
    ...(operator ? { condition: { operator: (operator === "=" ? "==" : operator) as VersionOperator, version } } : {}),
  };
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
  const c = compareVersions(p.type, p.version, q.condition.version);
  switch (q.condition.operator) {
    case "==": return c === 0;
    case "!=": return c !== 0;
    case "<": return c < 0;
    case "<=": return c <= 0;
    case ">": return c > 0;
    case ">=": return c >= 0;
  }
}

/** Negative, zero or positive as `a` is older than, the same as or newer than `b`, by `type`'s rules. */
export function compareVersions(type: PackageType, a: string, b: string): number {
  if ((type === "pypi" || type === "conda") && pep440.valid(a) && pep440.valid(b)) return pep440.compare(a, b);
  if (type === "deb") return compareDebian(a, b);
  return verrevcmp(a, b);
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
