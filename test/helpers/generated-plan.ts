// A large plan made in memory by the planner itself, for the report's speed (unit test and bench):
// `layers` science layers in chains of 5, every layer a new version of its image (so each is a final
// image with a compat build), every third chain built on an earlier chain, 10 compat layers each
// including the one before; the first layer of every chain changed, so every layer is in the plan.
import { planBuilds } from "../../src/core/plan/plan-builds.js";
import { readLayers, type RawLayerFiles } from "../../src/core/parse/layer-config.js";
import type { BuildResult, Plan } from "../../src/core/model.js";
import { GIT, sci } from "./small-plan.js";

export function generatedPlan(layers: number): Plan {
  const raw: RawLayerFiles[] = [];
  for (let i = 0; i < layers; i++) {
    const from = i % 5 === 0 ? (i >= 10 && i % 15 === 0 ? `sci/l${i - 6}:1.${i - 6}` : "busybox:stable") : `sci/l${i - 1}:1.${i - 1}`;
    raw.push(sci(`l${i}`, { image: `img${Math.floor(i / 5)}`, version: `1.${i}`, compat: `c${i % 10}` }, `FROM ${from}\nRUN make\n`));
  }
  for (let c = 0; c < 10; c++) raw.push({ kind: "compat", dir: `c${c}`, config: JSON.stringify({ includes: c ? [`c${c - 1}`] : [] }), dockerfile: "RUN true\n" });
  const changed = raw.filter((r, i) => r.kind === "science" && i % 5 === 0).map((r) => r.dir);
  return planBuilds(readLayers(raw), { repo: "r.example/x", git: GIT, buildTime: 1, buildArgs: {}, changes: { all: false, science: changed, compat: ["c3"], why: "changed" } });
}

/** A run of the plan on two slots: each build 1 s, one in 50 failed. */
export function generatedResults(plan: Plan): BuildResult[] {
  const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
  return plan.builds.map((b, i) => ({
    id: b.id, status: i % 50 === 7 ? "failed" : "built", durationMs: 1000, pushed: false,
    startedAt: at(Math.floor(i / 2) * 1000), finishedAt: at(Math.floor(i / 2) * 1000 + 1000),
  }));
}
