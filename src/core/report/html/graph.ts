// The plan's graph as SVG: its builds (science layers, and the compat builds that make the final
// images), each node with its status (fill, pattern, and the word) and what a change touched
// outlined; each node links to its details. The compat layers a compat build is made of are listed
// beside the graph, not drawn in it: each is used by many final images, and as nodes they tie
// every rank of the graph together (hundreds of long edges), which makes it unreadable and its
// layout slow (2.4 s at 100 layers, 29 s at 300, against 0.3 s without).
//
// Layout: dagre (@dagrejs/dagre), evaluated against elkjs and Graphviz in WebAssembly
// (@hpcc-js/wasm) on plan-shaped graphs (chains of layers, a compat build per final image; load
// 9 on 2 cores): dagre 94/258/861 ms at 120/360/1,200 nodes, elkjs 450/891/1,953 ms, Graphviz
// 238/532/1,140 ms. dagre is also the only one of them that is synchronous, so the report stays a
// pure function (elkjs and Graphviz-wasm are asynchronous); it is plain JavaScript of 2 MB, where
// @hpcc-js/wasm is 36 MB; its layered (Sugiyama) layout draws chains as rows, which is what a plan
// mostly is. Graphviz draws dense graphs somewhat more tidily, not enough to outweigh the rest;
// the `dot` binary is not on most agents.
import dagre from "@dagrejs/dagre";
import type { Plan } from "../../model.js";
import { reportStatus, runPushed, touchedByChange, type ReportStatus } from "./report-model.js";
import type { ResultsFile } from "../results.js";
import { anchorOf, attrs, esc, FONT, textWidth } from "./svg.js";
import { CHANGED_STROKE, patternDefs, STATUS_LOOK, statusRect } from "./status-style.js";

interface GraphNode {
  key: string;
  label: string;
  kind: "science" | "compat build";
  status: ReportStatus;
  changed: boolean;
  /** Its details. */
  href: string;
}

interface GraphEdge { from: string; to: string }

const NODE_HEIGHT = 36;
const PAD = 8;

export function planGraph(plan: Plan, results?: ResultsFile): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const byId = new Map(results?.results.map((r) => [r.id, r]));
  const pushed = runPushed(results);
  const nodes: GraphNode[] = plan.builds.map((b) => ({
    key: b.id, label: b.id, kind: b.kind === "science" ? "science" : "compat build",
    status: reportStatus(byId.get(b.id), pushed), changed: touchedByChange(b), href: `#${anchorOf(b.id)}`,
  }));
  // A parent outside the plan (built by another run) is no node of it.
  const inPlan = new Set(plan.builds.map((b) => b.id));
  const edges = plan.builds.flatMap((b) => b.dependsOn.filter((p) => inPlan.has(p)).map((p) => ({ from: p, to: b.id })));
  return { nodes, edges };
}

const secondLine = (n: GraphNode) => [STATUS_LOOK[n.status].label, ...(n.changed ? ["changed"] : [])].join(" · ");

interface Box { x: number; y: number; width: number; height: number }
interface Layout { width: number; height: number; boxes: Map<string, Box>; routes: Map<GraphEdge, { x: number; y: number }[]> }

/** Builds connected through parents, each group once: the families of images. */
function components(nodes: GraphNode[], edges: GraphEdge[]): { nodes: GraphNode[]; edges: GraphEdge[] }[] {
  const root = new Map(nodes.map((n) => [n.key, n.key]));
  const find = (k: string): string => {
    let r = k;
    while (root.get(r) !== r) r = root.get(r)!;
    root.set(k, r);
    return r;
  };
  for (const e of edges) root.set(find(e.from), find(e.to));
  const groups = new Map<string, { nodes: GraphNode[]; edges: GraphEdge[] }>();
  for (const n of nodes) {
    const k = find(n.key);
    if (!groups.has(k)) groups.set(k, { nodes: [], edges: [] });
    groups.get(k)!.nodes.push(n);
  }
  for (const e of edges) groups.get(find(e.from))!.edges.push(e);
  return [...groups.values()];
}

/**
 * Each family laid out on its own by dagre, the families stacked top to bottom in plan order,
 * so that unconnected families don't interleave on the page (dagre orders a rank's nodes all
 * together); it costs no more than one layout of everything.
 */
function layout(nodes: GraphNode[], edges: GraphEdge[]): Layout {
  const boxes = new Map<string, Box>();
  const routes = new Map<GraphEdge, { x: number; y: number }[]>();
  let width = 0;
  let top = 0;
  for (const part of components(nodes, edges)) {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "LR", nodesep: 14, ranksep: 48, marginx: 10, marginy: 6 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of part.nodes) g.setNode(n.key, { width: Math.max(textWidth(n.label), textWidth(secondLine(n))) + 2 * PAD, height: NODE_HEIGHT });
    for (const e of part.edges) g.setEdge(e.from, e.to);
    dagre.layout(g);
    for (const n of part.nodes) {
      const { x, y, width: w, height: h } = g.node(n.key) as unknown as Box;
      boxes.set(n.key, { x, y: y + top, width: w, height: h });
    }
    for (const e of part.edges) routes.set(e, ((g.edge(e.from, e.to)?.points ?? []) as { x: number; y: number }[]).map((p) => ({ x: p.x, y: p.y + top })));
    width = Math.max(width, g.graph().width ?? 0);
    top += g.graph().height ?? 0;
  }
  return { width: Math.ceil(width), height: Math.ceil(top), boxes, routes };
}

/** The graph of the plan as one `<svg>` element. */
export function renderGraphSvg(plan: Plan, results?: ResultsFile): string {
  const { nodes, edges } = planGraph(plan, results);
  const { width, height, boxes, routes } = layout(nodes, edges);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg"${attrs({ width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "graph-title", "font-family": FONT.family, "font-size": FONT.size })}>`);
  out.push(`<title id="graph-title">The plan's builds; arrows point from a parent to what is built on it</title>`);
  out.push(patternDefs("g"));
  for (const points of routes.values()) {
    if (points.length < 2) continue;
    const d = points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
    out.push(`<path${attrs({ d, fill: "none", stroke: "#888888", "stroke-width": 1.2, "marker-end": "url(#g-arrow)" })}/>`);
  }
  for (const n of nodes) out.push(nodeSvg(n, boxes.get(n.key)!));
  out.push("</svg>");
  return out.join("\n");
}

function nodeSvg(n: GraphNode, box: { x: number; y: number; width: number; height: number }): string {
  const look = STATUS_LOOK[n.status];
  const x = box.x - box.width / 2;
  const y = box.y - box.height / 2;
  const outline = n.changed ? { stroke: CHANGED_STROKE, width: 3 } : { stroke: look.stroke, width: 1.2 };
  const parts = [statusRect(look, "g", { x, y, width: box.width, height: box.height, rx: n.kind === "compat build" ? 12 : 2 }, outline)];
  const tx = box.x;
  parts.push(`<text${attrs({ x: tx, y: y + 15, "text-anchor": "middle", fill: "#000000" })}>${esc(n.label)}</text>`);
  parts.push(`<text${attrs({ x: tx, y: y + 29, "text-anchor": "middle", fill: "#222222", "font-size": 11, "font-weight": n.status === "failed" || n.status === "not pushed" || n.status === "superseded" ? "bold" : undefined })}>${esc(secondLine(n))}</text>`);
  const title = `<title>${esc(`${n.label}: ${secondLine(n)}`)}</title>`;
  const group = `<g${attrs({ class: "node" })}>${title}${parts.join("")}</g>`;
  return `<a${attrs({ href: n.href })}>${group}</a>`;
}
