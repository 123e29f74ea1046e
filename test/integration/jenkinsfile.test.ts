// The Jenkinsfile compiles with Groovy, and its image-builder command lines are the ones the
// pipeline integration test runs (test/integration/jenkins-pipeline.test.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { copyFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { JENKINSFILE, jenkinsImageBuilderCommands } from "../helpers/jenkins.js";
import { tempDir } from "../helpers/temp.js";

function javaHome(): string | undefined {
  if (process.env.JAVA_HOME) return process.env.JAVA_HOME;
  const which = spawnSync("sh", ["-c", "command -v java"], { encoding: "utf8" }).stdout.trim();
  return which ? dirname(dirname(realpathSync(which))) : undefined;
}

test("the Jenkinsfile compiles with groovyc", () => {
  using dir = tempDir("ib-groovy-");
  // groovyc wants a .groovy name; the class name follows the file name.
  copyFileSync(JENKINSFILE, join(dir.path, "Jenkinsfile.groovy"));
  const r = spawnSync("groovyc", ["-d", join(dir.path, "out"), join(dir.path, "Jenkinsfile.groovy")], {
    encoding: "utf8",
    env: { ...process.env, JAVA_HOME: javaHome() },
  });
  assert.ok(!r.error, `groovyc could not run (${r.error?.message}); test/run.sh installs Debian's groovy`);
  assert.is(r.status, 0, r.stderr + r.stdout);
});

test("the pipeline's image-builder command lines are the ones the pipeline test runs", () => {
  assert.equal(jenkinsImageBuilderCommands(), [
    "./image-builder -v --dryrun $PLAN_ARGS",
    "./image-builder plan $PLAN_ARGS --out plan.json --waves > waves.txt",
    "./image-builder graph $PLAN_ARGS --format mermaid > plan-graph.mmd",
    "rm -rf plan-report && ./image-builder report --plan plan.json --out plan-report",
    "./image-builder merge-results results/*.json --out results.json",
    "./image-builder report --plan plan.json --results results.json --log-dir logs --out report",
    './image-builder run plan.json --only "$REQUEST_ID" --push --progress plain --results "results/$RESULT_NAME.json" --log-dir logs',
  ]);
});

test.run();
