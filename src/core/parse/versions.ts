// Dotted numeric versions ("2.4", "2.10", "1.2.3.4"), compared part by part as numbers:
// the original tool compared strings, so "2.10" < "2.9". semver needs exactly three parts
// and would reject or mangle these, so the comparison is done here. Parts are compared as
// digit strings (length, then text) so that long date-like parts never lose precision.
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(significant);
  const pb = b.split(".").map(significant);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "";
    const y = pb[i] ?? "";
    if (x.length !== y.length) return x.length < y.length ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** "007" -> "7", "0" -> "": equal numbers get equal strings, and a missing part counts as 0. */
function significant(part: string): string {
  return part.replace(/^0+/, "");
}
