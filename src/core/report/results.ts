// Recorded outputs of a run (seed 000's output_properties), written by `--results FILE`, and the
// merge of several runs' results (agents that each ran part of one plan).
import { parseJsonFile } from "../parse/json-with-comments.js";
import { InputError, type BuildResult, type BuildStatus, type Plan } from "../model.js";

export interface ResultsFile {
  repo: string;
  commit: string;
  buildNumber: number;
  /** `--jobs` of the run: builds it ran at once at most (absent in older results files). */
  jobs?: number;
  results: BuildResult[];
}

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

export function parseResultsFile(text: string, file: string): ResultsFile {
  const value = parseJsonFile(text, file);
  const v = value as ResultsFile;
  if (!v || typeof v !== "object" || typeof v.commit !== "string" || typeof v.repo !== "string"
    || typeof v.buildNumber !== "number" || !Array.isArray(v.results)) {
    throw new InputError("not an image-builder results file (expected repo, commit, buildNumber and results)", file);
  }
  v.results.forEach((r, i) => {
    const problem = resultProblem(r);
    if (problem) throw new InputError(`results[${i}]: ${problem}`, file);
  });
  return v;
}

function resultProblem(r: BuildResult): string | undefined {
  if (!r || typeof r !== "object" || Array.isArray(r)) return "not an object";
  if (typeof r.id !== "string" || r.id === "") return "no build id";
  if (!Object.hasOwn(RANK, r.status)) return `${r.id}: unknown status ${JSON.stringify(r.status)} (expected ${Object.keys(RANK).join(", ")})`;
  if (typeof r.pushed !== "boolean") return `${r.id}: "pushed" is not true or false`;
  return undefined;
}
