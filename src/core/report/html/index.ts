// The HTML report of a plan (a pull request's view) or of a run (with its results): a pure
// function from plain data to the report folder's files, {path: contents}. The shell reads the
// plan, the results and the log tails, and writes the files (cli/commands/report.ts).
//
// It must read correctly where users open it: archived on Jenkins, served with
// `sandbox; default-src 'none'; img-src 'self'; style-src 'self';`, so no script at all, no
// inline style (one stylesheet file), SVG styled by attributes; offline, so nothing from the
// network. Every status is a word as well as a colour, and the drawings' facts are in the tables too.
import type { AttestationResult, BuildResult, IndexResult, Plan, PlannedBuild, SignatureResult, TagResult } from "../../model.js";
import { indexLayers, type IndexLayer } from "../../execute/image-index.js";
import type { ResultsFile } from "../results.js";
import { publishingTally } from "../../execute/outcomes.js";
import { buildTag } from "../../requests/tags.js";
import { renderGraphSvg } from "./graph.js";
import { compatLayersOf, REPORT_STATUSES, reportStatus, runPushed, timeline, touchedByChange, type ReportStatus, type Timeline } from "./report-model.js";
import { CHANGED_STROKE, patternDefs, STATUS_LOOK, statusRect } from "./status-style.js";
import { STYLESHEET, STYLESHEET_FILE } from "./stylesheet.js";
import { anchorOf, attrs, esc, formatMs } from "./svg.js";
import { renderTimelineSvg } from "./timeline-svg.js";

export interface ReportInput {
  plan: Plan;
  /** The run's results; without them, the plan's report. */
  results?: ResultsFile;
  /** Build id -> the last lines of its log (redacted, as every log is), for failures. */
  logTails?: Readonly<Record<string, string[]>>;
  /** Build id -> its full log, a path relative to the report folder. */
  logLinks?: Readonly<Record<string, string>>;
  /** When the report was made, ISO 8601 (passed in: the function is pure). */
  generatedAt: string;
}

/** The report folder's files: path (relative, `/`-separated) -> contents. */
export type ReportFiles = Record<string, string>;

export function renderReport(input: ReportInput): ReportFiles {
  return { "index.html": renderPage(input), [STYLESHEET_FILE]: STYLESHEET };
}

