// Groups a plan's builds into waves: every build of a wave depends only on builds of earlier
// waves, so a pipeline can run each wave in parallel across agents.
import type { PlannedBuild } from "../model.js";

/** Builds are in plan order (parents first), so one pass assigns each its wave. */
export function groupIntoWaves(builds: Pick<PlannedBuild, "id" | "dependsOn">[]): string[][] {
  const waveOf = new Map<string, number>();
  const waves: string[][] = [];
  for (const b of builds) {
    let w = 0;
    for (const d of b.dependsOn) {
      const dw = waveOf.get(d);
      if (dw !== undefined && dw + 1 > w) w = dw + 1;
    }
    waveOf.set(b.id, w);
    (waves[w] ??= []).push(b.id);
  }
  return waves;
}
