// Recorded outputs of a run (seed 000's output_properties), written by `--results FILE`, and the
// merge of several runs' results (agents that each ran part of one plan).
import { parseJsonFile } from "../parse/json-with-comments.js";
import { resultsFileSchema } from "../formats/results.js";
import { validateFile } from "../formats/validate.js";
import { InputError, type BuildResult, type BuildStatus, type Plan, type ResultsFile } from "../model.js";

export type { ResultsFile };

export function resultsFile(plan: Plan, results: BuildResult[], jobs?: number): ResultsFile {
  return { repo: plan.repo, commit: plan.commit, buildNumber: plan.buildNumber, ...(jobs !== undefined && { jobs }), results };
}

// When two runs report the same build, the more informative result wins.
const RANK: Record<BuildStatus, number> = { built: 4, reused: 3, failed: 2, cancelled: 1, skipped: 0 };

export function mergeResults(inputs: { file: string; results: ResultsFile }[]): ResultsFile {
  if (inputs.length === 0) throw new InputError("no results files to merge");
  const first = inputs[0];
  const byId = new Map<string, BuildResult>();
  for (const { file, results } of inputs) {
    const a = results;
    const b = first.results;
    if (a.commit !== b.commit || a.repo !== b.repo || a.buildNumber !== b.buildNumber) {
      throw new InputError(
        `results of another plan (commit ${a.commit}, build ${a.buildNumber}, repo ${a.repo}; ${first.file} has ${b.commit}, build ${b.buildNumber}, ${b.repo})`,
        file,
      );
    }
    for (const r of results.results) {
      const prev = byId.get(r.id);
      if (!prev || RANK[r.status] > RANK[prev.status]) byId.set(r.id, r);
    }
  }
  return { ...first.results, results: [...byId.values()] };
}

/** A results file, checked against its schema (core/formats/results.ts); unknown fields are kept. */
export function parseResultsFile(text: string, file: string): ResultsFile {
  return validateFile(resultsFileSchema, parseJsonFile(text, file), file, "an image-builder results file");
}