function renderPage({ plan, results, logTails = {}, logLinks = {}, generatedAt }: ReportInput): string {
  const byId = new Map(results?.results.map((r) => [r.id, r]));
  const run = timeline(plan, results);
  const short = plan.commit.slice(0, 12);
  const title = `${results ? "Run" : "Plan"} of build ${plan.buildNumber} (${short})`;
  const pushed = runPushed(results);
  const statuses = plan.builds.map((b) => reportStatus(byId.get(b.id), pushed));
  // A build of a platform: its layer's image index, and what the run did with it. A plan without
  // platforms has none planned, but a run with attestations publishes each image as a one-platform
  // index: its results name it.
  const indexResults = new Map(results?.indexes?.map((i) => [i.id, i]));
  const indexOf = new Map(indexLayers(plan.builds).flatMap((layer) => layer.members.map((m) => [m.id, { layer, result: indexResults.get(layer.id) }] as const)));
  for (const result of results?.indexes ?? []) {
    const members = Object.entries(result.platforms).map(([platform, id]) => ({ platform, id }));
    const layer: IndexLayer = { id: result.id, buildTag: result.tags[0]?.tag ?? "", movingTag: result.tags[1]?.tag ?? "", members };
    for (const m of members) if (!indexOf.has(m.id)) indexOf.set(m.id, { layer, result });
  }
  const body = [
    `<header><h1>${esc(title)}</h1>`,
    `<p class="meta">Repository <code>${esc(plan.repo)}</code>, commit <code>${esc(plan.commit)}</code>, build number ${esc(plan.buildNumber)}. ${results ? "The run's results." : "A plan: nothing has been built yet."} Made ${esc(generatedAt)}.</p>`,
    counts(statuses, plan.builds.filter(touchedByChange).length, run, results),
    `<nav aria-label="Sections"><ul><li><a href="#graph">Graph</a></li>${run ? `<li><a href="#timeline">Timeline</a></li>` : ""}<li><a href="#builds">Builds</a></li><li><a href="#details">Details</a></li></ul></nav></header>`,
    `<main>`,
    graphSection(plan, results),
    run ? timelineSection(run) : results ? `<section id="timeline"><h2>Timeline</h2><p>${noTimes(results)}</p></section>` : "",
    buildsTable(plan, byId, run, pushed),
    `<section id="details"><h2>Details</h2>${plan.builds.map((b) => buildDetails(b, byId, pushed, logTails[b.id], logLinks[b.id], indexOf.get(b.id))).join("\n")}</section>`,
    `</main>`,
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`image-builder: ${title}`)}</title>
<link rel="stylesheet" href="${STYLESHEET_FILE}">
</head>
<body>
${body.join("\n")}
</body>
</html>
`;
}

const statusClass = (s: ReportStatus) => `status status-${s.replace(/ /g, "-")}`;
const badge = (s: ReportStatus) => `<span class="${statusClass(s)}">${esc(STATUS_LOOK[s].label)}</span>`;
const changedBadge = `<span class="changed">changed</span>`;
/** A build's status, and "changed" when the change touched it: its row and its details' heading. */
const badges = (b: PlannedBuild, status: ReportStatus) => `${badge(status)}${touchedByChange(b) ? ` ${changedBadge}` : ""}`;
/** `text` (the build id, or a reference to its image) linking to the build's details. */
const detailsLink = (id: string, text = id) => `<a href="#${anchorOf(id)}"><code>${esc(text)}</code></a>`;

/** Why a results file gives no timeline: no build started (the engine could not be used, an interrupt), or an older image-builder wrote it. */
function noTimes(results: ResultsFile): string {
  return results.results.every((r) => r.status === "cancelled" && !r.startedAt)
    ? "No build started: the run ended before building (each build's reason says why)."
    : "The results file records no times (written by an older image-builder).";
}

function counts(statuses: ReportStatus[], changed: number, run: Timeline | undefined, results?: ResultsFile): string {
  const items = REPORT_STATUSES.map((s) => [s, statuses.filter((x) => x === s).length] as const).filter(([, n]) => n > 0)
    .map(([s, n]) => `<li>${esc(n)} ${badge(s)}</li>`);
  items.push(...publishingCounts(results));
  if (changed) items.push(`<li>${esc(changed)} ${changedBadge} by the change</li>`);
  if (run) items.push(`<li>wall time ${esc(formatMs(run.totalMs))}</li>`);
  return `<ul class="counts" aria-label="Summary"><li>${esc(statuses.length)} builds:</li>${items.join("")}</ul>`;
}

/**
 * What the run's last line says of publishing beside the builds (outcomes.ts publishingTally); a
 * failure stands out as one.
 */
function publishingCounts(results: ResultsFile | undefined): string[] {
  if (!results) return [];
  return publishingTally(results.results, runPushed(results), results.indexes ?? [])
    .map(({ text, failure }) => (failure ? `<li><span class="failure">${esc(text)}</span></li>` : `<li>${esc(text)}</li>`));
}

function graphSection(plan: Plan, results: ResultsFile | undefined): string {
  if (plan.builds.length === 0) return `<section id="graph"><h2>Graph</h2><p>Nothing to build: the plan is empty.</p></section>`;
  return `<section id="graph"><h2>Graph</h2>
