// Builders benchmark: the classic builder against BuildKit, through the real CLI on real engines.
//
//   (a) the example family (this repository's science/ and compat/), (b) the synthetic `--jobs`
//       family of bench/jobs.ts (6 chains × 2 layers of `RUN sleep 2`, --jobs 6), each built with
//       each builder: cold (engine build cache pruned, every image but the base removed) and warm
//       (the same again at once, under a new --repo so that nothing is reused: the builder's cache);
//   (c) "fresh agent": a family published from the first engine (BuildKit, --push), one layer
//       changed, then built on a second, empty engine that pulls from the same registry: with
//       registry cache (BuildKit's default), with --no-registry-cache, and with the classic builder.
//
// Every measurement waits for a quiet machine first (1-minute load ≤ 2.5, up to 10 min) and records
// the load. Steps are the RUN/COPY/ADD steps of the CLI's plain output: run, or cached.
//
//   npx tsc -p tsconfig.json && node dist/bench/builders.js --registry 127.0.0.1:5211 \
//       [--fresh-host unix:///tmp/other-engine/docker.sock] [--rounds 2] [--wait-budget SECONDS]
//
// DOCKER_HOST names the first engine; both engines need the base image (busybox:stable). Prints markdown.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { connectEngine, type Engine } from "../src/executors/docker/engine.js";
import { pushTags } from "../src/executors/docker/push.js";
import { DockerCredentials } from "../src/registry/credentials.js";
import { DEFAULT_JOBS_OPTIONS, generateRepo, runCli } from "./jobs.js";
import { CLI, PROJECT_ROOT, commitAll, fileWriter, positiveInts, table } from "./report.js";

const BASE = "busybox:stable";
const MAX_LOAD = 2.5;
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Measured {
  wallMs: number;
  run: number;
  cached: number;
  load: number;
}

/** What is left of --wait-budget: the whole run's waiting for a quiet machine. */
let waitBudgetMs = 3_600_000;

/**
 * Waits (30 s at a time, at most 10 min, within the run's wait budget) for the 1-minute load
 * average to be at most 2.5; returns the load the measurement starts with.
 */
async function quietMachine(): Promise<number> {
  for (let waited = 0; loadavg()[0] > MAX_LOAD && waited < 600_000 && waitBudgetMs > 0; waited += 30_000, waitBudgetMs -= 30_000) {
    log(`  load ${loadavg()[0].toFixed(2)} > ${MAX_LOAD}: waiting 30 s`);
    await sleep(30_000);
  }
  return loadavg()[0];
}

/** Counts the RUN/COPY/ADD steps of a plain-progress log: run, or taken from the cache. */
export function countSteps(output: string): { run: number; cached: number } {
  let run = 0;
  let cached = 0;
  const pending = new Map<string, boolean>(); // BuildKit: `[build] #n` of a work step -> seen
  const classicStep = new Map<string, boolean>(); // classic: builds whose work step awaits its outcome
  for (const line of output.split("\n")) {
    const bk = /^\[([^\]]+)\] #(\d+) (.*)$/.exec(line);
    if (bk) {
      const key = `${bk[1]}#${bk[2]}`;
      if (/^\[[^\]]*\d+\/\d+\] (RUN|COPY|ADD)\b/.test(bk[3])) pending.set(key, true);
      else if (pending.has(key) && (bk[3] === "CACHED" || bk[3].startsWith("DONE "))) {
        if (bk[3] === "CACHED") cached++;
        else run++;
        pending.delete(key);
      }
      continue;
    }
    const step = /^\[([^\]]+)\] Step \d+\/\d+ : (\w+)/.exec(line);
    if (step) {
      if (/^(RUN|COPY|ADD)$/i.test(step[2])) classicStep.set(step[1], true);
      else classicStep.delete(step[1]);
      continue;
    }
    // The step's first outcome line: "Using cache", or it runs ("Running in", or a COPY's new layer id).
    const c = /^\[([^\]]+)\]  ---> (Using cache|Running in|[0-9a-f]{12}$)/.exec(line);
    if (c && classicStep.has(c[1])) {
      if (c[2] === "Using cache") cached++;
      else run++;
      classicStep.delete(c[1]);
    }
  }
  return { run, cached };
}

/** Everything a cold build must not find: the engine's build cache and every image but the base. */
async function emptyEngine(engine: Engine): Promise<void> {
  for (const image of await engine.docker.listImages({ all: false })) {
    if ((image.RepoTags ?? []).includes(BASE)) continue;
    await engine.docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
  }
  await engine.docker.pruneBuilder({ all: true } as object);
}

