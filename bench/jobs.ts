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
//   npm run build && node dist/bench/jobs.js [--runs 3] [--jobs 1,2,3,6] [--chains 6]
//       [--length 2] [--seconds 2] [--cli dist/src/cli/main.js] [--write] [--json FILE]
//   node dist/bench/jobs.js --render FILE [--write]     the report of an earlier --json, re-rendered
//
// Standalone it prints the markdown (`--write` puts it into BENCH.md's jobs-bench section instead);
// `npm run bench` runs it too. DOCKER_HOST must name the engine, and the base image (IB_BENCH_BASE,
// default busybox:stable) must be in it. BENCH.md's "Jobs" section describes the method.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  CLI, PROJECT_ROOT, childEnv, commitAll, fileWriter, haveTime, logTargets, measuredLine, positiveInts, projectCommit, range, readTimed, stats, table,
  targetsTable, timed, writeSection, type Stats, type Target,
} from "./report.js";
import { packContext, DOCKERFILE_NAME } from "../src/executors/docker/context.js";
import { checkEngine, connectEngine, type Engine } from "../src/executors/docker/engine.js";
import { labelsInDockerfile } from "../src/executors/docker/labels.js";
import { messageError, readMessages } from "../src/executors/docker/messages.js";


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
  cli: CLI,
  base: process.env.IB_BENCH_BASE ?? "busybox:stable",
  log: (line) => process.stderr.write(`${line}\n`),
};

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

const s1 = (ms: number) => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
const fmt = (x: Stats) => range(x, s1, " s");
const pct = (x: Stats) => range(x, (v) => (v * 100).toFixed(0), "%");

/** Jiffies of the whole machine: busy (everything but idle and iowait) and total. */
function cpuTicks(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}
const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// The repository

