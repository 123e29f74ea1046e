// Text in HTML and SVG, and the measures the report's drawings share. The report is read under
// Jenkins' Content-Security-Policy (no inline style or script), so every drawing is styled by
// SVG attributes alone, never a `style` attribute.
import { printable } from "../../printable.js";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text or an attribute value, safe in HTML and SVG. */
export function esc(text: string | number): string {
  // Control and bidirectional characters shown escaped, as the command line shows them (printable):
  // a U+202E in a step's text would display `<!-- evil` as `<!-- live`. Line ends and tabs stay (logs are <pre>).
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]).replace(SHOWN_ESCAPED, (c) => printable(c));
}

/** What printable escapes, but for the line ends and tabs a <pre> shows as such. */
const SHOWN_ESCAPED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** An element's attributes: `undefined` values left out, the rest escaped. */
export function attrs(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${esc(v!)}"`)
    .join("");
}

/** The drawings' font: monospace, so that a label's width is known without measuring it. */
export const FONT = { family: "DejaVu Sans Mono, Menlo, Consolas, monospace", size: 12, charWidth: 7.3 } as const;

export const textWidth = (text: string) => Math.ceil(text.length * FONT.charWidth);

/** `text` cut to fit `width` px, with an ellipsis. */
export function fitText(text: string, width: number): string {
  const max = Math.floor(width / FONT.charWidth);
  if (text.length <= max) return text;
  return max <= 1 ? "" : `${text.slice(0, max - 1)}…`;
}

/** A link target for a build's details: `b-sci-essentials-2-4`, unique per build id. */
export function anchorOf(id: string): string {
  let hash = 0;
  for (const c of id) hash = (hash * 31 + c.codePointAt(0)!) >>> 0;
  // Ids differing only in characters outside the plain set keep apart by the hash.
  return `b-${id.replace(/[^A-Za-z0-9_-]/g, "-")}-${hash.toString(36)}`;
}

export function formatMs(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}
