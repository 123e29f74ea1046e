// `--ref`: a revision (compared with the working tree) or a range of commits (`A..B`, `A...B`).

export type RefSpec =
  | { kind: "revision"; ref: string }
  /** `end`: the range's last commit as written (`B`), or undefined for `A..` (HEAD). */
  | { kind: "range"; ref: string; end: string | undefined };

export function parseRef(ref: string): RefSpec {
  const m = /^(.*?)(\.\.\.?)(.*)$/.exec(ref);
  if (!m) return { kind: "revision", ref };
  const end = m[3];
  return { kind: "range", ref, end: end === "" || end === "HEAD" ? undefined : end };
}

/** How a build's reason names where a change was seen. */
export function describeRef(spec: RefSpec): string {
  return spec.kind === "range" ? `changed in ${spec.ref}` : `changed since ${spec.ref}`;
}