/** Writes and commits the benchmark repository: `run` is each science layer's RUN command. */
export function generateRepo(dir: string, o: JobsBenchOptions, run: string): void {
  const write = fileWriter(dir);
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
  commitAll(dir, "benchmark repository");
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
  const command = haveTime ? timed(timeFile, [process.execPath, cli, ...args]) : [process.execPath, cli, ...args];
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
      const cpuMs = haveTime && existsSync(timeFile) ? readTimed(timeFile).cpuMs : undefined;
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
// Report: the generated part of BENCH.md's Jobs section (the prose around it is BENCH.md's own)

/** Reference wall time: start-up + tail + the path's sleep + the path's empty builds measured at --jobs `overheadAt`. */
function reference(r: JobsBenchResult, overheadAt: number): number {
  const p = r.perJobs.find((x) => x.jobs === overheadAt)!;
  return r.startup.median + r.tail.median + r.criticalSleepMs + r.options.length * p.emptyScience.median + p.emptyCompat.median;
}

export function jobsTargets(r: JobsBenchResult): Target[] {
  const one = r.perJobs.find((x) => x.jobs === 1)!;
  const kMax = Math.max(...r.options.jobs);
  const top = r.perJobs.find((x) => x.jobs === kMax)!;
  const against = (overheadAt: number, how: string): Target => {
    const ref = reference(r, overheadAt);
    return {
      what: `--jobs ${kMax} against the critical path plus per-build overhead measured ${how} (empty builds, --jobs ${overheadAt})`,
      target: "≤ 1.3×",
      measured: `${s1(top.sleep.median)} s / ${s1(ref)} s = ${(top.sleep.median / ref).toFixed(2)}× (worst run ${(top.sleep.max / ref).toFixed(2)}×)`,
      met: top.sleep.median <= 1.3 * ref,
    };
  };
  const speedup = one.sleep.median / top.sleep.median;
  return [
    against(1, "alone"),
    against(kMax, "the same way"),
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
  const refLine = (p: PerJobs, start: string) =>
    `${start} + ${s1(r.criticalSleepMs)} s sleep + ${o.length} × ${s1(p.emptyScience.median)} s + ${s1(p.emptyCompat.median)} s = **${s1(reference(r, p.jobs))} s**`;
  const emptyOneCpu = stats(r.samples.filter((x) => x.plan === "empty" && x.jobs === 1).map((x) => x.machineCpuMs));
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  const a = r.anatomy;
  return [
    measuredLine(r.date, r.commit, "jobs benchmark", r.seconds),
    "",
    `- ${m.cpus} cores (${m.cpuModel}), ${m.memoryGB.toFixed(1)} GB memory, ${m.kernel}; Node ${m.node}`,
    `- Docker Engine ${r.engine.version} (API ${r.engine.apiVersion}), storage driver ${r.engine.driver}, ${r.engine.ncpu} CPUs, at \`${r.engine.address}\`; builder: ${r.engine.builder}`,
    `- load average (1, 5, 15 min) before: ${m.loadBefore.map((x) => x.toFixed(2)).join(", ")}; after: ${m.loadAfter.map((x) => x.toFixed(2)).join(", ")}`,
    ...(m.strippedEnv.length ? [`- the CLI runs without ${m.strippedEnv.map((e) => `\`${e}\``).join(", ")}, as in the planning benchmark`] : []),
    `- ${o.chains} chains of ${o.length} science layers (\`RUN sleep ${o.seconds}\`) and a compat build each: ${total} builds, ${r.builds.onPath} on each chain; --jobs ${o.jobs.join(", ")}`,
    "",
    `Median (min–max) of ${o.runs} runs. Wall times are the whole CLI run (start-up, planning, building all ${total} images).`,
    "",
    ...table(["--jobs", "wall, sleep plan", "speed-up over --jobs 1", "wall, empty plan", "empty science build", "empty compat build",
      "science build overhead in the sleep plan", "machine CPU busy (sleep plan)", "machine CPU busy (empty plan)"], "rlrllllll",
    r.perJobs.map((p) => [p.jobs, fmt(p.sleep), `${(one.sleep.median / p.sleep.median).toFixed(2)}×`, fmt(p.empty), fmt(p.emptyScience),
      fmt(p.emptyCompat), fmt(p.sleepScienceOverhead), pct(p.busySleep), pct(p.busyEmpty)])),
    "",
    `- CLI start-up before the first build starts (Node, planning, engine check): ${fmt(r.startup)}; from the last build's end to exit: ${fmt(r.tail)}.`,
    `- Machine CPU per empty build (every process, all cores, --jobs 1): ${fmt(one.cpuPerEmptyBuild)}; at --jobs ${kMax}: ${fmt(top.cpuPerEmptyBuild)}.` +
      (top.cliCpuSleep ? ` The CLI itself used ${fmt(top.cliCpuSleep)} of CPU for a whole --jobs ${kMax} run of the sleep plan.` : ""),
    `- The whole empty plan is ${s1(emptyOneCpu.median)} CPU-seconds of work (--jobs 1), at least ${s1(emptyOneCpu.median / m.cpus)} s on ${m.cpus} cores however it is scheduled.`,
    `- Critical path, measured: the longest chain's summed build durations at --jobs 1 (builds alone on the engine): ${fmt(r.criticalMeasured)}.`,
    `- Reference with the overhead measured alone (--jobs 1): ${refLine(one, `${s1(r.startup.median + r.tail.median)} s start-up and exit`)}.`,
    `- Reference with the overhead measured the same way at --jobs ${kMax}: ${refLine(top, `${s1(r.startup.median + r.tail.median)} s`)}.`,
    "",
    ...targetsTable(jobsTargets(r)),
    "",
    `Where the median --jobs ${kMax} run's time went, along the chain that finished last (c${d.chain}):`,
    "",
    ...table(["part", "seconds", "share"], "lrr", [
      ["CLI start-up before the first build", d.startupMs],
      [`the path's sleeps (${o.length} × ${o.seconds} s)`, d.sleepMs],
      [`the path's ${r.builds.onPath} builds beyond their sleep (engine work, contended; alone: ${s1(o.length * one.emptyScience.median + one.emptyCompat.median)} s)`, d.overheadMs],
      ["between a parent's end and its child's start", d.gapsMs],
      ["after the last build, to exit", d.tailMs],
    ].map(([what, t]) => [what, s1(t as number), `${(((t as number) / d.wallMs) * 100).toFixed(0)}%`]).concat([["**wall**", `**${s1(d.wallMs)}**`, ""]])),
    ...(a.length >= 5 ? [
      "",
      "Anatomy of a build: single builds straight to the Engine API, as the executor sends them, one at a time, median (min–max) of 5 after a warm-up; CPU is the whole machine's.",
      "",
      ...table(["build", "steps", "wall", "machine CPU"], "lrll", a.map((x) => [x.what, x.steps, fmt(x.wall), fmt(x.cpu)])),
      "",
      `So the context, the Dockerfile and the tags cost the engine about ${ms(a[0].cpu.median)} of CPU, a \`RUN\` step about ` +
        `${ms(a[2].cpu.median - a[0].cpu.median)} and a metadata step about ${ms(a[1].cpu.median - a[0].cpu.median)}.`,
    ] : []),
  ].join("\n");
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
  // --render: the report of an earlier run (--json) again, without measuring anything.
  const r = v.render ? (JSON.parse(readFileSync(v.render, "utf8")) as JobsBenchResult) : await runJobsBench(o);
  r.markdown = jobsMarkdown(r);
  if (v.json) writeFileSync(v.json, `${JSON.stringify(r, null, 2)}\n`);
  logTargets(jobsTargets(r));
  if (v.write) writeSection(join(PROJECT_ROOT, "BENCH.md"), "jobs-bench", r.markdown);
  else process.stdout.write(`${r.markdown}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  });
}
