// The packages an image holds, read from its package databases (LayeredFiles): Debian/Ubuntu
// (dpkg status), Alpine (apk installed), conda (conda-meta/*.json under any prefix), Python
// distributions (METADATA, PKG-INFO) and R packages (DESCRIPTION under an R library).
//
// Package URLs are made by packageurl-js, the purl project's own JavaScript implementation: each
// type has its own rules for names (PyPI's are normalized: `Foo_Bar` is `foo-bar`) and every
// component its own percent-encoding, which a hand-written formatter would get subtly wrong.
import { PackageURL } from "packageurl-js";
import type { DatabaseKind, FoundFile } from "./layered-files.js";

export type PackageType = "deb" | "apk" | "conda" | "pypi" | "cran";

export interface FoundPackage {
  type: PackageType;
  name: string;
  version: string;
  purl: string;
  /** Where it is recorded (a package found in several places, the same conda package in two environments, once). */
  locations: string[];
  /** The package's license as its database states it (not necessarily an SPDX expression). */
  license?: string;
}

export interface PackageScan {
  packages: FoundPackage[];
  /** Records that could not be read (no name or version, malformed JSON): one line each. */
  warnings: string[];
}

/**
 * Paragraphs of a Debian control-style file (dpkg status, R DESCRIPTION): field -> value,
 * continuation lines joined. `keep`: only these fields (what a scan reads): a status file's
 * descriptions are most of its text, and joining them all took GBs of memory for a 60 MB file.
 * Line by line with indexOf, not a split of the whole text into an array of lines.
 */
