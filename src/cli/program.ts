// The command line: parses flags, calls the shell and the pure planner, hands the plan to an
// executor. The engine client is loaded only when something is built, so planning stays light.
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { parsePlatformFlag } from "../core/parse/platforms.js";
import { readFileSync } from "node:fs";
import { packageVersion } from "../files.js";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
// What only other commands use (plan files, results, graphs) is imported where it is used, so
// that the dry run loads no more than it needs.
import type { GraphFormat } from "../core/report/render-graph.js";
import type { BuildResult, IndexResult } from "../core/model.js";
import type { IndexLayer } from "../core/execute/image-index.js";
import type { PrebuiltParent } from "../core/plan/select-builds.js";
import { InputError, type Plan } from "../core/model.js";
import { parseSecretFlag, type SecretSource } from "../core/parse/secret-flag.js";
import { DEFAULT_REPO, describeRepoLocation } from "../core/parse/repo-config.js";
import { openGit, readHead, readRemoteUrl, worktreeStatus } from "../read/git.js";
import { oneLine, printable } from "../core/printable.js";
import { checkoutWarnings, planRepository, type PlanFlags } from "./plan-repository.js";
import { checkNotAnInput, checkOutputDir, checkOutputFile, writeOutputFile } from "./output-paths.js";
import { addRegistryCommands } from "./commands/registry.js";
import { addSbomCommands } from "./commands/sbom.js";
import { addVerifyCommand } from "./commands/verify.js";
import { addReportCommand } from "./commands/report.js";
import { addMergePlatformsCommand } from "./commands/merge-platforms.js";
import { describePlan } from "../executors/dry-run.js";
import type { EngineRunOptions } from "../executors/docker/run-options.js";
import type { BuilderChoice } from "../core/requests/builder-choice.js";
import type { SigningKey } from "../core/signatures/keys.js";
import { buildArgsHoldingSecrets, maskedFreeText, redactor, SecretSet } from "../core/report/redaction.js";
import { RESULTS_FREE_TEXT } from "../core/formats/results.js";
import type { DockerCredentials } from "../registry/credentials.js";
import { interruptWaitMs, onHangUp, sharedAbortController } from "../signals.js";

/** What commander gives the commands that plan: the planner's flags, as the command line names them. */
type PlanCommandOptions = Omit<PlanFlags, "buildArgs" | "buildTime" | "platforms"> & {
  verbose: number; buildArg: PlanFlags["buildArgs"]; reconcile: boolean;
  /** `--platform`, as given (checked by planFlags). */
  platform?: string;
};

/** What commander gives the commands that build: the run's settings, as the command line names them. */
type EngineCommandOptions = Pick<EngineRunOptions, "push" | "jobs" | "pull" | "progress" | "logDir" | "failFast" | "network" | "registryCache" | "attestations"> & {
  /** `--no-cache` */
  cache: boolean;
  overwrite: boolean;
  allowTagRollback: boolean;
  results?: string;
  /** `--report DIR`: the run's HTML report. */
  report?: string;
  buildArg: EngineRunOptions["buildArgs"];
  root: string;
  /** `run --base-archive`: image tar files loaded into the engine before building. */
  baseArchive?: string[];
  builder?: BuilderChoice;
  secret: SecretSource[];
  /** `--sign-key FILE`: a PEM private key. */
  signKey?: string;
};

type MainOptions = PlanCommandOptions & EngineCommandOptions & { dryrun: boolean; json: boolean };

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

/** `--root`, of every command that reads the checkout; `about`: what the root must be. */
const rootOption = (about = "repository root") => new Option("--root <dir>", about).default(".");
/** `--build-arg`, of every command that plans or builds. */
const buildArgOption = () => new Option("--build-arg <KEY=VALUE>", "build argument for every build (repeatable)").default({}).argParser(collectBuildArg);

const verbose = (cmd: Command) =>
  cmd.option("-v, --verbose", "more output: -v final images, -vv why each build, -vvv the whole plan", (_: string, n: number) => n + 1, 0);

/** Options of every command that plans. */
function addPlanOptions(cmd: Command): Command {
  return verbose(cmd)
    .option("--repo <location>", `registry location for tags and bases (default: "repo" in image-builder.json, else ${DEFAULT_REPO})`)
    .option("--ref <revision>", "compare the working tree with this revision, or plan a range A..B (default: HEAD^)")
    .addOption(rootOption())
    .option("--include <dirs...>", "plan exactly these layer directories (science/NAME, compat/NAME), whatever git says", [])
    .option("--ignore <dirs...>", "never count these layer directories as changed", [])
    .option("--untracked", "also count files git does not track yet", false)
    .option("--all", "plan every layer", false)
    .option("--reconcile", "plan every layer, keep what the registry of --repo lacks or holds from other inputs (and what builds on it)", false)
    .option("--platform <platforms>", "build every layer for these platforms (os/arch[/variant], comma-separated), whatever sciserver-image.json declares")
    .addOption(buildArgOption())
    .addOption(noAttestationsOption());
}

