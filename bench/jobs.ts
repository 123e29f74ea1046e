// Execution benchmark: how much `--jobs` buys on a real engine.
//
// A generated git repository holds C independent chains of science layers (default 6 chains of 2
// layers, `FROM busybox:stable`, each layer one `RUN sleep S`), each chain's last layer with the
// same tiny compat layer: C × L science builds and C compat builds. The real CLI builds all of it,
//
//   node dist/src/cli/main.js --all --no-cache --repo <unique> --progress plain --jobs K --results F
//
// (no push) for every K, several runs each, interleaved. The same plan shape with empty builds
// (`RUN true` instead of `RUN sleep S`) gives the engine's overhead per build at each K. Wall time
// is a monotonic clock around the spawn; every build's duration comes from `--results`, its end
// from the moment its `built` line arrives on the CLI's stderr; CPU from /proc/stat (the whole
// machine) and /usr/bin/time (the CLI itself).
//
//   npx tsc -p tsconfig.json && node dist/bench/jobs.js [--runs 3] [--jobs 1,2,3,6] [--chains 6]
//       [--length 2] [--seconds 2] [--cli dist/src/cli/main.js] [--write] [--json FILE]
//   node dist/bench/jobs.js --render FILE [--write]     the report of an earlier --json, re-rendered
//
// Standalone it prints the markdown (`--write` puts it into BENCH.md's jobs section instead);
// `bench/run.ts` imports runJobsBench() and does the same. DOCKER_HOST must name the engine, and the
// base image (IB_BENCH_BASE, default busybox:stable) must be in it.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { packContext, DOCKERFILE_NAME } from "../src/executors/docker/context.js";
import { checkEngine, connectEngine, type Engine } from "../src/executors/docker/engine.js";
import { labelsInDockerfile } from "../src/executors/docker/labels.js";
import { messageError, readMessages } from "../src/executors/docker/messages.js";

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const PROJECT_ROOT = join(here, "..", "..");
const TIME = "/usr/bin/time";

export interface JobsBenchOptions {
  /** Independent chains. */
  chains: number;
  /** Science layers per chain. */
  length: number;
  /** Seconds each science layer's RUN sleeps. */
  seconds: number;
  /** The --jobs values measured; the first should be 1 (the speed-ups are against it). */
  jobs: number[];
  /** Measured runs per --jobs value and plan (after one unmeasured warm-up). */
  runs: number;
  /** The CLI's entry point. */
  cli: string;
  /** Base image of every chain; must be in the engine. */
  base: string;
  log: (line: string) => void;
}

export const DEFAULT_JOBS_OPTIONS: JobsBenchOptions = {
  chains: 6,
  length: 2,
  seconds: 2,
  jobs: [1, 2, 3, 6],
  runs: 3,
  cli: join(PROJECT_ROOT, "dist", "src", "cli", "main.js"),
  base: process.env.IB_BENCH_BASE ?? "busybox:stable",
  log: (line) => process.stderr.write(`${line}\n`),
};

export interface Stats {
  median: number;
  min: number;
  max: number;
}

export interface BuildSample {
  id: string;
  kind: "science" | "compat";
  /** Chain index. */
  chain: number;
  /** The build's duration as the CLI records it (--results): from its start to its image's inspect. */
  durationMs: number;
  /** When its `built` line reached us, from the spawn. */
  endMs: number;
  /** endMs - durationMs. */
  startMs: number;
}

export interface RunSample {
  plan: "sleep" | "empty";
  jobs: number;
  wallMs: number;
  /** CPU time of the CLI process (user + sys), when /usr/bin/time is there. */
  cliCpuMs?: number;
  /** CPU time the whole machine spent (every core, all processes) during the run. */
  machineCpuMs: number;
  /** machineCpuMs / (wall × cores). */
  busy: number;
  builds: BuildSample[];
}

export interface PerJobs {
  jobs: number;
  sleep: Stats;
  empty: Stats;
  /** Median empty-build duration by kind, over every build of every run at this K. */
  emptyScience: Stats;
  emptyCompat: Stats;
  /** Science builds of the sleep plan: duration minus the sleep. */
  sleepScienceOverhead: Stats;
  busySleep: Stats;
  busyEmpty: Stats;
  /** Machine CPU seconds per build, empty plan. */
  cpuPerEmptyBuild: Stats;
  cliCpuSleep?: Stats;
}

export interface Decomposition {
  jobs: number;
  wallMs: number;
  chain: number;
  startupMs: number;
  sleepMs: number;
  /** Σ (duration − sleep) of the path's builds. */
  overheadMs: number;
  /** From a parent's end to its child's start, summed over the path. */
  gapsMs: number;
  /** From the path's last end to the CLI's exit. */
  tailMs: number;
}

export interface AnatomyRow {
  what: string;
  steps: number;
  wall: Stats;
  /** Machine CPU time (every process, all cores) per build. */
  cpu: Stats;
}

