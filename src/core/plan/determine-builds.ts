// Rule 6: which builds a change results in, and why. A changed science layer rebuilds every layer
// built on it, transitively and across images; a rebuilt final layer gets its compat build; a
// changed compat layer (or one it includes at any depth) gives a compat build to every final
// image that uses it, and so does a rebuilt science layer that such a compat layer copies from; so
// does a final image a science layer left (removed, or moved to another image version).
import type { RepositoryAnalysis } from "./analyze-repository.js";
import { parentsFirst } from "./graph.js";
import type { ChangeSet, ScienceLayer } from "../model.js";

export interface BuildSelection {
  /** Science targets to build, parents before children, each with its reasons. */
  science: { target: string; reasons: string[] }[];
  /** Final images (`image:version`) that get a compat build, with reasons. */
  compat: { key: string; target: string; reasons: string[] }[];
}

/**
 * `parentsOf`: a science layer's parents on any platform it is built for (`FROM
 * sci/base-${TARGETARCH}:1.0` names sci/base-amd64 on one, sci/base-arm64 on another, and no
 * parent in the analysis without a platform); by default the analysis' own.
 */
export function determineBuilds(layers: ScienceLayer[], analysis: RepositoryAnalysis, changes: ChangeSet, parentsOf: (target: string) => readonly string[] = (t) => analysis.deps.get(t)!.parents): BuildSelection {
  const byTarget = new Map(layers.map((l) => [l.target, l]));
  const byDir = new Map(layers.map((l) => [l.dir, l]));
  const reasons = new Map<string, string[]>();
  const add = (target: string, reason: string) => {
    const r = reasons.get(target);
    if (!r) reasons.set(target, [reason]);
    else if (!r.includes(reason)) r.push(reason);
  };

  if (changes.all) for (const l of layers) add(l.target, changes.why);
  for (const dir of changes.science) {
    const l = byDir.get(dir);
    if (l) add(l.target, changes.why);
  }

  // Parents first (on every platform), so a parent's rebuild is known before its children's.
  const science: BuildSelection["science"] = [];
  for (const target of parentsFirst([...analysis.order], parentsOf)) {
    for (const p of parentsOf(target)) {
      if (reasons.has(p)) add(target, `built on sci/${p}`);
    }
    const r = reasons.get(target);
    if (r) science.push({ target, reasons: r });
  }

  const changedCompat = new Set(changes.all ? [...analysis.includes.keys()] : changes.compat);
  // A layer that left an image version: the layer final for it now gets its compat build (layers-left.ts).
  const leftReasons = new Map<string, string[]>();
  for (const { dir, left, now } of changes.left ?? []) {
    const reason = `science layer ${dir} left ${left} (${now ? `now ${now}` : "removed"})`;
    leftReasons.set(left, [...(leftReasons.get(left) ?? []), reason]);
  }
  const compat: BuildSelection["compat"] = [];
  for (const target of analysis.order) {
    const layer = byTarget.get(target)!;
    const key = `${layer.image}:${layer.version}`;
    if (analysis.finals.get(key) !== target) continue;
    const why: string[] = [];
    if (reasons.has(target)) why.push(`science layer sci/${target} rebuilt`);
    for (const c of analysis.includes.get(layer.compat!)!) {
      for (const p of analysis.compatDeps.get(c)!.parents) {
        if (!reasons.has(p) || p === target) continue;
        const reason = c === layer.compat
          ? `science layer sci/${p} rebuilt (compat ${c} copies from it)`
          : `science layer sci/${p} rebuilt (compat ${c} copies from it, included by ${layer.compat})`;
        if (!why.includes(reason)) why.push(reason);
      }
    }
    if (!changes.all) {
      for (const c of analysis.includes.get(layer.compat!)!) {
        if (!changedCompat.has(c)) continue;
        // changes.why says how: "changed since HEAD^", "changed in A..B", "named by --include"
        why.push(c === layer.compat ? `compat ${c} ${changes.why}` : `compat ${c} ${changes.why} (included by ${layer.compat})`);
      }
    }
    for (const reason of leftReasons.get(key) ?? []) if (!why.includes(reason)) why.push(reason);
    if (why.length) compat.push({ key, target, reasons: why });
  }
  return { science, compat };
}
