// Pure ordering of a run's pushes: a build's push starts only once the pushes of its parents (of
// this run) have ended, and only when they ended pushed, so that the registry never holds a child
// whose parent's push failed or was stopped. No I/O: the executor carries out the steps it gives
// and reports how each push ended; the unit tests exercise it directly.
import type { PushResult } from "./outcomes.js";
import { supersededParent } from "./read-back.js";

/** What to do now about a build's push. */
export type PushStep =
  /** Push its tags, build tag first. */
  | { id: string; action: "push" }
  /** Reused, its build tag in the registry already: push the moving tag only if the registry's is stale. */
  | { id: string; action: "check moving tag" }
  /** Not pushed, already recorded as such (children it held back are released with it). */
  | { id: string; action: "not pushed"; reason: string };

export class PushQueue {
  private readonly parents = new Map<string, string[]>();
  /** Images there whose push waits for their parents', in the order they came; value: published. */
  private readonly waiting = new Map<string, boolean>();
  private readonly results = new Map<string, PushResult>();
  /** Every build whose image is there: waiting, pushing, or done. */
  private readonly added = new Set<string>();
  private stoppedBecause: string | undefined;

  constructor(builds: { id: string; dependsOn: string[] }[]) {
    for (const b of builds) this.parents.set(b.id, [...b.dependsOn]);
  }

  /**
   * A build's image is there (built, or reused). `published`: reused, and the registry holds its
   * build tag already. Returns the steps that may start now, this build's or none.
   */
  add(id: string, published = false): PushStep[] {
    if (!this.parents.has(id)) throw new Error(`unknown build ${id}`);
    if (this.added.has(id)) throw new Error(`build ${id} is in the push queue already`);
    this.added.add(id);
    this.waiting.set(id, published);
    return this.release();
  }

  /** The push of `id` (a "push" or "check moving tag" step) ended: returns the steps this allows. */
  end(id: string, result: PushResult): PushStep[] {
    if (!this.added.has(id) || this.waiting.has(id)) throw new Error(`push of ${id} has not started`);
    if (this.results.has(id)) throw new Error(`push of ${id} ended already`);
    this.results.set(id, result);
    return this.release();
  }

  /** The run stopped (interrupted, --fail-fast): no push starts any more. */
  stop(reason: string): void {
    this.stoppedBecause ??= reason;
  }

  /**
   * A push step is about to push (it had to wait its turn): undefined to go ahead, or the reason
   * it is not pushed because the run stopped meanwhile.
   */
  begin(_id: string): string | undefined {
    return this.stoppedBecause === undefined ? undefined : `not pushed: ${this.stoppedBecause}`;
  }

  /** How the push of `id` ended; undefined while it has not. */
  result(id: string): PushResult | undefined {
    return this.results.get(id);
  }

  /** Builds are released in rounds, so that a not pushed build's children come after its siblings. */
  private release(): PushStep[] {
    const steps: PushStep[] = [];
    for (;;) {
      const ready = [...this.waiting].filter(([id]) => this.parentsOf(id).every((p) => this.results.has(p)));
      if (ready.length === 0) return steps;
      for (const [id, published] of ready) {
        this.waiting.delete(id);
        const step = this.decide(id, published);
        if (step.action === "not pushed") this.results.set(id, "not pushed");
        steps.push(step);
      }
    }
  }

  private decide(id: string, published: boolean): PushStep {
    const notPushed = this.parentsOf(id).find((p) => this.results.get(p) !== "pushed");
    // Once the run is stopped, begin() says why (interrupted, --fail-fast) for every image alike.
    if (notPushed !== undefined && this.stoppedBecause === undefined) {
      const reason = this.results.get(notPushed) === "superseded" ? supersededParent(notPushed) : `not pushed: parent ${notPushed} was not pushed`;
      return { id, action: "not pushed", reason };
    }
    return { id, action: published ? "check moving tag" : "push" };
  }

  /** Parents whose images are in the queue: only those of this run are pushed by it. */
  private parentsOf(id: string): string[] {
    return this.parents.get(id)!.filter((p) => this.added.has(p));
  }
}
