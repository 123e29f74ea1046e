// What a run did, build by build: the outcomes its results file records, the summary table and
// the footer it ends with, and whether it succeeded. Pure: the executor fills in the outcomes.
import type { BuildResult, TagResult } from "../model.js";
import type { IndexResult } from "./image-index.js";

/**
 * A request's result as `--results` records it (seed 000's output_properties in `outputs`), plus
 * the tail of a failed build's log for the summary. `reason`: the failure, "parent X failed", why
 * it was cancelled, or why a built image wasn't pushed; `durationMs`: the build, push not included.
 */
export interface BuildOutcome extends BuildResult {
  logTail?: string[];
}

export interface RunOutcome {
  outcomes: BuildOutcome[];
  /** With --push: the image index of each layer built for several platforms whose every platform the run built. */
  indexes: IndexResult[];
  /** Every build built, and pushed when asked to (and every index written). */
  ok: boolean;
  /** The signal aborted the run (the CLI exits 130). */
  interrupted: boolean;
}

/**
 * How a build's push ended (see PushQueue). "superseded": the registry's build tag holds another
 * run's image of the same inputs, not this run's (issue 16, item 3).
 */
export type PushResult = "pushed" | "push failed" | "not pushed" | "superseded";

/** One line of the summary table. */
export interface SummaryRow {
  id: string;
  result: string;
  durationMs: number;
  imageId?: string;
  tags: string[];
  reason?: string;
}

const hasImage = (o: Pick<BuildOutcome, "status">) => o.status === "built" || o.status === "reused";

/** Its attestations could not be uploaded: the image is in the registry, but not fully published. */
const attestationFailed = (o: Pick<BuildOutcome, "attestation">) => o.attestation?.status === "failed";
const signingFailed = (o: Pick<BuildOutcome, "signature">) => o.signature?.status === "failed";

/**
 * Every build has its image, and every image (and index) is pushed when pushing, with its
 * attestations when it has them; an interrupted run never succeeded.
 */
export function runSucceeded(outcomes: Pick<BuildOutcome, "status" | "pushed" | "attestation" | "signature">[], push: boolean, interrupted: boolean, indexes: Pick<IndexResult, "status">[] = []): boolean {
  return !interrupted && outcomes.every((o) => hasImage(o) && (!push || (o.pushed && !attestationFailed(o) && !signingFailed(o)))) && (!push || indexes.every((i) => i.status === "pushed"));
}

/** A layer's index as a line of the summary table: `sci/x (index)`, how it ended, its tags. */
export function indexSummaryRow(i: Pick<IndexResult, "id" | "status" | "tags" | "reason" | "already">): SummaryRow {
  const result = i.status !== "pushed" ? `index ${i.status}` : i.already ? "index already there" : "index pushed";
  return { id: `${i.id} (index)`, result, durationMs: 0, tags: shownTags(i.tags.map((t) => t.tag), i.tags), reason: i.reason };
}

/** A row's tags, a moving tag left where it was (on a newer build, another run's) marked so: the table lists what the registry holds. */
function shownTags(tags: string[], results: Pick<TagResult, "tag" | "reason">[] = []): string[] {
  const unmoved = new Set(results.filter((t) => t.reason?.startsWith("not moved:")).map((t) => t.tag));
  return tags.map((t) => (unmoved.has(t) ? `${t} (not moved)` : t));
}

export function summaryRow(o: BuildOutcome, tags: string[], pushResult?: PushResult): SummaryRow {
  const result = !hasImage(o) || !pushResult ? o.status
    : o.status === "built" ? pushResult
    : pushResult === "pushed" ? "reused" : `reused, ${pushResult}`;
  // Only an image that exists has tags; a failed or skipped build has none to show.
  return { id: o.id, result, durationMs: o.durationMs, imageId: o.outputs?.["docker-image-hash"], tags: hasImage(o) ? shownTags(tags, o.tags) : [], reason: o.reason };
}

/**
 * What a run published beside its builds, as its last line and the report's summary say it: the
 * images without their attestations (in the registry, not fully published), the image indexes
 * written, there already, or not written, and the moving tags left on a newer build; `failure`
 * for those that make the run fail.
 */
export function publishingTally(outcomes: Pick<BuildOutcome, "status" | "attestation" | "tags">[], push: boolean, indexes: Pick<IndexResult, "status" | "already" | "tags">[]): { text: string; failure: boolean }[] {
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const tally: { text: string; failure: boolean }[] = [];
  const unattested = push ? outcomes.filter(hasImage).filter(attestationFailed).length : 0;
  if (unattested) tally.push({ text: `${unattested} without ${unattested === 1 ? "its attestations" : "their attestations"}`, failure: true });
  const already = indexes.filter((i) => i.status === "pushed" && i.already).length;
  const written = indexes.filter((i) => i.status === "pushed").length - already;
  if (written) tally.push({ text: `${plural(written, "index", "indexes")} pushed`, failure: false });
  if (already) tally.push({ text: `${plural(already, "index", "indexes")} already there`, failure: false });
  // Each as its row says it (`index push failed`, `index superseded`, `index not pushed`).
  for (const status of ["push failed", "superseded", "not pushed"] as const) {
    const n = indexes.filter((i) => i.status === status).length;
    if (n) tally.push({ text: `${plural(n, "index", "indexes")} ${status}`, failure: true });
  }
  const notMoved = push ? [...outcomes.flatMap((o) => o.tags ?? []), ...indexes.flatMap((i) => i.tags)].filter((t) => t.reason?.startsWith("not moved:")).length : 0;
  if (notMoved) tally.push({ text: `${plural(notMoved, "moving tag", "moving tags")} not moved`, failure: false });
  return tally;
}

/** `6 built, 1 reused, 2 failed, 3 not pushed`: what the run did, at a glance. */
export function footer(
  outcomes: Pick<BuildOutcome, "status" | "pushed" | "tags" | "attestation">[], push: boolean, interrupted: boolean, indexes: Pick<IndexResult, "status" | "tags" | "already">[] = [],
  /** Each outcome's push result (in `outcomes`' order): an image not pushed is counted as its row says it (`push failed`, `superseded`). */
  pushResults: readonly (PushResult | undefined)[] = [],
): string[] {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o.status, (counts.get(o.status) ?? 0) + 1);
  const withImage = outcomes.filter(hasImage);
  const parts = [...counts].map(([s, n]) => `${n} ${s}`);
  if (push) {
    const unpushed = new Map<string, number>();
    for (const [i, o] of outcomes.entries()) {
      if (!hasImage(o) || o.pushed) continue;
      const result = pushResults[i] === "push failed" || pushResults[i] === "superseded" ? pushResults[i]! : "not pushed";
      unpushed.set(result, (unpushed.get(result) ?? 0) + 1);
    }
    for (const result of ["push failed", "superseded", "not pushed"]) if (unpushed.get(result)) parts.push(`${unpushed.get(result)} ${result}`);
  }
  parts.push(...publishingTally(outcomes, push, indexes).map((p) => p.text));
  const lines = [parts.join(", ") || "nothing to build"];
  // A push stopped by the interrupt may still have landed: what the registry holds was read back
  // (see --results); what is certain is that no push started after it.
  if (interrupted) lines.push(push ? "Interrupted: builds in flight were cancelled and no push started after the interrupt." : "Interrupted: builds in flight were cancelled.");
  const allDone = outcomes.length > 0 && withImage.length === outcomes.length;
  if (!push && !interrupted && allDone && counts.get("built")) lines.push("Note: images were built but not pushed (use --push to push them).");
  return lines;
}