let repoCount = 0;
async function build(dir: string, registry: string, host: string, args: string[]): Promise<Measured> {
  const load = await quietMachine();
  const repo = `${registry}/ib-builders-bench-${process.pid}-${++repoCount}/x`;
  const env = { ...process.env, DOCKER_HOST: host };
  const r = await runCli(CLI, ["--all", "--repo", repo, "--progress", "plain", ...args], dir, env, dir);
  if (r.code !== 0) throw new Error(`${args.join(" ")} in ${dir} failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-5).join(" | ")}`);
  return { wallMs: r.wallMs, ...countSteps(r.stderr), load };
}

const s1 = (ms: number) => (ms / 1000).toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
function cell(ms: Measured[]): string {
  const w = ms.map((m) => m.wallMs);
  return `${s1(median(w))} s (${s1(Math.min(...w))}–${s1(Math.max(...w))})`;
}
const steps = (ms: Measured[]) => `${ms[0].run} run, ${ms[0].cached} cached`;
const loads = (ms: Measured[]) => `${Math.min(...ms.map((m) => m.load)).toFixed(1)}–${Math.max(...ms.map((m) => m.load)).toFixed(1)}`;

/** `builders`: row name -> --builder value. */
async function coldWarm(name: string, dir: string, registry: string, engine: Engine, rounds: number, builders: Record<string, string>, extra: string[]): Promise<string[]> {
  const rows: string[] = [];
  const by: Record<string, { cold: Measured[]; warm: Measured[] }> = {};
  for (const builder of Object.keys(builders)) by[builder] = { cold: [], warm: [] };
  for (let round = 0; round < rounds; round++) {
    for (const builder of Object.keys(builders)) {
      await emptyEngine(engine);
      const args = ["--builder", builders[builder], ...extra];
      by[builder].cold.push(await build(dir, registry, engine.address, args));
      by[builder].warm.push(await build(dir, registry, engine.address, args));
      log(`  ${name} ${builder}: cold ${s1(by[builder].cold.at(-1)!.wallMs)} s, warm ${s1(by[builder].warm.at(-1)!.wallMs)} s`);
    }
  }
  for (const [builder, m] of Object.entries(by)) {
    rows.push(`| ${name} | ${builder} | ${cell(m.cold)} | ${steps(m.cold)} | ${cell(m.warm)} | ${steps(m.warm)} | ${loads([...m.cold, ...m.warm])} |`);
  }
  return rows;
}

/**
 * The first engine's base image, pushed to the registry: each test engine imports its own busybox
 * (another image id), and agents share their bases through a registry anyway.
 */
async function publishBase(engine: Engine, registry: string): Promise<string> {
  const repo = `${registry}/ib-builders-bench-base/busybox`;
  await engine.docker.getImage(BASE).tag({ repo, tag: "stable" });
  // The executor's push: a failure the engine reports inside the stream is an error here too.
  await pushTags(engine.docker, [`${repo}:stable`], { creds: await DockerCredentials.load(), signal: new AbortController().signal, line: () => undefined });
  return `${repo}:stable`;
}

/** (c): 2 chains of 2 science layers, each `RUN sleep 3` (the expensive step) then `COPY stamp`, a compat layer on each. */
function freshFamily(dir: string, base: string): void {
  const write = fileWriter(dir);
  write("image-builder.json", `{"repo": "ib-builders-bench/default"}\n`);
  write("compat/tiny/sciserver-image.json", "{}\n");
  write("compat/tiny/Dockerfile", "RUN echo compat > /compat\n");
  for (const c of [0, 1]) {
    for (const l of [1, 2]) {
      const id = `c${c}-${l}`;
      write(`science/${id}/sciserver-image.json`, `${JSON.stringify({ image: `c${c}`, version: "1.0", ...(l === 2 ? { compat: "tiny" } : {}) })}\n`);
      write(`science/${id}/stamp`, "1\n");
      write(`science/${id}/Dockerfile`, `FROM ${l === 1 ? base : `sci/c${c}-1:1.0`}\nRUN sleep 3 && echo ${id} > /${id}\nCOPY stamp /stamps/${id}\n`);
    }
  }
}

