// How much --jobs buys: N independent chains of L builds whose RUN sleeps S seconds, built
// with jobs=1 and jobs=N (no cache), against the engine DOCKER_HOST names.
//
//   npx tsc && node dist/bench/jobs.js [chains=3] [length=2] [seconds=2]
//
// The base image (IB_BENCH_BASE, default busybox:stable) must be in the engine already.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { Plan, PlannedBuild } from "../src/core/types.js";
import { checkEngine, connectEngine, executePlan } from "../src/executors/docker/index.js";

function arg(position: number, fallback: number): number {
  const value = Number(process.argv[2 + position] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`argument ${position + 1} must be a positive integer`);
  return value;
}
const chains = arg(0, 3);
const length = arg(1, 2);
const seconds = arg(2, 2);
const base = process.env.IB_BENCH_BASE ?? "busybox:stable";
const repo = "ib-bench";

function chainPlan(): Plan {
  const builds: PlannedBuild[] = [];
  for (let c = 0; c < chains; c++) {
    for (let l = 0; l < length; l++) {
      const id = `sci/c${c}-${l}`;
      const from = l === 0 ? base : `${repo}/sci/c${c}-${l - 1}:1.0`;
      builds.push({
        id, kind: "science", image: `c${c}`, version: "1.0", target: `c${c}-${l}`, source: "science/ctx",
        reasons: ["bench"], dependsOn: l === 0 ? [] : [`sci/c${c}-${l - 1}`],
        request: {
          command: [], contexts: ["science/ctx"], environment: {}, labels: {}, imageRewrites: {},
          dockerfile: `FROM ${from}\nRUN sleep ${seconds} && echo ${id} >> /chain\n`,
          tags: [`${repo}/sci/c${c}-${l}:1.0`],
        },
      });
    }
  }
  const waves = Array.from({ length }, (_, l) => builds.filter((b) => b.id.endsWith(`-${l}`)).map((b) => b.id));
  return { repo, commit: "bench", buildNumber: 0, builds, waves };
}

async function timed(plan: Plan, root: string, jobs: number): Promise<number> {
  const discard = new Writable({ write: (_c, _e, done) => done() });
  const t0 = Date.now();
  const result = await executePlan(plan, {
    rootDir: root, jobs, noCache: true, pull: false, buildArgs: {}, push: false, failFast: true,
    progress: "plain", out: discard,
  });
  if (!result.ok) {
    const failed = result.outcomes.find((o) => o.status === "failed");
    throw new Error(`bench build failed: ${failed?.id}: ${failed?.reason}`);
  }
  return (Date.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const engine = connectEngine();
  const { version } = await checkEngine(engine);
  const root = mkdtempSync(join(tmpdir(), "ib-bench-"));
  mkdirSync(join(root, "science/ctx"), { recursive: true });
  writeFileSync(join(root, "science/ctx/README"), "bench\n");
  const plan = chainPlan();
  try {
    console.log(`engine ${version} at ${engine.address}: ${chains} chains x ${length} builds, RUN sleep ${seconds}s each`);
    console.log(`critical path ${length * seconds}s, all builds in sequence ${chains * length * seconds}s (sleep time only)`);
    for (const jobs of [1, chains]) {
      const wall = await timed(plan, root, jobs);
      console.log(`jobs=${String(jobs).padEnd(3)} wall ${wall.toFixed(1)}s  (${(wall / (length * seconds)).toFixed(2)}x critical path)`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    for (const b of plan.builds) await engine.docker.getImage(b.request.tags[0]).remove({ force: true }).catch(() => undefined);
  }
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
