// A small repository's layers and the plan made from them, for tests of what is done with plans
// (waves, --only selections, plan files, the graph): a <- b, c alone, one compat layer.
import { planBuilds } from "../../src/core/plan/plan-builds.js";
import { readLayers, type RawLayerFiles } from "../../src/core/parse/layer-config.js";
import type { Plan } from "../../src/core/model.js";

export const sci = (dir: string, meta: Record<string, unknown>, df: string): RawLayerFiles =>
  ({ kind: "science", dir, config: JSON.stringify({ compat: "base", ...meta }), dockerfile: df });
export const RAW: RawLayerFiles[] = [
  sci("a", { image: "a" }, "FROM busybox:stable\n"),
  sci("b", { image: "b" }, "FROM sci/a:1.0\n"),
  sci("c", { image: "c" }, "FROM busybox:stable\n"),
  { kind: "compat", dir: "base", config: "{}", dockerfile: "RUN true\n" },
];
export const GIT = { commit: "c0ffee".padEnd(40, "0"), shortCommit: "c0ffee0", buildNumber: 3 };

export function makePlan(changes: { science?: string[]; compat?: string[] }): Plan {
  return planBuilds(readLayers(RAW), {
    repo: "127.0.0.1:5055/x", git: GIT, buildTime: 1, buildArgs: {},
    changes: { all: false, science: changes.science ?? [], compat: changes.compat ?? [], why: "changed" },
  });
}