export async function freshAgent(registry: string, first: Engine, fresh: Engine, rounds: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "ib-builders-fresh-"));
  try {
    freshFamily(dir, await publishBase(first, registry));
    commitAll(dir, "family");
    const repo = `${registry}/ib-builders-fresh-${process.pid}/x`;
    const env = (host: string) => ({ ...process.env, DOCKER_HOST: host });
    const publish = await runCli(CLI, ["--all", "--repo", repo, "--builder", "buildkit", "--push", "--progress", "plain"], dir, env(first.address), dir);
    if (publish.code !== 0) throw new Error(`publishing failed: ${publish.stderr.trim().split("\n").slice(-5).join(" | ")}`);
    writeFileSync(join(dir, "science", "c0-2", "stamp"), "2\n"); // one layer changed: c0-2's COPY and what follows
    commitAll(dir, "c0-2 changed");
    const modes: [string, string[]][] = [
      ["BuildKit, registry cache", ["--builder", "buildkit"]],
      ["BuildKit, --no-registry-cache", ["--builder", "buildkit", "--no-registry-cache"]],
      ["classic", ["--builder", "classic"]],
    ];
    const by = new Map<string, Measured[]>(modes.map(([m]) => [m, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [mode, args] of modes) {
        await emptyEngine(fresh);
        const load = await quietMachine();
        const r = await runCli(CLI, ["--all", "--repo", repo, "--progress", "plain", ...args], dir, env(fresh.address), dir);
        if (r.code !== 0) throw new Error(`${mode} failed: ${r.stderr.trim().split("\n").slice(-5).join(" | ")}`);
        by.get(mode)!.push({ wallMs: r.wallMs, ...countSteps(r.stderr), load });
        log(`  fresh agent, ${mode}: ${s1(r.wallMs)} s, ${steps(by.get(mode)!.slice(-1))}`);
      }
    }
    return modes.map(([mode]) => `| ${mode} | ${cell(by.get(mode)!)} | ${steps(by.get(mode)!)} | ${loads(by.get(mode)!)} |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: { registry: { type: "string" }, "fresh-host": { type: "string" }, rounds: { type: "string" }, "wait-budget": { type: "string" } },
  });
  if (!v.registry) throw new Error("--registry HOST:PORT is required (a registry both engines reach)");
  const rounds = v.rounds ? positiveInts("--rounds", v.rounds)[0] : 2;
  if (v["wait-budget"]) waitBudgetMs = positiveInts("--wait-budget", v["wait-budget"])[0] * 1000;
  const first = connectEngine();
  const version = await first.docker.version();
  const out: string[] = [];

  const examples = mkdtempSync(join(tmpdir(), "ib-builders-examples-"));
  const jobs = mkdtempSync(join(tmpdir(), "ib-builders-jobs-"));
  try {
    for (const part of ["science", "compat", "image-builder.json"]) cpSync(join(PROJECT_ROOT, part), join(examples, part), { recursive: true });
    commitAll(examples, "examples");
    generateRepo(jobs, { ...DEFAULT_JOBS_OPTIONS, base: BASE }, `sleep ${DEFAULT_JOBS_OPTIONS.seconds}`);
    out.push(
      `Median (the lower of an even count; min–max) of ${rounds} rounds; engine ${version.Version} (API ${version.ApiVersion}), ${cpus().length} cores; 1-minute load at each measurement's start in the last column.`,
      "",
      ...table(["family", "builder", "cold", "steps, cold", "warm", "steps, warm", "load"], "lllllll", []),
      // --builder auto: science/astro-base's `# syntax=` frontend is not reachable offline, so auto builds that one classic.
      ...await coldWarm("examples (7 builds)", examples, v.registry, first, rounds, { classic: "classic", "BuildKit (auto)": "auto" }, []),
      ...await coldWarm(`jobs (${DEFAULT_JOBS_OPTIONS.chains * (DEFAULT_JOBS_OPTIONS.length + 1)} builds, --jobs 6)`, jobs, v.registry, first, rounds,
        { classic: "classic", BuildKit: "buildkit" }, ["--jobs", "6"]),
    );
  } finally {
    rmSync(examples, { recursive: true, force: true });
    rmSync(jobs, { recursive: true, force: true });
  }

  if (v["fresh-host"]) {
    const fresh = connectEngine({ DOCKER_HOST: v["fresh-host"] });
    out.push(
      "", `Fresh agent: median (min–max) of ${rounds} rounds, as above, on an emptied second engine (${fresh.address}).`, "",
      ...table(["second engine builds", "wall", "steps", "load"], "llll", []),
      ...await freshAgent(v.registry, first, fresh, rounds),
    );
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  });
}
