// Planning benchmarks: the dry-run plan (`-v --dryrun`) and the no-op (`--ref HEAD`) of the real
// CLI on generated repositories of 1,000, 3,000 and 10,000 science layers, against the I/O floor
// (bench/io-floor.ts); then bench/phases.ts for where the time goes and bench/trace-modules.ts for
// what the dry run loads. BENCH.md's "Planning" section describes the method.
//
// Every figure is a child process measured from outside: wall time with a monotonic clock around
// the spawn, peak memory and CPU time from /usr/bin/time. Runs are interleaved (plan, floor, no-op,
// plan, ...) after one unmeasured warm-up of each, so page cache and background load affect all alike.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { generateRepo, type GeneratedRepo } from "./generate-repo.js";
import {
  PROJECT_ROOT, childEnv, measuredLine, projectCommit, range, readTimed, stats, table, targetsTable, thousands as n, timed,
  type Stats, type Target,
} from "./report.js";

const FLOOR = join(PROJECT_ROOT, "dist", "bench", "io-floor.js");
const PHASES = join(PROJECT_ROOT, "dist", "bench", "phases.js");
const TRACE = join(PROJECT_ROOT, "dist", "bench", "trace-modules.js");

export interface PlanBenchOptions {
  sizes: number[];
  runs: number;
  /** The CLI's entry point (to compare another build, e.g. an older commit's dist). */
  cli: string;
  /** Keep NODE_EXTRA_CA_CERTS (and NODE_OPTIONS) in the children's environment. */
  keepNodeEnv: boolean;
}

/** Size of the extra no-op repository that shows the fixed cost (start-up, module loading, git). */
const SMALL = 10;

export interface Series { wall: Stats; rss: Stats; cpu: Stats }

interface SizeResult {
  size: number;
  repo: Omit<GeneratedRepo, "cleanup" | "root" | "changedScience"> & { changedScience: number };
  plan: Series;
  planSummary: string;
  floor: Series;
  noop: Series;
  phases: { phases: Record<string, number>; total: number; warmParse: number; heapUsedMB: number };
}

