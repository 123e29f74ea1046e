// A small repository for inputs-digest tests, as pure data: a <- b (spelled with another registry),
// compat top includes base (both hold shared.conf), with context listings as the shell would read them.
import { readLayers, type RawLayerFiles } from "../../src/core/parse/layer-config.js";
import { planBuilds } from "../../src/core/plan/plan-builds.js";
import type { ContextFile, Plan, PlanOptions } from "../../src/core/model.js";

export const RAW: RawLayerFiles[] = [
  { kind: "science", dir: "a", config: JSON.stringify({ image: "a", version: "1.0", compat: "base" }), dockerfile: "FROM busybox:stable\nCOPY . /a\n" },
  { kind: "science", dir: "b", config: JSON.stringify({ image: "b", version: "1.0", compat: "top" }), dockerfile: "FROM registry.example.org/prod/sci/a:1.0\nRUN true\n" },
  { kind: "compat", dir: "base", config: "{}", dockerfile: "COPY base.txt /\n" },
  { kind: "compat", dir: "top", config: JSON.stringify({ includes: ["base"] }), dockerfile: "COPY top.txt /\n" },
];

export const file = (name: string, sha256: string, mode = 0o644): ContextFile => ({ name, type: "file", mode, sha256 });

export const CONTEXTS = new Map<string, ContextFile[]>([
  ["science/a", [file("Dockerfile", "1"), file("data.txt", "2")]],
  ["science/b", [file("Dockerfile", "3")]],
  ["compat/base", [file("base.txt", "4"), file("shared.conf", "5")]],
  ["compat/top", [file("top.txt", "6"), file("shared.conf", "7")]],
]);

/** The plan of every layer, at repo reg.example.org/ci. */
export function plan(over: Partial<PlanOptions> = {}, contexts = CONTEXTS, raw = RAW): Plan {
  return planBuilds(readLayers(raw), {
    repo: "reg.example.org/ci",
    git: { commit: "f".repeat(40), shortCommit: "fffffff", buildNumber: 42 },
    changes: { all: true, science: [], compat: [], why: "--all" },
    buildTime: 1700000000,
    buildArgs: {},
    contexts,
    ...over,
  });
}
