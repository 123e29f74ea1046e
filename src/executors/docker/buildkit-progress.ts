// A BuildKit build's status messages (decoded StatusResponses) as what the run shows: lines in
// the style of `docker buildx build --progress plain` (`#3 [2/4] RUN make`, its output, `#3 DONE
// 1.2s` or `#3 CACHED`), a one-line state for the live view, and the failing step.
import { StringDecoder } from "node:string_decoder";
import type { StatusResponse } from "./buildkit-status.js";
import { cutMarker, LineSplitter } from "./output-lines.js";

/**
 * Characters of one output line passed on (the run's output cuts it shorter, after redaction):
 * BuildKit itself clips a step's log at a few MiB, this only bounds what a line can hold.
 */
const PASSED_LINE = 4 * 1024 * 1024;

interface VertexState {
  /** `#n`: order of first appearance, as docker numbers them. */
  n: number;
  name: string;
  announced: boolean;
  started?: number;
  /** When this process first saw it started (its clock, not the engine's). */
  seenStarted?: number;
  completed?: number;
  cached: boolean;
  /** The step's output split into lines (the last one maybe unfinished). */
  lines: LineSplitter;
  /** Log bytes arrive cut anywhere, a character too: decoded per step, across chunks. */
  decoder: StringDecoder;
  statusesDone: Set<string>;
}

export class BuildkitProgress {
  private readonly vertexes = new Map<string, VertexState>();
  /** Steps that reported an error, with it (a missing cache source is one, and not fatal). */
  private readonly errors: { step: string; error: string }[] = [];

  /** `emit` gets whole lines (without newline). */
  constructor(private readonly emit: (line: string) => void) {}

  update(status: StatusResponse): void {
    for (const v of status.vertexes) {
      const s = this.vertex(v.digest, v.name);
      if (v.name) s.name = v.name;
      if (v.started !== undefined) {
        s.started = v.started;
        s.seenStarted ??= Date.now();
      }
      if ((v.started !== undefined || v.completed !== undefined) && !s.announced) {
        s.announced = true;
        this.emit(`#${s.n} ${s.name}`);
      }
      if (v.completed !== undefined && s.completed === undefined) {
        s.completed = v.completed;
        s.cached = v.cached;
        this.flush(s);
        if (v.error) {
          this.errors.push({ step: s.name, error: v.error });
          this.emit(`#${s.n} ERROR: ${v.error}`);
        } else if (v.cached) {
          this.emit(`#${s.n} CACHED`);
        } else {
          this.emit(`#${s.n} DONE ${seconds(v.completed - (s.started ?? v.completed))}`);
        }
      }
    }
    for (const l of status.logs) {
      const s = this.vertex(l.vertex);
      s.lines.write(s.decoder.write(l.msg));
    }
    for (const st of status.statuses) {
      // Nameless statuses are the layers of a pull, by digest: too many to be worth a line each.
      if (st.completed === undefined || !st.name) continue;
      const s = this.vertex(st.vertex);
      if (s.statusesDone.has(st.id)) continue;
      s.statusesDone.add(st.id);
      this.emit(`#${s.n} ${st.name} done`);
    }
    for (const w of status.warnings) {
      const s = this.vertex(w.vertex);
      this.emit(`#${s.n} WARNING: ${w.short}`);
      for (const d of w.detail) this.emit(`#${s.n}   ${d}`);
    }
  }

  /** The step that failed the build with `failure` (the engine's message), e.g. `[2/3] RUN make`. */
  failedStep(failure: string): string | undefined {
    return [...this.errors].reverse().find((e) => failure.includes(e.error))?.step;
  }

  /**
   * For the live view, one step counter: the running step as BuildKit names it, which counts the
   * Dockerfile's steps (`[2/3] RUN make (1 cached)`); between steps, the steps done (`4/7 steps`).
   */
  state(): string {
    const all = [...this.vertexes.values()];
    const done = all.filter((v) => v.completed !== undefined);
    const cached = done.filter((v) => v.cached).length;
    const running = all.filter((v) => v.started !== undefined && v.completed === undefined).pop();
    if (running) return `${running.name}${cached ? ` (${cached} cached)` : ""}`;
    return `${done.length}/${all.length} steps${cached ? `, ${cached} cached` : ""}`;
  }

  /**
   * A lookup of a registry cache source (`importing cache manifest from …`) running for more than
   * `limitMs` by `now`: BuildKit's resolver has no time limit of its own, so a registry that
   * never answers it would hold the build (and the engine's other builds) for ever.
   */
  stuckCacheImport(now: number, limitMs: number): string | undefined {
    const stuck = [...this.vertexes.values()].find((v) => v.completed === undefined && v.seenStarted !== undefined && now - v.seenStarted > limitMs && /^importing cache manifest from /.test(v.name));
    return stuck?.name.replace(/^importing cache manifest from /, "");
  }

  /** Output lines still open (a build that ended without completing its vertexes). */
  end(): void {
    for (const s of this.vertexes.values()) this.flush(s);
  }

  private flush(s: VertexState): void {
    s.lines.flush();
  }

  private vertex(digest: string, name = ""): VertexState {
    let s = this.vertexes.get(digest);
    if (!s) {
      const n = this.vertexes.size + 1;
      const lines = new LineSplitter((line, cut) => this.emit(`#${n} ${line}${cut ? cutMarker(cut) : ""}`), PASSED_LINE);
      s = { n, name, announced: false, cached: false, lines, decoder: new StringDecoder("utf8"), statusesDone: new Set() };
      this.vertexes.set(digest, s);
    }
    return s;
  }
}

function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
}
