// `npm run bench` (after `npm run build`): the planning benchmark, then the jobs benchmark when
// DOCKER_HOST names an engine; each rewrites its generated section of BENCH.md.
//
//   node dist/bench/run.js [--sizes 1000,3000,10000] [--runs 7] [--cli <main.js>]
//                          [--keep-node-env] [--out BENCH.md] [--json <file>] [--no-write]
//
// The planning part generates its repositories under the OS temp dir and deletes them at the end;
// it takes about a minute on 2 cores.
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { runJobsBench } from "./jobs.js";
import { planMarkdown, runPlanBench, targets } from "./plan.js";
import { CLI, PROJECT_ROOT, logTargets, positiveInts, writeSection } from "./report.js";

const { values: v } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,3000,10000" }, runs: { type: "string", default: "7" }, cli: { type: "string", default: CLI },
    "keep-node-env": { type: "boolean", default: false }, out: { type: "string" }, json: { type: "string" }, "no-write": { type: "boolean", default: false },
  },
});
const out = v.out ?? join(PROJECT_ROOT, "BENCH.md");

const plan = runPlanBench({ sizes: positiveInts("--sizes", v.sizes!), runs: positiveInts("--runs", v.runs!)[0], cli: resolve(v.cli!), keepNodeEnv: v["keep-node-env"]! });
if (v.json) writeFileSync(v.json, `${JSON.stringify(plan, null, 2)}\n`);
logTargets(targets(plan));
if (v["no-write"]) process.stdout.write(`${planMarkdown(plan)}\n`);
else writeSection(out, "plan-bench", planMarkdown(plan));

if (!process.env.DOCKER_HOST) {
  process.stderr.write("DOCKER_HOST is not set: the jobs section is kept as it is\n");
} else {
  process.stderr.write("jobs benchmark ...\n");
  const jobs = await runJobsBench();
  if (v["no-write"]) process.stdout.write(`${jobs.markdown}\n`);
  else writeSection(out, "jobs-bench", jobs.markdown);
}
