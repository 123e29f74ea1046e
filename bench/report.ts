// What the benchmark scripts share: statistics, the markdown tables they print, timing a child
// process, and the generated sections of BENCH.md (the prose around them is written by hand).
import { spawnSync } from "node:child_process";
import type Dockerode from "dockerode";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", ".."); // from dist/bench
export const CLI = join(PROJECT_ROOT, "dist", "src", "cli", "main.js");

/** Commits everything under `dir` as a bench identity, making it a git repository first if it is not one. */
export function commitAll(dir: string, message: string): void {
  for (const args of [["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", message]]) {
    if (args[0] === "init" && spawnSync("git", ["rev-parse"], { cwd: dir }).status === 0) continue;
    const r = spawnSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid", ...args], { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr}`);
  }
}

/** Writes a benchmark repository's files under `dir`, making directories as needed. */
export const fileWriter = (dir: string) => (path: string, text: string): void => {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
};

export interface Stats { median: number; min: number; max: number }

export function stats(values: number[]): Stats {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** "median unit (min–max)", each number written by `f`. */
export const range = (x: Stats, f: (v: number) => string, unit: string) => `${f(x.median)}${unit} (${f(x.min)}–${f(x.max)})`;
export const thousands = (x: number) => x.toLocaleString("en-US");

/** A markdown table; `align` has one letter per column: `l` (---) or `r` (---:) or `c` (:---:). */
export function table(head: string[], align: string, rows: (string | number)[][]): string[] {
  const rule = [...align].map((a) => (a === "r" ? "---:" : a === "c" ? ":---:" : "---"));
  return [head, rule, ...rows].map((cells) => `| ${cells.join(" | ")} |`);
}

export interface Target { what: string; target: string; measured: string; met: boolean }

export function targetsTable(targets: Target[]): string[] {
  return table(["what", "target", "measured", "met"], "lllc", targets.map((t) => [t.what, t.target, t.measured, t.met ? "yes" : "**no**"]));
}

export function logTargets(targets: Target[]): void {
  for (const t of targets) process.stderr.write(`${t.met ? "met   " : "MISSED"} ${t.what}: ${t.measured} (target ${t.target})\n`);
}

/**
 * The environment for the measured children: without NODE_EXTRA_CA_CERTS (this machine sets it,
 * and it makes every Node process load a CA bundle, ≈ 60 ms, for TLS that planning never uses)
 * and NODE_OPTIONS.
 */
export function childEnv(): { env: NodeJS.ProcessEnv; stripped: string[] } {
  const env = { ...process.env };
  const stripped = ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS"].filter((k) => env[k] !== undefined);
  for (const k of stripped) delete env[k];
  return { env, stripped };
}

export function projectCommit(): string {
  const git = (...args: string[]) => spawnSync("git", args, { cwd: PROJECT_ROOT, encoding: "utf8" }).stdout.trim();
  return `${git("rev-parse", "--short", "HEAD")}${git("status", "--porcelain", "--", "src") ? " + uncommitted changes in src/" : ""}`;
}

export function measuredLine(date: string, commit: string, what: string, seconds: number): string {
  return `Measured ${date.slice(0, 16).replace("T", " ")} UTC on image-builder ${commit}; the whole ${what} took ${seconds.toFixed(0)} s.`;
}

/** A positive integer flag, or a comma-separated list of them. */
export function positiveInts(flag: string, value: string): number[] {
  const xs = value.split(",").map(Number);
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`${flag} takes positive integers, comma-separated`);
  return xs;
}

// Peak memory and CPU time of a child come from /usr/bin/time (wait4's rusage of exactly that
// process); Node has no way to get them for a child.
const TIME = "/usr/bin/time";
export const haveTime = existsSync(TIME) && spawnSync(TIME, ["-f", "%M", "true"]).status === 0;

/** `command` prefixed with /usr/bin/time writing "maxRSS-KB user-s sys-s" to `file`. */
export function timed(file: string, command: string[]): string[] {
  if (!haveTime) throw new Error(`${TIME} is needed to measure peak memory and CPU time`);
  rmSync(file, { force: true });
  return [TIME, "-f", "%M %U %S", "-o", file, ...command];
}

export function readTimed(file: string): { rssMB: number; cpuMs: number } {
  const [rssKB, user, sys] = readFileSync(file, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
  return { rssMB: rssKB / 1024, cpuMs: (user + sys) * 1000 };
}

// BENCH.md's generated sections: `<!-- NAME:start -->` … `<!-- NAME:end -->`.
const markers = (name: string) => [`<!-- ${name}:start -->`, `<!-- ${name}:end -->`] as const;

export function sectionOf(text: string, name: string): string | undefined {
  const [start, end] = markers(name);
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  return i >= 0 && j > i ? text.slice(i + start.length, j).trim() : undefined;
}

/** Replaces the section `name` of `file` with `markdown`. */
export function writeSection(file: string, name: string, markdown: string): void {
  const text = readFileSync(file, "utf8");
  const [start, end] = markers(name);
  if (sectionOf(text, name) === undefined) throw new Error(`${file} has no ${start} … ${end} section`);
  writeFileSync(file, `${text.slice(0, text.indexOf(start) + start.length)}\n${markdown.trim()}\n${text.slice(text.indexOf(end))}`);
  process.stderr.write(`wrote the ${name} section of ${file}\n`);
}

/**
 * Removes the engine's tags under `repo` (a run's `--repo`), keeping their layers: each run of a
 * benchmark tags its images under a fresh path, and an engine holding thousands of tags spends
 * more CPU on every tag it adds (its reference store is one file, written whole each time), so
 * later runs would be measured on a slower engine than earlier ones.
 */
export async function untagRun(docker: Dockerode, repo: string): Promise<void> {
  for (const image of await docker.listImages()) {
    for (const tag of image.RepoTags ?? []) {
      if (tag.startsWith(`${repo}/`)) await docker.getImage(tag).remove({ noprune: true });
    }
  }
}
