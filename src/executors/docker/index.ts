// The Docker Engine executor: carries out a Plan through the Engine API (dockerode), never the
// docker CLI. Parents build before children, up to `jobs` builds at once; a failure skips what
// depends on it; built images are pushed as soon as they are built and their parents pushed.
// This module wires the pure Schedule and PushQueue to the build step, the push step and the
// run's report.
import pLimit from "p-limit";
import type { Plan } from "../../core/model.js";
import type { RunOutcome } from "../../core/execute/outcomes.js";
import { PushQueue, type PushStep } from "../../core/execute/push-queue.js";
import { buildTag, movingTag } from "../../core/requests/tags.js";
import { Schedule } from "../../core/execute/schedule.js";
import { RegistryClient } from "../../registry/client.js";
import type { DockerCredentials } from "../../registry/credentials.js";
import { prepareBases } from "./bases.js";
import { buildersOfPlan, prepareBuilder } from "./builder.js";
import { makeImage, type BuildStepContext, type ImageReady } from "./build-step.js";
import { checkEngine, type Engine } from "./engine.js";
import { carryOutPush, type PushStepContext } from "./push-step.js";
import type { EngineRunOptions } from "./run-options.js";
import { errorMessage, RunReport } from "./run-report.js";

export { checkEngine, connectEngine, type Engine } from "./engine.js";
export type { EngineRunOptions } from "./run-options.js";
export type { BuildOutcome, RunOutcome } from "../../core/execute/outcomes.js";

/** What the run works with: the connected engine and the docker config's credentials. */
export interface EngineDeps {
  engine: Engine;
  creds: DockerCredentials;
}

/**
 * Runs the plan. Rejects only when the run can't start (engine unreachable, invalid plan, a base
 * the registry can't give); everything that goes wrong later is in the outcomes.
 */
export async function executePlan(plan: Plan, opts: EngineRunOptions, { engine, creds }: EngineDeps): Promise<RunOutcome> {
  const schedule = new Schedule(plan.builds);
  const docker = engine.docker;
  const { builder, builders, pins } = await prepareRun(plan, opts, { engine, creds });
  const registry = opts.push ? new RegistryClient(creds) : undefined;
  // Said once, when building starts (after any refusal, which is the run's one line).
  opts.out.write(`image-builder: building with ${builder.reason}${builder.network ? `, network ${builder.network}` : ""}\n`);
  const report = new RunReport(opts, creds);
  const { progress } = report;
  const builds = new Map(plan.builds.map((b) => [b.id, b]));
  const jobs = Math.max(1, Math.floor(opts.jobs) || 1);
  const buildContext: BuildStepContext = { docker, creds, registry, repo: plan.repo, builder, builders, settings: opts };

  const wake = wakeup();
  const inFlight = new Map<string, AbortController>();
  const pushQueue = new PushQueue(plan.builds);
  // Aborted on interrupt only: stops pushes in flight. fail-fast lets a started push finish.
  const pushAbort = new AbortController();
  const pushContext: PushStepContext | undefined = registry && {
    docker, creds, registry, signal: pushAbort.signal, slot: pLimit(jobs), begin: (id) => pushQueue.begin(id), report,
  };
  /** The registry's digest under the build tag of reused builds it has. */
  const published = new Map<string, string | undefined>();
  const pushes: Promise<void>[] = [];
  let stopped: string | undefined;
  let interrupted = false;

  const stop = (reason: string) => {
    if (stopped) return;
    stopped = reason;
    pushQueue.stop(reason);
    for (const s of schedule.cancelPending(reason)) report.settled(s.id, s.state, s.reason);
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

  const startPushes = (steps: PushStep[]) => {
    for (const step of steps) pushes.push(push(step));
  };
  const push = async (step: PushStep): Promise<void> => {
    const result = await carryOutPush(pushContext!, step, builds.get(step.id)!, published.get(step.id));
    if (result === "push failed" && opts.failFast) stop(`push of ${step.id} failed (--fail-fast)`);
    // A "not pushed" step is the queue's own decision, recorded already.
    if (step.action !== "not pushed") startPushes(pushQueue.end(step.id, result));
  };

  /** A build's image is there (built, or reused): children may start, pinned to it. */
  const onImage = (id: string, { image, reused }: ImageReady, durationMs: number) => {
    schedule.succeed(id);
    const build = builds.get(id)!;
    pins[movingTag(build.request)] = image.imageId;
    report.image(build, image, durationMs, reused && buildTag(build.request));
    if (!opts.push) return;
    if (reused && !reused.push) published.set(id, reused.registryDigest);
    startPushes(pushQueue.add(id, reused !== undefined && !reused.push));
  };

  const onFailed = (id: string, err: unknown, durationMs: number, aborted: boolean) => {
    if (aborted) {
      schedule.cancel(id);
      report.cancelled(id, stopped, durationMs);
      return;
    }
    const skipped = schedule.fail(id);
    report.failed(id, err, durationMs);
    for (const s of skipped) report.settled(s.id, s.state, s.reason);
    if (opts.failFast) stop(`${id} failed (--fail-fast)`);
  };

  const startBuild = (id: string) => {
    schedule.start(id);
    const build = builds.get(id)!;
    const ctl = new AbortController();
    inFlight.set(id, ctl);
    const t0 = Date.now();
    report.started(build);
    makeImage(buildContext, build, pins, ctl.signal, {
      output: (text) => progress.output(id, text),
      line: (text) => progress.line(id, text),
      state: (doing) => progress.state(id, doing),
    })
      .then((ready) => onImage(id, ready, Date.now() - t0))
      .catch((err) => onFailed(id, err, Date.now() - t0, ctl.signal.aborted))
      .catch((err) => progress.note(`[${id}] internal error: ${errorMessage(err)}`))
      .finally(() => {
        inFlight.delete(id);
        wake.notify();
      });
  };

  try {
    for (;;) {
      const woken = wake.wait();
      if (!stopped) for (const id of schedule.ready(jobs - inFlight.size)) startBuild(id);
      if (schedule.done()) break;
      if (inFlight.size === 0) throw new Error("scheduler stalled: builds pending but none can start");
      await woken;
    }
    // A push that ends starts the pushes it held back before it settles.
    while (pushes.length) await Promise.all(pushes.splice(0));
    return report.finish(plan.builds, opts.push, interrupted, (id) => pushQueue.result(id));
  } finally {
    opts.signal?.removeEventListener("abort", onInterrupt);
    await report.close();
  }
}

/**
 * Before any build: the builder of the run and of each build, and the bases the plan does not
 * build, from the registry (or refused). `pins`: every image a build names from this repository,
 * pinned to the exact image found (here) or built (later) for it in this run: reference -> image id.
 */
async function prepareRun(plan: Plan, opts: EngineRunOptions, { engine, creds }: EngineDeps) {
  const facts = await checkEngine(engine);
  const builder = await prepareBuilder(engine.docker, facts, opts.builder ?? "auto", opts.network);
  const builders = await buildersOfPlan(engine.docker, creds, plan, builder, opts.builder ?? "auto", opts.signal ?? new AbortController().signal);
  const pins: Record<string, string> = await prepareBases(engine.docker, creds, plan, opts.prebuiltParents ?? [], opts);
  return { builder, builders, pins };
}

/** Lets the scheduling loop sleep until some build changes state. */
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
