// Pure scheduling state for executing a plan: which builds may start, what a failure skips,
// what is left when the run stops early. No I/O, no timers: the executor drives it and the unit
// tests exercise it directly.
import { findCycle } from "../plan/graph.js";

export type BuildState = "pending" | "running" | "built" | "failed" | "skipped" | "cancelled";

export interface SchedNode {
  id: string;
  dependsOn: string[];
}

export interface Settled {
  id: string;
  state: "skipped" | "cancelled";
  reason: string;
}

export class Schedule {
  private readonly order: string[];
  private readonly deps = new Map<string, string[]>();
  private readonly children = new Map<string, string[]>();
  private readonly states = new Map<string, BuildState>();

  /** Throws on duplicate ids, unknown dependencies and cycles: a plan like that can't run. */
  constructor(nodes: SchedNode[]) {
    this.order = nodes.map((n) => n.id);
    for (const n of nodes) {
      if (this.deps.has(n.id)) throw new Error(`plan has two builds with id ${n.id}`);
      this.deps.set(n.id, [...new Set(n.dependsOn)]);
      this.children.set(n.id, []);
      this.states.set(n.id, "pending");
    }
    for (const n of nodes) {
      for (const d of this.deps.get(n.id)!) {
        if (!this.children.has(d)) throw new Error(`build ${n.id} depends on ${d}, which is not in the plan`);
        this.children.get(d)!.push(n.id);
      }
    }
    const cycle = findCycle(this.order, (id) => this.deps.get(id)!);
    // Printed as "a -> b -> a": each build depends on the next.
    if (cycle) throw new Error(`plan has a dependency cycle: ${cycle.join(" -> ")}`);
  }

  state(id: string): BuildState {
    const s = this.states.get(id);
    if (!s) throw new Error(`unknown build ${id}`);
    return s;
  }

  /** Pending builds whose parents are all built, in plan order, at most `limit` of them. */
  ready(limit: number): string[] {
    const out: string[] = [];
    for (const id of this.order) {
      if (out.length >= limit) break;
      if (this.states.get(id) !== "pending") continue;
      if (this.deps.get(id)!.every((d) => this.states.get(d) === "built")) out.push(id);
    }
    return out;
  }

  /** Nothing is pending or running any more. */
  done(): boolean {
    return this.order.every((id) => {
      const s = this.states.get(id);
      return s !== "pending" && s !== "running";
    });
  }

  start(id: string): void {
    this.expect(id, "pending");
    this.states.set(id, "running");
  }

  succeed(id: string): void {
    this.expect(id, "running");
    this.states.set(id, "built");
  }

  /**
   * Marks a running build failed and skips everything that depends on it, directly or not.
   * Returns the builds skipped by this failure.
   */
  fail(id: string): Settled[] {
    this.expect(id, "running");
    this.states.set(id, "failed");
    const skipped: Settled[] = [];
    const visit = (parent: string, direct: boolean) => {
      for (const child of this.children.get(parent)!) {
        if (this.states.get(child) !== "pending") continue;
        const why = direct ? `parent ${id} failed` : `ancestor ${id} failed`;
        this.states.set(child, "skipped");
        skipped.push({ id: child, state: "skipped", reason: why });
        visit(child, false);
      }
    };
    visit(id, true);
    return skipped;
  }

  /** Marks a running build cancelled (stopped before it finished). */
  cancel(id: string): void {
    this.expect(id, "running");
    this.states.set(id, "cancelled");
  }

  /** Stops the run: every pending build becomes cancelled. Running builds are the caller's. */
  cancelPending(reason: string): Settled[] {
    const out: Settled[] = [];
    for (const id of this.order) {
      if (this.states.get(id) !== "pending") continue;
      this.states.set(id, "cancelled");
      out.push({ id, state: "cancelled", reason });
    }
    return out;
  }

  private expect(id: string, want: BuildState): void {
    const s = this.state(id);
    if (s !== want) throw new Error(`build ${id} is ${s}, expected ${want}`);
  }

}
