// Carries out a RunCoordinator's actions on the engine (start a build or a push step, abort them,
// report) and feeds back to it what happened. It holds only the run's resources (abort
// controllers, pushes in flight); every decision is the coordinator's.
import pLimit from "p-limit";
import type { PlannedBuild } from "../../core/model.js";
import type { PushStep } from "../../core/execute/push-queue.js";
import type { PushResult } from "../../core/execute/outcomes.js";
import { buildTag, movingTag } from "../../core/requests/tags.js";
import type { RunAction, RunCoordinator } from "../../core/execute/run-coordinator.js";
import { makeImage, type BuildStepContext, type ImageReady } from "./build-step.js";
import { carryOutPush, type PushStepContext } from "./push-step.js";
import { errorMessage, type RunReport } from "./run-report.js";
import { unwrittenIndex, type IndexLayer } from "../../core/execute/image-index.js";
import { restoreWithheldIndexImages, writeIndex, type PlatformImage } from "../index-step.js";
import { indexSigner } from "./sign-step.js";
import type { BuiltImage } from "./engine.js";
import { sharedAbortController } from "../../signals.js";

export class RunActions {
  /** Every build is built, failed, skipped or cancelled. */
  finished = false;
  private readonly builds: Map<string, PlannedBuild>;
  private readonly buildAborts = new Map<string, AbortController>();
  /** Aborted on interrupt only: no push starts. A push in flight goes on (see PushOptions.stop). */
  private readonly pushStop = sharedAbortController();
  /** Stops the pushes in flight: see destroyPushes. */
  private readonly pushDestroy = sharedAbortController();
  /** Push steps started and not ended. */
  pushesInFlight = 0;
  private readonly pushContext: PushStepContext | undefined;
  private readonly pushes: Promise<void>[] = [];
  /** The image of each build that has one, as the engine has it (what its push publishes; its labels: what its provenance reads). */
  private readonly images = new Map<string, BuiltImage>();
  /** The engine's tagging of each build's image under its layer's own tags (ImageReady.layerTags), waited for by its push, else at the end. */
  private readonly layerTags = new Map<string, Promise<string | undefined>>();

  /** `changed`: called when builds changed state, so that the run's loop asks the coordinator again. */
  constructor(
    private readonly run: RunCoordinator, private readonly report: RunReport, builds: PlannedBuild[],
    private readonly buildContext: BuildStepContext, private readonly changed: () => void,
  ) {
    this.builds = new Map(builds.map((b) => [b.id, b]));
    const { docker, creds, registry } = buildContext;
    this.pushContext = registry && {
      docker, creds, registry, signal: this.pushStop.signal, destroy: this.pushDestroy.signal, slot: pLimit(run.jobs), begin: (id) => run.pushBegins(id), report,
      allowTagRollback: buildContext.options.allowTagRollback ?? false,
      overwrite: buildContext.options.overwrite ?? false,
      signKey: buildContext.options.signKey,
      plainPlatform: buildContext.plainPlatform,
      // Attachments (attestations) are made from the image in the registry: started as soon as it
      // is there, while its moving tags are pushed and the run goes on (not after an interrupt:
      // no index step would name them).
      inRegistry: (id, pushed) => {
        const image = this.images.get(id);
        // The config as the engine has it goes with what the push read (the same image: the read-back checked its config digest).
        const config = pushed && image?.labels && image.imageId === pushed.manifest.config.digest ? { labels: image.labels, created: image.created } : undefined;
        if (!this.pushStop.signal.aborted) buildContext.options.attach?.pushed?.(this.builds.get(id)!, pushed && { ...pushed, ...(config ? { config } : {}) });
      },
      parentsOf: (id) => this.builds.get(id)!.dependsOn.filter((p) => this.images.has(p))
        .map((p) => ({ id: p, buildTag: buildTag(this.builds.get(p)!.request), imageId: this.images.get(p)?.imageId as string })),
    };
  }

  /** Carries out the coordinator's actions, in order. */
  perform(actions: RunAction[]): void {
    for (const a of actions) {
      if (a.type === "build") this.startBuild(this.builds.get(a.id)!, a.pins);
      else if (a.type === "push") this.pushes.push(this.push(a.step, a.registryDigest));
      else if (a.type === "index") this.pushes.push(this.index(a.layer));
      else if (a.type === "index withheld") {
        this.report.progress.note(`[${a.layer.id}] ${a.reason}`);
        this.report.indexed(unwrittenIndex(a.layer, "not pushed", a.reason));
        this.pushes.push(this.restoreWithheld(a.layer));
      }
      else if (a.type === "settle") this.report.settled(a.id, a.state, a.reason);
      else if (a.type === "abort build") this.buildAborts.get(a.id)?.abort(a.reason);
      else if (a.type === "abort pushes") this.pushStop.abort(a.reason);
      else if (a.type === "finished") this.finished = true;
    }
  }

  /** Waits for every push, those that ending ones start included, and the engine's tagging of images no push waited for. */
  async pushesEnded(): Promise<void> {
    while (this.pushes.length) await Promise.all(this.pushes.splice(0));
    for (const [id, tagging] of this.layerTags) {
      const untagged = await tagging;
      if (untagged) this.report.progress.line(id, untagged);
    }
    this.layerTags.clear();
  }

  /** After an interrupt, when waiting for the pushes in flight has ended: their engine streams are closed. */
  destroyPushes(): void {
    this.pushDestroy.abort("interrupted");
  }

