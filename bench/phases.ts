// Where the time of one dry-run plan goes, phase by phase, in a fresh process:
// `node dist/bench/phases.js <repository> [ref]` prints one JSON object of milliseconds.
//
// It calls the same functions, in the same order, as `image-builder -v --dryrun`
// (src/cli/plan-repository.ts, src/cli/program.ts), but one after the other where the CLI overlaps git
// with reading files, so the phases add up to a little more than a real run. Each phase runs
// once, cold, as in the CLI; only the last line ("Dockerfile parsing, warm") repeats work, to show
// how much of the analysis is the parser once the JIT has warmed up.
import { performance } from "node:perf_hooks";

const started = performance.now();
const phases: Record<string, number> = {};
let last = started;
const mark = (name: string) => {
  const now = performance.now();
  phases[name] = now - last;
  last = now;
};

const root = process.argv[2];
const ref = process.argv[3] ?? "HEAD^";
if (!root) throw new Error("usage: phases.js <repository> [ref]");

// Everything the dry run loads (src/cli/program.ts and what it imports).
await import("../src/cli/program.js");
const { openGit, readGitInfo, changedPaths, worktreeStatus } = await import("../src/read/git.js");
const { readContextListings } = await import("../src/read/context-files.js");
const { readLayerFiles, readRepoConfigText } = await import("../src/read/repository.js");
const { readLayers } = await import("../src/core/parse/layer-config.js");
const { parseRepoConfig } = await import("../src/core/parse/repo-config.js");
const { determineChanges } = await import("../src/core/plan/changes.js");
const { analyzeRepository } = await import("../src/core/plan/analyze-repository.js");
const { contextDirsFor, planFromAnalysis } = await import("../src/core/plan/plan-builds.js");
const { determineBuilds } = await import("../src/core/plan/determine-builds.js");
const { parseDockerfile } = await import("../src/core/parse/dockerfile/index.js");
const { describePlan } = await import("../src/executors/dry-run.js");
mark("load modules");

const git = openGit(root);
const { prefix, ...gitInfo } = await readGitInfo(git, root);
const paths = await changedPaths(git, { ref, isDefaultRef: ref === "HEAD^", buildNumber: gitInfo.buildNumber });
await worktreeStatus(git, prefix);
mark("git: rev-list, rev-parse, diff, status");
const raw = await readLayerFiles(root);
const configText = readRepoConfigText(root);
mark("list and read files");
const config = parseRepoConfig(configText);
const snapshot = readLayers(raw);
mark("parse sciserver-image.json");
const changes = determineChanges(snapshot, paths, { all: false, include: [], ignore: [], why: `changed since ${ref}` });
mark("changed directories");
const analysis = analyzeRepository(snapshot, {});
mark("analyze: parse Dockerfiles, graph, checks");
const selection = determineBuilds(snapshot.science, analysis, changes);
const contexts = readContextListings(root, contextDirsFor(snapshot, analysis, selection));
mark("read and hash the planned contexts");
const plan = planFromAnalysis(snapshot, analysis, { repo: config.repo!, git: gitInfo, changes, contexts, buildTime: 0, buildArgs: {} }, selection);
mark("plan: propagate, build requests (inputs digests)");
const lines = describePlan(plan, 1);
mark("report (-v)");
const total = performance.now() - started;
const heapUsedMB = process.memoryUsage().heapUsed / 2 ** 20;

for (const l of snapshot.science) parseDockerfile(l.dockerfile, {});
const warmStart = performance.now();
for (const l of snapshot.science) parseDockerfile(l.dockerfile, {});
const warmParse = performance.now() - warmStart;

process.stdout.write(`${JSON.stringify({
  phases,
  total,
  warmParse,
  builds: plan.builds.length,
  lines: lines.length,
  heapUsedMB,
})}\n`);
