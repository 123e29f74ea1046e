// The Docker Engine executor: carries out a Plan through the Engine API (dockerode), never the
// docker CLI. Parents build before children, up to `jobs` builds at once; a failure skips what
// depends on it; built images are pushed as soon as they are built.
import type { BuildResult } from "../../core/report/results.js";
import type { Plan } from "../../core/model.js";
import { DockerCredentials, redact } from "../../registry/credentials.js";
import { buildImage, type BuiltImage } from "./build.js";
import { checkEngine, connectEngine } from "./engine.js";
import { formatDuration, Progress, type SummaryRow } from "./progress.js";
import { pushTags } from "./push.js";
import { pullImage } from "./pull.js";
import { Schedule } from "../../core/execute/schedule.js";
import { prepareBases } from "./bases.js";
import { checkReuse } from "./reuse.js";
import type { PrebuiltParent } from "../../core/plan/select-builds.js";
import { buildtimeLabel } from "../../core/requests/inputs-digest.js";
import { buildTag, movingTag, pinParents, pushOrder } from "../../core/execute/publishing.js";
import type { TagResult } from "../../core/report/results.js";
import { RegistryClient } from "../../registry/client.js";
import { splitTag } from "./push.js";
import type { BuilderChoice } from "../../core/requests/builder-choice.js";
import { registryCacheSources } from "../../core/requests/buildkit-cache.js";
import { buildersOfPlan, prepareBuilder } from "./builder.js";

export { checkEngine, connectEngine, type Engine } from "./engine.js";

export interface EngineRunOptions {
  /** Repository root; request.contexts are relative to it. */
  rootDir: string;
  /** Max builds at once. */
  jobs: number;
  noCache: boolean;
  pull: boolean;
  /** --build-arg values, merged over each request's buildArgs. */
  buildArgs: Record<string, string>;
  push: boolean;
  failFast: boolean;
  /** One full log file per build id, complete even on failure. */
  logDir?: string;
  /** auto: compact live view on a TTY, plain lines otherwise. */
  progress: "auto" | "plain";
  /** Where progress and the summary go (stderr for the CLI). */
  out: NodeJS.WritableStream;
  /** SIGINT/SIGTERM: stop builds in flight, push nothing more. */
  signal?: AbortSignal;
  /** Default: DOCKER_CONFIG or ~/.docker. */
  dockerConfigDir?: string;
  /** Parents built by another run of the plan (`run --only`): fetched from the registry first. */
  prebuiltParents?: PrebuiltParent[];
  /** Push a build tag that the registry holds with other inputs (it is refused otherwise). */
  overwrite?: boolean;
  /** `--secret`: id -> value, for BuildKit's `RUN --mount=type=secret`; kept out of output and logs. */
  secrets?: ReadonlyMap<string, Buffer>;
  /** `--builder`; default auto: BuildKit where the engine has it. */
  builder?: BuilderChoice;
  /** `--network`: RUN steps' network mode; default: what the engine has. */
  network?: string;
  /** BuildKit: use the registry's images of each request and its parents as cache (default true). */
  registryCache?: boolean;
}

/**
 * A request's result as `--results` records it (seed 000's output_properties in `outputs`), plus
 * the tail of a failed build's log for the summary. `reason`: the failure, "parent X failed", why
 * it was cancelled, or why a built image wasn't pushed; `durationMs`: the build, push not included.
 */
export interface BuildOutcome extends BuildResult {
  logTail?: string[];
}

export interface RunOutcome {
  outcomes: BuildOutcome[];
  /** Every build built, and pushed when asked to. */
  ok: boolean;
  /** The signal aborted the run (the CLI exits 130). */
  interrupted: boolean;
}

/**
 * Runs the plan. Rejects only when the run can't start (engine unreachable, invalid plan,
 * unreadable docker config, a base the registry can't give); everything that goes wrong later is
 * in the outcomes.
 */