export interface PlanBenchResult {
  date: string;
  commit: string;
  seconds: number;
  runs: number;
  machine: { cpus: string; node: string; git: string; tmpFs: string; loadBefore: number[]; loadAfter: number[]; strippedEnv: string[] };
  sizes: SizeResult[];
  small: Series;
  /** A bare `node -e 0`: the part of every figure that is Node's, not the CLI's. */
  nodeStartup: Series;
  /** The no-op at the largest size with the environment as it was (NODE_EXTRA_CA_CERTS kept). */
  noopKeptEnv?: Series;
  modules: { loaded: string[]; forbidden: string[] };
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const scratch = mkdtempSync(join(tmpdir(), "ib-bench-scratch-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));

/** Runs `node <args>` in `cwd`, measured, and checks its exit code. */
function runNode(args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const file = join(scratch, "time.txt");
  const command = timed(file, [process.execPath, ...args]);
  const start = process.hrtime.bigint();
  const r = spawnSync(command[0], command.slice(1), { cwd, env, encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} failed (exit ${r.status}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  return { wallMs, ...readTimed(file), stdout: r.stdout, summary: r.stderr.trim().split("\n").pop() ?? "" };
}

type Sample = ReturnType<typeof runNode>;
const series = (xs: Sample[]): Series =>
  ({ wall: stats(xs.map((x) => x.wallMs)), rss: stats(xs.map((x) => x.rssMB)), cpu: stats(xs.map((x) => x.cpuMs)) });

/** `runs` measured runs after one warm-up, of each of `commands`, interleaved. */
function interleaved(runs: number, commands: (() => Sample)[]): Sample[][] {
  const samples = commands.map((): Sample[] => []);
  for (let i = 0; i <= runs; i++) {
    commands.forEach((command, k) => {
      const r = command();
      if (i > 0) samples[k].push(r);
    });
  }
  return samples;
}

/** Modules the dry run loads; `forbidden` are those it must not (engine client, executors). */
function traceModules(cli: string, cwd: string, env: NodeJS.ProcessEnv): PlanBenchResult["modules"] {
  const file = join(scratch, "modules.txt");
  runNode(["--import", TRACE, cli, "-v", "--dryrun"], cwd, { ...env, IB_TRACE_MODULES: file });
  const loaded = [...new Set(readFileSync(file, "utf8").split("\n").filter((m) => m && !m.startsWith("node:"))
    .map((m) => m.replace(/^file:\/\//, "").replace(`${PROJECT_ROOT}/`, "")))].sort();
  const forbidden = loaded.filter((m) => /executors\/docker\/|node_modules\/(dockerode|docker-modem|tar-stream|tar-fs|ssh2)\//.test(m));
  return { loaded, forbidden };
}

export function runPlanBench(o: PlanBenchOptions): PlanBenchResult {
  const started = Date.now();
  const { env, stripped } = o.keepNodeEnv ? { env: process.env, stripped: [] } : childEnv();
  const machine = {
    cpus: `${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), ${(totalmem() / 2 ** 30).toFixed(1)} GB memory, Linux ${release()}`,
    node: process.version,
    git: spawnSync("git", ["--version"], { encoding: "utf8" }).stdout.trim(),
    tmpFs: `${tmpdir()} (${spawnSync("stat", ["-f", "-c", "%T", tmpdir()], { encoding: "utf8" }).stdout.trim() || "unknown"})`,
    loadBefore: loadavg(), loadAfter: [] as number[], strippedEnv: stripped,
  };
  log(`${machine.cpus}; load ${machine.loadBefore.map((x) => x.toFixed(2)).join(" ")}`);
  const plan = (root: string, ...more: string[]) => () => runNode([o.cli, "-v", "--dryrun", ...more], root, env);

  const repos: GeneratedRepo[] = [];
  const onSignal = () => { for (const r of repos) r.cleanup(); process.exit(130); };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const [startup] = interleaved(o.runs, [() => runNode(["-e", "0"], tmpdir(), env)]);
    const smallRepo = generateRepo({ science: SMALL });
    repos.push(smallRepo);
    const [small] = interleaved(o.runs, [plan(smallRepo.root, "--ref", "HEAD")]);
    const sizes: SizeResult[] = [];
    let modules: PlanBenchResult["modules"] = { loaded: [], forbidden: [] };
    let noopKeptEnv: Series | undefined;
    for (const size of o.sizes) {
      const repo = generateRepo({ science: size });
      repos.push(repo);
      log(`${size} layers: generated in ${repo.seconds.toFixed(1)} s`);
      const [p, f, noop] = interleaved(o.runs, [plan(repo.root), () => runNode([FLOOR, repo.root], repo.root, env), plan(repo.root, "--ref", "HEAD")]);
      const planSummary = p[0].summary;
      if (!/final plan includes [1-9]/.test(planSummary)) throw new Error(`plan at ${size} planned nothing: ${planSummary}`);
      if (!/^nothing to build|includes 0 science builds and 0 compat builds/.test(noop[0].summary)) throw new Error(`no-op at ${size} planned something: ${noop[0].summary}`);
      const { cleanup: _c, root: _r, changedScience, ...info } = repo;
      sizes.push({
        size, repo: { ...info, changedScience: changedScience.length }, plan: series(p), planSummary, floor: series(f), noop: series(noop),
        phases: JSON.parse(runNode([PHASES, repo.root], repo.root, env).stdout),
      });
      log(`  plan ${seconds(sizes.at(-1)!.plan.wall)}; floor ${seconds(sizes.at(-1)!.floor.wall)}; no-op ${seconds(sizes.at(-1)!.noop.wall)}`);
      if (size === o.sizes.at(-1)) {
        modules = traceModules(o.cli, repo.root, env);
        if (stripped.length) noopKeptEnv = series(interleaved(o.runs, [() => runNode([o.cli, "-v", "--dryrun", "--ref", "HEAD"], repo.root, process.env)])[0]);
      }
    }
    machine.loadAfter = loadavg();
    return {
      date: new Date().toISOString(), commit: projectCommit(), seconds: (Date.now() - started) / 1000, runs: o.runs, machine,
      sizes, small: series(small), nodeStartup: series(startup), noopKeptEnv, modules,
    };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    for (const r of repos) r.cleanup();
  }
}

// ---------------------------------------------------------------------------
// Report: the generated part of BENCH.md's Planning section

const s = (ms: number) => (ms / 1000).toFixed(ms < 1000 ? 3 : 2);
const seconds = (x: Stats) => range(x, s, " s");
const mb = (x: Stats) => range(x, (v) => v.toFixed(0), " MB");

/** Least squares t = a + b·N. */
function fit(points: [number, number][]): { a: number; b: number; r2: number } {
  const k = points.length;
  const mx = points.reduce((t, p) => t + p[0], 0) / k;
  const my = points.reduce((t, p) => t + p[1], 0) / k;
  let sxy = 0, sxx = 0, syy = 0;
  for (const [x, y] of points) { sxy += (x - mx) * (y - my); sxx += (x - mx) ** 2; syy += (y - my) ** 2; }
  const b = sxy / sxx;
  return { a: my - b * mx, b, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

/** Time added per 1,000 layers from one size to the next, plan and floor. */
function steps(r: PlanBenchResult) {
  return r.sizes.slice(1).map((b, i) => {
    const a = r.sizes[i], dn = b.size - a.size;
    const dt = b.plan.wall.median - a.plan.wall.median;
    return { a, b, dn, dt, slope: (dt / dn) * 1000, floorSlope: ((b.floor.wall.median - a.floor.wall.median) / dn) * 1000 };
  });
}

export function targets(r: PlanBenchResult): Target[] {
  const at = (size: number) => r.sizes.find((x) => x.size === size);
  const out: Target[] = [];
  const p3 = at(3000), p10 = at(10000);
  if (p3) out.push({ what: "plan, 3,000 layers", target: "< 1 s", measured: seconds(p3.plan.wall), met: p3.plan.wall.median < 1000 });
  if (p10) out.push({ what: "plan, 10,000 layers", target: "< 3 s", measured: seconds(p10.plan.wall), met: p10.plan.wall.median < 3000 });
  for (const x of r.sizes) {
    const ratio = x.plan.wall.median / x.floor.wall.median;
    out.push({ what: `plan / I/O floor, ${n(x.size)} layers`, target: "≤ 6×", measured: `${ratio.toFixed(1)}× (${s(x.plan.wall.median)} s / ${s(x.floor.wall.median)} s)`, met: ratio <= 6 });
  }
  if (p10) out.push({ what: "peak memory, 10,000 layers", target: "< 300 MB", measured: mb(p10.plan.rss), met: p10.plan.rss.max < 300 });
  const slopes = steps(r).map((x) => x.slope);
  // A quadratic step shows as a per-1,000 cost that rises with N.
  out.push({ what: "growth with N", target: "linear", measured: `${slopes.map((x) => `${s(x)} s`).join(", then ")} per 1,000 more layers`, met: !slopes.some((x, i) => i > 0 && x > slopes[i - 1] * 1.25) });
  const f = r.modules.forbidden;
  out.push({ what: "modules loaded by the dry run", target: "no engine client", measured: f.length ? f.join(", ") : `${r.modules.loaded.length} modules, none of dockerode, docker-modem, ssh2, tar-stream, executors/docker/`, met: f.length === 0 });
  for (const [size, noop] of [[SMALL, r.small] as const, ...r.sizes.map((x) => [x.size, x.noop] as const)]) {
    out.push({ what: `no-op, ${n(size)} layers`, target: "< 0.4 s", measured: seconds(noop.wall), met: noop.wall.median < 400 });
  }
  return out;
}

export function planMarkdown(r: PlanBenchResult): string {
  const m = r.machine;
  const f = fit(r.sizes.map((x) => [x.size, x.plan.wall.median]));
  const ff = fit(r.sizes.map((x) => [x.size, x.floor.wall.median]));
  const big = r.sizes.at(-1)!;
  const phaseNames = Object.keys(r.sizes[0]?.phases.phases ?? {});
  const perSize = (cell: (x: SizeResult) => string) => r.sizes.map(cell);
  return [
    measuredLine(r.date, r.commit, "planning benchmark", r.seconds),
    "",
    "### Machine",
    "",
    `- ${m.cpus}`,
    `- Node ${m.node}, ${m.git}; repositories generated under ${m.tmpFs}`,
    `- load average (1, 5, 15 min) before: ${m.loadBefore.map((x) => x.toFixed(2)).join(", ")}; after: ${m.loadAfter.map((x) => x.toFixed(2)).join(", ")}`,
    "- peak memory and CPU time: /usr/bin/time -f '%M %U %S' (wait4 rusage of the child); wall time: monotonic clock around the spawn",
    ...(m.strippedEnv.length ? [`- the children run without ${m.strippedEnv.map((e) => `\`${e}\``).join(", ")} (see the method); the no-op with it kept is shown below`] : []),
    "",
    "### Repositories",
    "",
    ...table(["science layers", "chains (images)", "final images", "compat", "files read", "bytes", "changed in last commit", "plan (-v)"], "rrrrrrll",
      r.sizes.map((x) => [n(x.size), n(x.repo.chains), n(x.repo.finals), x.repo.compat, n(2 * (x.repo.science + x.repo.compat)),
        `${(x.repo.bytes / 2 ** 20).toFixed(1)} MB`, `${x.repo.changedScience} science + ${x.repo.changedCompat}`, x.planSummary.replace("final plan includes ", "")])),
    "",
    "### Figures",
    "",
    `Median (min–max) of ${r.runs} runs each, after one unmeasured warm-up; plan, floor and no-op runs interleaved.`,
    "",
    ...table(["science layers", "plan: wall", "plan: peak memory", "plan: CPU (user+sys)", "I/O floor: wall", "I/O floor: peak memory", "plan / floor", "no-op: wall", "no-op: peak memory"], "rlllllrll",
      r.sizes.map((x) => [n(x.size), seconds(x.plan.wall), mb(x.plan.rss), seconds(x.plan.cpu), seconds(x.floor.wall), mb(x.floor.rss),
        `${(x.plan.wall.median / x.floor.wall.median).toFixed(1)}×`, seconds(x.noop.wall), mb(x.noop.rss)])),
    "",
    `- no-op at ${n(SMALL)} layers (the fixed cost: start-up, loading modules, the git processes): ${seconds(r.small.wall)}, ${mb(r.small.rss)}`,
    `- a bare \`node -e 0\`: ${seconds(r.nodeStartup.wall)}, ${mb(r.nodeStartup.rss)}`,
    ...(r.noopKeptEnv ? [`- no-op at ${n(big.size)} layers with the environment as it is on this machine (\`NODE_EXTRA_CA_CERTS\` kept): ${seconds(r.noopKeptEnv.wall)} against ${seconds(big.noop.wall)} without`] : []),
    "",
    "### Growth with N",
    "",
    `Least squares over the medians: plan ≈ ${s(f.a)} s + ${s(f.b * 1000)} s per 1,000 layers (R² = ${f.r2.toFixed(4)}); I/O floor ≈ ${s(ff.a)} s + ${s(ff.b * 1000)} s per 1,000 layers (R² = ${ff.r2.toFixed(4)}).`,
    "",
    ...table(["step", "layers added", "plan: time added", "per 1,000 layers", "floor: per 1,000 layers"], "lrrrr",
      steps(r).map((x) => [`${n(x.a.size)} → ${n(x.b.size)}`, n(x.dn), `${s(x.dt)} s`, `${s(x.slope)} s`, `${s(x.floorSlope)} s`])),
    "",
    "### Where the time goes",
    "",
    "`bench/phases.ts`, milliseconds (the steps one after the other, so a little more than a real run, which overlaps git with reading):",
    "",
    ...table(["phase", ...perSize((x) => n(x.size))], `l${"r".repeat(r.sizes.length)}`, [
      ...phaseNames.map((name) => [name, ...perSize((x) => x.phases.phases[name].toFixed(0))]),
      ["**total**", ...perSize((x) => `**${x.phases.total.toFixed(0)}**`)],
      ["parsing every science Dockerfile again, JIT warm", ...perSize((x) => x.phases.warmParse.toFixed(0))],
      ["heap used at the end (MB)", ...perSize((x) => x.phases.heapUsedMB.toFixed(0))],
    ]),
    "",
    "### Targets",
    "",
    ...targetsTable(targets(r)),
    "",
    "<details><summary>Modules the dry run loads</summary>",
    "",
    ...r.modules.loaded.map((x) => `- \`${x}\``),
    "",
    "</details>",
  ].join("\n");
}
