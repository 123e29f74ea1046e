// The decisions of a run, as a pure state machine: the executor tells it what happened (an image is
// there, a build failed or was aborted, a push ended, the run was interrupted) and carries out the
// actions it returns (start builds, start push steps, abort builds in flight, settle builds that
// never start). It owns the Schedule, the PushQueue, the pins and why the run stopped; no I/O, so
// the unit tests drive it with events.
import type { BuildRequest, PlannedBuild } from "../model.js";
import type { PushResult } from "./outcomes.js";
import { PushQueue, type PushStep } from "./push-queue.js";
import { baseReference } from "../requests/tags.js";
import { pinKey } from "./publishing.js";
import { Schedule } from "./schedule.js";
import { parentIndexLayers, withheldIndexReason, type IndexLayer } from "./image-index.js";

export type RunAction =
  /**
   * Start building `id`. `pins`: image reference -> image id of the images found or built in this
   * run (its parents' among them); the coordinator's own map, read when the build pins its parents.
   */
  | { type: "build"; id: string; pins: Readonly<Record<string, string>> }
  /** Carry out a push step; `registryDigest`: for "check moving tag", the registry's digest under the build tag. */
  | { type: "push"; step: PushStep; registryDigest?: string }
  /** A build that never started: skipped (a parent failed) or cancelled (the run stopped). */
  | { type: "settle"; id: string; state: "skipped" | "cancelled"; reason: string }
  /** Abort a build in flight: the run stopped. */
  | { type: "abort build"; id: string; reason: string }
  /** Record a build in flight as cancelled: it was aborted because the run stopped (`reason`, if known). */
  | { type: "cancelled"; id: string; reason?: string }
  /** No push starts any more (interrupt only: --fail-fast lets queued pushes go on); those in flight go on to their end. */
  | { type: "abort pushes"; reason: string }
  /** Every platform image of `layer` is in the registry: write its image index (issue 17). */
  | { type: "index"; layer: IndexLayer }
  /** `layer`'s index is not written: a parent layer's index was not (`reason`), so its tags stay where they were. */
  | { type: "index withheld"; layer: IndexLayer; reason: string }
  /** Every build is built, failed, skipped or cancelled (pushes may still be running). */
  | { type: "finished" };

/** What the coordinator needs of a planned build: its parents, and its tags (the moving tag is what children name). */
export type RunBuild = Pick<PlannedBuild, "id" | "dependsOn"> & { request: Pick<BuildRequest, "tags" | "platform"> };

export interface RunCoordinatorOptions {
  /** Max builds at once (at least 1). */
  jobs: number;
  push: boolean;
  failFast: boolean;
}

/** A build's image is there: built, or reused (`reused.push` false: the registry has its build tag). */
export interface ImageReadyEvent {
  id: string;
  imageId: string;
  reused?: { push: boolean; registryDigest?: string };
}

export class RunCoordinator {
  private readonly schedule: Schedule;
  private readonly pushQueue: PushQueue;
  private readonly builds: Map<string, RunBuild>;
  /** Max builds (and pushes) at once. */
  readonly jobs: number;
  /** Image reference -> image id: the bases found before the run, then each image of this run. */
  private readonly pins: Record<string, string> = {};
  /** Builds in flight, in the order they started. */
  private readonly running = new Set<string>();
  /** The registry's digest under the build tag of reused builds it has. */
  private readonly published = new Map<string, string | undefined>();
  private stoppedBecause: string | undefined;
  private wasInterrupted = false;
  /** The index layers of which this run builds every platform. */
  private indexes: IndexLayer[] = [];
  /** Layers whose index step was given (or can no longer be: a platform not pushed). */
  private readonly indexGiven = new Set<string>();
  /** Layers whose index step ended (written, or not), or will never be given. */
  private readonly indexWritten = new Map<string, boolean>();

  /** Throws when the plan can't run (see Schedule). */
  constructor(builds: RunBuild[], private readonly opts: RunCoordinatorOptions) {
    this.schedule = new Schedule(builds);
    this.pushQueue = new PushQueue(builds);
    this.builds = new Map(builds.map((b) => [b.id, b]));
    this.jobs = Math.max(1, Math.floor(opts.jobs) || 1);
  }

  /**
   * The plan's layers published as an image index (image-index.ts), before the run starts: with
   * --push, the index of each layer whose every platform the run builds is written once all its
   * platform images are pushed; the others are left to another run or merge-platforms.
   */
  publishIndexes(layers: readonly IndexLayer[]): void {
    this.indexes = this.opts.push ? layers.filter((l) => l.members.every((m) => this.builds.has(m.id))) : [];
  }

  /** The index layers of which this run builds every platform (the others are left to merge-platforms). */
  get indexLayers(): readonly IndexLayer[] {
    return this.indexes;
  }

  /** Images found before any build (bases not built by this run): reference -> image id. */
  pinBases(pins: Record<string, string>): void {
    Object.assign(this.pins, pins);
  }

  /** Why the run stopped (interrupted, --fail-fast), if it did. */
  get stopped(): string | undefined {
    return this.stoppedBecause;
  }

  get interrupted(): boolean {
    return this.wasInterrupted;
  }

