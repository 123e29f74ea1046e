// How each status looks: a fill colour, and besides colour a text label and a pattern or outline,
// so the status reads without colour (printed in grey, colour-blind readers). The colours are
// Okabe-Ito-like, light enough for black text.
import type { ReportStatus } from "./report-model.js";
import { attrs, esc } from "./svg.js";

export interface StatusLook {
  /** The word shown in every node, bar and table row. */
  label: string;
  fill: string;
  stroke: string;
  /** An SVG pattern over the fill (see PATTERNS), for the statuses that need attention. */
  pattern?: "hatch" | "cross" | "dots";
  /** Outline: dashed for what did not run. */
  dash?: string;
}

export const STATUS_LOOK: Record<ReportStatus, StatusLook> = {
  planned: { label: "planned", fill: "#ffffff", stroke: "#555555" },
  built: { label: "built", fill: "#a8e0a0", stroke: "#2a7a2a" },
  reused: { label: "reused", fill: "#a9d4f5", stroke: "#1f5f99" },
  "not pushed": { label: "NOT PUSHED", fill: "#ffd38a", stroke: "#b36b00", pattern: "dots" },
  superseded: { label: "SUPERSEDED", fill: "#e6c9f0", stroke: "#7a3b8f", pattern: "dots" },
  failed: { label: "FAILED", fill: "#f7a8a8", stroke: "#b01c1c", pattern: "hatch" },
  skipped: { label: "skipped", fill: "#eeeeee", stroke: "#777777", dash: "5 3" },
  cancelled: { label: "cancelled", fill: "#dddddd", stroke: "#555555", pattern: "cross", dash: "2 2" },
};

/** What a change touched: a thick outline in this colour, and the word "changed". */
export const CHANGED_STROKE = "#d55e00";

/** The patterns' definitions, once per SVG (ids are per document, so each drawing has its own prefix). */
export function patternDefs(prefix: string): string {
  const line = (d: string) => `<path d="${d}" stroke="#000000" stroke-opacity="0.25" stroke-width="1.5"/>`;
  return `<defs>`
    + `<pattern id="${prefix}-hatch" width="8" height="8" patternUnits="userSpaceOnUse">${line("M0,8 L8,0 M-2,2 L2,-2 M6,10 L10,6")}</pattern>`
    + `<pattern id="${prefix}-cross" width="8" height="8" patternUnits="userSpaceOnUse">${line("M0,0 L8,8 M8,0 L0,8")}</pattern>`
    + `<pattern id="${prefix}-dots" width="6" height="6" patternUnits="userSpaceOnUse"><circle cx="3" cy="3" r="1.2" fill="#000000" fill-opacity="0.35"/></pattern>`
    + `<marker id="${prefix}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#666666"/></marker>`
    + `</defs>`;
}

/**
 * A rectangle in a status's look, as the graph, the timeline and the legend draw it: filled,
 * outlined (dashed for what did not run), with the status's pattern over it. `prefix`: the
 * drawing's patternDefs; `outline`: the stroke, when not the look's own; `title`: its tooltip.
 */
export function statusRect(
  look: StatusLook, prefix: string, box: Record<string, number>, outline: { stroke: string; width: number }, title?: string,
): string {
  const shape = `<rect${attrs({ ...box, fill: look.fill, stroke: outline.stroke, "stroke-width": outline.width, "stroke-dasharray": look.dash })}`;
  const pattern = look.pattern ? `<rect${attrs({ ...box, fill: `url(#${prefix}-${look.pattern})`, stroke: "none" })}/>` : "";
  return `${title === undefined ? `${shape}/>` : `${shape}><title>${esc(title)}</title></rect>`}${pattern}`;
}
