// The Docker Engine executor: carries out a Plan through the Engine API (dockerode), never the
// docker CLI. Parents build before children, up to `jobs` builds at once; a failure skips what
// depends on it; built images are pushed as soon as they are built and their parents pushed.
// The decisions are the pure RunCoordinator's; RunActions carries them out with the build step,
// the push step and the run's report, and feeds back what happened.
import type { Plan } from "../../core/model.js";
import type { PushResult, RunOutcome } from "../../core/execute/outcomes.js";
import { RunCoordinator } from "../../core/execute/run-coordinator.js";
import { indexLayers, singlePlatformIndexes } from "../../core/execute/image-index.js";
import { enginePlatform } from "../../core/execute/platforms.js";
import type { RegistryClient } from "../../registry/client.js";
import type { DockerCredentials } from "../../registry/credentials.js";
import { prepareBases } from "./bases.js";
import { refuseBeforeBuilding } from "./reuse.js";
import { buildersOfPlan, prepareBuilder } from "./builder.js";
import { checkEngine, type Engine } from "./engine.js";
import { checkEnginePlatforms } from "./platforms.js";
import { runSecrets, type EngineRunOptions } from "./run-options.js";
import { RunActions } from "./run-actions.js";
import { RunReport } from "./run-report.js";
import { attestationAttacher } from "./attestations.js";
import type { LayerStateCache } from "../../registry/layer-state-cache.js";
import { INTERRUPT_WAIT_SECONDS, sharedAbortController } from "../../signals.js";

export { checkEngine, connectEngine, type Engine } from "./engine.js";
export type { EngineRunOptions } from "./run-options.js";
export type { BuildOutcome, RunOutcome } from "../../core/execute/outcomes.js";

/**
 * What the run works with: the connected engine, the docker config's credentials and, when
 * pushing, the registry client (build tags already in the registry are checked over its HTTP API).
 */
export interface EngineDeps {
  engine: Engine;
  creds: DockerCredentials;
  registry?: RegistryClient;
  /** States of layer chains earlier runs read for SBOMs (layer-state-cache.ts). */
  layerStates?: LayerStateCache;
}

/**
 * Runs the plan. Rejects only when the run can't start (engine unreachable, invalid plan, a base
 * the registry can't give); everything that goes wrong later is in the outcomes.
 */
export async function executePlan(plan: Plan, opts: EngineRunOptions, deps: EngineDeps): Promise<RunOutcome> {
  // The run holds the process until it returns: some of its waits are on what does not (the
  // registry client's kept-open sockets, unref'd so that an idle one never holds a command; the
  // push-rights check's cancel, in the background so that it does not hold the end). A wait on
  // those alone ended a run mid-way, exit 13 (Node's unsettled await), once that cancel stopped
  // holding it (a clean-clone CI, jenkins-pipeline).
  const alive = setInterval(() => undefined, 2 ** 30);
  try {
    return await runPlan(plan, opts, deps);
  } finally {
    clearInterval(alive);
  }
}

