// Fallback for machines without /usr/bin/time: preloaded with `node --import`, writes the process's
// peak resident memory (KB) and CPU times (s) to $IB_RSS_PROBE when it exits, in the format of
// `/usr/bin/time -f '%M %U %S'`.
import { writeFileSync } from "node:fs";

const file = process.env.IB_RSS_PROBE;
if (file) {
  process.on("exit", () => {
    const u = process.resourceUsage();
    writeFileSync(file, `${u.maxRSS} ${u.userCPUTime / 1e6} ${u.systemCPUTime / 1e6}\n`);
  });
}