export interface JobsBenchResult {
  date: string;
  commit: string;
  seconds: number;
  options: Omit<JobsBenchOptions, "log" | "cli">;
  engine: { version: string; apiVersion: string; address: string; driver: string; ncpu: number; builder: string };
  machine: { cpus: number; cpuModel: string; memoryGB: number; kernel: string; node: string; loadBefore: number[]; loadAfter: number[]; strippedEnv: string[] };
  builds: { science: number; compat: number; onPath: number };
  samples: RunSample[];
  perJobs: PerJobs[];
  /** From the spawn to the first build's start (Node, planning, engine check), all runs. */
  startup: Stats;
  /** From the last build's end to the CLI's exit, all runs. */
  tail: Stats;
  /** Longest chain's summed sleep (the compat build sleeps nothing). */
  criticalSleepMs: number;
  /** Longest chain's summed build durations at --jobs 1 (no contention), per run. */
  criticalMeasured: Stats;
  decomposition: Decomposition;
  /** Single builds through the Engine API, alone on the engine: what each kind of step costs. */
  anatomy: AnatomyRow[];
  markdown: string;
}

// ---------------------------------------------------------------------------
// Helpers

function stats(values: number[]): Stats {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

const s1 = (ms: number) => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
const fmt = (x: Stats) => `${s1(x.median)} s (${s1(x.min)}–${s1(x.max)})`;
const pct = (x: Stats) => `${(x.median * 100).toFixed(0)}% (${(x.min * 100).toFixed(0)}–${(x.max * 100).toFixed(0)})`;

/** Jiffies of the whole machine: busy (everything but idle and iowait) and total. */
function cpuTicks(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}
const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux

const haveTime = existsSync(TIME) && spawnSync(TIME, ["-f", "%U", "true"]).status === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function childEnv(): { env: NodeJS.ProcessEnv; stripped: string[] } {
  const env = { ...process.env };
  const stripped: string[] = [];
  for (const k of ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS"]) {
    if (env[k] !== undefined) {
      stripped.push(k);
      delete env[k];
    }
  }
  return { env, stripped };
}

function projectCommit(): string {
  const r = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: PROJECT_ROOT, encoding: "utf8" });
  const dirty = spawnSync("git", ["status", "--porcelain", "--", "src"], { cwd: PROJECT_ROOT, encoding: "utf8" }).stdout.trim();
  return `${r.stdout.trim()}${dirty ? " + uncommitted changes in src/" : ""}`;
}

// ---------------------------------------------------------------------------
// The repository

/** Writes and commits the benchmark repository: `run` is each science layer's RUN command. */
export function generateRepo(dir: string, o: JobsBenchOptions, run: string): void {
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  write("image-builder.json", `{"repo": "ib-jobs-bench/default"}\n`);
  write("compat/tiny/sciserver-image.json", "{}\n");
  write("compat/tiny/Dockerfile", "LABEL org.example.bench=compat\n");
  for (let c = 0; c < o.chains; c++) {
    for (let l = 1; l <= o.length; l++) {
      const last = l === o.length;
      const config = { image: `c${c}`, version: "1.0", ...(last ? { compat: "tiny" } : {}) };
      write(`science/c${c}-${l}/sciserver-image.json`, `${JSON.stringify(config)}\n`);
      const from = l === 1 ? o.base : `sci/c${c}-${l - 1}:1.0`;
      write(`science/c${c}-${l}/Dockerfile`, `FROM ${from}\nRUN ${run}\n`);
    }
  }
  const git = (...args: string[]) => {
    const r = spawnSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid", ...args], { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr}`);
  };
  git("init", "-q");
  git("add", "-A");
  git("commit", "-q", "-m", "benchmark repository");
}

// ---------------------------------------------------------------------------
// One run

interface Spawned {
  code: number;
  wallMs: number;
  cpuMs?: number;
  stderr: string;
  ends: Map<string, number>;
}

export function runCli(cli: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, scratch: string): Promise<Spawned> {
  const timeFile = join(scratch, "time.txt");
  rmSync(timeFile, { force: true });
  const command = haveTime ? [TIME, "-f", "%U %S", "-o", timeFile, process.execPath, cli, ...args] : [process.execPath, cli, ...args];
  return new Promise((done, fail) => {
    const ends = new Map<string, number>();
    let stderr = "";
    let partial = "";
    const t0 = process.hrtime.bigint();
    const now = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const child = spawn(command[0], command.slice(1), { cwd, env, stdio: ["ignore", "ignore", "pipe"] });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      const at = now();
      stderr += chunk;
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        const m = /^\[([^\]]+)\] built (?:sha256:)?[0-9a-f]+ in /.exec(line);
        if (m) ends.set(m[1], at);
      }
    });
    child.on("error", fail);
    child.on("close", (code) => {
      const wallMs = now();
      let cpuMs: number | undefined;
      if (haveTime && existsSync(timeFile)) {
        const [user, sys] = readFileSync(timeFile, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
        if (Number.isFinite(user) && Number.isFinite(sys)) cpuMs = (user + sys) * 1000;
      }
      done({ code: code ?? -1, wallMs, cpuMs, stderr, ends });
    });
  });
}

interface ResultsFile {
  results: { id: string; status: string; durationMs: number; outputs?: { "docker-image-hash": string } }[];
}

