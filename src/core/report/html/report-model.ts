// What a report shows, worked out from plain data: each build's status (from the results, or
// `planned`), what a change touched, and the run's timeline (queue, build, push per build, the
// critical path, the slots builds ran in). Rendering (HTML, SVG) is elsewhere; this is the logic.
import type { BuildResult, BuildStatus, Plan, PlannedBuild } from "../../model.js";
import type { PushResult } from "../../execute/outcomes.js";
import type { ResultsFile } from "../results.js";

/**
 * A build's status in the report, in the CLI summary's words (core/execute/outcomes.ts): the
 * results' own; `not pushed` for an image a run that pushed left out (a failed or interrupted
 * push, a parent not pushed); `superseded` for one whose build tag the registry holds with another
 * run's image of the same inputs; `planned` without results.
 */
export type ReportStatus = "planned" | BuildStatus | Extract<PushResult, "not pushed" | "superseded">;

export const REPORT_STATUSES: ReportStatus[] = ["planned", "built", "reused", "not pushed", "superseded", "failed", "skipped", "cancelled"];

/**
 * Whether the run pushed (`--push`). The results file does not say so itself: `tags` is recorded
 * with --push only, and an image held back before its push began (its parent not pushed, the run
 * stopped) has no `tags` but a reason saying so.
 */
export function runPushed(results: ResultsFile | undefined): boolean {
  return results?.results.some((r) => r.tags !== undefined || r.pushed || (r.reason !== undefined && NOT_PUSHED_REASON.test(r.reason))) ?? false;
}

const NOT_PUSHED_REASON = /^not (pushed|published)\b/;

/** `pushedRun`: the run pushed (see runPushed), so an image not pushed is not published, whatever it says of itself. */
export function reportStatus(result: BuildResult | undefined, pushedRun = false): ReportStatus {
  if (!result) return "planned";
  if ((result.status !== "built" && result.status !== "reused") || result.pushed) return result.status;
  // Its own build tag holds another image (read back): another run's, of the same inputs, is the published one.
  if (result.tags?.[0] && !result.tags[0].pushed && result.tags[0].registryDigest) return "superseded";
  if (pushedRun || result.tags) return "not pushed";
  return result.status;
}

/**
 * Changed: in the plan because its own directory (or a compat layer it uses) changed, not only
 * because something below it is rebuilt (reasons `built on …`, `science layer … rebuilt`), nor
 * only because `--all` plans every layer (it says nothing of what changed).
 */
export function touchedByChange(build: PlannedBuild): boolean {
  // `--all`, `compat base --all` (with --ignore): planned for --all, whatever changed.
  return build.reasons.some((r) => !/^built on |^science layer \S+ rebuilt|(^|\s)--all(\s|$)/.test(r));
}

/** Compat layers a compat build is made of, from its contexts (`compat/jupyter`), and whether each changed. */
export function compatLayersOf(build: PlannedBuild): { dir: string; changed: boolean }[] {
  if (build.kind !== "compat") return [];
  return build.request.contexts.filter((c) => c.startsWith("compat/")).map((c) => {
    const dir = c.slice("compat/".length);
    return { dir, changed: build.reasons.some((r) => r.startsWith(`compat ${dir} `)) };
  });
}

/** One build on the timeline, times in ms from the run's start. */
export interface TimelineBar {
  id: string;
  status: ReportStatus;
  /** Its parents were done (or the run started): it could have started. */
  ready: number;
  start: number;
  end: number;
  pushStart?: number;
  pushEnd?: number;
  /** The slot (0-based) it ran in: builds at once never share one. */
  slot: number;
  critical: boolean;
}

export interface Timeline {
  /** When the first build started, ISO 8601. */
  startedAt: string;
  /** Wall time from the first start to the last end (push included). */
  totalMs: number;
  bars: TimelineBar[];
  /** Slots used: the most builds running at once. */
  slots: number;
  /** `--jobs` of the run, when the results record it. */
  jobs?: number;
  /** The chain of builds, each waiting on the one before, that ended last: what decided the wall time. */
  criticalPath: string[];
}

const time = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));

/** The timeline of a run; undefined when the results carry no times (older results files, a plan). */
export function timeline(plan: Plan, results: ResultsFile | undefined): Timeline | undefined {
  if (!results) return undefined;
  const byId = new Map(results.results.map((r) => [r.id, r]));
  const pushed = runPushed(results);
  const timed = plan.builds.flatMap((b) => {
    const r = byId.get(b.id);
    const start = time(r?.startedAt);
    const end = time(r?.finishedAt);
    return r && start !== undefined && end !== undefined && !Number.isNaN(start) && !Number.isNaN(end) ? [{ build: b, r, start, end }] : [];
  });
  if (timed.length === 0) return undefined;
  const t0 = Math.min(...timed.map((t) => t.start));
  const ends = new Map(timed.map((t) => [t.build.id, t.end - t0]));
  const bars: TimelineBar[] = timed.map(({ build, r, start, end }) => {
    const parentEnds = build.dependsOn.map((p) => ends.get(p)).filter((e): e is number => e !== undefined);
    const s = start - t0;
    const pushStart = time(r.pushStartedAt);
    const pushEnd = time(r.pushFinishedAt);
    return {
      id: build.id, status: reportStatus(r, pushed), ready: Math.min(s, Math.max(0, ...parentEnds)), start: s, end: end - t0,
      ...(pushStart !== undefined && pushEnd !== undefined && { pushStart: pushStart - t0, pushEnd: pushEnd - t0 }),
      slot: 0, critical: false,
    };
  });
  const slots = assignSlots(bars);
  const criticalPath = findCriticalPath(plan, bars);
  const onPath = new Set(criticalPath);
  for (const b of bars) b.critical = onPath.has(b.id);
  const totalMs = Math.max(...bars.map(barEnd));
  return { startedAt: new Date(t0).toISOString(), totalMs, jobs: typeof results.jobs === "number" ? results.jobs : undefined, bars: bars.sort((a, b) => a.start - b.start || a.id.localeCompare(b.id)), slots, criticalPath };
}

const barEnd = (b: TimelineBar) => Math.max(b.end, b.pushEnd ?? 0);

/** Each build in the lowest slot free when it starts (its build step: pushes have slots of their own). */
function assignSlots(bars: TimelineBar[]): number {
  const freeAt: number[] = [];
  for (const b of [...bars].sort((x, y) => x.start - y.start || x.end - y.end)) {
    let slot = freeAt.findIndex((t) => t <= b.start);
    if (slot < 0) slot = freeAt.push(0) - 1;
    freeAt[slot] = b.end;
    b.slot = slot;
  }
  return freeAt.length;
}

/**
 * From the build that ended last, back through the parent it waited for longest (the last to
 * finish), to a build that waited for none: the builds that decided how long the run took.
 */
function findCriticalPath(plan: Plan, bars: TimelineBar[]): string[] {
  const byId = new Map(bars.map((b) => [b.id, b]));
  const deps = new Map(plan.builds.map((b) => [b.id, b.dependsOn]));
  let current: TimelineBar | undefined = bars.reduce((a, b) => (barEnd(b) > barEnd(a) ? b : a));
  const path: string[] = [];
  while (current && !path.includes(current.id)) {
    path.unshift(current.id);
    const parents: TimelineBar[] = (deps.get(current.id) ?? []).map((p) => byId.get(p)).filter((p): p is TimelineBar => p !== undefined);
    current = parents.length ? parents.reduce((a, b) => (b.end > a.end ? b : a)) : undefined;
  }
  return path;
}