<p>Science layers (square corners) and compat builds, the final images (rounded); an arrow points from a parent to what is built on it. A node links to its details.</p>
${legend(plan, results)}
<div class="drawing">${renderGraphSvg(plan, results)}</div>
${compatLayersList(plan)}</section>`;
}

/** The compat layers the plan's compat builds are made of: which changed, and how many final images use each. */
function compatLayersList(plan: Plan): string {
  const layers = new Map<string, { changed: boolean; users: number }>();
  for (const b of plan.builds) {
    for (const { dir, changed } of compatLayersOf(b)) {
      const layer = layers.get(dir) ?? { changed: false, users: 0 };
      layers.set(dir, { changed: layer.changed || changed, users: layer.users + 1 });
    }
  }
  if (layers.size === 0) return "";
  const items = [...layers].sort(([a], [b]) => a.localeCompare(b))
    .map(([dir, l]) => `<li><code>compat/${esc(dir)}</code>${l.changed ? ` ${changedBadge}` : ""}: in ${esc(l.users)} compat build${l.users === 1 ? "" : "s"}</li>`);
  return `<p>Compat layers of the compat builds:</p><ul class="compat-layers">${items.join("")}</ul>`;
}

/** The statuses of this report, then "changed": each a swatch with the word, wrapping like text in a narrow window. */
function legend(plan: Plan, results: ResultsFile | undefined): string {
  const shown: ReportStatus[] = results ? REPORT_STATUSES.filter((s) => s !== "planned") : ["planned"];
  const items = [...shown.map((s) => ({ look: STATUS_LOOK[s], label: STATUS_LOOK[s].label, changed: false })),
    ...(plan.builds.some(touchedByChange) || plan.builds.some((b) => compatLayersOf(b).some((c) => c.changed))
      ? [{ look: STATUS_LOOK.planned, label: "changed (outline)", changed: true }] : [])];
  const swatches = items.map((item, i) => {
    const outline = item.changed ? { stroke: CHANGED_STROKE, width: 3 } : { stroke: item.look.stroke, width: 1.2 };
    // Pattern ids are per document: one prefix per swatch.
    const defs = item.look.pattern ? patternDefs(`l${i}`) : "";
    const rect = statusRect(item.look, `l${i}`, { x: 2, y: 2, width: 26, height: 16 }, outline);
    return `<li><svg xmlns="http://www.w3.org/2000/svg" width="30" height="20" viewBox="0 0 30 20" aria-hidden="true">${defs}${rect}</svg> ${esc(item.label)}</li>`;
  });
  return `<ul class="legend" aria-label="Legend">${swatches.join("")}</ul>`;
}

function timelineSection(run: Timeline): string {
  const path = run.criticalPath.map((id) => `<a href="#${anchorOf(id)}">${esc(id)}</a>`).join(" → ");
  return `<section id="timeline"><h2>Timeline</h2>
