// Which commits a clone has, by the abbreviated hashes build names carry (`1.0-7-3f2a9c1`): for
// --reconcile, an earlier build completed names its commit in full, and a moving tag holding a
// commit no ref reaches (amended or force-pushed away) is said. Pure: `history` is every commit a
// branch, tag or other ref reaches (read/git.ts readReachableCommits).

/** Of `hashes` (full or abbreviated), those `history` has, each with its full hash; an abbreviation two commits share names neither. */
export function fullCommits(history: readonly string[], hashes: readonly string[]): Map<string, string> {
  const wanted = new Set(hashes);
  const lengths = new Set(hashes.map((h) => h.length));
  const found = new Map<string, string>();
  const shared = new Set<string>();
  for (const commit of history) {
    for (const n of lengths) {
      const short = commit.slice(0, n);
      if (!wanted.has(short)) continue;
      if (found.has(short) && found.get(short) !== commit) shared.add(short);
      found.set(short, commit);
    }
  }
  for (const s of shared) found.delete(s);
  return found;
}

/** Of `hashes` (full or abbreviated), those no commit of `history` begins with. */
export function unreachableCommits(history: readonly string[], hashes: readonly string[]): Set<string> {
  const lengths = new Set(hashes.map((h) => h.length));
  const known = new Set(history.flatMap((c) => [...lengths].map((n) => c.slice(0, n))));
  return new Set(hashes.filter((h) => !known.has(h)));
}