export async function executePlan(plan: Plan, opts: EngineRunOptions): Promise<RunOutcome> {
  const schedule = new Schedule(plan.builds);
  const engine = connectEngine();
  const facts = await checkEngine(engine);
  const builder = await prepareBuilder(engine.docker, facts, opts.builder ?? "auto", opts.network);
  const creds = await DockerCredentials.load(opts.dockerConfigDir);
  const { builders, notes, unavailable } = await buildersOfPlan(engine.docker, creds, plan, builder, opts.builder ?? "auto",
    opts.signal ?? new AbortController().signal);
  // Before any build: bases the plan does not build, from the registry (or refused).
  // Every image a build names from this repository is pinned to the exact image found or built
  // for it in this run: reference -> image id.
  const pins: Record<string, string> = await prepareBases(engine.docker, creds, plan, opts.prebuiltParents ?? [], opts);
  // Build tags already in the registry are checked over its HTTP API before anything is built.
  const registry = opts.push ? new RegistryClient(creds) : undefined;
  // Said once, when building starts (after any refusal, which is the run's one line).
  opts.out.write(`image-builder: building with ${builder.reason}${builder.network ? `, network ${builder.network}` : ""}\n`);
  const live = opts.progress === "auto" && Boolean((opts.out as { isTTY?: boolean }).isTTY);
  const secretTexts = [...(opts.secrets?.values() ?? [])].map((v) => v.toString("utf8").trim()).filter((v) => v !== "");
  /** Credentials and --secret values never reach the output, the logs or the results. */
  const hide = (text: string) => redact(creds.redact(text), secretTexts);
  const progress = new Progress({ out: opts.out, live, logDir: opts.logDir, redact: hide });
  const builds = new Map(plan.builds.map((b) => [b.id, b]));
  const outcomes = new Map<string, BuildOutcome>();
  const jobs = Math.max(1, Math.floor(opts.jobs) || 1);

  const wake = wakeup();
  const pushSlots = limiter(jobs);
  const pushes: Promise<void>[] = [];
  const inFlight = new Map<string, AbortController>();
  // Aborted on interrupt only: stops pushes in flight. fail-fast lets a started push finish.
  const pushAbort = new AbortController();
  const pushResults = new Map<string, PushResult>();
  /** Settles when a built image's push is over, however it ended. */
  const pushDone = new Map<string, Promise<PushDone>>();
  let stopped: string | undefined;
  let interrupted = false;

  const settle = (id: string, status: "skipped" | "cancelled", reason: string) => {
    outcomes.set(id, { id, status, reason, durationMs: 0, pushed: false });
    progress.note(`[${id}] ${status}: ${reason}`);
  };
  const stop = (reason: string) => {
    if (stopped) return;
    stopped = reason;
    for (const s of schedule.cancelPending(reason)) settle(s.id, s.state, s.reason);
    for (const ctl of inFlight.values()) ctl.abort(reason);
    wake.notify();
  };
  const onInterrupt = () => {
    interrupted = true;
    stop("interrupted");
    pushAbort.abort("interrupted");
  };
  opts.signal?.addEventListener("abort", onInterrupt);
  if (opts.signal?.aborted) onInterrupt();

  /** A build's image is there (built, or reused): children may start, pinned to it. */
  const onImage = (id: string, image: BuiltImage, durationMs: number, reuse?: { push: boolean; registryDigest?: string }) => {
    schedule.succeed(id);
    const build = builds.get(id)!;
    pins[movingTag(build.request)] = image.imageId;
    const tags = build.request.tags;
    const outcome: BuildOutcome = {
      id, status: reuse ? "reused" : "built", durationMs, pushed: false,
      outputs: { "docker-image-hash": image.imageId, "docker-image-repo-tag": [...tags], "docker-image-timestamp": image.created },
    };
    outcomes.set(id, outcome);
    progress.result(id, reuse
      ? `reused ${image.imageId} (${buildTag(build.request)} has the same inputs)`
      : `built ${image.imageId} in ${formatDuration(durationMs)}`);
    if (opts.push) {
      // A child is pushed only after its parents of this run are: the registry never holds a
      // child whose parent's push failed (or was stopped).
      const parents = build.dependsOn.map((p) => pushDone.get(p)).filter((p) => p !== undefined);
      const done = Promise.all(parents).then((results): PushDone | Promise<PushDone> => {
        const notPushed = results.find((r) => r.result !== "pushed");
        // once the run is stopped, push() says why (interrupted, --fail-fast) for every image alike
        if (notPushed && !stopped) return notPushedBecause(outcome, `not pushed: parent ${notPushed.id} was not pushed`);
        if (reuse && !reuse.push) return alreadyPublished(outcome, reuse.registryDigest!);
        return pushSlots(() => push(outcome, pushOrder(build.request)));
      });
      pushDone.set(id, done);
      pushes.push(done.then(() => undefined));
    }
  };

  /** A reused build whose build tag the registry has: nothing to push but a stale moving tag. */
  const alreadyPublished = async (outcome: BuildOutcome, digest: string): Promise<PushDone> => {
    const request = builds.get(outcome.id)!.request;
    const moving = movingTag(request);
    const movingDigest = await registry!.getDigest(moving).catch(() => undefined);
    if (movingDigest !== digest) {
      // An earlier run got the build tag across but not the moving tag: finish its work.
      return pushSlots(() => push(outcome, [moving], [{ tag: buildTag(request), pushed: true, digest }]));
    }
    outcome.tags = pushOrder(request).map((tag) => ({ tag, pushed: true, digest }));
    outcome.outputs!["docker-image-digests"] = Object.fromEntries(outcome.tags.map((t) => [t.tag, digest]));
    outcome.pushed = true;
    pushResults.set(outcome.id, "pushed");
    progress.result(outcome.id, "already in the registry");
    return { id: outcome.id, result: "pushed" };
  };

  const notPushedBecause = (outcome: BuildOutcome, reason: string): PushDone => {
    outcome.reason = reason;
    pushResults.set(outcome.id, "not pushed");
    progress.result(outcome.id, reason);
    return { id: outcome.id, result: "not pushed" };
  };

  const onFailed = (id: string, err: unknown, durationMs: number, aborted: boolean) => {
    if (aborted) {
      schedule.cancel(id);
      outcomes.set(id, { id, status: "cancelled", reason: stopped, durationMs, pushed: false });
      progress.result(id, `cancelled after ${formatDuration(durationMs)}: ${stopped}`);
      return;
    }
    const reason = hide(errorMessage(err));
    const logTail = progress.tail(id);
    const skipped = schedule.fail(id);
    outcomes.set(id, { id, status: "failed", reason, durationMs, logTail, pushed: false });
    progress.result(id, `FAILED after ${formatDuration(durationMs)}: ${reason}`, logTail);
    for (const s of skipped) settle(s.id, s.state, s.reason);
    if (opts.failFast) stop(`${id} failed (--fail-fast)`);
  };

  const startBuild = (id: string) => {
    schedule.start(id);
    const build = builds.get(id)!;
    const ctl = new AbortController();
    inFlight.set(id, ctl);
    const t0 = Date.now();
    progress.begin(id, [`build ${id} (${build.kind}, from ${build.source})`, `tags: ${build.request.tags.join(" ")}`,
      `contexts: ${build.request.contexts.join(" ")}`]);
    const carryOut = async (): Promise<void> => {
      const check = await checkReuse(engine.docker, registry, build, { overwrite: opts.overwrite ?? false });
      const d = check.decision;
      if (d.action === "refuse") throw new Error(d.message);
      if (d.action === "reuse") {
        const image = d.from === "engine"
          ? await localImage(check.engineImageId!)
          : await pullReused(buildTag(build.request), ctl.signal);
        // The local moving tag follows, as after a build.
        const { name, tag } = splitTag(movingTag(build.request));
        await engine.docker.getImage(image.imageId).tag({ repo: name, tag });
        onImage(id, image, Date.now() - t0, { push: d.push, registryDigest: check.registryDigest });
        return;
      }
      if (unavailable.has(id)) throw new Error(unavailable.get(id));
      if (notes.has(id)) progress.line(id, notes.get(id)!);
      const request = {
        ...build.request,
        dockerfile: pinParents(build.request, pins),
        // When this image is built, to the millisecond: a child's is always later than its
        // parent's, which orders the breadcrumbs of images whose labels leave no history (BuildKit).
        labels: { ...build.request.labels, [buildtimeLabel(build.kind, build.target)]: (Date.now() / 1000).toFixed(3) },
      };
      const image = await buildImage(engine.docker, request, {
        rootDir: opts.rootDir, noCache: opts.noCache, pull: opts.pull, buildArgs: opts.buildArgs, creds,
        signal: ctl.signal,
        output: (text) => progress.output(id, text),
        note: (line) => progress.line(id, line),
        state: (doing) => progress.state(id, doing),
        secrets: opts.secrets,
        builder: builders.get(id) ?? builder.builder, network: builder.network,
        buildkit: {
          inlineCache: true,
          cacheFrom: opts.registryCache === false ? [] : registryCacheSources(build.request, plan.repo, opts.buildArgs),
        },
      });
      onImage(id, image, Date.now() - t0);
    };
    carryOut()
      .catch((err) => onFailed(id, err, Date.now() - t0, ctl.signal.aborted))
      .catch((err) => progress.note(`[${id}] internal error: ${errorMessage(err)}`))
      .finally(() => {
        inFlight.delete(id);
        wake.notify();
      });
  };

  const localImage = async (imageId: string): Promise<BuiltImage> => {
    const info = await engine.docker.getImage(imageId).inspect();
    return { imageId: info.Id, created: info.Created };
  };

  /** A reused image the engine lacks: pulled by its build tag, so children can build on it. */
  const pullReused = async (ref: string, signal: AbortSignal): Promise<BuiltImage> => {
    const failure = await pullImage(engine.docker, creds, ref, signal);
    if (failure) throw new Error(`pull ${ref}: ${failure.message}`);
    return localImage(ref);
  };

  /** Pushes `tags` in order (build tag first); `already`: tags the registry had before. */
  const push = async (outcome: BuildOutcome, tags: string[], already: TagResult[] = []): Promise<PushDone> => {
    const id = outcome.id;
    const results: TagResult[] = [...already, ...tags.map((tag) => ({ tag, pushed: false }))];
    outcome.tags = results;
    if (stopped) return notPushedBecause(outcome, `not pushed: ${stopped}`);
    progress.phase(id, "pushing");
    try {
      await pushTags(engine.docker, tags, {
        creds, signal: pushAbort.signal, line: (text) => progress.line(id, text),
        pushed: (tag, digest) => Object.assign(results.find((r) => r.tag === tag)!, { pushed: true, digest }),
      });
      outcome.pushed = true;
      pushResults.set(id, "pushed");
      progress.result(id, `pushed ${tags.length} tag(s)`);
      return { id, result: "pushed" };
    } catch (err) {
      if (pushAbort.signal.aborted) return notPushedBecause(outcome, "not pushed: push interrupted");
      pushResults.set(id, "push failed");
      outcome.reason = hide(errorMessage(err));
      outcome.logTail = progress.tail(id);
      progress.result(id, `PUSH FAILED: ${outcome.reason}`);
      if (opts.failFast) stop(`push of ${id} failed (--fail-fast)`);
      return { id, result: "push failed" };
    } finally {
      const digests = results.filter((r) => r.digest).map((r) => [r.tag, r.digest!]);
      if (digests.length) outcome.outputs!["docker-image-digests"] = Object.fromEntries(digests);
    }
  };

  try {
    for (;;) {
      const woken = wake.wait();
      if (!stopped) for (const id of schedule.ready(jobs - inFlight.size)) startBuild(id);
      if (schedule.done()) break;
      if (inFlight.size === 0) throw new Error("scheduler stalled: builds pending but none can start");
      await woken;
    }
    await Promise.all(pushes);

    const ordered = plan.builds.map((b) => outcomes.get(b.id)!);
    const ok = !interrupted && ordered.every((o) => (o.status === "built" || o.status === "reused") && (!opts.push || o.pushed));
    progress.summary(ordered.map((o) => summaryRow(o, builds.get(o.id)!.request.tags, pushResults.get(o.id))),
      footer(ordered, opts.push, interrupted));
    return { outcomes: ordered, ok, interrupted };
  } finally {
    opts.signal?.removeEventListener("abort", onInterrupt);
    await progress.close();
  }
}

