// Dotted numeric versions ("2.4", "2.10", "1.2.3.4"), compared part by part as numbers:
// the original tool compared strings, so "2.10" < "2.9". semver needs exactly three parts
// and would reject or mangle these, so the comparison is done here.
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
