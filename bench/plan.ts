// Planning benchmarks: the dry-run plan (`-v --dryrun`) and the no-op (`--ref HEAD`) of the real
// CLI on generated repositories of 1,000, 3,000 and 10,000 science layers, against the I/O floor.
//
// Every figure is a child process measured from outside: wall time with a monotonic clock around
// the spawn, peak resident memory (max RSS) and CPU time from `/usr/bin/time` (which gets them
// from wait4(2) for exactly that process). Without /usr/bin/time, the peak memory comes from a
// preloaded module that records `process.resourceUsage().maxRSS` when the process exits.
//
// Runs are interleaved (plan, floor, no-op, plan, floor, no-op, ...) after one unmeasured warm-up
// of each, so page cache and background load affect all three alike.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateRepo, DEFAULT_OPTIONS, type GeneratedRepo } from "./generate-repo.js";

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
export const PROJECT_ROOT = join(here, "..", "..");
const DEFAULT_CLI = join(PROJECT_ROOT, "dist", "src", "cli", "main.js");
const FLOOR = join(here, "io-floor.js");
const PHASES = join(here, "phases.js");
const RSS_PROBE = join(here, "rss-probe.js");
const TRACE = join(here, "trace-modules.js");
const TIME = "/usr/bin/time";

export interface PlanBenchOptions {
  sizes: number[];
  runs: number;
  /** Size of the extra no-op run that shows the fixed cost (start-up, module loading). */
  smallSize: number;
  /** The CLI's entry point (to compare another build, e.g. an older commit's dist). */
  cli: string;
  /** Keep NODE_EXTRA_CA_CERTS (and NODE_OPTIONS) in the children's environment. */
  keepNodeEnv: boolean;
  log: (line: string) => void;
}

export const DEFAULT_PLAN_OPTIONS: PlanBenchOptions = {
  sizes: [1000, 3000, 10000],
  runs: 7,
  smallSize: 10,
  cli: DEFAULT_CLI,
  keepNodeEnv: false,
  log: (line) => process.stderr.write(`${line}\n`),
};

export interface Sample {
  wallMs: number;
  rssMB: number;
  cpuMs: number;
}

export interface Stats {
  median: number;
  min: number;
  max: number;
}

export interface Series {
  samples: Sample[];
  wall: Stats;
  rss: Stats;
  cpu: Stats;
}

export interface SizeResult {
  size: number;
  repo: Omit<GeneratedRepo, "cleanup" | "root" | "changedScience"> & { changedScience: number };
  plan: Series;
  planSummary: string;
  floor: Series;
  noop: Series;
  noopSummary: string;
  phases: Phases;
}

export interface Phases {
  phases: Record<string, number>;
  total: number;
  warmParse: number;
  builds: number;
  heapUsedMB: number;
  maxRssMB: number;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGB: number;
  kernel: string;
  node: string;
  git: string;
  tmpFs: string;
  loadBefore: number[];
  loadAfter?: number[];
  rssMethod: string;
  strippedEnv: string[];
}

