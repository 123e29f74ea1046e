// Runs the real ./image-builder entry point as a child process.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root of image-builder itself (dist/test/helpers -> ../../..). */
export const PROJECT_ROOT = join(here, "..", "..", "..");
export const MAIN = join(PROJECT_ROOT, "dist", "src", "cli", "main.js");

/**
 * What every run of the tests has unless a test says otherwise: no SBOM layer cache (a test's
 * registry serving other bytes under a layer's digest must be read, not answered from what an
 * earlier test's run kept; and nothing is written into the home of whoever runs the tests).
 */
const TEST_ENV = { IMAGE_BUILDER_CACHE: "none" };

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: opts.cwd,
    // the builder of the engine tests (IB_TEST_BUILDER): classic through the docker CLI's own
    // switch, else auto (BuildKit on the test engine, the classic builder where BuildKit can't build)
    env: { ...process.env, ...TEST_ENV, ...(process.env.IB_TEST_BUILDER === "classic" ? { DOCKER_BUILDKIT: "0" } : {}), ...opts.env },
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs with --json --dryrun and parses the plan. */
export function planJson(args: string[], cwd: string): { code: number; plan: any; stderr: string } {
  const r = runCli(["--dryrun", "--json", ...args], { cwd });
  return { code: r.code, plan: r.code === 0 ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
}

/** Like runCli, without blocking: for runs that must overlap. */
export function runCliAsync(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: opts.cwd, env: { ...process.env, ...TEST_ENV, ...opts.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** `p`, or an error naming `what` once `ms` have passed: a test of something that could hang fails instead. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still going after ${ms / 1000}s`)), ms)));
  try {
    return await Promise.race([p, hung]);
  } finally {
    clearTimeout(timer);
  }
}
