// The report's one stylesheet, written next to index.html as report.css: Jenkins serves archived
// files with `style-src 'self'`, which allows a stylesheet file and nothing inline.
export const STYLESHEET_FILE = "report.css";

export const STYLESHEET = `/* image-builder report */
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0 auto; padding: 1rem; max-width: 80rem; color: #111; background: #fff; line-height: 1.4; }
h1 { font-size: 1.5rem; margin: 0.2rem 0; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05rem; margin: 0 0 0.4rem; overflow-wrap: anywhere; }
code, pre, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.85rem; }
code, td, dd { overflow-wrap: break-word; }
#builds td:first-child code { white-space: nowrap; }
dd code, dd td { overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; }
a { color: #0b4f9c; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; }
.meta { color: #333; margin: 0.2rem 0; }
.counts { display: flex; flex-wrap: wrap; gap: 0.4rem; padding: 0; list-style: none; }
.drawing { overflow: auto; border: 1px solid #ddd; max-height: 80vh; background: #fff; }
.drawing svg { display: block; }
.legend { display: flex; flex-wrap: wrap; gap: 0.2rem 1rem; padding: 0; list-style: none; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.85rem; }
.legend li { display: flex; align-items: center; gap: 0.3rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.2rem 0.5rem; border-bottom: 1px solid #e4e4e4; vertical-align: top; }
th { background: #f3f3f3; }
.status { display: inline-block; padding: 0 0.4rem; border: 1px solid #555; border-radius: 3px; font-weight: 600; white-space: nowrap; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.status-planned { background: #fff; }
.status-built { background: #a8e0a0; border-color: #2a7a2a; }
.status-reused { background: #a9d4f5; border-color: #1f5f99; }
.status-not-pushed { background: #ffd38a; border-color: #b36b00; }
.status-superseded { background: #e6c9f0; border-color: #7a3b8f; }
.status-failed { background: repeating-linear-gradient(135deg, #f7a8a8 0 6px, #e98f8f 6px 9px); border-color: #b01c1c; }
.status-skipped { background: #eee; border-style: dashed; }
.status-cancelled { background: #ddd; border-style: dotted; }
.changed { display: inline-block; padding: 0 0.4rem; border: 2px solid #d55e00; border-radius: 3px; }
.build { border: 1px solid #ddd; border-radius: 4px; padding: 0.6rem 0.8rem; margin: 0.8rem 0; break-inside: avoid; }
.build.failed { border: 2px solid #b01c1c; }
.build:target { outline: 3px solid #0b4f9c; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; min-width: 0; }
dd ul { margin: 0; padding-left: 1.1rem; }
pre.log { background: #f6f6f6; border: 1px solid #ddd; padding: 0.5rem; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 30rem; }
.failure { color: #8a0000; font-weight: 600; }
.why { color: #444; font-size: 0.9em; }
.critical-path { overflow-wrap: anywhere; }
@media (max-width: 40rem) {
  body { padding: 0.5rem; }
  dl { grid-template-columns: 1fr; }
  dt { margin-top: 0.4rem; }
}
@media print {
  body { max-width: none; padding: 0; }
  nav { display: none; }
  .drawing { overflow: visible; max-height: none; border: none; }
  .drawing svg { max-width: 100%; height: auto; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; }
  pre.log { max-height: none; }
}
`;