/** `--no-attestations`: of the commands that plan (--reconcile then does not ask for them) and of `run`. */
function noAttestationsOption(): Option {
  return new Option("--no-attestations", "--push: publish the images without their provenance and SBOM attestations (a single-platform image stays a plain image, not an index); --reconcile: don't count an image published without them as missing");
}

/** Options of every command that builds. */
function addEngineOptions(cmd: Command): Command {
  return cmd
    .option("--push", "push every tag of every built image to its registry", false)
    .option("-j, --jobs <n>", "builds to run at once", positiveInt, 2)
    .option("--no-cache", "do not use the engine's build cache")
    .option("--pull", "always try to pull newer versions of base images", false)
    .addOption(new Option("--progress <mode>", "progress output").choices(["auto", "plain"]).default("auto"))
    .option("--log-dir <dir>", "keep each build's full log in DIR/<build id>.log")
    .option("--results <file>", "write each build's result and outputs (image id, tags, digests) as JSON (- is stdout)")
    .option("--report <dir>", "write the run's HTML report to DIR at the end (also of a failed or interrupted run)")
    .option("--fail-fast", "stop all builds at the first failure", false)
    .option("--overwrite", "let --push replace a build tag ({version}-{n}-{h}) that the registry holds with other inputs", false)
    .option("--allow-tag-rollback", "let --push move a moving tag ({version}) back to an older build than the one it points at (it only moves forward otherwise)", false)
    .addOption(new Option("--builder <builder>", "the engine's builder (default: auto, BuildKit where the engine has it; or DOCKER_BUILDKIT=0/1)").choices(["auto", "buildkit", "classic"]))
    .option("--network <mode>", "network mode of RUN steps (default: the engine's, or none on an engine without a default bridge)")
    .option("--no-registry-cache", "BuildKit: don't use the registry's images of a build and its parents as cache")
    .option("--secret <id=ID,src=FILE>", "BuildKit: a secret for RUN --mount=type=secret,id=ID (repeatable; src=FILE or env=VAR); never in an image, log or plan",
      (v: string, all: SecretSource[]) => [...all, parseSecretFlag(v)], [])
    .option("--sign-key <file>", `with --push: sign every image pushed under a build tag with this ECDSA P-256 key (PEM), as cosign does; or the PEM itself (or its file's path) in ${SIGN_KEY_ENV}`);
}

/** The environment variable that holds the signing key's PEM (a Jenkins secret file or text credential). */
const SIGN_KEY_ENV = "IMAGE_BUILDER_SIGN_KEY";

/** Options that only matter when building: [commander's key, the flag], as addEngineOptions declares them. */
const ENGINE_FLAGS: [string, string][] = addEngineOptions(new Command()).options.map((option) => [option.attributeName(), option.long!]);

/** The planner's flags from a command's options: only --build-arg is named otherwise. */
function planFlags({ buildArg, platform, ...o }: PlanCommandOptions): PlanFlags {
  return { ...o, buildArgs: buildArg, ...(platform === undefined ? {} : { platforms: parsePlatformFlag(platform) }) };
}

/** Lines for people, masked by the run's secrets (a `--build-arg` may hold one: -vvv prints each build's command). */
function printLines(secrets: SecretSet, lines: string[]): void {
  for (const line of lines) process.stderr.write(`${secrets.redact(line)}\n`);
}

function printWarnings(secrets: SecretSet, warnings: string[]): void {
  // Each once: a Dockerfile's warning is found for each platform it is planned for.
  for (const w of new Set(warnings)) process.stderr.write(`image-builder: warning: ${oneLine(secrets.redact(w))}\n`);
}

/** Said when a build argument holds a secret of the run: the output masks it, but the plan file and the image's history keep it. */
function secretBuildArgsWarning(plan: Plan, secrets: SecretSet): string[] {
  const names = buildArgsHoldingSecrets(plan.builds, secrets);
  return names.length === 0 ? [] : [
    `build argument${names.length === 1 ? "" : "s"} ${names.join(", ")} hold${names.length === 1 ? "s" : ""} a secret of this run: masked in its output, logs, results and provenance, but recorded as given in the plan file and in the image's history (pass secrets with --secret)`,
  ];
}

/**
 * Said when a line of a secret is part of the registry location or an image name: output lines
 * mask it there, results and provenance (names of image-builder's own) do not. Not which name: the
 * name would tell the secret.
 */
function secretInNamesWarning(plan: Plan, secrets: SecretSet): string[] {
  const names = [plan.repo, ...plan.builds.flatMap((b) => [b.id, ...b.request.tags])];
  return names.some((n) => secrets.holds(n))
    ? ["a line of a secret of this run is part of the registry location or an image name: output lines mask it there, but --results and the provenance, which hold those names as they are, do not (they are published as names); use a secret that is no part of them"]
    : [];
}

