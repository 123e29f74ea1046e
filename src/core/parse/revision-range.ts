// `--ref`: a revision (compared with the working tree) or a range of commits (`A..B`, `A...B`).
import { InputError } from "../model.js";

export type RefSpec =
  | { kind: "revision"; ref: string }
  | {
      kind: "range";
      ref: string;
      /** The range's last commit as written (`B`), or undefined for `A..` (HEAD). */
      end: string | undefined;
      /** `A..B`'s A (HEAD when empty): when it is not an ancestor of B, its own commits count too. */
      start?: string;
      /** `B^!` and `B^-N`: B's changes against its parent N (1 for `^!`), computed, not left to git. */
      ownChanges?: { revision: string; parent: number };
    };

export function parseRef(ref: string): RefSpec {
  const atEnd = (end: string) => (end === "" || end === "HEAD" ? undefined : end);
  const m = /^(.*?)(\.\.\.?)(.*)$/.exec(ref);
  if (m) return { kind: "range", ref, end: atEnd(m[3]), ...(m[2] === ".." ? { start: m[1] || "HEAD" } : {}) };
  // git's shorthands for a commit's own changes: `B^!` (B^..B) and `B^-` / `B^-N` (B^N..B). git
  // itself gets a merge's `B^!` and the root commit's wrong, so the parent is looked up.
  const short = /^(.+)\^(!|-(\d*))$/.exec(ref);
  if (short) {
    const parent = short[2] === "!" || short[3] === "" ? 1 : Number(short[3]);
    if (parent < 1) throw new InputError(`--ref ${ref}: parents are numbered from 1`);
    return { kind: "range", ref, end: atEnd(short[1]), ownChanges: { revision: short[1], parent } };
  }
  // git diff takes these for several revisions at once, with surprising results.
  if (ref.startsWith("^") || /\^@$/.test(ref)) {
    throw new InputError(`--ref ${ref}: not a single revision; use a revision, A..B, A...B or B^!`);
  }
  return { kind: "revision", ref };
}

/** How a build's reason names where a change was seen. */
export function describeRef(spec: RefSpec): string {
  return spec.kind === "range" ? `changed in ${spec.ref}` : `changed since ${spec.ref}`;
}
