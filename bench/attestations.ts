// Issue 19's push benchmark: what attestations (provenance + SBOM, in an index per image) add to
// `--all --push`. For the examples, a family of 30 images (10 chains of 2 science layers, each
// chain a final image with a compat build, as bench/rerun.ts) and 3 images with 80 MB layers (the
// size of science images, where reading layers back for the SBOM weighs), runs `--all --push` to a
// fresh path of the test registry without attestations, with them, and with them but without the
// SBOM cache (every layer read back, as a machine's first run), in turn, RUNS times each, after one
// warm-up run each (so the engine's build cache is as warm for all: the difference is the
// publishing; the SBOM cache, the bench's own, holds what the warm-up read).
//
//   source STATE_DIR/env.sh && npm run build && node dist/bench/attestations.js [--runs 3] [--chains 10] [--big 3] [--big-mb 80]
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { connectEngine } from "../src/executors/docker/engine.js";
import { CLI, PROJECT_ROOT, commitAll, fileWriter, stats, table, untagRun } from "./report.js";

const { values: v } = parseArgs({ options: { runs: { type: "string", default: "3" }, chains: { type: "string", default: "10" }, big: { type: "string", default: "3" }, "big-mb": { type: "string", default: "80" } } });
const RUNS = Number(v.runs);
const CHAINS = Number(v.chains);
const BIG = Number(v.big);
const BIG_MB = Number(v["big-mb"]);
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

/**
 * Images the size science images are: BIG chains of a science layer holding a file of BIG_MB MB
 * (random, base64: it compresses as little as a conda environment's binaries do) and a dpkg
 * status, each a final image with a compat build. What reading layers back for the SBOM costs.
 */
function bigLayers(): string {
  const root = mkdtempSync(join(tmpdir(), "ib-bench-att-big-"));
  const write = fileWriter(root);
  for (let c = 1; c <= BIG; c++) {
    write(`science/b${c}/sciserver-image.json`, JSON.stringify({ image: `b${c}`, version: "1.0", target: `b${c}`, compat: "ui" }));
    write(`science/b${c}/Dockerfile`, `FROM busybox:stable\nCOPY status /var/lib/dpkg/status\nCOPY blob /opt/blob\nRUN echo b${c} > /b\n`);
    write(`science/b${c}/status`, `Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n`);
    write(`science/b${c}/blob`, randomBytes(BIG_MB * 3 / 4 * 1024 * 1024).toString("base64"));
  }
  write("compat/ui/sciserver-image.json", "{}");
  write("compat/ui/Dockerfile", "COPY ui.conf /etc/ui.conf\n");
  write("compat/ui/ui.conf", "ui\n");
  commitAll(root, "big layers");
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

type Variant = "without" | "with" | "with, no cache";
const VARIANTS: Variant[] = ["without", "with", "with, no cache"];

/** One `--all --push`: its wall seconds and the CPU seconds of image-builder's process; its tags are taken off the engine after it. */
async function push(root: string, variant: Variant, cache: string): Promise<{ seconds: number; cpu: number }> {
  const repo = `${registry}/bench-att-${Date.now().toString(36)}-${n++}`;
  loads.push(loadAverage());
  const cpu0 = childCpuSeconds();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI, "--all", "--push", "--repo", repo, "--progress", "plain", ...(variant === "without" ? ["--no-attestations"] : [])],
    { cwd: root, encoding: "utf8", env: { ...process.env, IMAGE_BUILDER_CACHE: variant === "with, no cache" ? "none" : cache } });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`push failed (${r.status}): ${r.stderr.split("\n").slice(-15).join("\n")}`);
  const cpu = childCpuSeconds() - cpu0;
  await untagRun(docker, repo);
  return { seconds, cpu };
}

const rows: string[][] = [];
const families = [["examples (7 images)", examples], [`family of ${3 * CHAINS} images`, family], [`${BIG} images with ${BIG_MB} MB layers`, bigLayers]] as const;
for (const [label, make] of families) {
  const root = make();
  // The SBOM cache of these runs alone: the warm-up fills it, as the runs of a machine that published before.
  const cache = mkdtempSync(join(tmpdir(), "ib-bench-att-cache-"));
  try {
    // Warm-up runs: the engine's build cache is as warm for each.
    for (const variant of VARIANTS) await push(root, variant, cache);
    const runs = new Map<Variant, { seconds: number; cpu: number }[]>(VARIANTS.map((v) => [v, []]));
    for (let r = 0; r < RUNS; r++) {
      // In turn, starting each round with another variant, so that a change of load on the machine weighs on all alike.
      for (let i = 0; i < VARIANTS.length; i++) {
        const variant = VARIANTS[(r + i) % VARIANTS.length];
        runs.get(variant)!.push(await push(root, variant, cache));
      }
    }
    const median = (v: Variant) => stats(runs.get(v)!.map((x) => x.seconds)).median;
    const cpu = (v: Variant) => stats(runs.get(v)!.map((x) => x.cpu)).median.toFixed(2);
    const base = median("without");
    const cost = (v: Variant) => `${median(v).toFixed(1)} s (+${(((median(v) - base) / base) * 100).toFixed(0)}%)`;
    rows.push([label, `${base.toFixed(1)} s`, cost("with"), cost("with, no cache"), VARIANTS.map(cpu).join(" / ") + " s",
      VARIANTS.map((v) => runs.get(v)!.map((x) => x.seconds.toFixed(1)).join(", ")).join(" / ")]);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
}
process.stdout.write(`${table(["`--all --push`", "--no-attestations (median)", "with attestations (median, cost)", "with attestations, no SBOM cache", "image-builder's CPU (median: without / with / no cache)", "runs (without / with / no cache)"], "lrrrll", rows).join("\n")}\n`);
const load = stats(loads);
process.stdout.write(`load average (1 min) as the runs started: median ${load.median}, ${load.min} to ${load.max} (2 cores)\n`);