<p>From ${esc(run.startedAt)}, ${esc(formatMs(run.totalMs))} in all. Per build: a grey line while it waited for a slot, its build step (coloured by status), a dotted line while its push waited, its push (dark). <strong>Critical path</strong> (outlined, marked »): the builds, each waiting on the one before, that ended last.</p>
<p class="critical-path">Critical path: ${path}</p>
<div class="drawing">${renderTimelineSvg(run)}</div></section>`;
}

function buildsTable(plan: Plan, byId: Map<string, BuildResult>, run: Timeline | undefined, pushed: boolean): string {
  const slots = new Map(run?.bars.map((b) => [b.id, b.slot + 1]));
  const rows = plan.builds.map((b) => {
    const r = byId.get(b.id);
    const status = reportStatus(r, pushed);
    const cells = [
      detailsLink(b.id),
      esc(b.kind),
      badges(b, status),
      r ? esc(formatMs(r.durationMs)) : "",
      r?.steps ? esc(stepsText(r.steps, r.status)) : "",
      slots.has(b.id) ? esc(slots.get(b.id)!) : "",
      r?.reason ? esc(r.reason) : "",
    ];
    return `<tr data-id="${esc(b.id)}" data-status="${esc(status)}">${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`;
  });
  return `<section id="builds"><h2>Builds</h2><div class="table-wrap"><table>
<thead><tr><th scope="col">build</th><th scope="col">kind</th><th scope="col">status</th><th scope="col">duration</th><th scope="col">steps</th><th scope="col">slot</th><th scope="col">note</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table></div></section>`;
}

// A cancelled build's last step was stopped, not run to its end (hunter21 F5): "started".
const stepsText = (s: { total: number; cached: number }, status?: string) => `${s.total - s.cached} ${status === "cancelled" ? "started" : "run"}, ${s.cached} cached`;

function buildDetails(
  b: PlannedBuild, byId: Map<string, BuildResult>, pushed: boolean, logTail: string[] | undefined, logLink: string | undefined,
  index?: { layer: IndexLayer; result?: IndexResult },
): string {
  const r = byId.get(b.id);
  const status = reportStatus(r, pushed);
  const rows: [string, string][] = [];
  rows.push(["kind", `${esc(b.kind)}, from <code>${esc(b.source)}</code>`]);
  rows.push(["why", list(b.reasons.map(esc))]);
  if (b.dependsOn.length) rows.push(["built on", list(b.dependsOn.map((p) => detailsLink(p)))]);
  const compat = compatLayersOf(b);
  if (compat.length) rows.push(["compat layers", list(compat.map((c) => `<code>compat/${esc(c.dir)}</code>${c.changed ? ` ${changedBadge}` : ""}`))]);
  if (r?.reason) rows.push([status === "failed" ? "failure" : "note", `<span${r.status === "failed" ? ' class="failure"' : ""}>${esc(r.reason)}</span>`]);
  if (r?.failedStep) rows.push(["failed step", `<code class="failure">${esc(r.failedStep)}</code>`]);
  if (r) rows.push(["duration", esc(`${formatMs(r.durationMs)}${r.startedAt ? `, ${r.startedAt} to ${r.finishedAt ?? "?"}` : ""}`)]);
  if (r?.pushStartedAt && r.pushFinishedAt) rows.push(["push", esc(`${formatMs(Date.parse(r.pushFinishedAt) - Date.parse(r.pushStartedAt))}, ${r.pushStartedAt} to ${r.pushFinishedAt}`)]);
  if (r?.steps) rows.push(["steps", esc(`${r.steps.total} steps: ${stepsText(r.steps, r.status)}`)]);
  rows.push(["tags", tagsTable(b, r)]);
  if (r?.signature) rows.push(["signature", signatureText(r.signature)]);
  if (r?.attestation) rows.push(["attestations", attestationText(r.attestation)]);
  if (index) rows.push(["image index", indexTable(index.layer, index.result)]);
  if (r?.outputs?.["docker-image-hash"]) rows.push(["image id", `<code>${esc(r.outputs["docker-image-hash"])}</code>`]);
  if (b.request.inputsDigest) rows.push(["inputs digest", `<code>${esc(b.request.inputsDigest)}</code>`]);
  const parents = Object.entries(b.request.inputs?.parents ?? {});
  if (parents.length) rows.push(["parents pinned", list(parents.map(([ref, digest]) => parentText(ref, digest, byId)))]);
  if (b.finalImages?.length) rows.push(["final images", list(b.finalImages.map((f) => `<code>${esc(f)}</code>`))]);
  if (logLink) rows.push(["log", `<a href="${esc(logLink)}">${esc(logLink)}</a> (the whole log)`]);
  const tail = logTail?.length && r && showsLogTail(r)
    ? `<p>Last lines of its log:</p><pre class="log">${esc(logTail.join("\n"))}</pre>` : "";
  return `<section class="build${status === "failed" ? " failed" : ""}" id="${anchorOf(b.id)}" data-id="${esc(b.id)}">
<h3><code>${esc(b.id)}</code> ${badges(b, status)}</h3>
<dl>${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("")}</dl>${tail}</section>`;
}

/**
 * Whether a build's details show the tail of its log: a failed build, or an image whose push failed
 * (a built or reused one with a reason). The shell reads the tails of these alone (cli/commands/report.ts).
 */
export function showsLogTail(r: BuildResult): boolean {
  return r.status === "failed" || (r.reason !== undefined && (r.status === "built" || r.status === "reused"));
}

const list = (items: string[]) => `<ul>${items.map((i) => `<li>${i}</li>`).join("")}</ul>`;

/**
 * Each tag with what the registry holds under it after the run (with --push), or as planned. The
 * tags a run pushed are its results' when it has them: an image published as a one-platform
 * index (with attestations) is pushed under platform tags made at run time, not the plan's.
 */
function tagsTable(b: PlannedBuild, r: BuildResult | undefined): string {
  const pushedTags = new Map(r?.tags?.map((t) => [t.tag, t]));
  const digests = r?.outputs?.["docker-image-digests"] ?? {};
  const tags = r?.tags?.length ? r.tags.map((t) => t.tag) : b.request.tags;
  const rows = tags.map((tag) => {
    const t = pushedTags.get(tag);
    const state = !r?.tags ? (tag === buildTag(b.request) ? "build tag" : "moving tag") : t?.pushed ? "pushed" : "not pushed";
    return tagRow(tag, state, t, t?.digest ?? digests[tag]);
  });
  return `<table><thead><tr><th scope="col">tag</th><th scope="col">${r?.tags ? "pushed" : "kind"}</th><th scope="col">registry digest</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/**
 * A tag's row: what the run did with it, and why not (its results' reason: `not moved: … newer`,
 * another run's image); the registry's digest under it, or what it holds instead (`registryDigest`).
 */
function tagRow(tag: string, state: string, t: Pick<TagResult, "registryDigest" | "reason"> | undefined, digest: string | undefined): string {
  const why = state === "not pushed" && t?.reason ? `<br><span class="why">${esc(t.reason)}</span>` : "";
  const held = digest ? `<code>${esc(digest)}</code>` : t?.registryDigest ? `<code>${esc(t.registryDigest)}</code> (not this build's)` : "";
  return `<tr><td><code>${esc(tag)}</code></td><td>${esc(state)}${why}</td><td>${held}</td></tr>`;
}

/** The tags of a layer's image index, its platforms (links to their builds), and what the registry holds under them after the run. */
function indexTable(layer: IndexLayer, result: IndexResult | undefined): string {
  const tags = result?.tags ?? [{ tag: layer.buildTag }, { tag: layer.movingTag }];
  const rows = tags.map((t, i) => {
    const state = !result ? (i === 0 ? "build tag" : "moving tag") : "pushed" in t && t.pushed ? "pushed" : "not pushed";
    return tagRow(t.tag, state, "pushed" in t ? t : undefined, "digest" in t ? t.digest : undefined);
  });
  const platforms = `<p>Platforms: ${layer.members.map((m) => `${detailsLink(m.id)} (${esc(m.platform)})`).join(", ")}${result?.reason ? `. <span class="failure">${esc(result.reason)}</span>` : ""}</p>`;
  const signature = result?.signature ? `<p>Signature: ${signatureText(result.signature)}</p>` : "";
  return `${platforms}${signature}<table><thead><tr><th scope="col">index tag</th><th scope="col">${result ? "pushed" : "kind"}</th><th scope="col">registry digest</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** The image's attestation manifest (provenance and SBOM): which, about which image, and whether this run wrote it (or why it failed). */
function attestationText(a: AttestationResult): string {
  if (a.status === "failed") return `<span class="failure">${esc(`not uploaded: ${a.reason ?? "failed"}`)}</span>`;
  return `provenance and SBOM: attestation manifest <code>${esc(a.digest ?? "")}</code> (${esc(a.status)}), about image <code>${esc(a.subject ?? "")}</code>`;
}

/** Where the cosign signature of a pushed digest is, and whether this run wrote it. */
function signatureText(sig: SignatureResult): string {
  if (sig.status === "failed") return `<span class="failure">${esc(`not signed: ${sig.reason}`)}</span>`;
  return `<code>${esc(sig.tag)}</code> (${esc(sig.status)}; signature manifest <code>${esc(sig.manifestDigest)}</code>)`;
}

/** `sci/base:1.0` (inputs sha256:…), and the image it was built on when its parent is in this run. */
function parentText(ref: string, inputsDigest: string, byId: Map<string, BuildResult>): string {
  const id = ref.replace(/:[^:/]*$/, "");
  const image = byId.get(id)?.outputs?.["docker-image-hash"];
  const link = byId.has(id) ? detailsLink(id, ref) : `<code>${esc(ref)}</code>`;
  return `${link}: inputs <code>${esc(inputsDigest)}</code>${image ? `, image <code>${esc(image)}</code>` : ""}`;
}
