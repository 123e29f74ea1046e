// `--ref`: a revision (compared with the working tree) or a range of commits (`A..B`, `A...B`).

export type RefSpec =
  | { kind: "revision"; ref: string }
  /** `end`: the range's last commit as written (`B`), or undefined for `A..` (HEAD). */
  | { kind: "range"; ref: string; end: string | undefined };

export function parseRef(ref: string): RefSpec {
  const atEnd = (end: string) => (end === "" || end === "HEAD" ? undefined : end);
  const m = /^(.*?)(\.\.\.?)(.*)$/.exec(ref);
  if (m) return { kind: "range", ref, end: atEnd(m[3]) };
  // git's shorthands for a commit's own changes: `B^!` (B^..B) and `B^-` / `B^-N` (B^N..B)
  const short = /^(.+)\^(!|-\d*)$/.exec(ref);
  if (short) return { kind: "range", ref, end: atEnd(short[1]) };
  return { kind: "revision", ref };
}

/** How a build's reason names where a change was seen. */
export function describeRef(spec: RefSpec): string {
  return spec.kind === "range" ? `changed in ${spec.ref}` : `changed since ${spec.ref}`;
}
