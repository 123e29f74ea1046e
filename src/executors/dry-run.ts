// What the default command prints about a plan, by verbosity (like the original tool: quiet but
// for errors; -v final images and a summary; -vv why each build; -vvv the whole plan).
import type { Plan } from "../core/model.js";
import { dockerBuildCommand } from "../core/requests/build-requests.js";
import { indexLayers } from "../core/execute/image-index.js";

/**
 * `why`: what the changes were looked for in ("changed since HEAD^"), as the plan's reasons say it.
 * `current`: why each layer left out is current (`--reconcile`), said at -vv.
 */
export function describePlan(plan: Plan, verbosity: number, why?: string, current: string[] = []): string[] {
  const lines: string[] = verbosity >= 2 ? [...current] : [];
  // Said even when quiet: otherwise a run that does nothing looks like one that did its work.
  if (plan.builds.length === 0) {
    return [...lines, `nothing to build: ${why === undefined ? "the plan has no builds" : why.startsWith("changed") ? `no layer ${why}` : `nothing ${why}`}`];
  }
  if (verbosity < 1) return [];
  const science = plan.builds.filter((b) => b.kind === "science");
  const compat = plan.builds.filter((b) => b.kind === "compat");
  // A final image built for several platforms is one line, naming them (one compat build each).
  const finals = new Map<string, { image: string; platforms: string[] }>();
  for (const b of compat) {
    const names = b.finalImages!.join(", ");
    const final = finals.get(names) ?? finals.set(names, { image: b.image, platforms: [] }).get(names)!;
    if (b.request.platform) final.platforms.push(b.request.platform);
  }
  for (const [names, { image, platforms }] of finals) {
    lines.push(`change results in final image ${image} => ${names}${platforms.length ? ` (${platforms.join(", ")})` : ""}`);
  }
  // The tags that hold an image index of the platforms' images (each platform's image has tags of its own).
  for (const layer of indexLayers(plan.builds)) {
    lines.push(`image index ${layer.buildTag}, ${layer.movingTag} (${layer.members.map((m) => m.platform).join(", ")})`);
  }
  if (verbosity >= 2) {
    for (const b of plan.builds) {
      const after = b.dependsOn.length ? ` (after ${b.dependsOn.join(", ")})` : "";
      // A plan from before inputs digests has none (`run` refuses it, `report --plan` reads it).
      lines.push(`build ${b.id}${after}: ${b.reasons.join("; ")}`, `  inputs ${b.request.inputsDigest ?? "(none: the plan has no inputs digest)"}`);
    }
  }
  if (verbosity >= 3) {
    for (const b of plan.builds) lines.push(...describeBuild(b));
  }
  lines.push(`final plan includes ${count(science.length, "science build")} and ${count(compat.length, "compat build")}`);
  return lines;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

function describeBuild(b: Plan["builds"][number]): string[] {
  const r = b.request;
  return [
    `--- ${b.id} (${b.kind}, ${b.image}:${b.version}, from ${b.source})`,
    `  command: ${dockerBuildCommand(b).map(shellQuote).join(" ")}`,
    `  contexts: ${r.contexts.join(" + ")}`,
    ...r.tags.map((t) => `  tag: ${t}`),
    ...Object.entries(r.labels).map(([k, v]) => `  label: ${k}=${v}`),
    ...Object.entries(r.imageRewrites).map(([from, to]) => `  base: ${from} -> ${to}`),
    "  dockerfile:",
    ...r.dockerfile.replace(/\s+$/, "").split("\n").map((l) => `    | ${l}`),
  ];
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
