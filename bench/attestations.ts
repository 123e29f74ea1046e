// Issue 19's push benchmark: what attestations (provenance + SBOM, in an index per image) add to
// `--all --push`. For the examples and for a family of 30 images (10 chains of 2 science layers,
// each chain a final image with a compat build, as bench/rerun.ts), runs `--all --push` to a fresh
// path of the test registry with and without `--no-attestations`, alternating, RUNS times each,
// after one warm-up run each (so the engine's build cache is as warm for both: the difference is
// the publishing).
//
//   source STATE_DIR/env.sh && npm run build && node dist/bench/attestations.js [--runs 3] [--chains 10]
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { connectEngine } from "../src/executors/docker/engine.js";
import { CLI, PROJECT_ROOT, commitAll, fileWriter, stats, table, untagRun } from "./report.js";

const { values: v } = parseArgs({ options: { runs: { type: "string", default: "3" }, chains: { type: "string", default: "10" } } });
const RUNS = Number(v.runs);
const CHAINS = Number(v.chains);
const registry = process.env.IB_REGISTRY;
if (!process.env.DOCKER_HOST || !registry) throw new Error("needs a test engine: source STATE/env.sh (DOCKER_HOST, IB_REGISTRY)");

function examples(): string {
  const root = mkdtempSync(join(tmpdir(), "ib-bench-att-ex-"));
  for (const dir of ["science", "compat", "image-builder.json"]) cpSync(join(PROJECT_ROOT, dir), join(root, dir), { recursive: true });
  commitAll(root, "examples");
  return root;
}

function family(): string {
  const root = mkdtempSync(join(tmpdir(), "ib-bench-att-fam-"));
  const write = fileWriter(root);
  for (let c = 1; c <= CHAINS; c++) {
    write(`science/f${c}-a/sciserver-image.json`, JSON.stringify({ image: `f${c}`, version: "1.0", target: `f${c}-a` }));
    write(`science/f${c}-a/Dockerfile`, `FROM busybox:stable\nCOPY status /var/lib/dpkg/status\nRUN echo f${c}-a > /a\n`);
    write(`science/f${c}-a/status`, `Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n`);
    write(`science/f${c}-b/sciserver-image.json`, JSON.stringify({ image: `f${c}`, version: "1.0", target: `f${c}-b`, compat: "ui" }));
    write(`science/f${c}-b/Dockerfile`, `FROM sci/f${c}-a:1.0\nCOPY numpy.json /opt/conda/conda-meta/numpy-1.26.4-0.json\nRUN echo f${c}-b > /b\n`);
    write(`science/f${c}-b/numpy.json`, JSON.stringify({ name: "numpy", version: "1.26.4" }));
  }
  write("compat/ui/sciserver-image.json", "{}");
  write("compat/ui/Dockerfile", "COPY ui.conf /etc/ui.conf\n");
  write("compat/ui/ui.conf", "ui\n");
  commitAll(root, "family");
  return root;
}

/** The CPU seconds of this process's finished children (`/proc/self/stat`: cutime + cstime, in clock ticks of 1/100 s). */
const childCpuSeconds = () => {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  return (Number(fields[13]) + Number(fields[14])) / 100;
};
/** The machine's 1-minute load average: the machine is shared, and the figures mean little without it. */
const loadAverage = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
const loads: number[] = [];

let n = 0;
const { docker } = connectEngine();

/** One `--all --push`: its wall seconds and the CPU seconds of image-builder's process; its tags are taken off the engine after it. */
async function push(root: string, attestations: boolean): Promise<{ seconds: number; cpu: number }> {
  const repo = `${registry}/bench-att-${Date.now().toString(36)}-${n++}`;
  loads.push(loadAverage());
  const cpu0 = childCpuSeconds();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI, "--all", "--push", "--repo", repo, "--progress", "plain", ...(attestations ? [] : ["--no-attestations"])], { cwd: root, encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`push failed (${r.status}): ${r.stderr.split("\n").slice(-15).join("\n")}`);
  const cpu = childCpuSeconds() - cpu0;
  await untagRun(docker, repo);
  return { seconds, cpu };
}

const rows: string[][] = [];
for (const [label, make] of [["examples (7 images)", examples], [`family of ${3 * CHAINS} images`, family]] as const) {
  const root = make();
  try {
    // Warm-up runs: the engine's build cache is as warm for both.
    await push(root, true);
    await push(root, false);
    const withAtt: { seconds: number; cpu: number }[] = [];
    const without: { seconds: number; cpu: number }[] = [];
    for (let r = 0; r < RUNS; r++) {
      // Alternating, so that a change of load on the machine weighs on both alike.
      if (r % 2 === 0) {
        without.push(await push(root, false));
        withAtt.push(await push(root, true));
      } else {
        withAtt.push(await push(root, true));
        without.push(await push(root, false));
      }
    }
    const seconds = (xs: { seconds: number }[]) => xs.map((x) => x.seconds);
    const [a, b] = [stats(seconds(without)).median, stats(seconds(withAtt)).median];
    const [cpuA, cpuB] = [stats(without.map((x) => x.cpu)).median, stats(withAtt.map((x) => x.cpu)).median];
    rows.push([label, `${a.toFixed(1)} s`, `${b.toFixed(1)} s`, `${(b - a).toFixed(1)} s`, `${(((b - a) / a) * 100).toFixed(0)}%`,
      `${cpuA.toFixed(2)} / ${cpuB.toFixed(2)} s`,
      `${seconds(without).map((x) => x.toFixed(1)).join(", ")} / ${seconds(withAtt).map((x) => x.toFixed(1)).join(", ")}`]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
process.stdout.write(`${table(["`--all --push`", "--no-attestations (median)", "with attestations (median)", "difference", "", "image-builder's CPU (median, without / with)", "runs (without / with)"], "lrrrrll", rows).join("\n")}\n`);
const load = stats(loads);
process.stdout.write(`load average (1 min) as the runs started: median ${load.median}, ${load.min} to ${load.max} (2 cores)\n`);
