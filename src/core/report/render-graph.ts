// `image-builder graph`: the layer graph with what a change touches marked, as Mermaid or DOT,
// so a reviewer sees a plan at a glance.
import type { RepositoryAnalysis } from "../plan/analyze-repository.js";
import type { LayerPlatforms } from "../plan/layer-platforms.js";
import type { ChangeSet, Plan, RepoSnapshot } from "../model.js";

export type GraphFormat = "mermaid" | "dot";

type Mark = "changed" | "rebuilt" | undefined;
interface Node { id: string; label: string; shape: "science" | "compat" | "final"; mark: Mark }
interface Edge { from: string; to: string; dashed?: boolean }


/** `platforms`: each science layer's (layerPlatforms); a layer with platforms shows them, as does its final image. */
export function layerGraph(
  snapshot: RepoSnapshot, analysis: RepositoryAnalysis, plan: Plan, changes: ChangeSet, platforms?: LayerPlatforms,
): { nodes: Node[]; edges: Edge[] } {
  // A build per platform (`sci/x@linux/arm64`) marks its layer.
  const planned = new Set(plan.builds.map((b) => b.id.replace(/@[^@]*$/, "")));
  const on = (target: string) => {
    const these = platforms?.get(target);
    return these ? ` (${these.join(", ")})` : "";
  };
  const changedScience = new Set(changes.science);
  const changedCompat = new Set(changes.compat);
  const markOf = (id: string, changed: boolean): Mark => (changes.all || changed ? "changed" : planned.has(id) ? "rebuilt" : undefined);
  const nodes: Node[] = [];
  const edges: Edge[] = [];
  const byTarget = new Map(snapshot.science.map((l) => [l.target, l]));
  for (const t of analysis.order) {
    const l = byTarget.get(t)!;
    nodes.push({ id: `sci/${t}`, label: `sci/${t}:${l.version}${on(t)}`, shape: "science", mark: markOf(`sci/${t}`, changedScience.has(l.dir)) });
    for (const p of analysis.deps.get(t)!.parents) edges.push({ from: `sci/${p}`, to: `sci/${t}` });
  }
  for (const c of snapshot.compat) {
    nodes.push({ id: `compat/${c.dir}`, label: `compat/${c.dir}`, shape: "compat", mark: markOf(`compat/${c.dir}`, changedCompat.has(c.dir)) });
    for (const inc of c.includes) edges.push({ from: `compat/${inc}`, to: `compat/${c.dir}`, dashed: true });
    // A fragment's COPY --from a science layer: that layer is built before, and rebuilds, the finals.
    for (const p of analysis.compatDeps.get(c.dir)?.parents ?? []) edges.push({ from: `sci/${p}`, to: `compat/${c.dir}` });
  }
  for (const [key, target] of analysis.finals) {
    const id = `rel/${key}`;
    nodes.push({ id, label: `rel/${key}${on(target)}`, shape: "final", mark: planned.has(id) ? "rebuilt" : undefined });
    edges.push({ from: `sci/${target}`, to: id });
    edges.push({ from: `compat/${byTarget.get(target)!.compat}`, to: id, dashed: true });
  }
  return { nodes, edges };
}

export function renderGraph(
  snapshot: RepoSnapshot, analysis: RepositoryAnalysis, plan: Plan, changes: ChangeSet, format: GraphFormat, platforms?: LayerPlatforms,
): string {
  const { nodes, edges } = layerGraph(snapshot, analysis, plan, changes, platforms);
  return format === "dot" ? renderDot(nodes, edges) : renderMermaid(nodes, edges);
}

function renderMermaid(nodes: Node[], edges: Edge[]): string {
  // Mermaid ids allow few characters: readable ones, made unique where two ids would meet
  // (`x-y` and `x_y`).
  const keys = new Map<string, string>();
  const used = new Set<string>();
  for (const n of nodes) {
    const base = n.id.replace(/[^A-Za-z0-9]/g, "_");
    let key = base;
    for (let i = 2; used.has(key); i++) key = `${base}_${i}`;
    used.add(key);
    keys.set(n.id, key);
  }
  const nodeKey = (id: string) => keys.get(id)!;
  const open = { science: "[", compat: "[/", final: "([" } as const;
  const close = { science: "]", compat: "/]", final: "])" } as const;
  const lines = ["graph LR"];
  for (const n of nodes) lines.push(`  ${nodeKey(n.id)}${open[n.shape]}"${mermaidText(n.label)}"${close[n.shape]}`);
  for (const e of edges) lines.push(`  ${nodeKey(e.from)} ${e.dashed ? "-.->" : "-->"} ${nodeKey(e.to)}`);
  lines.push("  classDef changed fill:#f96,stroke:#c30,stroke-width:2px");
  lines.push("  classDef rebuilt fill:#fe9,stroke:#c90");
  for (const mark of ["changed", "rebuilt"] as const) {
    const ids = nodes.filter((n) => n.mark === mark).map((n) => nodeKey(n.id));
    if (ids.length) lines.push(`  class ${ids.join(",")} ${mark}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * A Mermaid label's text: characters outside a plain set as Mermaid's entity codes (`#34;`), so
 * that quotes, brackets, `#`, `<` and line breaks in a compat directory's name stay text.
 */
function mermaidText(s: string): string {
  return s.replace(/[^A-Za-z0-9 ._:/@+=,-]/gu, (c) => `#${c.codePointAt(0)};`);
}

/** A DOT quoted string: quotes and backslashes escaped (DOT reads `\\n` in labels), line breaks as `\\n`. */
function dotString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\r?\n|\r/g, "\\n")}"`;
}

function renderDot(nodes: Node[], edges: Edge[]): string {
  // final images are rounded boxes, as in the mermaid rendering
  const shape = { science: "box", compat: "parallelogram", final: "box" } as const;
  const fill = { changed: "#ff9966", rebuilt: "#ffee99" } as const;
  const q = dotString;
  const lines = ["digraph layers {", "  rankdir=LR;", "  node [fontname=Helvetica];"];
  for (const n of nodes) {
    const styles = [...(n.shape === "final" ? ["rounded"] : []), ...(n.mark ? ["filled"] : [])];
    const style = styles.length === 0 ? "" : `, style=${styles.length > 1 ? q(styles.join(",")) : styles[0]}`;
    const fillcolor = n.mark ? `, fillcolor=${q(fill[n.mark])}` : "";
    lines.push(`  ${q(n.id)} [label=${q(n.label)}, shape=${shape[n.shape]}${style}${fillcolor}];`);
  }
  for (const e of edges) lines.push(`  ${q(e.from)} -> ${q(e.to)}${e.dashed ? " [style=dashed]" : ""};`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
