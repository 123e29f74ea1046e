import { test } from "uvu";
import * as assert from "uvu/assert";
import { StepTally } from "../../../../src/core/execute/build-steps.js";

/** A log's lines fed to a tally one by one, as the executor does while a build runs. */
function tallySteps(lines: string[]): StepTally {
  const tally = new StepTally();
  for (const line of lines) tally.observe(line);
  return tally;
}

test("classic builder: every Step line is a step, ` ---> Using cache` makes it cached, the last one started failed", () => {
  const tally = tallySteps([
    "Step 1/3 : FROM busybox:stable",
    " ---> 1a2b3c",
    "Step 2/3 : COPY . /x",
    " ---> Using cache",
    " ---> 4d5e6f",
    "Step 3/3 : RUN make",
    " ---> Running in 0a0a0a",
    "make: *** [all] Error 2",
  ]);
  assert.equal(tally.counts(), { total: 3, cached: 1 });
  assert.is(tally.failedStep(), "3/3 : RUN make");
});

test("BuildKit: [k/n] vertexes are steps (not [internal] ones), CACHED counts, the step with the ERROR failed", () => {
  const tally = tallySteps([
    "#1 [internal] load build definition from Dockerfile",
    "#1 DONE 0.0s",
    "#2 [internal] load metadata for docker.io/library/busybox:stable",
    "#2 ERROR: not found",
    "#3 [1/3] FROM docker.io/library/busybox:stable",
    "#3 CACHED",
    "#4 [stage-1 2/3] RUN make",
    "#5 [stage-1 3/3] RUN make test",
    "#4 make: *** [all] Error 2",
    "#4 ERROR: process \"/bin/sh -c make\" did not complete successfully: exit code: 2",
    "#5 CACHED",
  ]);
  assert.equal(tally.counts(), { total: 3, cached: 2 });
  assert.is(tally.failedStep(), "[stage-1 2/3] RUN make");
});

test("no steps in a log: nothing counted, no failing step", () => {
  const tally = tallySteps(["build sci/a (science, from science/a)", "pull busybox:stable: not found"]);
  assert.equal(tally.counts(), { total: 0, cached: 0 });
  assert.is(tally.failedStep(), undefined);
});

test.run();