  /**
   * What to do now about builds: start those whose parents are built, up to `jobs` at once, or
   * "finished" when nothing is pending or running. Throws when builds are pending and none can start.
   */
  next(): RunAction[] {
    const actions: RunAction[] = [];
    if (!this.stoppedBecause) {
      for (const id of this.schedule.ready(this.jobs - this.running.size)) {
        this.schedule.start(id);
        this.running.add(id);
        actions.push({ type: "build", id, pins: this.pins });
      }
    }
    if (this.schedule.done()) return [...actions, { type: "finished" }];
    if (this.running.size === 0) throw new Error("scheduler stalled: builds pending but none can start");
    return actions;
  }

  /** A build's image is there: its children may start, pinned to it; its push may start. */
  imageReady({ id, imageId, reused }: ImageReadyEvent): RunAction[] {
    this.running.delete(id);
    this.schedule.succeed(id);
    const { request } = this.builds.get(id)!;
    this.pins[pinKey(baseReference(request), request.platform)] = imageId;
    if (!this.opts.push) return [];
    const published = reused !== undefined && !reused.push;
    if (published) this.published.set(id, reused.registryDigest);
    return this.pushSteps(this.pushQueue.add(id, published));
  }

  /** A build failed: what depends on it is skipped; with --fail-fast the run stops. */
  buildFailed(id: string): RunAction[] {
    this.running.delete(id);
    const actions: RunAction[] = this.schedule.fail(id).map((s) => ({ type: "settle", ...s }));
    if (this.opts.failFast) actions.push(...this.stop(`${id} failed (--fail-fast)`));
    return actions;
  }

  /** A build ended because the run aborted it. */
  buildAborted(id: string): RunAction[] {
    this.running.delete(id);
    this.schedule.cancel(id);
    return [{ type: "cancelled", id, reason: this.stoppedBecause }];
  }

  /** A push step ended; a "not pushed" step was the queue's own decision, recorded already. */
  pushEnded(step: PushStep, result: PushResult): RunAction[] {
    const actions: RunAction[] = [];
    if (result === "push failed" && this.opts.failFast) actions.push(...this.stop(`push of ${step.id} failed (--fail-fast)`));
    if (step.action !== "not pushed") actions.push(...this.pushSteps(this.pushQueue.end(step.id, result)));
    actions.push(...this.indexSteps());
    return actions;
  }

  /** A layer's index step ended: written (its tags hold the index), or not. */
  indexEnded(layerId: string, written: boolean): RunAction[] {
    this.indexWritten.set(layerId, written);
    return this.indexSteps();
  }

  /**
   * Index steps of the layers whose every platform image is now pushed (or was there already),
   * once the indexes of the layers they build on (of this run) are written. A layer with a
   * platform not pushed gets none: both its tags stay where they were; so do a layer's whose
   * parent's index was not written ("index withheld"): its `{version}` would serve an image built
   * on one its parent's does not serve.
   */
  private indexSteps(): RunAction[] {
    const actions: RunAction[] = [];
    // Until nothing changes: a layer withheld decides its children's, which the plan may list
    // before it (`FROM sci/base-${TARGETARCH}` names no parent in the platform-less order).
    for (let before = -1; before !== this.indexWritten.size;) {
      before = this.indexWritten.size;
      actions.push(...this.indexStepsOnce());
    }
    return actions;
  }

  private indexStepsOnce(): RunAction[] {
    const actions: RunAction[] = [];
    for (const layer of this.indexes) {
      if (this.indexGiven.has(layer.id) || this.stoppedBecause) continue;
      const results = layer.members.map((m) => this.pushQueue.result(m.id));
      if (results.some((r) => r === undefined)) continue;
      if (!results.every((r) => r === "pushed")) {
        this.indexGiven.add(layer.id);
        this.indexWritten.set(layer.id, false);
        continue;
      }
      const parents = parentIndexLayers(layer, this.indexes, (id) => this.builds.get(id)?.dependsOn ?? []);
      if (parents.some((p) => !this.indexWritten.has(p.id))) continue;
      this.indexGiven.add(layer.id);
      const unwritten = parents.find((p) => !this.indexWritten.get(p.id));
      if (!unwritten) {
        actions.push({ type: "index", layer });
        continue;
      }
      this.indexWritten.set(layer.id, false);
      actions.push({ type: "index withheld", layer, reason: withheldIndexReason(layer, unwritten) });
    }
    return actions;
  }

  /** SIGINT/SIGTERM: builds in flight are aborted, nothing more starts, pushes in flight stop. */
  interrupt(): RunAction[] {
    this.wasInterrupted = true;
    return [...this.stop("interrupted"), { type: "abort pushes", reason: "interrupted" }];
  }

  /** Asked when a push step gets its slot: undefined to go ahead, else why it is not pushed (see PushQueue.begin). */
  pushBegins(id: string): string | undefined {
    return this.pushQueue.begin(id);
  }

  /** How the push of `id` ended; undefined while it has not (or was never started). */
  pushResult(id: string): PushResult | undefined {
    return this.pushQueue.result(id);
  }

  /** The run stops (once): no build or push starts any more; pending builds are cancelled, those in flight aborted. */
  private stop(reason: string): RunAction[] {
    if (this.stoppedBecause) return [];
    this.stoppedBecause = reason;
    this.pushQueue.stop(reason);
    return [
      ...this.schedule.cancelPending(reason).map((s): RunAction => ({ type: "settle", ...s })),
      ...[...this.running].map((id): RunAction => ({ type: "abort build", id, reason })),
    ];
  }

  private pushSteps(steps: PushStep[]): RunAction[] {
    return steps.map((step) => ({ type: "push", step, registryDigest: this.published.get(step.id) }));
  }
}
