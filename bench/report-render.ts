// `node dist/bench/report-render.js [--layers 300,1000] [--runs 3]`: how long the HTML report of a
// generated plan takes to render (pure, in process: layout, SVG, HTML), as the plan's report and as
// a run's (with the timeline). The unit test holds 300 layers under 2 s; this gives the figure for more.
import { parseArgs } from "node:util";
import { renderReport } from "../src/core/report/html/index.js";
import { resultsFile } from "../src/core/report/results.js";
import { generatedPlan, generatedResults } from "../test/helpers/generated-plan.js";
import { positiveInts, stats } from "./report.js";

const { values: v } = parseArgs({ options: { layers: { type: "string", default: "300,1000" }, runs: { type: "string", default: "3" } } });
const runs = positiveInts("--runs", v.runs!)[0];
const rows = ["| science layers | builds | plan report (median ms) | run report (median ms) | index.html |", "| ---: | ---: | ---: | ---: | ---: |"];
for (const layers of positiveInts("--layers", v.layers!)) {
  const plan = generatedPlan(layers);
  const results = resultsFile(plan, generatedResults(plan));
  const time = (withResults: boolean) => {
    const ms: number[] = [];
    let size = 0;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      size = renderReport({ plan, results: withResults ? results : undefined, generatedAt: "2026-01-01T00:00:00Z" })["index.html"].length;
      ms.push(performance.now() - t0);
    }
    return { median: stats(ms).median, size };
  };
  const planned = time(false);
  const run = time(true);
  rows.push(`| ${layers} | ${plan.builds.length} | ${planned.median.toFixed(0)} | ${run.median.toFixed(0)} | ${(run.size / 1e6).toFixed(1)} MB |`);
}
process.stdout.write(`${rows.join("\n")}\n`);