async function readInput(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new InputError(`cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, file);
  }
}

/** `-` as an output file: stdout. */
const STDOUT = "-";

/** Whether an output names stdout: `-`, or stdout's own paths (`/dev/stdout`, `/dev/fd/1`, `/proc/self/fd/1`). */
function isStdout(file: string | undefined): boolean {
  return file === STDOUT || (file !== undefined && ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"].includes(resolve(file)));
}

/** Writes what a command outputs to FILE, or to stdout for `-`. */
async function writeOutput(flag: string, file: string, text: string): Promise<void> {
  if (file === STDOUT) process.stdout.write(text);
  else await writeOutputFile(flag, file, text);
}

/** Checks an output file the user named before any work is done (`-` is stdout). */
function checkOutput(flag: string, file: string | undefined): void {
  if (file !== undefined && file !== STDOUT) checkOutputFile(flag, file);
}

/**
 * Fails before anything is planned or built when --results or --log-dir could not be written;
 * leaves nothing behind. `stdoutTaken`: the flag that already writes to stdout, if any.
 */
function checkOutputs(o: EngineCommandOptions, stdoutTaken?: string): void {
  if (o.logDir === STDOUT) throw new InputError("--log-dir -: a directory is needed (build output goes to stderr already; --progress plain prints every line)");
  if (o.logDir) checkOutputDir("--log-dir", o.logDir);
  if (isStdout(o.results) && stdoutTaken) throw new InputError(`${stdoutTaken} and --results ${o.results} both write to stdout`);
  checkOutput("--results", o.results);
  if (o.report === STDOUT) throw new InputError("--report -: a directory is needed");
  if (o.report) checkOutputDir("--report", o.report);
}

/**
 * What a run leaves behind: --results, and --report (with `logTails`: each build's last log lines,
 * when the run has them; `indexes`: the image indexes it wrote or left).
 */
async function writeResults(o: EngineCommandOptions, secrets: SecretSet, plan: Plan, results: BuildResult[], logTails: Record<string, string[]> = {}, indexes: IndexResult[] = []): Promise<void> {
  if (!o.results && !o.report) return;
  const { resultsFile } = await import("../core/report/results.js");
  // Every text from outside masked (a reason, a failed step); the names and values of its own are not.
  const file = maskedFreeText(resultsFile(plan, results, o.jobs, indexes), secrets.redact, RESULTS_FREE_TEXT);
  // The report is written however the results file fared (a full disk there), and the first failure said.
  const failed = o.results ? await writeOutput("--results", o.results, `${JSON.stringify(file, null, 2)}\n`).then(() => undefined, (e: unknown) => e) : undefined;
  let reportFailed: unknown;
  if (o.report) {
    const { writeReport } = await import("./commands/report.js");
    reportFailed = await writeReport("--report", o.report, { plan, results: file, logDir: o.logDir, logTails: Object.fromEntries(Object.entries(logTails).map(([id, lines]) => [id, lines.map(secrets.redact)])) })
      .then(() => undefined, (e: unknown) => e);
  }
  if (failed ?? reportFailed) throw failed ?? reportFailed;
}

/**
 * Builds `plan` on the engine. `prebuiltParents`: parents built by another run of the plan, fetched
 * from the registry first (`run --only`); `indexLayers`: the whole plan's layers published as image
 * indexes, when `plan` is a part of it.
 */
async function executeOnEngine(
  plan: Plan, o: EngineCommandOptions, known: KnownSecrets, prebuiltParents: PrebuiltParent[] = [], uncommitted: string[] = [], indexLayers?: IndexLayer[],
): Promise<number> {
  const { requestedBuilder } = await import("../core/requests/builder-choice.js");
  // Before anything is built: a wait that is no number is bad input.
  const interruptWait = interruptWaitMs(process.env);
  let builder: ReturnType<typeof requestedBuilder>;
  try {
    builder = requestedBuilder(o.builder, process.env.DOCKER_BUILDKIT);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  // Before anything is built: a base from Docker Hub's sci/ (a reference naming no layer) is bad input.
  const { dockerHubScienceBases } = await import("../core/plan/bases-not-built.js");
  const hub = dockerHubScienceBases(plan);
  if (hub.length > 0) {
    throw new InputError(`nothing is built: ${hub.join("; ")}: names no science layer of this repository, and a sci/ reference without a registry would be pulled from Docker Hub's sci/, which is not this repository's; name a layer (sci/{target}:{version}) or spell the registry of the image meant`);
  }
  // Before anything is built: a key that can't sign is bad input.
  const signKey = await readSignKey(o);
  // A plan made to sign what a key had not signed (plan --reconcile with IMAGE_BUILDER_SIGN_KEY), run without one.
  const toSign = signKey || !o.push ? [] : plan.builds.filter((b) => b.reasons.some((r) => r.includes("not signed by the signing key")));
  if (toSign.length > 0) {
    printWarnings(known.secrets, [`${toSign.map((b) => b.id).join(", ")} ${toSign.length === 1 ? "was" : "were"} planned to be signed (--reconcile with a signing key), but this run has no --sign-key (nor ${SIGN_KEY_ENV}): ${toSign.length === 1 ? "it is" : "they are"} reused, not signed`]);
  }
  if (plan.builds.length === 0) {
    await writeResults(o, known.secrets, plan, []);
    return 0;
  }
  const secrets = readSecrets(o.secret);
  const controller = sharedAbortController();
  // A second signal stops the pushes the first one let finish.
  const stopPushes = sharedAbortController();
  const stop = () => (controller.signal.aborted ? stopPushes : controller).abort();
  let result: Awaited<ReturnType<typeof import("../executors/docker/index.js").executePlan>>;
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // The terminal closing (an SSH session ending) is an interrupt too: the run reads back what it
  // pushed and writes its results and report, though nobody sees its output any more.
  const offHangUp = onHangUp(stop);
  try {
    const executor = await import("../executors/docker/index.js");
    const engine = executor.connectEngine();
    if (o.baseArchive?.length) {
      const { loadBaseArchives } = await import("../executors/docker/load-archive.js");
      const { platformsOfPlan } = await import("../core/execute/platforms.js");
      for (const { file, image } of await loadBaseArchives(engine.docker, o.baseArchive, platformsOfPlan(plan))) process.stderr.write(`loaded ${image} from ${file}\n`);
    }
    // Read again if it could not be before: now a malformed docker config is bad input.
    const creds = known.creds ?? await loadCredentials(known.secrets);
    const attestations = o.push && o.attestations;
    const settings: EngineRunOptions = {
      rootDir: o.root, jobs: o.jobs, noCache: !o.cache, pull: o.pull, buildArgs: o.buildArg, push: o.push, failFast: o.failFast,
      logDir: o.logDir, progress: o.progress, overwrite: o.overwrite, allowTagRollback: o.allowTagRollback, builder, network: o.network, registryCache: o.registryCache, secrets, signKey,
      out: process.stderr, signal: controller.signal, stopPushes: stopPushes.signal, interruptWaitMs: interruptWait, prebuiltParents, uncommitted, indexLayers,
      attestations, ...(attestations ? { source: { commit: plan.commit, repository: await readRemoteUrl(openGit(o.root)), toolVersion: packageVersion() } } : {}),
    };
    // When pushing, build tags already in the registry are checked over its HTTP API.
    const { RegistryClient } = await import("../registry/client.js");
    const registry = settings.push ? new RegistryClient(creds) : undefined;
    // The SBOMs' layer states earlier runs kept: only layers no run on this machine read are read.
    const { layerStateCacheFromEnv, warnOnStderr } = await import("../registry/layer-state-cache.js");
    const layerStates = attestations ? layerStateCacheFromEnv(process.env, warnOnStderr) : undefined;
    result = await executor.executePlan(plan, settings, { engine, creds, registry, layerStates });
  } catch (e) {
    // A refusal (bad input: a missing parent, a malformed docker config) writes nothing.
    if (e instanceof InputError && !controller.signal.aborted) throw e;
    // The run could not start (engine, registry): every request is recorded as cancelled, with the reason.
    const reason = controller.signal.aborted ? "interrupted" : (e as Error).message.split("\n")[0];
    await writeResults(o, known.secrets, plan, plan.builds.map((b) => ({ id: b.id, status: "cancelled", reason, durationMs: 0, pushed: false })));
    if (controller.signal.aborted) return EXIT_INTERRUPTED;
    throw e;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    offHangUp();
  }
  // After the run: builds and pushes happened, so a results file or report that can't be written
  // (a full disk) is reported without hiding how the run went.
  const code = result.interrupted ? EXIT_INTERRUPTED : result.ok ? 0 : 1;
  try {
    const logTails = Object.fromEntries(result.outcomes.filter((r) => r.logTail?.length).map((r) => [r.id, r.logTail!]));
    await writeResults(o, known.secrets, plan, result.outcomes.map(({ logTail: _tail, ...r }) => r), logTails, result.indexes);
  } catch (e) {
    process.stderr.write(`image-builder: error: ${(e as Error).message}\n`);
    return code === 0 ? 1 : code;
  }
  return code;
}

/**
 * `run PLAN`: the checkout must send what the plan's inputs digests describe, since each image is
 * labelled with its request's digest and later runs reuse it on that label. Refuses (bad input,
 * before anything is built) a plan whose requests the checkout's files, or the run's build
 * arguments, do not make; returns the warning about uncommitted changes the default command gives, and the layers they are in.
 */
async function checkCheckout(plan: Plan, root: string, head: { prefix: string; shortCommit: string }, file: string): Promise<{ warnings: string[]; uncommitted: string[] }> {
  const [{ readContextListings, contextFilters }, { checkoutMismatches }, { contextDirs, layerDirOf }] = await Promise.all([
    import("../read/context-files.js"), import("../core/requests/plan-inputs.js"), import("../core/plan/changes.js"),
  ]);
  const listings = readContextListings(root, contextDirs(plan.builds));
  const problems = checkoutMismatches(plan, listings);
  if (problems.length > 0) {
    throw new InputError(
      `the checkout does not make the inputs this plan labels its images with, so nothing is built: ${problems.join("; ")} (make the plan again from this checkout, or run it on the files it was made from)`,
      file,
    );
  }
  const git = openGit(root);
  const status = await worktreeStatus(git, head.prefix);
  return checkoutWarnings(plan, git, listings, status, contextFilters(root, layerDirOf), { uncommitted: [...status.uncommitted, ...status.untracked], sayUncommitted: true, buildSuffix: `${plan.buildNumber}-${head.shortCommit}` });
}

/**
 * The signing key of a run that pushes: `--sign-key FILE`, else IMAGE_BUILDER_SIGN_KEY (set for
 * every stage of a pipeline, so it is ignored when nothing is pushed); `--sign-key` without
 * `--push` is refused, as it would sign nothing.
 */
async function readSignKey(o: EngineCommandOptions): Promise<SigningKey | undefined> {
  if (o.signKey !== undefined && !o.push) throw new InputError("--sign-key signs what --push publishes: add --push (nothing is signed without it)");
  return o.push ? loadSignKey(o.signKey) : undefined;
}

/** The key of `--sign-key FILE`, else of IMAGE_BUILDER_SIGN_KEY (the PEM, or its file's path) when it is set. */
async function loadSignKey(file: string | undefined): Promise<SigningKey | undefined> {
  const { parseSigningKey, PASSWORD_ENV } = await import("../core/signatures/keys.js");
  if (file !== undefined) {
    // The PEM itself given as the flag (as IMAGE_BUILDER_SIGN_KEY may hold it): never echoed.
    if (file.includes("-----BEGIN") || /[\r\n]/.test(file)) {
      throw new InputError(`--sign-key: the value is a key (or several lines), not a file's path: give the key file's path, or put the PEM in ${SIGN_KEY_ENV}`);
    }
    let pem: string;
    try {
      pem = readFileSync(file, "utf8");
    } catch (e) {
      throw new InputError(`--sign-key ${file}: cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    return parseSigningKey(pem, `--sign-key ${file}`, process.env[PASSWORD_ENV]);
  }
  const given = signKeyFromEnv();
  if (!given) return undefined;
  if ("pem" in given) return parseSigningKey(given.pem, SIGN_KEY_ENV, process.env[PASSWORD_ENV]);
  const { path } = given;
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (e) {
    throw new InputError(`${SIGN_KEY_ENV}: neither a PEM private key nor a file holding one (cannot read file: ${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseSigningKey(pem, `${SIGN_KEY_ENV} (file ${path})`, process.env[PASSWORD_ENV]);
}

/**
 * What IMAGE_BUILDER_SIGN_KEY holds, read one way wherever it is read (loading the key, and the
 * secrets masked before anything is printed): the PEM itself (a Jenkins "secret text" credential;
 * a PEM always has its BEGIN line), or the path of a file holding it (a "secret file" credential
 * binds its path), without the line end a file written on Windows (or `echo`) leaves.
 */
function signKeyFromEnv(): { pem: string } | { path: string } | undefined {
  const value = process.env[SIGN_KEY_ENV];
  if (!value) return undefined;
  return value.includes("-----BEGIN") ? { pem: value } : { path: value.replace(/[\r\n]+$/, "") };
}

/**
 * `--reconcile` with a signing key (`--sign-key`, or IMAGE_BUILDER_SIGN_KEY for `plan`): the
 * public half, so that images not signed by it are planned (their runs sign them).
 */
async function reconcileFlags(o: PlanCommandOptions, signKeyFile?: string): Promise<PlanFlags> {
  const flags = planFlags(o);
  if (!o.reconcile) return flags;
  const key = await loadSignKey(signKeyFile);
  return key ? { ...flags, signedBy: key.publicKey } : flags;
}

/** The run's secrets (one set, which everything it prints or writes is masked by) and its docker config's credentials, when they could be read. */
interface KnownSecrets {
  secrets: SecretSet;
  creds?: DockerCredentials;
}

/**
 * Every secret a command knows, read before it prints anything: `--secret` values, the signing
 * key's PEM (`--sign-key`, IMAGE_BUILDER_SIGN_KEY: the text, or its file's) and COSIGN_PASSWORD,
 * and the docker config's credentials (a credential helper's answer joins when it is asked, see
 * askRegistryCredentials). Nothing is refused here: what can't be read is refused where it is
 * used, or unused (--dryrun, a run that does not push).
 */
async function readKnownSecrets(secrets: SecretSet, o: { secret?: SecretSource[]; signKey?: string }): Promise<KnownSecrets> {
  const readable = (file: string) => {
    try {
      return readFileSync(file, "utf8");
    } catch {
      return undefined;
    }
  };
  for (const s of o.secret ?? []) secrets.add("env" in s ? process.env[s.env] : readable(s.file));
  // As loadSignKey reads them: a PEM given as --sign-key (refused there, masked until then), and the variable.
  const keyFlag = o.signKey?.includes("-----BEGIN") ? o.signKey : o.signKey && readable(o.signKey);
  const keyEnv = signKeyFromEnv();
  secrets.add(keyFlag, keyEnv && ("pem" in keyEnv ? keyEnv.pem : readable(keyEnv.path)), process.env.COSIGN_PASSWORD);
  return { secrets, creds: await loadCredentials(secrets).catch(() => undefined) };
}

/**
 * A pushing run asks for the credentials of its repository's registry before it prints the plan,
 * so that a credential helper's answer is masked in the plan's lines too (a `--build-arg` may
 * hold it). A helper that fails fails the run's first ask later, as it would have.
 */
async function askRegistryCredentials(known: KnownSecrets, repo: string, push: boolean): Promise<void> {
  if (push) await known.creds?.forImage(repo).catch(() => undefined);
}

async function loadCredentials(secrets: SecretSet): Promise<DockerCredentials> {
  const { DockerCredentials } = await import("../registry/credentials.js");
  return DockerCredentials.load(undefined, process.env, secrets);
}

/** `--secret` values, read before anything is built: a missing file or variable is bad input. */
function readSecrets(sources: SecretSource[] = []): Map<string, Buffer> {
  const secrets = new Map<string, Buffer>();
  for (const s of sources) {
    if ("env" in s) {
      const value = process.env[s.env];
      if (value === undefined) throw new InputError(`--secret id=${s.id}: environment variable ${s.env} is not set`);
      secrets.set(s.id, Buffer.from(value));
    } else {
      try {
        secrets.set(s.id, readFileSync(s.file));
      } catch (e) {
        throw new InputError(`--secret id=${s.id}: cannot read ${s.file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
    }
  }
  return secrets;
}

function unknownCommand(program: Command, name: string): InputError {
  const names = program.commands.map((c) => c.name());
  return new InputError(`unknown command "${name}": the commands are ${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}; without one, image-builder plans and builds`);
}

/**
 * A usage error as one line, like every other bad input: commander puts its suggestion on a line
 * of its own (`unknown option '--reconcil'` / `(Did you mean --reconcile?)`).
 */
export function usageErrorLine(commanderMessage: string): string {
  const text = commanderMessage.trim().replace(/\s*\n\s*\(Did you mean (.+)\?\)$/, "; did you mean $1?").replace(/\s*\n\s*/g, " ");
  return `image-builder: ${text} (see --help)\n`;
}

/** `secrets`: the run's secrets, which the commands fill and main masks its error line by. */
export function buildProgram(secrets = new SecretSet()): Command {
  const program = new Command("image-builder")
    .description("Plans, builds, labels, tags and pushes layered science/compat Docker images")
    .usage("[options] | <command> [options]")
    .version(packageVersion(), "-V, --version", "print image-builder's version")
    // `image-builder help [command]`, as with docker and git: added below, so that an unknown
    // command gets the same one line as `image-builder build` rather than the whole help.
    .helpCommand(false)
    .enablePositionalOptions()
    // Set before the subcommands are added, so that they inherit it.
    .exitOverride()
    .option("--dryrun", "plan only: build nothing", false)
    .option("--json", "print the plan as JSON on stdout", false)
    // Usage errors are one line, like every other bad input: "image-builder: error: ...".
    .configureOutput({ outputError: (str, write) => write(usageErrorLine(str)) });
  addEngineOptions(addPlanOptions(program));
  program.action(async (o: MainOptions, cmd: Command) => {
    // The default command takes no arguments: one is a command that does not exist.
    if (cmd.args.length > 0) throw unknownCommand(program, cmd.args[0]);
    if (!o.dryrun) checkOutputs(o, o.json ? "--json" : undefined);
    const known = await readKnownSecrets(secrets, o);
    const { plan, changes, location, warnings, uncommitted, current } = await planRepository(await reconcileFlags(o, o.signKey), { skipUnchanged: true });
    const { classicPlanWarning } = await import("../core/execute/platforms.js");
    const classic = classicPlanWarning(plan, o.builder ?? (process.env.DOCKER_BUILDKIT === "0" ? "classic" : undefined));
    if (classic) warnings.push(classic);
    if (o.dryrun) {
      // --sign-key and --allow-tag-rollback decide what --reconcile plans (images it did not sign, tags it moves back), even in a dry run.
      const unused = ENGINE_FLAGS.filter(([key]) => cmd.getOptionValueSource(key) === "cli" && !((key === "signKey" || key === "allowTagRollback") && o.reconcile)).map(([, flag]) => flag);
      if (unused.length > 0) warnings.push(`${unused.join(", ")} ${unused.length === 1 ? "does" : "do"} nothing with --dryrun: nothing is built or pushed`);
      // No engine to ask: say what the Dockerfiles require of the builder.
      const { featureRequirements } = await import("../core/requests/builder-features.js");
      warnings.push(...featureRequirements(plan.builds));
    }
    await askRegistryCredentials(known, plan.repo, o.push && !o.dryrun);
    printWarnings(secrets, [...warnings, ...secretBuildArgsWarning(plan, secrets), ...secretInNamesWarning(plan, secrets)]);
    if (o.verbose >= 1) printLines(secrets, [describeRepoLocation(location)]);
    printLines(secrets, describePlan(plan, o.verbose, changes.why, current));
    if (o.json) process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    if (!o.dryrun) process.exitCode = await executeOnEngine(plan, o, known, [], uncommitted);
  });

  addPlanOptions(program.command("plan"))
    .description("write the plan's build requests (JSON) without building")
    .option("-o, --out <file>", "write the plan to FILE instead of stdout (- is stdout)")
    .option("--waves", "print the build ids wave by wave, one wave per line (each wave depends only on earlier ones)", false)
    .action(async (o: PlanCommandOptions & { out?: string; waves: boolean }) => {
      if (isStdout(o.out) && o.waves) throw new InputError(`--out ${o.out} and --waves both write to stdout`);
      checkOutput("--out", o.out);
      await readKnownSecrets(secrets, {});
      const { plan, changes, location, warnings, current } = await planRepository(await reconcileFlags(o), { skipUnchanged: true });
      printWarnings(secrets, [...warnings, ...secretBuildArgsWarning(plan, secrets), ...secretInNamesWarning(plan, secrets)]);
      if (o.verbose >= 1) printLines(secrets, [describeRepoLocation(location)]);
      printLines(secrets, describePlan(plan, o.verbose, changes.why, current));
      const json = `${JSON.stringify(plan, null, 2)}\n`;
      if (o.waves) process.stdout.write(plan.waves.map((w) => `${w.join(" ")}\n`).join(""));
      if (o.out !== undefined || !o.waves) await writeOutput("--out", o.out ?? STDOUT, json);
    });

  addEngineOptions(verbose(program.command("run")).addOption(noAttestationsOption()))
    .description("carry out a plan written by `plan --out`, whole or in part (--only), on this checkout")
    .argument("<plan>", "plan file")
    .addOption(rootOption("repository root (a checkout of the plan's commit)"))
    .option("--only <ids...>", "build only these requests; their other parents must be in the registry", [])
    .option("--platform <platforms>", "build only the plan's requests for these platforms (comma-separated)")
    .addOption(buildArgOption())
    .option("--base-archive <file>", "load this image tar (docker-archive or OCI layout) into the engine first (repeatable)", (f: string, all: string[]) => [...all, f], [])
    .action(async (file: string, o: EngineCommandOptions & { only: string[]; verbose: number; platform?: string }) => {
      checkOutputs(o);
      checkNotAnInput("--results", o.results, [file, ...(o.baseArchive ?? [])]);
      const known = await readKnownSecrets(secrets, o);
      const { parsePlanFile } = await import("../core/requests/plan-file.js");
      const { selectBuilds, selectPlatforms } = await import("../core/plan/select-builds.js");
      const whole = parsePlanFile(await readInput(file), file);
      const head = await readHead(openGit(o.root), o.root);
      if (head.commit !== whole.commit) {
        throw new InputError(`plan was made from commit ${whole.commit.slice(0, 12)}, but the checkout in ${o.root} is at ${head.commit.slice(0, 12)}`, file);
      }
      const { withBuildArgs, buildArgsChangingReferences } = await import("../core/requests/inputs-digest.js");
      // Other build arguments make other images: their inputs digests say so (and reuse knows).
      const ofPlatforms = o.platform === undefined ? whole : selectPlatforms(whole, parsePlatformFlag(o.platform), file);
      const renamed = buildArgsChangingReferences(ofPlatforms, o.buildArg);
      if (renamed.length > 0) throw new InputError(`nothing is built: ${renamed.join("; ")}`, file);
      const { plan, prebuiltParents } = selectBuilds(withBuildArgs(ofPlatforms, o.buildArg), o.only, file);
      const { unverifiableRequests } = await import("../core/requests/plan-inputs.js");
      const unverifiable = unverifiableRequests(whole, plan.builds);
      if (unverifiable.length > 0) throw new InputError(`nothing is built: ${unverifiable.join("; ")}`, file);
      const checkout = await checkCheckout(plan, o.root, head, file);
      await askRegistryCredentials(known, plan.repo, o.push);
      // Said once: the run departs from the plan on purpose, and its images say so.
      const planned = new Map(ofPlatforms.builds.map((b) => [b.id, b.request.inputsDigest]));
      const changedByArgs = plan.builds.filter((b) => planned.has(b.id) && planned.get(b.id) !== b.request.inputsDigest);
      if (changedByArgs.length > 0) {
        process.stderr.write(`image-builder: note: --build-arg ${Object.keys(o.buildArg).join(", ")}: ${changedByArgs.length} request(s) built with other build arguments than the plan's, so under other inputs digests (their images are never taken for the plan's)\n`);
      }
      printWarnings(secrets, [...checkout.warnings, ...secretBuildArgsWarning(plan, secrets), ...secretInNamesWarning(plan, secrets)]);
      printLines(secrets, describePlan(plan, o.verbose));
      // A layer's index is written by the run that builds every platform of it, else by merge-platforms.
      const { indexLayers } = await import("../core/execute/image-index.js");
      process.exitCode = await executeOnEngine(plan, o, known, prebuiltParents, checkout.uncommitted, indexLayers(whole.builds));
    });

  addPlanOptions(program.command("graph"))
    .description("print the layer graph, with what a change touches marked")
    .addOption(new Option("--format <format>", "graph language").choices(["mermaid", "dot"]).default("mermaid"))
    .action(async (o: PlanCommandOptions & { format: GraphFormat }) => {
      const flags = planFlags(o);
      const { plan, snapshot, changes, analysis, warnings } = await planRepository(flags);
      printWarnings(secrets, warnings);
      const { renderGraph } = await import("../core/report/render-graph.js");
      const { layerPlatforms } = await import("../core/plan/layer-platforms.js");
      // Not skipUnchanged: the analysis is always there.
      process.stdout.write(renderGraph(snapshot, analysis!, plan, changes, o.format, layerPlatforms(snapshot, analysis!, flags.platforms)));
    });

  program.command("merge-results")
    .description("merge the --results files of several runs of one plan (e.g. one per agent)")
    .argument("<files...>", "results files")
    .option("-o, --out <file>", "write the merged results to FILE instead of stdout (- is stdout)")
    .action(async (files: string[], o: { out?: string }) => {
      checkOutput("--out", o.out);
      const { mergeResults, parseResultsFile } = await import("../core/report/results.js");
      const inputs = await Promise.all(files.map(async (file) => ({ file, results: parseResultsFile(await readInput(file), file) })));
      await writeOutput("--out", o.out ?? STDOUT, `${JSON.stringify(mergeResults(inputs), null, 2)}\n`);
    });
  addMergePlatformsCommand(program, { readInput, checkOutput, checkNotAnInput, writeOutput, loadSignKey });
  addReportCommand(program, readInput);
  addRegistryCommands(program);
  addSbomCommands(program);
  addVerifyCommand(program);
  program.command("help")
    .description("display help for command")
    .argument("[command]", "the command to describe")
    .action((name: string | undefined) => {
      if (name === undefined) return program.help();
      const command = program.commands.find((c) => c.name() === name);
      if (!command) throw unknownCommand(program, name);
      command.help();
    });
  // Set after the commands are added, so that only the default command lets arguments through
  // (to name them as unknown commands rather than as "too many arguments").
  program.allowExcessArguments(true);
  // The default command's options given before a command are not that command's (positional
  // options): dropped silently, `--dryrun run PLAN --push` published for real. Refused instead,
  // before the command does anything.
  program.hook("preSubcommand", (root, command) => {
    // `image-builder -v help run` asks for help, which no option changes.
    if (command.name() === "help") return;
    const given = root.options.filter((opt) => root.getOptionValueSource(opt.attributeName()) === "cli").map((opt) => opt.long ?? opt.short ?? opt.name());
    if (given.length === 0) return;
    const name = command.name();
    throw new InputError(`${given.join(", ")} before the command "${name}" ${given.length === 1 ? "is an option" : "are options"} of the default command, not of ${name}: put ${name}'s options after it (image-builder ${name} [options]; see image-builder ${name} --help)`);
  });
  return program;
}

/**
 * Output that goes nowhere does not end the command: a terminal that closed (EIO: an SSH session
 * ended, a run started with setsid outliving it) or a reader that went away (EPIPE: `| head`).
 * Without a listener, Node ended the process at the next line written, before its results, its
 * report or the read-back of what it pushed.
 */
function ignoreOutputGoingNowhere(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EIO" && e.code !== "EPIPE") throw e;
    });
  }
}