async function runPlan(plan: Plan, opts: EngineRunOptions, { engine, creds, registry, layerStates }: EngineDeps): Promise<RunOutcome> {
  const run = new RunCoordinator(plan.builds, opts);
  if (opts.push && !registry) throw new Error("pushing needs a registry client (EngineDeps.registry)");
  const { builder, builders, pins, platform } = await prepareRun(plan, opts, { engine, creds, registry });
  run.pinBases(pins);
  // Issue 19: pushed images carry their provenance and SBOM (unless --no-attestations), as index attachments.
  // Nothing of the run's secrets (the signing key's too) in them: the one set the output masks by.
  const secrets = runSecrets(opts, creds);
  let report: RunReport | undefined;
  const attestations = !opts.attach && opts.push && opts.attestations && registry && opts.source ? attestationAttacher({
    registry, docker: engine.docker, git: { commit: opts.source.commit, repository: opts.source.repository },
    builder: { kind: builder.builder, engineVersion: builder.engine.version, toolVersion: opts.source.toolVersion }, builderOf: (id) => builders.builders.get(id),
    secrets: secrets.all(), redact: secrets.redact,
    buildOf: (id) => report?.buildOf(id), warn: (id, text) => report?.progress.line(id, text), enginePlatform: platform, layerStates,
  }) : undefined;
  const attach = opts.attach ?? attestations;
  if (attach) opts = { ...opts, attach };
  // With attachments, each build for no named platform is published as a one-platform index: its
  // image is pushed under the engine's platform tags, the index under its own.
  const published = opts.push && opts.attach ? singlePlatformIndexes(plan.builds, platform) : { builds: plan.builds, layers: indexLayers(plan.builds), onePlatform: [] };
  const builds = published.builds;
  // A build refused at its turn would be refused after the builds before it had published: said first.
  const pushCheck = opts.push && registry ? await refuseBeforeBuilding(registry, builds, opts) : undefined;
  // The whole plan's layers of named platforms (run PLAN: some may be left to merge-platforms), and
  // this run's one-platform ones.
  run.publishIndexes(opts.indexLayers?.length ? [...opts.indexLayers, ...published.onePlatform] : published.layers);
  const partial = opts.push ? (opts.indexLayers ?? []).filter((l) => !run.indexLayers.includes(l) && l.members.some((m) => builds.some((b) => b.id === m.id))) : [];
  if (partial.length) {
    opts.out.write(`image-builder: note: this run builds only some platforms of ${partial.map((l) => l.id).join(", ")}: their image indexes are left to merge-platforms (or a run of every platform)\n`);
  }
  // Said once, when building starts (after any refusal, which is the run's one line).
  opts.out.write(`image-builder: building with ${builder.reason}${builder.network ? `, network ${builder.network}` : ""}\n`);
  report = new RunReport(opts, creds);
  const wake = wakeup();
  // A plan without platforms published as one-platform indexes: each build's own tags, which the engine keeps too.
  const layerTags = builds === plan.builds ? undefined : new Map(plan.builds.filter((b, i) => builds[i].request.tags !== b.request.tags).map((b) => [b.id, b.request.tags]));
  const actions = new RunActions(run, report, builds, {
    docker: engine.docker, creds, registry: opts.push ? registry : undefined, repo: plan.repo, builder, builders, options: opts, layerTags,
    ...(opts.push && !opts.attach ? { plainPlatform: platform } : {}),
  }, wake.notify);
  // After an interrupt, a push in flight goes on to its end (the engine would finish a request it
  // has sent anyway, and only then does the registry hold what it will), and what was pushed is
  // read back: all of it waited for up to pushWaitMs after the interrupt, or until a second
  // interrupt. Then the registry is no longer waited for at all (a hung one would hold the run
  // for its client's timeouts and retries, minutes).
  let waitBound: NodeJS.Timeout | undefined;
  const pushWaitMs = opts.interruptWaitMs ?? INTERRUPT_WAIT_SECONDS * 1000;
  // Aborted at the bound or a second interrupt: the wait for attestations (waited for as pushes
  // are: a push in flight may start one) and for the registry ends.
  const stopWaiting = sharedAbortController();
  const stopPushes = () => {
    actions.destroyPushes();
    stopWaiting.abort();
    registry?.stop();
  };
  const onInterrupt = () => {
    actions.perform(run.interrupt());
    if (opts.push && !waitBound) {
      const attesting = attestations?.inFlight() ?? 0;
      if (actions.pushesInFlight > 0 || attesting > 0) {
        const waitingFor = [
          ...(actions.pushesInFlight > 0 ? [`${actions.pushesInFlight} push(es)`] : []), ...(attesting > 0 ? [`the attestations of ${attesting} image(s)`] : []),
        ].join(" and ");
        report.progress.note(pushWaitMs > 0
          ? `interrupted: waiting up to ${pushWaitMs / 1000} s for ${waitingFor} in flight to end (interrupt again to stop them now)`
          : `interrupted: stopping ${waitingFor} in flight (IMAGE_BUILDER_INTERRUPT_WAIT=0)`);
      }
      waitBound = setTimeout(stopPushes, pushWaitMs);
      opts.stopPushes?.addEventListener("abort", stopPushes);
      if (opts.stopPushes?.aborted) stopPushes();
    }
    wake.notify();
  };
  opts.signal?.addEventListener("abort", onInterrupt);
  try {
    if (opts.signal?.aborted) onInterrupt();
    while (!actions.finished) {
      // Taken before asking, so that no change is missed.
      const woken = wake.wait();
      actions.perform(run.next());
      if (!actions.finished) await woken;
    }
    await actions.pushesEnded();
    // Every pushed image's attestations, those of layers whose index this run does not write
    // (merge-platforms does) included: in the registry before the run ends, in its results.
    if (attestations) {
      const settled = await attestations.settled(stopWaiting.signal);
      for (const [id, attestation] of settled) report.attestation(id, attestation);
      // An image this run built and pushed under its build tag whose attestations an interrupt kept
      // from starting: said so in its results, or merge-platforms takes them for a run's with
      // --no-attestations and writes the index without (reviewer12 M3).
      if (run.interrupted) {
        for (const b of builds) {
          if (settled.has(b.id) || report.buildOf(b.id)?.status !== "built" || !report.tagsOf(b.id)?.[0]?.pushed) continue;
          report.attestation(b.id, { status: "failed", reason: "not made: the run was interrupted before its attestations" });
        }
      }
    }
    // Whatever each push said, and whatever other runs pushed since: the results say what the registry holds.
    // The images' tags and the indexes' tags are read at once: independent reads, at the run's end.
    const readBack = registry && opts.push && !stopWaiting.signal.aborted;
    const [corrected] = readBack
      ? await Promise.all([report.agreeWithRegistry(registry, builds), report.agreeIndexesWithRegistry(registry, builds)])
      : [new Map<string, PushResult>()];
    // Then the signatures this run wrote (another signer's write may have dropped one), added again
    // where dropped: a write, so not after an interrupt; one that fails makes its image not published as asked.
    if (readBack && opts.signKey && !run.interrupted) {
      for (const [id, result] of await report.agreeSignaturesWithRegistry(registry, opts.signKey)) corrected.set(id, result);
    }
    // As they stand now (each ends within CANCEL_UPLOAD_MS of the start; the run's end does not wait
    // for them): said once, a session left behind being the registry's to purge.
    const uncancelled = run.interrupted ? [] : pushCheck?.uncancelled() ?? [];
    if (uncancelled.length) report.progress.note(`image-builder: note: the push-rights check's upload was not cancelled (${uncancelled.length === 1 ? uncancelled[0] : `${uncancelled[0]}; and ${uncancelled.length - 1} more`}): the registry keeps it until it purges uploads`);
    // Stopped before or during the read back: the registry's answers that did not come are not guessed.
    if (opts.push && registry && stopWaiting.signal.aborted) {
      report.progress.note("interrupted: stopped waiting for the registry, so what it holds was not read back at the end of the run; --results says what each push recorded");
    }
    return report.finish(builds, opts.push, run.interrupted, (id) => corrected.get(id) ?? run.pushResult(id), run.indexLayers);
  } finally {
    clearTimeout(waitBound);
    opts.stopPushes?.removeEventListener("abort", stopPushes);
    opts.signal?.removeEventListener("abort", onInterrupt);
    await report.close();
  }
}


/**
 * Before any build: the builder of the run and of each build, and the bases the plan does not
 * build, from the registry (or refused). `pins`: every image a build names from this repository,
 * pinned to the exact image found (here) or built (later) for it in this run: reference -> image id.
 */
async function prepareRun(plan: Plan, opts: EngineRunOptions, { engine, creds, registry }: EngineDeps) {
  const facts = await checkEngine(engine);
  const builder = await prepareBuilder(engine.docker, facts, opts.builder ?? "auto", opts.network);
  // Every platform the plan names can be built here (natively or emulated), or nothing is.
  await checkEnginePlatforms(engine.docker, plan, builder.builder, opts.signal ?? new AbortController().signal, (line) => opts.out.write(`${line}\n`));
  const builders = await buildersOfPlan(engine.docker, creds, plan, builder, opts.builder ?? "auto", opts.signal ?? new AbortController().signal);
  const pins: Record<string, string> = await prepareBases(engine.docker, creds, plan, opts.prebuiltParents ?? [], { ...opts, registry: opts.push ? registry : undefined });
  return { builder, builders, pins, platform: enginePlatform({ os: facts.os, arch: facts.arch }) };
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
