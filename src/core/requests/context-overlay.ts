// Compat builds overlay several directories into one build context: a later directory's entry
// replaces an earlier one's at the same path. The executor sends the merged context and the
// planner digests it (inputs digest), so both take it from here.
import type { ContextEntryBase } from "../model.js";

/** Entries of each directory (already filtered by its own `.dockerignore`), merged; sorted by name. */
export function overlayContexts<T extends ContextEntryBase>(listings: T[][]): T[] {
  const merged = new Map<string, T>();
  for (const listing of listings) {
    for (const entry of listing) {
      // A file (or symlink) replacing a directory of an earlier context takes its contents with
      // it; left in, they would make a tar that can't be extracted.
      if (merged.get(entry.name)?.type === "directory" && entry.type !== "directory") {
        for (const name of merged.keys()) if (name.startsWith(`${entry.name}/`)) merged.delete(name);
      }
      merged.set(entry.name, entry);
    }
  }
  return [...merged.keys()].sort().map((name) => merged.get(name)!);
}
