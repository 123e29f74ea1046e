// The command line: parses flags, calls the shell and the pure planner, hands the plan to an
// executor. The engine client is loaded only when something is built, so the dry-run stays light.
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { InputError, type Plan } from "../core/types.js";
import { loadPlan, type PlanFlags } from "../io/load-plan.js";
import { describePlan } from "./report.js";

interface MainOptions {
  verbose: number;
  repo?: string;
  ref?: string;
  root: string;
  include: string[];
  ignore: string[];
  untracked: boolean;
  all: boolean;
  dryrun: boolean;
  push: boolean;
  json: boolean;
  buildArg: Record<string, string>;
  jobs: number;
  cache: boolean;
  pull: boolean;
  progress: "auto" | "plain";
  logDir?: string;
  failFast: boolean;
}

const EXIT_INPUT = 2;
const EXIT_INTERRUPTED = 130;

function collectBuildArg(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number of at least 1");
  return n;
}

/** Options shared by every command that plans. */
export function addPlanOptions(cmd: Command): Command {
  return cmd
    .option("-v, --verbose", "more output: -v final images, -vv why each build, -vvv the whole plan", (_: string, n: number) => n + 1, 0)
    .option("--repo <location>", "registry location for tags and bases (default: \"repo\" in image-builder.json)")
    .option("--ref <revision>", "compare the working tree with this revision, or plan a range A..B (default: HEAD^)")
    .option("--root <dir>", "repository root", ".")
    .option("--include <dirs...>", "plan exactly these layer directories (science/NAME, compat/NAME), whatever git says", [])
    .option("--ignore <dirs...>", "never count these layer directories as changed", [])
    .option("--untracked", "also count layer directories whose sciserver-image.json git does not track", false)
    .option("--all", "plan every layer", false)
    .option("--build-arg <KEY=VALUE>", "build argument for every build (repeatable)", collectBuildArg, {});
}

export function planFlags(o: MainOptions): PlanFlags {
  return {
    root: o.root,
    repo: o.repo,
    ref: o.ref,
    include: o.include,
    ignore: o.ignore,
    untracked: o.untracked,
    all: o.all,
    buildArgs: o.buildArg,
  };
}

function addEngineOptions(cmd: Command): Command {
  return cmd
    .option("--push", "push every tag of every built image to its registry", false)
    .option("-j, --jobs <n>", "builds to run at once", positiveInt, 2)
    .option("--no-cache", "do not use the engine's build cache")
    .option("--pull", "always try to pull newer versions of base images", false)
    .addOption(new Option("--progress <mode>", "progress output").choices(["auto", "plain"]).default("auto"))
    .option("--log-dir <dir>", "keep each build's full log in DIR/<build id>.log")
    .option("--fail-fast", "stop all builds at the first failure", false);
}

async function runMain(o: MainOptions): Promise<number> {
  const { plan } = await loadPlan(planFlags(o));
  for (const line of describePlan(plan, o.verbose)) process.stderr.write(`${line}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
  if (o.dryrun) return 0;
  return executeOnEngine(plan, o);
}

async function executeOnEngine(plan: Plan, o: MainOptions): Promise<number> {
  if (plan.builds.length === 0) return 0;
  const engine = await import("../executors/docker/index.js");
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    const result = await engine.executePlan(plan, {
      rootDir: o.root,
      jobs: o.jobs,
      noCache: !o.cache,
      pull: o.pull,
      buildArgs: o.buildArg,
      push: o.push,
      failFast: o.failFast,
      logDir: o.logDir,
      progress: o.progress,
      out: process.stderr,
      signal: controller.signal,
    });
    if (result.interrupted) return EXIT_INTERRUPTED;
    return result.ok ? 0 : 1;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

export function buildProgram(): Command {
  const program = new Command("image-builder")
    .description("Plans, builds, labels, tags and pushes layered science/compat Docker images")
    .option("--dryrun", "plan only: build nothing", false)
    .option("--json", "print the plan as JSON on stdout", false)
    .showHelpAfterError("(run image-builder --help for usage)")
    .configureOutput({ outputError: (str, write) => write(str) });
  addEngineOptions(addPlanOptions(program));
  program.action(async (o: MainOptions) => {
    process.exitCode = await runMain(o);
  });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are not errors; usage errors exit like other bad input.
      return e.exitCode === 0 ? 0 : EXIT_INPUT;
    }
    if (e instanceof InputError) {
      process.stderr.write(`image-builder: error: ${e.message}\n`);
      return EXIT_INPUT;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`image-builder: error: ${message.split("\n")[0]}\n`);
    if (process.env.IMAGE_BUILDER_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}
