// What a run shows and records: build output prefixed with the build id (or, on a terminal, a
// live view of the running builds), one complete log file per build, and the final summary.
// Everything written passes through `redact`, so credentials can't reach the output or the logs.
import { createWriteStream, type WriteStream } from "node:fs";
import { freshFileIn, makeDirectory } from "../../files.js";
import { oneLine } from "../../core/printable.js";
import { join } from "node:path";
import type { SummaryRow } from "../../core/execute/outcomes.js";
import { StepTally } from "../../core/execute/build-steps.js";
import { heldLine, LineSplitter, shownLine } from "./output-lines.js";

export interface ProgressOptions {
  out: NodeJS.WritableStream;
  /** Live view (redrawn status lines) instead of prefixed output lines. */
  live: boolean;
  logDir?: string;
  redact: (text: string) => string;
  /** The length of the longest secret line masked: lines are held that much beyond what is shown. */
  longestSecret?: () => number;
}

/** Lines of log kept per build for failure reports. */
const TAIL_LINES = 20;
const REDRAW_MS = 500;

interface Running {
  started: number;
  /** Shown in the live view. */
  active: boolean;
  /** What the live view says it is doing: "starting", "step 2/4", "pushing". */
  doing: string;
  /** Output split into lines (the last one maybe unfinished). */
  lines: LineSplitter;
  tail: string[];
  /** The Dockerfile steps its log showed, for the results. */
  steps: StepTally;
  log?: WriteStream;
}

/** `sci/foo` -> `sci_foo.log`: one flat directory, no path tricks from ids. */
export function logFileName(id: string): string {
  return `${id.replace(/[^A-Za-z0-9._-]/g, "_")}.log`;
}