/** Removes what a run built, children first (a parent with children can't be removed). */
async function removeImages(engine: Engine, results: ResultsFile["results"]): Promise<void> {
  for (const r of [...results].reverse()) {
    const id = r.outputs?.["docker-image-hash"];
    if (id) await engine.docker.getImage(id).remove({ force: true }).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------
// Anatomy of a build: single builds straight through the Engine API, the way the executor sends
// them, one at a time, to see what the engine spends on the context, a RUN step and a metadata step.

async function anatomy(engine: Engine, base: string, runs: number, log: (line: string) => void): Promise<AnatomyRow[]> {
  const labels = { "org.example.bench.version": "1.0-1-abc1234", "org.example.bench.buildtime": "1700000000" };
  const asOne = labelsInDockerfile(`FROM ${base}\nRUN true\n`, labels);
  const cases: { what: string; dockerfile: string; labels: Record<string, string> }[] = [
    { what: "`FROM` only: context, tags", dockerfile: `FROM ${base}\n`, labels: {} },
    { what: "`FROM` + `LABEL`: one metadata step", dockerfile: `FROM ${base}\nLABEL a=b\n`, labels: {} },
    { what: "`FROM` + `RUN true`: one RUN step", dockerfile: `FROM ${base}\nRUN true\n`, labels: {} },
    { what: "`RUN true` + 2 labels through the API's `labels` parameter (one step each)", dockerfile: `FROM ${base}\nRUN true\n`, labels },
    { what: "`RUN true` + the same 2 labels as one `LABEL` instruction (what the executor sends now)", dockerfile: asOne.dockerfile, labels: asOne.labels },
  ];
  const tag = `ib-jobs-bench-${process.pid}-anatomy:x`;
  const build = async (c: (typeof cases)[number]): Promise<{ ms: number; cpuMs: number; steps: number }> => {
    const before = cpuTicks();
    const t0 = process.hrtime.bigint();
    const stream = await engine.docker.buildImage(packContext([], c.dockerfile), {
      t: tag, labels: c.labels, nocache: true, dockerfile: DOCKERFILE_NAME, rm: true, forcerm: true,
    });
    let id: string | undefined;
    let failure: string | undefined;
    let steps = 0;
    await readMessages(stream, (m) => {
      if (m.aux?.ID) id = m.aux.ID;
      if (m.stream?.startsWith("Step ")) steps++;
      failure ??= messageError(m);
    }, new AbortController().signal);
    if (failure || !id) throw new Error(`anatomy build failed: ${failure ?? "no image id"}`);
    await engine.docker.getImage(id).inspect();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { ms, cpuMs: (cpuTicks().busy - before.busy) * TICK_MS, steps };
  };
  const samples = cases.map(() => ({ ms: [] as number[], cpu: [] as number[], steps: 0 }));
  try {
    for (let i = 0; i <= runs; i++) {
      for (const [k, c] of cases.entries()) {
        const r = await build(c);
        samples[k].steps = r.steps;
        if (i === 0) continue; // warm-up
        samples[k].ms.push(r.ms);
        samples[k].cpu.push(r.cpuMs);
      }
    }
  } finally {
    await engine.docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  }
  const rows = cases.map((c, k) => ({ what: c.what, steps: samples[k].steps, wall: stats(samples[k].ms), cpu: stats(samples[k].cpu) }));
  for (const r of rows) log(`  anatomy: ${r.what}: ${r.steps} steps, ${fmt(r.wall)}, CPU ${fmt(r.cpu)}`);
  return rows;
}

// ---------------------------------------------------------------------------
// The benchmark

export async function runJobsBench(partial: Partial<JobsBenchOptions> = {}): Promise<JobsBenchResult> {
  const o: JobsBenchOptions = { ...DEFAULT_JOBS_OPTIONS, ...partial };
  if (!o.jobs.includes(1)) o.jobs = [1, ...o.jobs];
  const started = Date.now();
  const engine = connectEngine();
  const version = await checkEngine(engine);
  const info = (await engine.docker.info()) as { Driver?: string; NCPU?: number };
  try {
    await engine.docker.getImage(o.base).inspect();
  } catch {
    throw new Error(`the base image ${o.base} is not in the engine at ${engine.address} (test/engine/start.sh seeds busybox:stable)`);
  }
  const { env, stripped } = childEnv();
  const cores = cpus().length;
  const machine = {
    cpus: cores, cpuModel: cpus()[0]?.model ?? "unknown", memoryGB: totalmem() / 2 ** 30, kernel: `Linux ${release()}`,
    node: process.version, loadBefore: loadavg(), loadAfter: [] as number[], strippedEnv: stripped,
  };
  o.log(`jobs benchmark: engine ${version.version} (API ${version.apiVersion}) at ${engine.address}, ${info.Driver}, ${info.NCPU} CPUs; ` +
    `${o.chains} chains × ${o.length} science layers (RUN sleep ${o.seconds}) + 1 compat each; --jobs ${o.jobs.join(",")}; ${o.runs} runs`);

  const root = mkdtempSync(join(tmpdir(), "ib-jobs-bench-"));
  const repos = { sleep: join(root, "sleep"), empty: join(root, "empty") };
  const scratch = join(root, "scratch");
  mkdirSync(scratch);
  generateRepo(repos.sleep, o, `sleep ${o.seconds}`);
  generateRepo(repos.empty, o, "true");
  const totalBuilds = o.chains * (o.length + 1);
  const samples: RunSample[] = [];
  let counter = 0;

  const once = async (plan: "sleep" | "empty", jobs: number, measured: boolean) => {
    const repo = `ib-jobs-bench-${process.pid}-${++counter}/x`;
    const results = join(scratch, `results-${counter}.json`);
    const args = ["--all", "--no-cache", "--repo", repo, "--progress", "plain", "--jobs", String(jobs), "--results", results];
    const before = cpuTicks();
    const r = await runCli(o.cli, args, repos[plan], env, scratch);
    const after = cpuTicks();
    const file = existsSync(results) ? (JSON.parse(readFileSync(results, "utf8")) as ResultsFile) : { results: [] };
    await removeImages(engine, file.results);
    if (r.code !== 0) throw new Error(`${plan} plan with --jobs ${jobs} failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-5).join(" | ")}`);
    if (file.results.length !== totalBuilds || file.results.some((b) => b.status !== "built")) {
      throw new Error(`${plan} plan with --jobs ${jobs}: expected ${totalBuilds} builds built, got ${file.results.map((b) => `${b.id} ${b.status}`).join(", ")}`);
    }
    const builds: BuildSample[] = file.results.map((b) => {
      const endMs = r.ends.get(b.id);
      if (endMs === undefined) throw new Error(`no "built" line for ${b.id} in the CLI's output`);
      const chain = Number(/^(?:sci\/c|rel\/c)(\d+)/.exec(b.id)?.[1]);
      return { id: b.id, kind: b.id.startsWith("rel/") ? "compat" : "science", chain, durationMs: b.durationMs, endMs, startMs: endMs - b.durationMs };
    });
    const machineCpuMs = (after.busy - before.busy) * TICK_MS;
    const busy = (after.busy - before.busy) / (after.total - before.total);
    const sample: RunSample = { plan, jobs, wallMs: r.wallMs, cliCpuMs: r.cpuMs, machineCpuMs, busy, builds };
    if (measured) samples.push(sample);
    o.log(`  ${measured ? "" : "(warm-up) "}${plan.padEnd(5)} --jobs ${String(jobs).padEnd(2)} ${s1(r.wallMs).padStart(6)} s  ` +
      `machine ${(busy * 100).toFixed(0)}% busy, CLI CPU ${r.cpuMs === undefined ? "?" : s1(r.cpuMs)} s`);
    // Let the engine finish tidying up (shims exiting, layers unmounted) before the next run.
    await sleep(500);
  };

  const onSignal = () => {
    rmSync(root, { recursive: true, force: true });
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let anatomyRows: AnatomyRow[] = [];
  try {
    anatomyRows = await anatomy(engine, o.base, 5, o.log);
    await once("empty", Math.max(...o.jobs), false);
    for (let i = 0; i < o.runs; i++) {
      for (const jobs of o.jobs) {
        await once("sleep", jobs, true);
        await once("empty", jobs, true);
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    rmSync(root, { recursive: true, force: true });
  }
  machine.loadAfter = loadavg();

  // ---- figures
  const sleepMs = o.seconds * 1000;
  const of = (plan: "sleep" | "empty", jobs: number) => samples.filter((x) => x.plan === plan && x.jobs === jobs);
  const perJobs: PerJobs[] = o.jobs.map((jobs) => {
    const sl = of("sleep", jobs);
    const em = of("empty", jobs);
    const emptyBuilds = em.flatMap((x) => x.builds);
    const cli = sl.map((x) => x.cliCpuMs).filter((x): x is number => x !== undefined);
    return {
      jobs,
      sleep: stats(sl.map((x) => x.wallMs)),
      empty: stats(em.map((x) => x.wallMs)),
      emptyScience: stats(emptyBuilds.filter((b) => b.kind === "science").map((b) => b.durationMs)),
      emptyCompat: stats(emptyBuilds.filter((b) => b.kind === "compat").map((b) => b.durationMs)),
      sleepScienceOverhead: stats(sl.flatMap((x) => x.builds).filter((b) => b.kind === "science").map((b) => b.durationMs - sleepMs)),
      busySleep: stats(sl.map((x) => x.busy)),
      busyEmpty: stats(em.map((x) => x.busy)),
      cpuPerEmptyBuild: stats(em.map((x) => x.machineCpuMs / totalBuilds)),
      cliCpuSleep: cli.length ? stats(cli) : undefined,
    };
  });
  const startup = stats(samples.map((x) => Math.min(...x.builds.map((b) => b.startMs))));
  const tail = stats(samples.map((x) => x.wallMs - Math.max(...x.builds.map((b) => b.endMs))));
  const chainSum = (x: RunSample, c: number) => x.builds.filter((b) => b.chain === c).reduce((a, b) => a + b.durationMs, 0);
  const criticalMeasured = stats(of("sleep", 1).map((x) => Math.max(...Array.from({ length: o.chains }, (_, c) => chainSum(x, c)))));

  // The median run at the largest K, along the chain that finished last.
  const kMax = Math.max(...o.jobs);
  const top = [...of("sleep", kMax)].sort((a, b) => a.wallMs - b.wallMs)[of("sleep", kMax).length >> 1];
  const lastBuild = top.builds.reduce((a, b) => (b.endMs > a.endMs ? b : a));
  const path = top.builds.filter((b) => b.chain === lastBuild.chain).sort((a, b) => a.startMs - b.startMs);
  let gaps = 0;
  for (let i = 1; i < path.length; i++) gaps += path[i].startMs - path[i - 1].endMs;
  const decomposition: Decomposition = {
    jobs: kMax,
    wallMs: top.wallMs,
    chain: lastBuild.chain,
    startupMs: path[0].startMs,
    sleepMs: o.length * sleepMs,
    overheadMs: path.reduce((a, b) => a + b.durationMs, 0) - o.length * sleepMs,
    gapsMs: gaps,
    tailMs: top.wallMs - path[path.length - 1].endMs,
  };

  const result: JobsBenchResult = {
    date: new Date().toISOString(),
    commit: projectCommit(),
    seconds: (Date.now() - started) / 1000,
    options: { chains: o.chains, length: o.length, seconds: o.seconds, jobs: o.jobs, runs: o.runs, base: o.base },
    engine: {
      version: version.version, apiVersion: version.apiVersion, address: engine.address,
      driver: info.Driver ?? "?", ncpu: info.NCPU ?? 0, builder: "classic (POST /build, the executor's builder)",
    },
    machine,
    builds: { science: o.chains * o.length, compat: o.chains, onPath: o.length + 1 },
    samples,
    perJobs,
    startup,
    tail,
    criticalSleepMs: o.length * sleepMs,
    criticalMeasured,
    decomposition,
    anatomy: anatomyRows,
    markdown: "",
  };
  result.markdown = jobsMarkdown(result);
  return result;
}

// ---------------------------------------------------------------------------
// Report

interface JobsTarget {
  what: string;
  target: string;
  measured: string;
  met: boolean;
}

/** Reference wall time at K: start-up + tail + the path's sleep + the path's empty builds at `overheadAt`. */
function reference(r: JobsBenchResult, overheadAt: number): number {
  const p = r.perJobs.find((x) => x.jobs === overheadAt)!;
  return r.startup.median + r.tail.median + r.criticalSleepMs + r.options.length * p.emptyScience.median + p.emptyCompat.median;
}

export function jobsTargets(r: JobsBenchResult): JobsTarget[] {
  const one = r.perJobs.find((x) => x.jobs === 1)!;
  const kMax = Math.max(...r.options.jobs);
  const top = r.perJobs.find((x) => x.jobs === kMax)!;
  const ref1 = reference(r, 1);
  const refK = reference(r, kMax);
  const speedup = one.sleep.median / top.sleep.median;
  return [
    {
      what: `--jobs ${kMax} against the critical path plus per-build overhead measured alone (empty builds, --jobs 1)`,
      target: "≤ 1.3×",
      measured: `${s1(top.sleep.median)} s / ${s1(ref1)} s = ${(top.sleep.median / ref1).toFixed(2)}× (worst run ${(top.sleep.max / ref1).toFixed(2)}×)`,
      met: top.sleep.median <= 1.3 * ref1,
    },
    {
      what: `--jobs ${kMax} against the critical path plus per-build overhead measured the same way (empty builds, --jobs ${kMax})`,
      target: "≤ 1.3×",
      measured: `${s1(top.sleep.median)} s / ${s1(refK)} s = ${(top.sleep.median / refK).toFixed(2)}× (worst run ${(top.sleep.max / refK).toFixed(2)}×)`,
      met: top.sleep.median <= 1.3 * refK,
    },
    {
      what: `speed-up of --jobs ${kMax} over --jobs 1, ${r.options.chains} independent chains`,
      target: "≥ 3×",
      measured: `${s1(one.sleep.median)} s / ${s1(top.sleep.median)} s = ${speedup.toFixed(2)}× (worst pair ${(one.sleep.min / top.sleep.max).toFixed(2)}×)`,
      met: speedup >= 3,
    },
  ];
}

export function jobsMarkdown(r: JobsBenchResult): string {
  const o = r.options;
  const m = r.machine;
  const kMax = Math.max(...o.jobs);
  const one = r.perJobs.find((x) => x.jobs === 1)!;
  const top = r.perJobs.find((x) => x.jobs === kMax)!;
  const d = r.decomposition;
  const total = r.builds.science + r.builds.compat;
  const lines: string[] = [];
  const push = (...l: string[]) => lines.push(...l);
  const ref1 = reference(r, 1);
  const refK = reference(r, kMax);
  const cli = top.cliCpuSleep;

  push(
    `Measured ${r.date.slice(0, 16).replace("T", " ")} UTC on image-builder ${r.commit}; the whole jobs benchmark took ${r.seconds.toFixed(0)} s.`,
    "",
    "### Method",
    "",
    `- \`bench/jobs.ts\` generates a git repository under the OS temp dir: ${o.chains} independent chains of ${o.length} science layers`,
    `  (\`science/c<i>-1\` \`FROM ${o.base}\`, \`science/c<i>-<k>\` \`FROM sci/c<i>-<k-1>:1.0\`), each layer a single \`RUN sleep ${o.seconds}\`;`,
    `  each chain's last layer is a final image with the same tiny compat layer (one \`LABEL\`). \`--all\` plans`,
    `  ${r.builds.science} science and ${r.builds.compat} compat builds; every chain is ${r.builds.onPath} builds long (${o.length} science, then the compat build).`,
    "- A second repository, identical but for `RUN true` instead of the sleep, gives the **overhead per build**: what the",
    "  engine and the CLI spend on a build that does nothing, measured the same way at every `--jobs`.",
    `- The real CLI builds each repository with \`--jobs\` ${o.jobs.join(", ")}, \`--no-cache\`, no push, under a new \`--repo\``,
    "  every run; its images are removed after each run (not timed). One unmeasured warm-up, then",
    `  ${o.runs} rounds, each running every \`--jobs\` value on both repositories, so drift affects all alike.`,
    "- Wall time: a monotonic clock around the spawn. Each build's duration: `--results` (from the moment the",
    "  scheduler starts it until the engine has committed, tagged and reported its image). Each build's end: when",
    "  its `built` line arrives on the CLI's stderr, so start = end − duration gives a timeline. CPU: `/proc/stat`",
    "  for the whole machine (engine, containers, CLI) and `/usr/bin/time` for the CLI alone.",
    `- **Critical path**: the longest chain's summed sleep, ${s1(r.criticalSleepMs)} s (the compat build sleeps nothing). The reference a`,
    "  perfect scheduler could reach is that plus the path's per-build overhead (" +
      `${o.length} empty science builds and 1 empty compat build) plus the CLI's start-up before the first build and its exit after the last.`,
    "",
    "### Machine",
    "",
    `- ${m.cpus} cores (${m.cpuModel}), ${m.memoryGB.toFixed(1)} GB memory, ${m.kernel}; Node ${m.node}`,
    `- Docker Engine ${r.engine.version} (API ${r.engine.apiVersion}), storage driver ${r.engine.driver}, ${r.engine.ncpu} CPUs, at \`${r.engine.address}\` (the test suite's private engine); builder: ${r.engine.builder}`,
    `- load average (1, 5, 15 min) before: ${m.loadBefore.map((x) => x.toFixed(2)).join(", ")}; after: ${m.loadAfter.map((x) => x.toFixed(2)).join(", ")}`,
    ...(m.strippedEnv.length ? [`- the CLI runs without ${m.strippedEnv.map((e) => `\`${e}\``).join(", ")}, as in the planning benchmark`] : []),
    "",
    "### Commands",
    "",
    "```sh",
    "source /tmp/image-builder-test-engine/env.sh        # DOCKER_HOST of the engine the tests start",
    "npx tsc -p tsconfig.json && node dist/bench/jobs.js --write   # this section only; `npm run bench` runs it too",
    "# what it runs, in each generated repository, per run:",
    "node dist/src/cli/main.js --all --no-cache --repo ib-jobs-bench-<pid>-<n>/x --progress plain --jobs K --results <file>",
    "```",
    "",
    "### Figures",
    "",
    `Median (min–max) of ${o.runs} runs. Wall times are the whole CLI run (start-up, planning, building all ${total} images).`,
    "",
    `| --jobs | wall, sleep plan | speed-up over --jobs 1 | wall, empty plan | empty science build | empty compat build | science build overhead in the sleep plan | machine CPU busy (sleep plan) | machine CPU busy (empty plan) |`,
    "| ---: | --- | ---: | --- | --- | --- | --- | --- | --- |",
    ...r.perJobs.map((p) =>
      `| ${p.jobs} | ${fmt(p.sleep)} | ${(one.sleep.median / p.sleep.median).toFixed(2)}× | ${fmt(p.empty)} | ${fmt(p.emptyScience)} | ${fmt(p.emptyCompat)} | ${fmt(p.sleepScienceOverhead)} | ${pct(p.busySleep)} | ${pct(p.busyEmpty)} |`),
    "",
    `- CLI start-up before the first build starts (Node, planning, engine check): ${fmt(r.startup)}; from the last build's end to exit: ${fmt(r.tail)}.`,
    `- Machine CPU per empty build (every process, all cores, --jobs 1): ${fmt(one.cpuPerEmptyBuild)}; at --jobs ${kMax}: ${fmt(top.cpuPerEmptyBuild)}.` +
      (cli ? ` The CLI itself used ${fmt(cli)} of CPU for a whole --jobs ${kMax} run of the sleep plan.` : ""),
    `- Critical path, measured: the longest chain's summed build durations at --jobs 1 (builds alone on the engine): ${fmt(r.criticalMeasured)}.`,
    "",
    "### Critical path and targets",
    "",
    `- Reference with the overhead measured alone (--jobs 1): ${s1(r.startup.median + r.tail.median)} s start-up and exit + ${s1(r.criticalSleepMs)} s sleep + ` +
      `${o.length} × ${s1(one.emptyScience.median)} s + ${s1(one.emptyCompat.median)} s = **${s1(ref1)} s**.`,
    `- Reference with the overhead measured the same way at --jobs ${kMax}: ${s1(r.startup.median + r.tail.median)} s + ${s1(r.criticalSleepMs)} s + ` +
      `${o.length} × ${s1(top.emptyScience.median)} s + ${s1(top.emptyCompat.median)} s = **${s1(refK)} s**.`,
    "",
    "| what | target | measured | met |",
    "| --- | --- | --- | :---: |",
    ...jobsTargets(r).map((t) => `| ${t.what} | ${t.target} | ${t.measured} | ${t.met ? "yes" : "**no**"} |`),
    "",
    `Where the median --jobs ${kMax} run's time went, along the chain that finished last (c${d.chain}):`,
    "",
    "| part | seconds | share |",
    "| --- | ---: | ---: |",
    ...([
      ["CLI start-up before the first build", d.startupMs],
      [`the path's sleeps (${o.length} × ${o.seconds} s)`, d.sleepMs],
      [`the path's ${r.builds.onPath} builds beyond their sleep (engine work, contended)`, d.overheadMs],
      ["between a parent's end and its child's start", d.gapsMs],
      ["after the last build, to exit", d.tailMs],
    ] as [string, number][]).map(([what, ms]) => `| ${what} | ${s1(ms)} | ${((ms / d.wallMs) * 100).toFixed(0)}% |`),
    `| **wall** | **${s1(d.wallMs)}** | |`,
  );

  const ms = (x: number) => `${(x * 1000).toFixed(0)} ms`;
  const row = (i: number) => r.anatomy[i];
  if (r.anatomy.length >= 5) {
    push(
      "",
      "### Anatomy of a build",
      "",
      "The same benchmark sends single builds straight to the Engine API, as the executor does (uncompressed tar",
      `context, \`nocache\`, \`rm\`, \`forcerm\`), one at a time: median (min–max) of 5 after a warm-up; CPU is the whole machine's.`,
      "",
      "| build | steps | wall | machine CPU |",
      "| --- | ---: | --- | --- |",
      ...r.anatomy.map((a) => `| ${a.what} | ${a.steps} | ${fmt(a.wall)} | ${fmt(a.cpu)} |`),
      "",
      `So the context, the Dockerfile and the tags cost the engine about ${ms(row(0).cpu.median / 1000)} of CPU, a \`RUN\` step about`,
      `${ms((row(2).cpu.median - row(0).cpu.median) / 1000)} and a metadata step (\`LABEL\` here; \`ENV\` and \`ARG\` are steps of the same kind) about`,
      `${ms((row(1).cpu.median - row(0).cpu.median) / 1000)}, nearly all of it on the engine's side.`,
    );
  }

  const pathAlone = o.length * one.emptyScience.median + one.emptyCompat.median;
  const emptyOneCpu = stats(r.samples.filter((x) => x.plan === "empty" && x.jobs === 1).map((x) => x.machineCpuMs));
  const cliPerBuild = cli ? cli.median / total : undefined;
  const speedups = r.perJobs.filter((p) => p.jobs !== 1).map((p) => `${(one.sleep.median / p.sleep.median).toFixed(1)}× at --jobs ${p.jobs}`).join(", ");
  const strict = jobsTargets(r)[0];
  push(
    "",
    "### What dominates the remaining time",
    "",
    `- **The engine's work for each build, contended.** Along the path of the median --jobs ${kMax} run its ${r.builds.onPath} builds took`,
    `  ${s1(d.overheadMs)} s beyond their sleeps; alone on the engine the same builds take ${s1(pathAlone)} s. The classic builder (what`,
    "  `POST /build` runs) makes every Dockerfile instruction a step: a container is created (for `RUN` also started",
    "  through containerd's shim and runc), its changes are committed as an image layer, and it is removed. An empty",
    `  build costs the machine ${s1(one.cpuPerEmptyBuild.median)} s of CPU (the CLI's whole run, start-up included, ${cliPerBuild === undefined ? "a small part" : `${ms(cliPerBuild / 1000)} per build`}); traced once with strace, a \`RUN\``,
    "  step executes `containerd-shim-runc-v2` three times and `runc` five times (create, init, start, delete twice),",
    "  and dockerd re-executes itself (`docker-untar`) to unpack the context and each committed layer: a dozen",
    `  launches of large Go binaries per build. That is CPU work, and there are ${m.cpus} cores: with ${o.chains} chains at once the empty plan keeps the machine`,
    `  ${pct(top.busyEmpty)} busy. In the sleep plan the chains start, commit and start their next build at the same`,
    `  moments (their sleeps are equal), so each burst of ${o.chains} builds' engine work queues on ${m.cpus} cores, which then idle`,
    `  during the sleeps (${pct(top.busySleep)} busy on average). The whole empty plan is ${s1(emptyOneCpu.median)} CPU-seconds of work,`,
    `  at least ${s1(emptyOneCpu.median / m.cpus)} s on ${m.cpus} cores however it is scheduled; with --jobs ${kMax} it takes ${s1(top.empty.median)} s, start-up included.`,
    `- **The sleeps** (${s1(r.criticalSleepMs)} s on the path): the work itself.`,
    `- **The CLI's start-up** (${s1(r.startup.median)} s before the first build starts): Node, planning, and loading the engine`,
    "  client: dockerode loads gRPC and protobuf (for BuildKit sessions) and ssh2 (for `ssh://` hosts) whether they are",
    "  used or not, about 0.1 s of it.",
    `- **Scheduling** adds nothing measurable: a child starts ${ms(d.gapsMs / Math.max(1, r.builds.onPath - 1) / 1000)} after its parent's image is reported (on average`,
    "  along the path), and each compat build as soon as its final science layer is built.",
    "",
    `### What limits --jobs ${kMax}`,
    "",
    `The speed-up is ${speedups}. Against the critical path plus the overhead each build has alone on the engine,`,
    `--jobs ${kMax} takes ${(top.sleep.median / ref1).toFixed(2)}×${strict.met ? ", within the 1.3× target" : ", outside the 1.3× target"}: what is left is the ${o.chains} chains' engine work competing`,
    `for ${m.cpus} cores, not waiting in image-builder. It would shrink with more cores, with Dockerfiles of fewer instructions`,
    "(each one is a commit), or with a builder that does less per step: BuildKit (`version=2` on the build API) runs",
    "metadata instructions without containers, but it needs a session and reports progress in another format: a",
    "different executor, not a tuning of this one. Against the overhead measured the same way (empty builds at",
    `--jobs ${kMax}, under the same contention) it takes ${(top.sleep.median / refK).toFixed(2)}×: that reference counts the contention of ${total}`,
    "empty builds at once, which the sleep plan spreads out, so it is the more lenient of the two.",
    "",
    "### What was changed to get here",
    "",
    "`src/executors/docker/labels.ts`, used by `build.ts`: a request's labels (two per build: its version and build",
    "time) went to the build API's `labels` parameter, which the classic builder turns into one `LABEL` instruction",
    "per label, so two steps per build, each a container created, committed and removed. They are now appended to",
    "the Dockerfile sent to the engine as one `LABEL` instruction, in the last stage as before: the images get the same",
    "labels (keys and values quoted, with `$`, quotes and the escape character escaped, so nothing is expanded, as",
    "with the parameter; checked on this engine against the parameter with tricky values, `# escape=`, CRLF and",
    "multi-stage Dockerfiles), with one step fewer. When the Dockerfile can't take another line safely (its last",
    "instruction continues past the end) or a label can't be written on one line, the parameter is used as before.",
    "The one visible difference is the image history: one `LABEL` entry instead of two. Unit tests:",
    "`test/unit/executor-labels.test.ts`.",
    ...(r.anatomy.length >= 5
      ? [
          "",
          `Alone on the engine a build with one \`RUN\` and its two labels went from ${fmt(row(3).wall)} to ${fmt(row(4).wall)}, and from`,
          `${s1(row(3).cpu.median)} s to ${s1(row(4).cpu.median)} s of machine CPU (anatomy above).`,
        ]
      : []),
    ...BEFORE,
  );
  return lines.join("\n");
}

/**
 * The whole plan before the labels change, measured once with this benchmark (`--cli` pointing at
 * a build of the executor that passed the labels as the API parameter), to compare with the figures above.
 */
const BEFORE: string[] = [
  "",
  "The whole plan measured with this benchmark just before the change (2026-11-23, 3 runs, `--jobs` 1 and 6, the",
  "same tree with the labels passed as the parameter): the sleep plan 34.7 s (32.7–35.3) with --jobs 1 and",
  "9.26 s (8.71–9.96) with --jobs 6 (speed-up 3.75×); the empty plan 10.5 s (9.23–10.7) and 5.50 s (5.00–6.64);",
  "empty builds alone 0.56 s (science) and 0.45 s (compat); --jobs 6 at 1.52× the critical path plus the overhead",
  "alone (worst run 1.63×). Nothing else in the executor showed up: the scheduler starts a child as soon as its",
  "parent is reported, and the CLI's own CPU time is about 0.7 s a run, most of it start-up.",
];

// ---------------------------------------------------------------------------
// BENCH.md's jobs section, between two markers: `bench/run.ts` writes the whole file around it

export const JOBS_START = "<!-- jobs-bench:start -->";
export const JOBS_END = "<!-- jobs-bench:end -->";

/** The jobs section of BENCH.md's text, or undefined when the markers are not there. */
export function jobsSectionOf(text: string): string | undefined {
  const i = text.indexOf(JOBS_START);
  const j = text.indexOf(JOBS_END);
  return i >= 0 && j > i ? text.slice(i + JOBS_START.length, j).trim() : undefined;
}

/** `text` with its jobs section replaced by `markdown`. */
export function withJobsSection(text: string, markdown: string): string {
  if (jobsSectionOf(text) === undefined) throw new Error(`BENCH.md has no ${JOBS_START} … ${JOBS_END} section`);
  return `${text.slice(0, text.indexOf(JOBS_START) + JOBS_START.length)}\n${markdown.trim()}\n${text.slice(text.indexOf(JOBS_END))}`;
}

/** A positive integer flag, or a comma-separated list of them. */
export function positiveInts(flag: string, value: string): number[] {
  const xs = value.split(",").map(Number);
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`${flag} takes positive integers, comma-separated`);
  return xs;
}

// ---------------------------------------------------------------------------
// Standalone

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      runs: { type: "string" }, chains: { type: "string" }, length: { type: "string" }, seconds: { type: "string" },
      jobs: { type: "string" }, cli: { type: "string" }, write: { type: "boolean", default: false },
      json: { type: "string" }, render: { type: "string" },
    },
  });
  const one = (flag: string, value: string | undefined) => (value === undefined ? undefined : positiveInts(`--${flag}`, value)[0]);
  const o: Partial<JobsBenchOptions> = {
    runs: one("runs", v.runs), chains: one("chains", v.chains), length: one("length", v.length), seconds: one("seconds", v.seconds),
    jobs: v.jobs === undefined ? undefined : positiveInts("--jobs", v.jobs),
    cli: v.cli === undefined ? undefined : resolve(v.cli),
  };
  for (const k of Object.keys(o) as (keyof JobsBenchOptions)[]) if (o[k] === undefined) delete o[k];
  let r: JobsBenchResult;
  if (v.render) {
    // Re-renders the report of an earlier run (--json) without measuring anything.
    r = JSON.parse(readFileSync(v.render, "utf8")) as JobsBenchResult;
    r.markdown = jobsMarkdown(r);
  } else {
    r = await runJobsBench(o);
  }
  if (v.json) writeFileSync(v.json, `${JSON.stringify(r, null, 2)}\n`);
  for (const t of jobsTargets(r)) process.stderr.write(`${t.met ? "met   " : "MISSED"} ${t.what}: ${t.measured} (target ${t.target})\n`);
  if (v.write) {
    const file = join(PROJECT_ROOT, "BENCH.md");
    writeFileSync(file, withJobsSection(readFileSync(file, "utf8"), r.markdown));
    process.stderr.write(`wrote the jobs section of ${file}\n`);
  } else {
    process.stdout.write(`${r.markdown}\n`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  });
}