type PushResult = "pushed" | "push failed" | "not pushed";
interface PushDone {
  id: string;
  result: PushResult;
}

export function summaryRow(o: BuildOutcome, tags: string[], pushResult?: PushResult): SummaryRow {
  const hasImage = o.status === "built" || o.status === "reused";
  const result = !hasImage || !pushResult ? o.status
    : o.status === "built" ? pushResult
    : pushResult === "pushed" ? "reused" : `reused, ${pushResult}`;
  // Only an image that exists has tags; a failed or skipped build has none to show.
  return { id: o.id, result, durationMs: o.durationMs, imageId: o.outputs?.["docker-image-hash"], tags: hasImage ? tags : [], reason: o.reason };
}

/** `6 built, 1 reused, 2 failed, 3 not pushed`: what the run did, at a glance. */
export function footer(outcomes: Pick<BuildOutcome, "status" | "pushed">[], push: boolean, interrupted: boolean): string[] {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o.status, (counts.get(o.status) ?? 0) + 1);
  const withImage = outcomes.filter((o) => o.status === "built" || o.status === "reused");
  const notPushed = push ? withImage.filter((o) => !o.pushed).length : 0;
  const parts = [...counts].map(([s, n]) => `${n} ${s}`);
  if (notPushed) parts.push(`${notPushed} not pushed`);
  const lines = [parts.join(", ") || "nothing to build"];
  if (interrupted) lines.push("Interrupted: builds in flight were cancelled and nothing more was pushed.");
  const allDone = outcomes.length > 0 && withImage.length === outcomes.length;
  if (!push && !interrupted && allDone && counts.get("built")) lines.push("Note: images were built but not pushed (use --push to push them).");
  return lines;
}

function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).trim() || "unknown error";
}

/** Lets the scheduling loop sleep until some build or push changes state. */
function wakeup() {
  let resolve!: () => void;
  let promise = new Promise<void>((r) => (resolve = r));
  return {
    /** The promise to await; take it before inspecting state so no notify is missed. */
    wait: () => promise,
    notify: () => {
      const r = resolve;
      promise = new Promise<void>((next) => (resolve = next));
      r();
    },
  };
}

/** Runs at most `n` of the given tasks at once, in submission order. */
function limiter(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const runTask = () => {
        active++;
        task().then(resolve, reject).finally(() => {
          active--;
          queue.shift()?.();
        });
      };
      if (active < n) runTask();
      else queue.push(runTask);
    });
}