export interface PlanBenchResult {
  date: string;
  commit: string;
  machine: Machine;
  options: { sizes: number[]; runs: number; chainLength: number; compat: number; changedFraction: number };
  sizes: SizeResult[];
  small: { size: number; noop: Series };
  /** Start-up of a bare `node -e 0`, the part of every figure that is Node's, not the CLI's. */
  nodeStartup: Series;
  /** The no-op at the largest size with the environment as it was (NODE_EXTRA_CA_CERTS kept). */
  noopKeptEnv?: Series;
  modules: { loaded: string[]; forbidden: string[] };
  seconds: number;
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

function series(samples: Sample[]): Series {
  return {
    samples,
    wall: stats(samples.map((s) => s.wallMs)),
    rss: stats(samples.map((s) => s.rssMB)),
    cpu: stats(samples.map((s) => s.cpuMs)),
  };
}

const haveTime = existsSync(TIME) && spawnSync(TIME, ["-f", "%M", "true"]).status === 0;

interface RunResult extends Sample {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node <args>` in `cwd`; wall time around the spawn, memory and CPU from wait4 via time(1). */
function runNode(args: string[], cwd: string, env: NodeJS.ProcessEnv): RunResult {
  const out = join(scratch(), "time.txt");
  rmSync(out, { force: true });
  const command = haveTime
    ? [TIME, "-f", "%M %U %S", "-o", out, process.execPath, ...args]
    : [process.execPath, "--import", RSS_PROBE, ...args];
  const childEnv = haveTime ? env : { ...env, IB_RSS_PROBE: out };
  const start = process.hrtime.bigint();
  const r = spawnSync(command[0], command.slice(1), { cwd, env: childEnv, encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const [rssKB, user, sys] = readFileSync(out, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
  return { wallMs, rssMB: rssKB / 1024, cpuMs: (user + sys) * 1000, code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let scratchDir: string | undefined;
function scratch(): string {
  return (scratchDir ??= mkdtempSync(join(tmpdir(), "ib-bench-scratch-")));
}

function childEnv(keep: boolean): { env: NodeJS.ProcessEnv; stripped: string[] } {
  const env = { ...process.env };
  const stripped: string[] = [];
  if (!keep) {
    for (const k of ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS"]) {
      if (env[k] !== undefined) { stripped.push(k); delete env[k]; }
    }
  }
  return { env, stripped };
}

function check(r: RunResult, what: string): void {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop() ?? "";
}

function machine(stripped: string[]): Machine {
  const git = spawnSync("git", ["--version"], { encoding: "utf8" }).stdout.trim();
  const fs = spawnSync("stat", ["-f", "-c", "%T", tmpdir()], { encoding: "utf8" }).stdout.trim();
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGB: totalmem() / 2 ** 30,
    kernel: `Linux ${release()}`,
    node: process.version,
    git,
    tmpFs: `${tmpdir()} (${fs || "unknown"})`,
    loadBefore: loadavg(),
    rssMethod: haveTime ? "/usr/bin/time -f '%M %U %S' (wait4 rusage of the child)" : "process.resourceUsage().maxRSS at exit (preloaded probe)",
    strippedEnv: stripped,
  };
}

function projectCommit(): string {
  const r = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: PROJECT_ROOT, encoding: "utf8" });
  const dirty = spawnSync("git", ["status", "--porcelain", "--", "src"], { cwd: PROJECT_ROOT, encoding: "utf8" }).stdout.trim();
  return `${r.stdout.trim()}${dirty ? " + uncommitted changes in src/" : ""}`;
}

/** Modules the dry run loads; `forbidden` are those it must not (engine client, executors). */
function traceModules(cli: string, cwd: string, env: NodeJS.ProcessEnv): { loaded: string[]; forbidden: string[] } {
  const file = join(scratch(), "modules.txt");
  rmSync(file, { force: true });
  const r = spawnSync(process.execPath, ["--import", TRACE, cli, "-v", "--dryrun"], {
    cwd, env: { ...env, IB_TRACE_MODULES: file }, encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`module trace failed: ${r.stderr}`);
  const loaded = [...new Set(readFileSync(file, "utf8").split("\n").filter(Boolean)
    .filter((m) => !m.startsWith("node:"))
    .map((m) => m.replace(/^file:\/\//, "").replace(`${PROJECT_ROOT}/`, "")))].sort();
  const forbidden = loaded.filter((m) => /executors\/|node_modules\/(dockerode|docker-modem|tar-stream|tar-fs|ssh2|@balena)\//.test(m));
  return { loaded, forbidden };
}

export async function runPlanBench(partial: Partial<PlanBenchOptions> = {}): Promise<PlanBenchResult> {
  const o = { ...DEFAULT_PLAN_OPTIONS, ...partial };
  const started = Date.now();
  const { env, stripped } = childEnv(o.keepNodeEnv);
  const m = machine(stripped);
  o.log(`machine: ${m.cpus} cores, ${m.memoryGB.toFixed(1)} GB; load ${m.loadBefore.map((x) => x.toFixed(2)).join(" ")}; memory via ${haveTime ? "/usr/bin/time" : "probe"}`);
  if (stripped.length) o.log(`children run without ${stripped.join(", ")} (use --keep-node-env to keep them)`);

  const startup: Sample[] = [];
  for (let i = 0; i < o.runs + 1; i++) {
    const r = runNode(["-e", "0"], tmpdir(), env);
    if (i > 0) startup.push(r);
  }

  const repos: GeneratedRepo[] = [];
  const results: SizeResult[] = [];
  let small: PlanBenchResult["small"] | undefined;
  let modules: PlanBenchResult["modules"] = { loaded: [], forbidden: [] };
  let noopKeptEnv: Series | undefined;
  // Ctrl-C during a run: remove the repositories before going.
  const onSignal = () => {
    for (const r of repos) r.cleanup();
    if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    {
      const repo = generateRepo({ science: o.smallSize });
      repos.push(repo);
      const noop: Sample[] = [];
      for (let i = 0; i < o.runs + 1; i++) {
        const r = runNode([o.cli, "-v", "--dryrun", "--ref", "HEAD"], repo.root, env);
        check(r, `no-op at ${o.smallSize}`);
        if (i > 0) noop.push(r);
      }
      small = { size: o.smallSize, noop: series(noop) };
      o.log(`no-op, ${o.smallSize} layers: ${fmtMs(small.noop.wall)}`);
    }

    for (const size of o.sizes) {
      const repo = generateRepo({ science: size });
      repos.push(repo);
      o.log(`${size} layers: generated in ${repo.seconds.toFixed(1)} s (${repo.chains} chains, ${repo.finals} final images, ${repo.compat} compat, ${repo.changedScience.length} science + 1 compat changed)`);
      const plan: Sample[] = [];
      const floor: Sample[] = [];
      const noop: Sample[] = [];
      let planSummary = "";
      let noopSummary = "";
      for (let i = 0; i < o.runs + 1; i++) {
        const p = runNode([o.cli, "-v", "--dryrun"], repo.root, env);
        check(p, `plan at ${size}`);
        planSummary = lastLine(p.stderr);
        const f = runNode([FLOOR, repo.root], repo.root, env);
        check(f, `I/O floor at ${size}`);
        const n = runNode([o.cli, "-v", "--dryrun", "--ref", "HEAD"], repo.root, env);
        check(n, `no-op at ${size}`);
        noopSummary = lastLine(n.stderr);
        if (i === 0) continue; // warm-up
        plan.push(p);
        floor.push(f);
        noop.push(n);
      }
      if (!/final plan includes [1-9]/.test(planSummary)) throw new Error(`plan at ${size} planned nothing: ${planSummary}`);
      if (!/includes 0 science builds and 0 compat builds/.test(noopSummary)) throw new Error(`no-op at ${size} planned something: ${noopSummary}`);
      const ph = spawnSync(process.execPath, [PHASES, repo.root], { cwd: repo.root, env, encoding: "utf8" });
      if (ph.status !== 0) throw new Error(`phases at ${size} failed: ${ph.stderr}`);
      const { cleanup: _c, root: _r, changedScience, ...info } = repo;
      const result: SizeResult = {
        size,
        repo: { ...info, changedScience: changedScience.length },
        plan: series(plan),
        planSummary,
        floor: series(floor),
        noop: series(noop),
        noopSummary,
        phases: JSON.parse(ph.stdout) as Phases,
      };
      results.push(result);
      o.log(`  plan ${fmtMs(result.plan.wall)}, ${fmtMB(result.plan.rss)}; floor ${fmtMs(result.floor.wall)}; no-op ${fmtMs(result.noop.wall)}`);
      if (size === o.sizes[o.sizes.length - 1]) {
        modules = traceModules(o.cli, repo.root, env);
        if (stripped.length) {
          const kept: Sample[] = [];
          for (let i = 0; i < o.runs + 1; i++) {
            const r = runNode([o.cli, "-v", "--dryrun", "--ref", "HEAD"], repo.root, process.env);
            check(r, "no-op with the environment kept");
            if (i > 0) kept.push(r);
          }
          noopKeptEnv = series(kept);
        }
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    for (const r of repos) r.cleanup();
    if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
    scratchDir = undefined;
  }
  m.loadAfter = loadavg();
  return {
    date: new Date().toISOString(),
    commit: projectCommit(),
    machine: m,
    options: { sizes: o.sizes, runs: o.runs, chainLength: DEFAULT_OPTIONS.chainLength, compat: DEFAULT_OPTIONS.compat, changedFraction: DEFAULT_OPTIONS.changedFraction },
    sizes: results,
    small: small!,
    nodeStartup: series(startup),
    noopKeptEnv,
    modules,
    seconds: (Date.now() - started) / 1000,
  };
}

// ---------------------------------------------------------------------------
// Report

const s = (ms: number) => (ms / 1000).toFixed(ms < 1000 ? 3 : 2);
export const fmtMs = (x: Stats) => `${s(x.median)} s (${s(x.min)}–${s(x.max)})`;
export const fmtMB = (x: Stats) => `${x.median.toFixed(0)} MB (${x.min.toFixed(0)}–${x.max.toFixed(0)})`;
const n = (x: number) => x.toLocaleString("en-US");

/** Least squares t = a + b·N. */
function fit(points: [number, number][]): { a: number; b: number; r2: number } {
  const k = points.length;
  const mx = points.reduce((t, p) => t + p[0], 0) / k;
  const my = points.reduce((t, p) => t + p[1], 0) / k;
  let sxy = 0, sxx = 0, syy = 0;
  for (const [x, y] of points) { sxy += (x - mx) * (y - my); sxx += (x - mx) ** 2; syy += (y - my) ** 2; }
  const b = sxy / sxx;
  const a = my - b * mx;
  return { a, b, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

/** Time added per 1,000 layers from one size to the next; `rising` if it grows by more than 25%. */
function growth(r: PlanBenchResult): { slopes: number[]; floorSlopes: number[]; rising: boolean } {
  const slopes: number[] = [];
  const floorSlopes: number[] = [];
  for (let i = 1; i < r.sizes.length; i++) {
    const a = r.sizes[i - 1], b = r.sizes[i];
    slopes.push(((b.plan.wall.median - a.plan.wall.median) / (b.size - a.size)) * 1000);
    floorSlopes.push(((b.floor.wall.median - a.floor.wall.median) / (b.size - a.size)) * 1000);
  }
  return { slopes, floorSlopes, rising: slopes.some((x, i) => i > 0 && x > slopes[i - 1] * 1.25) };
}

export interface Target { what: string; target: string; measured: string; met: boolean }

export function targets(r: PlanBenchResult): Target[] {
  const at = (size: number) => r.sizes.find((x) => x.size === size);
  const out: Target[] = [];
  const p3 = at(3000), p10 = at(10000);
  if (p3) out.push({ what: "plan, 3,000 layers", target: "< 1 s", measured: fmtMs(p3.plan.wall), met: p3.plan.wall.median < 1000 });
  if (p10) out.push({ what: "plan, 10,000 layers", target: "< 3 s", measured: fmtMs(p10.plan.wall), met: p10.plan.wall.median < 3000 });
  for (const x of r.sizes) {
    const ratio = x.plan.wall.median / x.floor.wall.median;
    out.push({ what: `plan / I/O floor, ${n(x.size)} layers`, target: "≤ 6×", measured: `${ratio.toFixed(1)}× (${s(x.plan.wall.median)} s / ${s(x.floor.wall.median)} s)`, met: ratio <= 6 });
  }
  if (p10) out.push({ what: "peak memory, 10,000 layers", target: "< 300 MB", measured: fmtMB(p10.plan.rss), met: p10.plan.rss.max < 300 });
  const g = growth(r);
  out.push({ what: "growth with N", target: "linear", measured: `${g.slopes.map((x) => `${s(x)} s`).join(", then ")} per 1,000 more layers`, met: !g.rising });
  out.push({ what: "modules loaded by the dry run", target: "no engine client", measured: r.modules.forbidden.length ? r.modules.forbidden.join(", ") : `${r.modules.loaded.length} modules, none of dockerode, docker-modem, ssh2, tar-stream, executors/`, met: r.modules.forbidden.length === 0 });
  out.push({ what: `no-op, ${n(r.small.size)} layers`, target: "< 0.4 s", measured: fmtMs(r.small.noop.wall), met: r.small.noop.wall.median < 400 });
  for (const x of r.sizes) {
    out.push({ what: `no-op, ${n(x.size)} layers`, target: "< 0.4 s", measured: fmtMs(x.noop.wall), met: x.noop.wall.median < 400 });
  }
  return out;
}

export function planMarkdown(r: PlanBenchResult): string {
  const m = r.machine;
  const lines: string[] = [];
  const push = (...l: string[]) => lines.push(...l);
  const cmp = (a: number, b: number) => `${(a / b).toFixed(1)}×`;

  push(
    `Measured ${r.date.slice(0, 16).replace("T", " ")} UTC on image-builder ${r.commit}; the whole planning benchmark took ${r.seconds.toFixed(0)} s.`,
    "",
    "### Machine",
    "",
    `- ${m.cpus} cores (${m.cpuModel}), ${m.memoryGB.toFixed(1)} GB memory, ${m.kernel}`,
    `- Node ${m.node}, ${m.git}; repositories generated under ${m.tmpFs}`,
    `- load average (1, 5, 15 min) before: ${m.loadBefore.map((x) => x.toFixed(2)).join(", ")}; after: ${(m.loadAfter ?? []).map((x) => x.toFixed(2)).join(", ")}`,
    `- peak memory and CPU time: ${m.rssMethod}; wall time: monotonic clock around the spawn`,
  );
  if (m.strippedEnv.length) {
    push(`- the children run without ${m.strippedEnv.map((e) => `\`${e}\``).join(", ")}: this machine sets \`NODE_EXTRA_CA_CERTS\`, which makes every Node process load a CA bundle at start-up (≈ 60 ms here) for TLS that planning never uses; the no-op with it kept is shown below`);
  }
  push(
    "",
    "### Repositories",
    "",
    `Generated by \`bench/generate-repo.ts\` for each size: science layers in chains of ${r.options.chainLength} within one image each (layer k \`FROM sci/<image>-(k-1):<version>\`, spelled with and without the registry, through a global \`ARG\`, multi-stage with \`COPY --from\`, or with a heredoc); every other chain raises the version at each layer (every layer a final image), the others keep one version (only the last layer is final); a fifth of the chains start on another image's final layer. ${r.options.compat} compat layers include up to two earlier ones (a DAG); each final layer names one. Two commits: everything, then one that changes the Dockerfiles of ${(r.options.changedFraction * 100).toFixed(0)}% of the science directories (spread over the repository) and of one compat layer in the middle of the DAG.`,
    "",
    "| science layers | chains (images) | final images | compat | files read | bytes | changed in last commit | plan (-v) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ...r.sizes.map((x) => `| ${n(x.size)} | ${n(x.repo.chains)} | ${n(x.repo.finals)} | ${x.repo.compat} | ${n(2 * (x.repo.science + x.repo.compat))} | ${(x.repo.bytes / 2 ** 20).toFixed(1)} MB | ${x.repo.changedScience} science + ${x.repo.changedCompat} | ${x.planSummary.replace("final plan includes ", "")} |`),
    "",
    "### Figures",
    "",
    `Median (min–max) of ${r.options.runs} runs each, after one unmeasured warm-up; plan, floor and no-op runs interleaved.`,
    "",
    "| science layers | plan: wall | plan: peak memory | plan: CPU (user+sys) | I/O floor: wall | I/O floor: peak memory | plan / floor | no-op: wall | no-op: peak memory |",
    "| ---: | --- | --- | --- | --- | --- | ---: | --- | --- |",
    ...r.sizes.map((x) => `| ${n(x.size)} | ${fmtMs(x.plan.wall)} | ${fmtMB(x.plan.rss)} | ${fmtMs(x.plan.cpu)} | ${fmtMs(x.floor.wall)} | ${fmtMB(x.floor.rss)} | ${cmp(x.plan.wall.median, x.floor.wall.median)} | ${fmtMs(x.noop.wall)} | ${fmtMB(x.noop.rss)} |`),
    "",
    `- no-op at ${n(r.small.size)} layers (the fixed cost: start-up, loading modules, three git processes): ${fmtMs(r.small.noop.wall)}, ${fmtMB(r.small.noop.rss)}`,
    `- a bare \`node -e 0\`: ${fmtMs(r.nodeStartup.wall)}, ${fmtMB(r.nodeStartup.rss)}`,
  );
  if (r.noopKeptEnv) {
    const big = r.sizes[r.sizes.length - 1];
    push(`- no-op at ${n(big.size)} layers with the environment as it is on this machine (\`NODE_EXTRA_CA_CERTS\` kept): ${fmtMs(r.noopKeptEnv.wall)} against ${fmtMs(big.noop.wall)} without`);
  }

  const f = fit(r.sizes.map((x) => [x.size, x.plan.wall.median]));
  const ff = fit(r.sizes.map((x) => [x.size, x.floor.wall.median]));
  push(
    "",
    "### Growth with N",
    "",
    `Least squares over the medians: plan ≈ ${s(f.a)} s + ${s(f.b * 1000)} s per 1,000 layers (R² = ${f.r2.toFixed(4)}); I/O floor ≈ ${s(ff.a)} s + ${s(ff.b * 1000)} s per 1,000 layers (R² = ${ff.r2.toFixed(4)}).`,
    "",
    "| step | layers added | plan: time added | per 1,000 layers | floor: per 1,000 layers |",
    "| --- | ---: | ---: | ---: | ---: |",
  );
  for (let i = 1; i < r.sizes.length; i++) {
    const a = r.sizes[i - 1], b = r.sizes[i];
    const dn = b.size - a.size;
    const dt = b.plan.wall.median - a.plan.wall.median;
    const dfl = b.floor.wall.median - a.floor.wall.median;
    push(`| ${n(a.size)} → ${n(b.size)} | ${n(dn)} | ${s(dt)} s | ${s((dt / dn) * 1000)} s | ${s((dfl / dn) * 1000)} s |`);
  }
  const g = growth(r);
  push(
    "",
    g.rising
      ? "**The time per 1,000 layers rises with N: the plan grows faster than linearly.**"
      : "The time per 1,000 layers does not rise with N, so the plan grows linearly (a quadratic step would show as a per-1,000 cost that rises with N). It falls a little at larger N because the parser runs in V8's interpreter and baseline tier for the first few thousand Dockerfiles, and is optimised only after that; the fixed part is Node's start-up, loading the modules and git.",
  );

  const names = Object.keys(r.sizes[0]?.phases.phases ?? {});
  push(
    "",
    "### Where the time goes",
    "",
    "`bench/phases.ts` runs the CLI's steps one after the other in a fresh process (the CLI overlaps git with reading the files, so these add up to a little more than a real run), milliseconds:",
    "",
    `| phase | ${r.sizes.map((x) => n(x.size)).join(" | ")} |`,
    `| --- | ${r.sizes.map(() => "---:").join(" | ")} |`,
    ...names.map((name) => `| ${name} | ${r.sizes.map((x) => x.phases.phases[name].toFixed(0)).join(" | ")} |`),
    `| **total** | ${r.sizes.map((x) => `**${x.phases.total.toFixed(0)}**`).join(" | ")} |`,
    `| parsing every science Dockerfile again, JIT warm | ${r.sizes.map((x) => x.phases.warmParse.toFixed(0)).join(" | ")} |`,
    `| heap used at the end (MB) | ${r.sizes.map((x) => x.phases.heapUsedMB.toFixed(0)).join(" | ")} |`,
  );
  push(
    "",
    "### Targets",
    "",
    "| what | target | measured | met |",
    "| --- | --- | --- | :---: |",
    ...targets(r).map((t) => `| ${t.what} | ${t.target} | ${t.measured} | ${t.met ? "yes" : "**no**"} |`),
    "",
    "<details><summary>Modules the dry run loads</summary>",
    "",
    ...r.modules.loaded.map((x) => `- \`${x}\``),
    "",
    "</details>",
  );
  return lines.join("\n");
}