/**
 * Masks in everything the process writes the credentials it has seen (SEEN_CREDENTIALS): one
 * place for every command's output, errors, warnings and JSON. Returns the undo.
 */
function maskCredentialsInOutput(seen: SecretSet): () => void {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write);
  // Masked as written and as escaped: a line is escaped (oneLine, printable) before it reaches the
  // stream, and a credential with a tab or a bidi mark is no longer itself there.
  let known = -1;
  let hide = (text: string) => text;
  const redact = (text: string): string => {
    const values = seen.all();
    if (values.length !== known) {
      known = values.length;
      const lines = values.flatMap((v) => v.split(/\r\n|\n|\r/).map((l) => l.trim()));
      hide = redactor([...values, ...lines.flatMap((l) => [oneLine(l), printable(l)])]);
    }
    return hide(text);
  };
  streams.forEach((stream, i) => {
    const write = originals[i];
    stream.write = ((chunk: unknown, ...rest: unknown[]) =>
      (write as (c: unknown, ...r: unknown[]) => boolean).call(stream, typeof chunk === "string" ? redact(chunk) : chunk, ...rest)) as typeof stream.write;
  });
  return () => streams.forEach((stream, i) => (stream.write = originals[i]));
}

export async function main(argv: string[]): Promise<number> {
  ignoreOutputGoingNowhere();
  const { SEEN_CREDENTIALS } = await import("../registry/credentials.js");
  const unmask = maskCredentialsInOutput(SEEN_CREDENTIALS);
  try {
    return await runMain(argv);
  } finally {
    unmask();
  }
}

async function runMain(argv: string[]): Promise<number> {
  const secrets = new SecretSet();
  const program = buildProgram(secrets);
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are not errors; usage errors exit like other bad input.
      return e.exitCode === 0 ? 0 : EXIT_INPUT;
    }
    if (e instanceof InputError) {
      // One line whatever it quotes: a file name with a line end or an escape sequence (a
      // contributor's) can't erase or forge lines of a CI log.
      process.stderr.write(`image-builder: error: ${oneLine(secrets.redact(e.message))}\n`);
      return EXIT_INPUT;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`image-builder: error: ${oneLine(secrets.redact(message.split("\n")[0]))}\n`);
    if (process.env.IMAGE_BUILDER_DEBUG) process.stderr.write(`${secrets.redact(String((e as Error).stack))}\n`);
    return 1;
  }
}
