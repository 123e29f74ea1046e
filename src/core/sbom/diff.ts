// What changed in the packages between two images (`diff A B`): packages added, removed, and
// changed (the same type and name at other versions). A name can be installed at several versions
// at once (two conda environments), so versions are compared as sets.
import { compareTypeAndName, type FoundPackage, type PackageType } from "./packages.js";

export interface PackageChange {
  change: "added" | "removed" | "changed";
  type: PackageType;
  name: string;
  /** Versions in the first image (none when added). */
  from: string[];
  /** Versions in the second image (none when removed). */
  to: string[];
}

const key = (p: FoundPackage) => `${p.type}\u0000${p.name}`;

function versionsByName(packages: readonly FoundPackage[]): Map<string, { type: PackageType; name: string; versions: string[] }> {
  const byName = new Map<string, { type: PackageType; name: string; versions: string[] }>();
  for (const p of packages) {
    const entry = byName.get(key(p)) ?? { type: p.type, name: p.name, versions: [] };
    if (!entry.versions.includes(p.version)) entry.versions.push(p.version);
    byName.set(key(p), entry);
  }
  for (const entry of byName.values()) entry.versions.sort();
  return byName;
}

/** The changes from `a` to `b`, in the order of the packages (type, then name). */
export function diffPackages(a: readonly FoundPackage[], b: readonly FoundPackage[]): PackageChange[] {
  const before = versionsByName(a);
  const after = versionsByName(b);
  const changes: PackageChange[] = [];
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort((x, y) => compareTypeAndName(before.get(x) ?? after.get(x)!, before.get(y) ?? after.get(y)!));
  for (const k of keys) {
    const [was, is] = [before.get(k), after.get(k)];
    const { type, name } = was ?? is!;
    if (!was) changes.push({ change: "added", type, name, from: [], to: is!.versions });
    else if (!is) changes.push({ change: "removed", type, name, from: was.versions, to: [] });
    else if (was.versions.join("\n") !== is.versions.join("\n")) changes.push({ change: "changed", type, name, from: was.versions, to: is.versions });
  }
  return changes;
}
