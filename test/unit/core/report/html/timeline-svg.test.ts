import { test } from "uvu";
import * as assert from "uvu/assert";
import { tickStep } from "../../../../../src/core/report/html/timeline-svg.js";
import { formatMs } from "../../../../../src/core/report/html/svg.js";

test("ticks: about 8 over the run, 1-2-5 steps, never closer than the labels' 0.1 s (no label repeated)", () => {
  assert.is(tickStep(80_000), 10_000);
  assert.is(tickStep(600_000), 100_000);
  assert.is(tickStep(300), 100);
  for (const total of [50, 300, 730, 2_400]) {
    const labels: string[] = [];
    for (let ms = 0; ms <= total + 1; ms += tickStep(total)) labels.push(formatMs(ms));
    assert.is(new Set(labels).size, labels.length, `${total} ms: ${labels.join(" ")}`);
  }
});

test.run();
