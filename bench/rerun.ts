// Issue 9's benchmark: rerunning an already published family costs nothing. Builds and pushes a
// family of CHAINS x 2 science layers (each chain a final image with a compat build) to a fresh
// repository of the test registry, then runs the same command again and counts what it built.
//
//   source /tmp/image-builder-test-engine/env.sh   # DOCKER_HOST and IB_REGISTRY of a test engine
//   npm run build && node dist/bench/rerun.js [--chains 10] [--builder classic|buildkit]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CLI, commitAll, fileWriter, table } from "./report.js";

const { values } = parseArgs({ options: { chains: { type: "string", default: "10" }, builder: { type: "string", default: "auto" } } });
const chains = Number(values.chains);
const registry = process.env.IB_REGISTRY;
if (!process.env.DOCKER_HOST || !registry) throw new Error("needs a test engine: source STATE/env.sh (DOCKER_HOST, IB_REGISTRY)");

const root = mkdtempSync(join(tmpdir(), "ib-bench-rerun-"));
const write = fileWriter(root);
for (let c = 1; c <= chains; c++) {
  write(`science/f${c}-a/sciserver-image.json`, JSON.stringify({ image: `f${c}`, version: "1.0", target: `f${c}-a` }));
  write(`science/f${c}-a/Dockerfile`, `FROM busybox:stable\nRUN echo f${c}-a > /a\n`);
  write(`science/f${c}-b/sciserver-image.json`, JSON.stringify({ image: `f${c}`, version: "1.0", target: `f${c}-b`, compat: "ui" }));
  write(`science/f${c}-b/Dockerfile`, `FROM sci/f${c}-a:1.0\nRUN echo f${c}-b > /b\n`);
}
write("compat/ui/sciserver-image.json", "{}");
write("compat/ui/Dockerfile", "COPY ui.conf /etc/ui.conf\n");
write("compat/ui/ui.conf", "ui\n");
commitAll(root, "family");

const repo = `${registry}/bench-rerun-${Date.now().toString(36)}`;
function run(label: string): { seconds: number; statuses: Record<string, number> } {
  const results = join(root, `${label}.json`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI, "--all", "--push", "--repo", repo, "--builder", values.builder!, "--progress", "plain", "--results", results],
    { cwd: root, encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${label} failed (${r.status}): ${r.stderr.split("\n").slice(-15).join("\n")}`);
  const statuses: Record<string, number> = {};
  for (const x of JSON.parse(readFileSync(results, "utf8")).results as { status: string }[]) statuses[x.status] = (statuses[x.status] ?? 0) + 1;
  return { seconds, statuses };
}
try {
  const first = run("first");
  const again = run("rerun");
  const fmt = (s: Record<string, number>) => Object.entries(s).map(([k, v]) => `${v} ${k}`).join(", ");
  const images = 2 * chains + chains;
  process.stdout.write(`${table([`run (${images} images: ${2 * chains} science, ${chains} compat; builder ${values.builder})`, "wall", "results"], "lrl", [
    ["first `--all --push`", `${first.seconds.toFixed(1)} s`, fmt(first.statuses)],
    ["the same command again", `${again.seconds.toFixed(1)} s`, fmt(again.statuses)],
  ]).join("\n")}\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
