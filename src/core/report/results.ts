// Recorded outputs of a run (seed 000's output_properties), written by `--results FILE`, and the
// merge of several runs' results (agents that each ran part of one plan).
import { parseJsonFile } from "../parse/json-with-comments.js";
import { resultsFileSchema } from "../formats/results.js";
import { validateFile } from "../formats/validate.js";
import { InputError, type BuildResult, type BuildStatus, type IndexResult, type Plan, type ResultsFile } from "../model.js";

export type { ResultsFile };

/** `indexes`: the image indexes of the run (issue 17); none is recorded without. */
export function resultsFile(plan: Plan, results: BuildResult[], jobs?: number, indexes: IndexResult[] = []): ResultsFile {
  return { repo: plan.repo, commit: plan.commit, buildNumber: plan.buildNumber, ...(jobs !== undefined && { jobs }), results, ...(indexes.length ? { indexes } : {}) };
}

// When two runs report the same build, the more informative result wins: one the registry has
// (pushed) first, then one whose attestations did not fail, then by status, then the one with more
// tags pushed. Ties of all these are broken
// by the result's text, so that the merge does not depend on the order of the files.
const RANK: Record<BuildStatus, number> = { built: 4, reused: 3, failed: 2, cancelled: 1, skipped: 0 };

function better(a: BuildResult, b: BuildResult): boolean {
  const key = (r: BuildResult) => [r.pushed ? 1 : 0, r.attestation?.status === "failed" ? 0 : 1, RANK[r.status], (r.tags ?? []).filter((t) => t.pushed).length, (r.tags ?? []).length];
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] > kb[i];
  return JSON.stringify(a) > JSON.stringify(b);
}

/** Of two records of one index, the pushed one, then the one with more tags pushed; ties by text (order-free). */
function betterIndex(a: IndexResult, b: IndexResult): boolean {
  const key = (i: IndexResult) => [i.status === "pushed" ? 1 : 0, i.tags.filter((t) => t.pushed).length];
  const [ka, kb] = [key(a), key(b)];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] > kb[i];
  return JSON.stringify(a) > JSON.stringify(b);
}

/** Which plan a results file (or the plan itself) is of. */
type PlanIdentity = Pick<ResultsFile, "repo" | "commit" | "buildNumber">;

/** Refuses `results` (read from `file`) of another plan than `of` (read from `ofFile`), naming both. */
export function checkSamePlan(results: PlanIdentity, file: string, of: PlanIdentity, ofFile: string): void {
  if (results.commit !== of.commit || results.repo !== of.repo || results.buildNumber !== of.buildNumber) {
    throw new InputError(
      `results of another plan (commit ${results.commit}, build ${results.buildNumber}, repo ${results.repo}; ${ofFile} has ${of.commit}, build ${of.buildNumber}, ${of.repo})`,
      file,
    );
  }
}

export function mergeResults(inputs: { file: string; results: ResultsFile }[]): ResultsFile {
  if (inputs.length === 0) throw new InputError("no results files to merge");
  const first = inputs[0];
  const byId = new Map<string, BuildResult>();
  const indexes = new Map<string, IndexResult>();
  for (const { file, results } of inputs) {
    checkSamePlan(results, file, first.results, first.file);
    for (const r of results.results) {
      const prev = byId.get(r.id);
      if (!prev || better(r, prev)) byId.set(r.id, r);
    }
    for (const i of results.indexes ?? []) {
      const prev = indexes.get(i.id);
      if (!prev || betterIndex(i, prev)) indexes.set(i.id, i);
    }
  }
  return { ...first.results, results: [...byId.values()], ...(indexes.size ? { indexes: [...indexes.values()] } : {}) };
}

/** A results file, checked against its schema (core/formats/results.ts); unknown fields are kept. */
export function parseResultsFile(text: string, file: string): ResultsFile {
  return validateFile(resultsFileSchema, parseJsonFile(text, file), file, "an image-builder results file");
}
