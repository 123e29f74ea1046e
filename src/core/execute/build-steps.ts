// A build's Dockerfile steps as its log shows them, line by line: how many ran, how many came from
// the cache, and which step was last started or failed. Both builders' log styles: the classic
// builder's `Step 2/4 : RUN make` and ` ---> Using cache`, BuildKit's `#5 [2/4] RUN make`,
// `#5 CACHED` and `#5 ERROR: …` (see executors/docker/buildkit-progress.ts). Pure: the executor
// feeds it the lines it logs (executors/docker/progress.ts), and the results record what it found.

export interface StepCounts {
  /** Dockerfile steps started (cached ones included). */
  total: number;
  cached: number;
}

/** A classic builder's step: `Step 2/4 : RUN make`. */
const CLASSIC_STEP = /^Step \d+\/\d+ : /;
/** BuildKit: `#5 [2/4] RUN make`, `#7 [stage-1 3/5] COPY . /x` (not `[internal]` or `[auth]` vertexes). */
const BUILDKIT_STEP = /^#(\d+) (\[(?:[^\]\s]+ )?\d+\/\d+\] .*)$/;
const BUILDKIT_EVENT = /^#(\d+) (CACHED|ERROR: .*)$/;

export class StepTally {
  private classic = { total: 0, cached: 0, current: undefined as string | undefined, currentCached: false };
  /** BuildKit vertex number -> its step name, for the steps announced. */
  private readonly buildkitSteps = new Map<string, string>();
  private readonly buildkitCached = new Set<string>();
  private lastBuildkitStep?: string;
  private buildkitFailed?: string;

  observe(line: string): void {
    if (CLASSIC_STEP.test(line)) {
      this.classic.total++;
      this.classic.current = line.slice("Step ".length);
      this.classic.currentCached = false;
      return;
    }
    if (line.trim() === "---> Using cache" && this.classic.current && !this.classic.currentCached) {
      this.classic.cached++;
      this.classic.currentCached = true;
      return;
    }
    const event = BUILDKIT_EVENT.exec(line);
    if (event) {
      const name = this.buildkitSteps.get(event[1]);
      if (name === undefined) return;
      if (event[2] === "CACHED") this.buildkitCached.add(event[1]);
      else this.buildkitFailed ??= name;
      return;
    }
    const step = BUILDKIT_STEP.exec(line);
    if (step && !this.buildkitSteps.has(step[1])) {
      this.buildkitSteps.set(step[1], step[2]);
      this.lastBuildkitStep = step[2];
    }
  }

  counts(): StepCounts {
    return { total: this.classic.total + this.buildkitSteps.size, cached: this.classic.cached + this.buildkitCached.size };
  }

  /**
   * The step a failed build stopped at: BuildKit's step that reported the error, else the last
   * step started (`2/4 : RUN make`, `[2/4] RUN make`).
   */
  failedStep(): string | undefined {
    return this.buildkitFailed ?? this.classic.current ?? this.lastBuildkitStep;
  }
}