  private startBuild(build: PlannedBuild, pins: Readonly<Record<string, string>>): void {
    const { id } = build;
    const ctl = new AbortController();
    this.buildAborts.set(id, ctl);
    const t0 = Date.now();
    const { progress } = this.report;
    this.report.started(build);
    makeImage(this.buildContext, build, pins, ctl.signal, {
      output: (text) => progress.output(id, text),
      line: (text) => progress.line(id, text),
      state: (doing) => progress.state(id, doing),
    })
      .then((ready) => this.onImage(build, ready, Date.now() - t0))
      .catch((err) => this.onFailed(id, err, Date.now() - t0, ctl.signal.aborted))
      .catch((err) => progress.note(`[${id}] internal error: ${errorMessage(err)}`))
      .finally(() => {
        this.buildAborts.delete(id);
        this.changed();
      });
  }

  /** A build's image is there (built, or reused): children may start, pinned to it. */
  private onImage(build: PlannedBuild, ready: ImageReady, durationMs: number): void {
    this.report.image(build, ready.image, durationMs, ready.reused && buildTag(build.request));
    this.images.set(build.id, ready.image);
    if (ready.layerTags) this.layerTags.set(build.id, ready.layerTags);
    this.perform(this.run.imageReady({ id: build.id, imageId: ready.image.imageId, reused: ready.reused }));
  }

  private onFailed(id: string, err: unknown, durationMs: number, aborted: boolean): void {
    if (!aborted) {
      this.report.failed(id, err, durationMs);
      return this.perform(this.run.buildFailed(id));
    }
    for (const a of this.run.buildAborted(id)) if (a.type === "cancelled") this.report.cancelled(id, a.reason, durationMs);
  }

  /**
   * Writes a layer's image index once every platform image of it is in the registry. Not in a push
   * slot: the slots bound the engine's pushes, and an index step is a few small registry requests
   * (bounded by the registry client) that mostly wait for the image's attachments; holding a slot
   * meanwhile held up the pushes of the images after it.
   */
  /** A withheld index's images this run pushed over another run's indexed ones: put back (restoreWithheldIndexImages). */
  private async restoreWithheld(layer: IndexLayer): Promise<void> {
    const ctx = this.pushContext;
    if (!ctx) return;
    const line = (text: string) => this.report.progress.note(`[${layer.id}] ${text}`);
    this.pushesInFlight++;
    try {
      for (const problem of (await restoreWithheldIndexImages({ registry: ctx.registry, overwrite: ctx.overwrite, allowTagRollback: ctx.allowTagRollback, line }, layer, this.platformImages(layer)))
        .filter((t) => !t.startsWith("its image "))) line(problem);
    } finally {
      this.pushesInFlight--;
    }
  }

  /** The layer's platform images as this run got them, with what its pushes recorded of their tags. */
  private platformImages(layer: IndexLayer): PlatformImage[] {
    return layer.members.map((m) => {
      const build = this.builds.get(m.id)!;
      // Its platform moving tag, as its push left it: another run's build there (a newer commit's, whose
      // write landed first) keeps the layer's moving tag from moving to this one's index.
      const tags = this.report.tagsOf(m.id);
      const moving = tags?.find((t) => t.tag === movingTag(build.request));
      // What this run's push stored under the platform build tag (not a reused image).
      const pushed = this.report.buildOf(m.id)?.status === "built" ? tags?.find((t) => t.tag === buildTag(build.request) && t.pushed)?.digest : undefined;
      return {
        platform: m.platform, build, imageId: this.images.get(m.id)?.imageId as string,
        ...(moving && !moving.pushed && moving.registryDigest ? { movingTagHeld: { tag: moving.tag, digest: moving.registryDigest } } : {}),
        ...(pushed ? { pushedHere: pushed } : {}),
      };
    });
  }

  private async index(layer: IndexLayer): Promise<void> {
    const ctx = this.pushContext!;
    const { options } = this.buildContext;
    const images = this.platformImages(layer);
    const line = (text: string) => this.report.progress.note(`[${layer.id}] ${text}`);
    this.pushesInFlight++;
    const result = await writeIndex({
      registry: ctx.registry, overwrite: ctx.overwrite, allowTagRollback: ctx.allowTagRollback, attach: options.attach,
      sign: options.signIndex ?? indexSigner(options.signKey, line), signal: this.pushStop.signal, line,
    }, layer, images).finally(() => this.pushesInFlight--);
    this.report.indexed(result);
    this.perform(this.run.indexEnded(layer.id, result.status === "pushed"));
  }

  private async push(step: PushStep, registryDigest?: string): Promise<void> {
    this.pushesInFlight++;
    // The engine keeps the image under its layer's tags before the run publishes it: one it could not tag fails its push.
    // (A step that pushes nothing leaves it to the end of the run, which says a failure.)
    const waits = step.action !== "not pushed" && !this.pushStop.signal.aborted;
    let result: PushResult;
    try {
      const untagged = waits ? await this.layerTags.get(step.id) : undefined;
      if (waits) this.layerTags.delete(step.id);
      if (untagged) {
        this.report.pushFailed(step.id, new Error(untagged));
        result = "push failed";
      } else {
        result = await carryOutPush(this.pushContext!, step, this.builds.get(step.id)!, this.images.get(step.id)?.imageId as string, registryDigest);
      }
    } finally {
      this.pushesInFlight--;
    }
    const actions = this.run.pushEnded(step, result);
    this.perform(actions);
    // --fail-fast stopped the run.
    if (actions.some((a) => a.type !== "push")) this.changed();
  }
}