export function parseControlParagraphs(text: string, keep?: ReadonlySet<string>): Record<string, string>[] {
  const paragraphs: Record<string, string>[] = [];
  let fields: Record<string, string> = {};
  let last: string | undefined;
  let any = false;
  const end = () => {
    if (any) paragraphs.push(fields);
    fields = {};
    last = undefined;
    any = false;
  };
  for (let at = 0; at <= text.length;) {
    let next = text.indexOf("\n", at);
    if (next < 0) next = text.length;
    const line = text.slice(at, next > at && text[next - 1] === "\r" ? next - 1 : next);
    at = next + 1;
    if (line.trim() === "") {
      end();
      continue;
    }
    if (line[0] === " " || line[0] === "\t") {
      if (last !== undefined) fields[last] += `\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    any = true;
    const name = line.slice(0, colon).trim();
    last = keep === undefined || keep.has(name) ? name : undefined;
    if (last !== undefined) fields[last] = line.slice(colon + 1).trim();
  }
  end();
  return paragraphs;
}

/** The fields each kind of control file is read for. */
const DPKG_FIELDS = new Set(["Package", "Status", "Version", "Architecture"]);
const R_FIELDS = new Set(["Package", "Version", "License"]);
const METADATA_FIELDS = new Set(["Name", "Version", "License", "License-Expression"]);

/** The header fields of a Python core-metadata file (METADATA, PKG-INFO): up to the first blank line, the body being the description. */
function parseMetadataHeaders(text: string): Record<string, string> {
  // Cut where the normalized text's headers end (the index is the normalized text's: CRLF files' headers lost a character per line).
  const normalized = text.replace(/\r\n/g, "\n");
  const headerEnd = normalized.search(/\n\n/);
  const [headers] = parseControlParagraphs(headerEnd >= 0 ? normalized.slice(0, headerEnd) : normalized, METADATA_FIELDS);
  return headers ?? {};
}

/** The distribution (`ID`, `VERSION_ID`) of an os-release file. */
export function parseOsRelease(text: string): { id?: string; versionId?: string } {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) values[m[1]] = m[2].replace(/^(["'])(.*)\1$/, "$2");
  }
  return { id: values.ID || undefined, versionId: values.VERSION_ID || undefined };
}

/** conda's platform folders (`noarch`, `linux-64`, `osx-arm64`, `win-64`, …). */
const CONDA_SUBDIR = /^(?:noarch|(?:linux|osx|win|emscripten|wasi|zos)-[a-z0-9_]+)$/;

/** The channel's name of a conda-meta record's `channel` (`https://conda.anaconda.org/conda-forge/linux-64` -> `conda-forge`). */
function condaChannel(channel: unknown, subdir: unknown): string | undefined {
  if (typeof channel !== "string" || !channel) return undefined;
  const parts = channel.replace(/\/+$/, "").split("/");
  // The URL ends in the record's subdir; a record without one still names a conda platform folder there.
  const last = parts[parts.length - 1];
  if (parts.length > 1 && (typeof subdir === "string" ? last === subdir : CONDA_SUBDIR.test(last))) parts.pop();
  return parts[parts.length - 1] || undefined;
}

type Record_ = Omit<FoundPackage, "locations" | "purl"> & { qualifiers?: Record<string, string>; namespace?: string };

function recordsOf(file: FoundFile, distro: { id?: string; versionId?: string }, warn: (message: string) => void): Record_[] {
  const distroQualifier: Record<string, string> = distro.id ? { distro: distro.versionId ? `${distro.id}-${distro.versionId}` : distro.id } : {};
  switch (file.kind) {
    case "dpkg":
      return parseControlParagraphs(file.content, DPKG_FIELDS).flatMap((p): Record_[] => {
        // Only installed packages ("install ok installed"): a removed one keeps a paragraph ("deinstall ok config-files").
        if (p.Status !== undefined && p.Status.split(" ")[2] !== "installed") return [];
        if (!p.Package || !p.Version) {
          warn(`${file.path}: a package without ${p.Package ? "Version" : "Package"}`);
          return [];
        }
        return [{
          type: "deb", name: p.Package, version: p.Version, namespace: distro.id ?? "debian",
          qualifiers: { ...(p.Architecture ? { arch: p.Architecture } : {}), ...distroQualifier },
        }];
      });
    case "apk":
      return apkBlocks(file.content).flatMap((block): Record_[] => {
        const fields = Object.fromEntries([...block].map(([letter, value]) => [letter, value.trim()]));
        if (!fields.P || !fields.V) {
          warn(`${file.path}: a package without ${fields.P ? "V: (version)" : "P: (name)"}`);
          return [];
        }
        return [{
          type: "apk", name: fields.P, version: fields.V, namespace: distro.id ?? "alpine", license: fields.L,
          qualifiers: { ...(fields.A ? { arch: fields.A } : {}), ...distroQualifier },
        }];
      });
    case "conda": {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(file.content);
        if (typeof record !== "object" || record === null || Array.isArray(record)) throw new Error();
      } catch {
        warn(`${file.path}: not a JSON object`);
        return [];
      }
      if (typeof record.name !== "string" || typeof record.version !== "string" || !record.name.trim() || !record.version.trim()) {
        warn(`${file.path}: no name or version`);
        return [];
      }
      const channel = condaChannel(record.channel, record.subdir);
      return [{
        type: "conda", name: record.name, version: record.version, license: typeof record.license === "string" ? record.license : undefined,
        qualifiers: {
          ...(typeof record.build === "string" ? { build: record.build } : {}),
          ...(channel ? { channel } : {}),
          ...(typeof record.subdir === "string" ? { subdir: record.subdir } : {}),
        },
      }];
    }
    case "python": {
      const h = parseMetadataHeaders(file.content);
      if (!h.Name || !h.Version) {
        warn(`${file.path}: no ${h.Name ? "Version" : "Name"}`);
        return [];
      }
      return [{ type: "pypi", name: h.Name, version: h.Version, license: h["License-Expression"] ?? h.License }];
    }
    case "r": {
      const [d] = parseControlParagraphs(file.content, R_FIELDS);
      if (!d?.Package || !d.Version) {
        warn(`${file.path}: no ${d?.Package ? "Version" : "Package"}`);
        return [];
      }
      return [{ type: "cran", name: d.Package, version: d.Version, license: d.License }];
    }
    case "os-release":
      return [];
  }
}

/** Package types in the order lists show them: the system's packages first. */
export const PACKAGE_TYPES: readonly PackageType[] = ["deb", "apk", "conda", "pypi", "cran"];

/** Orders by type (PACKAGE_TYPES), then name regardless of case. */
export function compareTypeAndName(a: { type: PackageType; name: string }, b: { type: PackageType; name: string }): number {
  return PACKAGE_TYPES.indexOf(a.type) - PACKAGE_TYPES.indexOf(b.type) || compareText(a.name.toLowerCase(), b.name.toLowerCase()) || compareText(a.name, b.name);
}

/** The packages recorded in `files` (LayeredFiles.files()), sorted by type, name and version. */
export function scanPackages(files: readonly FoundFile[]): PackageScan {
  const warnings: string[] = [];
  const osRelease = files.find((f) => f.path === "/etc/os-release") ?? files.find((f) => f.kind === "os-release");
  const distro = osRelease ? parseOsRelease(osRelease.content) : {};
  const byPurl = new Map<string, FoundPackage>();
  for (const file of files) {
    for (const r of recordsOf(file, distro, (m) => warnings.push(m))) {
      let purl: string;
      try {
        purl = new PackageURL(r.type, r.namespace, r.name, r.version, r.qualifiers && Object.keys(r.qualifiers).length ? r.qualifiers : undefined, undefined).toString();
      } catch (e) {
        // A name or version no package URL can hold (blank, a lone surrogate): that record only, not the image's whole list.
        warnings.push(`${file.path}: package ${JSON.stringify(r.name)} ${JSON.stringify(r.version)}: not a valid package URL (${(e as Error).message})`);
        continue;
      }
      const known = byPurl.get(purl);
      if (known) {
        if (!known.locations.includes(file.path)) known.locations.push(file.path);
        continue;
      }
      byPurl.set(purl, { type: r.type, name: r.name, version: r.version, purl, locations: [file.path], ...(r.license ? { license: r.license } : {}) });
    }
  }
  const packages = [...byPurl.values()].sort((a, b) =>
    compareTypeAndName(a, b) || compareText(a.version, b.version) || compareText(a.purl, b.purl));
  return { packages, warnings };
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);


/**
 * The blocks of an apk installed database (`P:musl`, `V:1.2.4-r2`, …; blank lines between), each
 * as its fields' first values by letter, untrimmed, in the order they come; blocks without one left out.
 */
function apkBlocks(text: string): Map<string, string>[] {
  return text.replace(/\r\n/g, "\n").split(/\n\s*\n/).flatMap((block) => {
    const fields = new Map<string, string>();
    for (const line of block.split("\n")) if (line[1] === ":" && !fields.has(line[0])) fields.set(line[0], line.slice(2));
    return fields.size ? [fields] : [];
  });
}

/** The conda-meta fields a scan reads. */
const CONDA_FIELDS = ["name", "version", "build", "channel", "subdir", "license"];
/** The apk installed-database fields a scan reads. */
const APK_FIELDS = new Set(["P", "V", "A", "L"]);

/**
 * What a scan reads of a package database file, as a file of the same kind: kept (in memory, and
 * in the layer-state cache) instead of the whole file, and scanned to the same packages and
 * warnings. A status file's descriptions and a conda record's list of files are most of their
 * size: a real environment's conda-meta is tens of MB, and a crafted 250 KB layer made a 335 MB
 * cache record.
 */
export function reduceDatabaseFile(kind: DatabaseKind, text: string): string {
  switch (kind) {
    case "dpkg":
      return paragraphsText(parseControlParagraphs(text, DPKG_FIELDS));
    case "r": {
      const [d] = parseControlParagraphs(text, R_FIELDS);
      return d ? paragraphsText([d]) : "";
    }
    case "python":
      return paragraphsText([parseMetadataHeaders(text)]);
    case "conda": {
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch {
        return "null"; // not JSON: scanned as not a JSON object, as the whole was
      }
      if (typeof record !== "object" || record === null || Array.isArray(record)) return "null";
      const fields = record as Record<string, unknown>;
      return JSON.stringify(Object.fromEntries(CONDA_FIELDS.filter((k) => k in fields).map((k) => [k, fields[k]])));
    }
    case "apk":
      return apkBlocks(text).map((block) => {
        const fields = [...block].map(([letter, value]) => `${letter}:${value}`);
        const kept = [...block.keys()].flatMap((letter, i) => (APK_FIELDS.has(letter) ? [fields[i]] : []));
        // A block of other fields only: a package without a name to the scan, as it was.
        return kept.length ? kept.join("\n") : fields[0];
      }).join("\n\n");
    case "os-release":
      return text.split("\n").filter((line) => /^\s*(?:ID|VERSION_ID)=/.test(line)).join("\n");
  }
}

/** Paragraphs as control-file text (parseControlParagraphs reads back the same); an empty one as a field no scan reads. */
function paragraphsText(paragraphs: Record<string, string>[]): string {
  return paragraphs.map((fields) => {
    const lines = Object.entries(fields).map(([k, v]) => `${k}: ${v.replace(/\n/g, "\n ")}`);
    return lines.length ? lines.join("\n") : "X-Left-Out: -";
  }).join("\n\n");
}

/** The rules what is kept of a package file follows, as text: the layer-state cache keys its states by them (layerRules). */
export function reductionRules(): string {
  return [reduceDatabaseFile, paragraphsText, parseControlParagraphs, parseMetadataHeaders, apkBlocks, ...[DPKG_FIELDS, R_FIELDS, METADATA_FIELDS, APK_FIELDS].map((f) => [...f].join(",")), CONDA_FIELDS.join(",")].map(String).join("\n");
}