export class Progress {
  private readonly builds = new Map<string, Running>();
  private readonly logs: WriteStream[] = [];
  private drawn = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: ProgressOptions) {
    if (o.logDir) makeDirectory(o.logDir);
    if (o.live) {
      this.timer = setInterval(() => this.redraw(), REDRAW_MS);
      this.timer.unref();
    }
  }

  /** A build starts: opens its log file and shows it in the live view. */
  begin(id: string, header: string[]): void {
    const state: Running = { started: Date.now(), active: true, doing: "starting", tail: [], steps: new StepTally(), lines: new LineSplitter((line, cut) => this.record(id, state, line, true, cut), heldLine(this.o.longestSecret?.() ?? 0)) };
    if (this.o.logDir) {
      const file = join(this.o.logDir, logFileName(id));
      try {
        // A file of its own: a symbolic link there (a checkout's `logs/sci_x.log -> …`) is replaced, not written through.
        // (fs.open takes numeric flags; the stream's type says string.)
        state.log = createWriteStream(file, { flags: freshFileIn(file) as unknown as string });
        // A log that can't be written must not crash the run; the build output still goes to `out`.
        state.log.on("error", (e) => this.note(`warning: log file for ${id}: ${e.message}`));
        this.logs.push(state.log);
      } catch (e) {
        this.note(`warning: log file for ${id}: ${(e as Error).message}`);
      }
    }
    this.builds.set(id, state);
    for (const line of header) this.record(id, state, line, false);
    this.redraw();
  }

  /** Raw output of a build (may hold partial lines): shown prefixed and logged line by line. */
  output(id: string, text: string): void {
    const state = this.builds.get(id);
    if (!state) return;
    state.lines.write(text);
  }

  /** A whole line about a build from the executor itself (push status, retries, results). */
  line(id: string, text: string): void {
    const state = this.builds.get(id);
    if (!state) return this.note(`[${id}] ${text}`);
    state.lines.flush();
    this.record(id, state, text, true);
  }

  /** The last lines a build produced, for the failure report. */
  tail(id: string): string[] {
    const state = this.builds.get(id);
    if (!state) return [];
    state.lines.flush();
    return [...state.tail];
  }

  /** The Dockerfile steps a build's output showed so far. */
  steps(id: string): StepTally | undefined {
    const state = this.builds.get(id);
    state?.lines.flush();
    return state?.steps;
  }

  /** What the live view shows a build doing, when its output lines don't say it (BuildKit). */
  state(id: string, doing: string): void {
    const state = this.builds.get(id);
    if (state) state.doing = doing;
  }

  /** Back in the live view for another phase (the push), timed from now. */
  phase(id: string, doing: string): void {
    const state = this.builds.get(id);
    if (!state) return;
    Object.assign(state, { active: true, doing, started: Date.now() });
    this.redraw();
  }

  /**
   * A phase is over: `summary` goes to the output (and the log), followed by `details` (e.g.
   * the log tail of a failure); the build leaves the live view. The log file stays open for
   * the push, until `close`.
   */
  result(id: string, summary: string, details: string[] = []): void {
    const state = this.builds.get(id);
    if (state) {
      state.lines.flush();
      state.log?.write(`${this.o.redact(summary)}\n`);
      state.active = false;
    }
    // The summary quotes others' text (a failing step's): shown escaped, as one line of the tool's (masked first: escaping changes what a secret is looked for in).
    this.note([`[${id}] ${oneLine(this.o.redact(summary))}`, ...details.map((d) => `[${id}] | ${d}`)].join("\n"));
  }

  /** A line not tied to one build. */
  note(text: string): void {
    this.clearLive();
    this.o.out.write(`${this.o.redact(text)}\n`);
    this.redraw();
  }

  summary(rows: SummaryRow[], footer: string[]): void {
    const head = ["BUILD", "RESULT", "DURATION", "IMAGE", "TAGS"];
    // Rows and reasons quote others' text (a failing Dockerfile step, a registry's message): shown
    // escaped, so that none can end a line or move the cursor among the tool's own unprefixed lines.
    const shown = (text: string) => oneLine(this.o.redact(text));
    const body = rows.map((r) => [r.id, r.result, formatDuration(r.durationMs), shortId(r.imageId), r.tags.join(", ")].map(shown));
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
    const problems = rows.filter((r) => r.reason).map((r) => `  ${shown(r.id)}: ${shown(r.reason!)}`);
    this.note(["", fmt(head), ...body.map(fmt), ...(problems.length ? ["", ...problems] : []), ...footer].join("\n"));
  }

  /** Stops the live view and waits until every log file is complete on disk. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.clearLive();
    for (const state of this.builds.values()) state.lines.flush();
    await Promise.all(this.logs.map((log) => new Promise<void>((done) => log.end(done))));
  }

  private record(id: string, state: Running, line: string, show: boolean, cut = 0): void {
    const clean = shownLine(this.o.redact(line), cut);
    state.log?.write(`${clean}\n`);
    state.tail.push(clean);
    if (state.tail.length > TAIL_LINES) state.tail.shift();
    state.steps.observe(clean);
    const step = /^Step (\d+\/\d+) : /.exec(clean);
    if (step) state.doing = `step ${step[1]}`;
    if (show && !this.o.live) this.o.out.write(`[${id}] ${clean}\n`);
  }

  private redraw(): void {
    if (!this.o.live) return;
    const now = Date.now();
    const width = (this.o.out as { columns?: number }).columns || 100;
    const lines = [...this.builds]
      .filter(([, s]) => s.active)
      .map(([id, s]) => this.o.redact(`  ${id}  ${s.doing}  ${formatDuration(now - s.started)}`).slice(0, width - 1));
    this.clearLive();
    if (lines.length) this.o.out.write(`${lines.join("\n")}\n`);
    this.drawn = lines.length;
  }

  private clearLive(): void {
    if (!this.o.live || this.drawn === 0) return;
    // Up to the first live line, then erase to the end of the screen.
    this.o.out.write(`\x1b[${this.drawn}A\r\x1b[J`);
    this.drawn = 0;
  }
}

export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
}

function shortId(id?: string): string {
  return id ? id.replace(/^sha256:/, "").slice(0, 12) : "-";
}
