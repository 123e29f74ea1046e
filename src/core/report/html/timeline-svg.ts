// The run's timeline as SVG: one row per build over wall time, its wait for a slot or a parent
// (queue), its build step and its push; the critical path outlined; and below it the slots
// (`--jobs`) with the builds each ran, so a long run shows where its time went.
import type { Timeline, TimelineBar } from "./report-model.js";
import { anchorOf, attrs, esc, fitText, FONT, formatMs, textWidth } from "./svg.js";
import { patternDefs, STATUS_LOOK, statusRect } from "./status-style.js";

const ROW = 22;
const CHART_WIDTH = 760;
const AXIS = 24;
const GAP = 12;

/**
 * A tick every 1, 2, 5, 10, … units: about 8 ticks over the run, none closer than the labels' 0.1 s
 * (a short run's ticks would repeat their labels).
 */
export function tickStep(totalMs: number): number {
  const rough = Math.max(totalMs / 8, 100);
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
}

export function renderTimelineSvg(t: Timeline): string {
  const labelWidth = Math.min(320, Math.max(...t.bars.map((b) => textWidth(`» ${b.id}`)), textWidth("slot 00"))) + GAP;
  const scale = CHART_WIDTH / Math.max(t.totalMs, 1);
  const x = (ms: number) => labelWidth + ms * scale;
  const rowsHeight = t.bars.length * ROW;
  const slotsTop = AXIS + rowsHeight + 2 * GAP + 16;
  const height = slotsTop + t.slots * ROW + GAP;
  const width = labelWidth + CHART_WIDTH + 90;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg"${attrs({ width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "timeline-title", "font-family": FONT.family, "font-size": FONT.size })}>`);
  out.push(`<title id="timeline-title">Timeline: one row per build over wall time (${esc(formatMs(t.totalMs))}); the builds table lists the same times</title>`);
  out.push(patternDefs("t"));
  const step = tickStep(t.totalMs);
  for (let ms = 0; ms <= t.totalMs + 1; ms += step) {
    out.push(`<line${attrs({ x1: x(ms), y1: AXIS - 4, x2: x(ms), y2: height - GAP, stroke: "#e2e2e2" })}/>`);
    out.push(`<text${attrs({ x: x(ms), y: AXIS - 8, "text-anchor": "middle", fill: "#444444" })}>${esc(formatMs(ms))}</text>`);
  }
  t.bars.forEach((b, i) => out.push(row(b, AXIS + i * ROW, labelWidth, x)));
  out.push(`<text${attrs({ x: 0, y: slotsTop - 8, fill: "#000000", "font-weight": "bold" })}>${esc(`Slots: ${t.slots} used${t.jobs ? ` of --jobs ${t.jobs}` : ""} (builds at once)`)}</text>`);
  for (let s = 0; s < t.slots; s++) {
    const y = slotsTop + s * ROW;
    out.push(`<text${attrs({ x: 0, y: y + 15, fill: "#000000" })}>slot ${s + 1}</text>`);
    for (const b of t.bars.filter((bar) => bar.slot === s)) {
      const look = STATUS_LOOK[b.status];
      const w = Math.max(1, (b.end - b.start) * scale);
      out.push(`<rect${attrs({ x: x(b.start), y: y + 3, width: w, height: ROW - 6, fill: look.fill, stroke: look.stroke })}><title>${esc(`${b.id}: ${look.label}, ${formatMs(b.end - b.start)}`)}</title></rect>`);
      const label = fitText(b.id, w - 4);
      if (label) out.push(`<text${attrs({ x: x(b.start) + 2, y: y + 15, fill: "#000000", "font-size": 11 })}>${esc(label)}</text>`);
    }
  }
  out.push("</svg>");
  return out.join("\n");
}

function row(b: TimelineBar, y: number, labelWidth: number, x: (ms: number) => number): string {
  const look = STATUS_LOOK[b.status];
  const parts: string[] = [];
  if (b.critical) parts.push(`<rect${attrs({ x: 0, y, width: x(Math.max(b.end, b.pushEnd ?? 0)) + 4, height: ROW, fill: "#fff3c4" })}/>`);
  const label = fitText(`${b.critical ? "» " : ""}${b.id}`, labelWidth - GAP);
  parts.push(`<a${attrs({ href: `#${anchorOf(b.id)}` })}><text${attrs({ x: 0, y: y + 15, fill: "#000000", "font-weight": b.critical ? "bold" : undefined })}>${esc(label)}</text></a>`);
  if (b.start > b.ready) {
    parts.push(`<rect${attrs({ x: x(b.ready), y: y + 8, width: x(b.start) - x(b.ready), height: 6, fill: "#bbbbbb" })}><title>${esc(`${b.id}: waited ${formatMs(b.start - b.ready)} for a slot`)}</title></rect>`);
  }
  const w = Math.max(2, x(b.end) - x(b.start));
  const outline = b.critical ? { stroke: "#000000", width: 2.5 } : { stroke: look.stroke, width: 1 };
  parts.push(statusRect(look, "t", { x: x(b.start), y: y + 3, width: w, height: ROW - 6 }, outline,
    `${b.id}: ${look.label} in ${formatMs(b.end - b.start)}, slot ${b.slot + 1}${b.critical ? ", on the critical path" : ""}`));
  let end = x(b.end);
  if (b.pushStart !== undefined && b.pushEnd !== undefined) {
    if (b.pushStart > b.end) parts.push(`<line${attrs({ x1: x(b.end), y1: y + 11, x2: x(b.pushStart), y2: y + 11, stroke: "#888888", "stroke-dasharray": "2 2" })}/>`);
    const pw = Math.max(2, x(b.pushEnd) - x(b.pushStart));
    parts.push(`<rect${attrs({ x: x(b.pushStart), y: y + 6, width: pw, height: ROW - 12, fill: "#3b3b8f" })}><title>${esc(`${b.id}: push ${formatMs(b.pushEnd - b.pushStart)}`)}</title></rect>`);
    end = x(b.pushEnd);
  }
  parts.push(`<text${attrs({ x: end + 4, y: y + 15, fill: "#333333", "font-size": 11 })}>${esc(`${look.label} ${formatMs(b.end - b.start)}`)}</text>`);
  return `<g>${parts.join("")}</g>`;
}
