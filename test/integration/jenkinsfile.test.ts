// The Jenkinsfile compiles with Groovy; its image-builder command lines are the ones the pipeline
// integration test runs (test/integration/jenkins-pipeline.test.ts); and its pipeline, run by the
// Jenkins-step shim (test/helpers/jenkins-shim.groovy) on waves from real plans, runs the stages,
// agents and commands the README promises, with and without platforms.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { examplesRepo } from "../helpers/fixture.js";
import {
  JENKINSFILE, jenkinsImageBuilderCommands, groovyEnv, runJenkinsfile,
  type JenkinsAgent, type JenkinsEvent, type JenkinsScenario, type JenkinsTrace,
} from "../helpers/jenkins.js";
import { science } from "../helpers/repo.js";
import { tempDir } from "../helpers/temp.js";

test("the Jenkinsfile compiles with groovyc", () => {
  using dir = tempDir("ib-groovy-");
  // groovyc wants a .groovy name; the class name follows the file name.
  copyFileSync(JENKINSFILE, join(dir.path, "Jenkinsfile.groovy"));
  const r = spawnSync("groovyc", ["-d", join(dir.path, "out"), join(dir.path, "Jenkinsfile.groovy")], {
    encoding: "utf8",
    env: groovyEnv(),
  });
  assert.ok(!r.error, `groovyc could not run (${r.error?.message}); test/run.sh installs Debian's groovy`);
  assert.is(r.status, 0, r.stderr + r.stdout);
});

test("the pipeline's image-builder command lines are the ones the pipeline test runs", () => {
  assert.equal(jenkinsImageBuilderCommands(), [
    "./image-builder -v --dryrun $SELECT_ARGS $PLAN_ARGS",
    "./image-builder plan $SELECT_ARGS $PLAN_ARGS --out plan.json --waves > waves.txt",
    "./image-builder graph $SELECT_ARGS $PLAN_ARGS --format mermaid > plan-graph.mmd",
    "rm -rf plan-report && ./image-builder report --plan plan.json --out plan-report",
    './image-builder run plan.json --only "$REQUEST_ID" --push --progress plain --results "results/$RESULT_NAME.json" --log-dir logs',
    './image-builder run plan.json --platform "$PLATFORM" --push --progress plain --results "results/$RESULT_NAME.json" --log-dir logs',
    './image-builder run plan.json --only $REQUEST_IDS --push --progress plain --results "results/$RESULT_NAME.json" --log-dir logs',
    "./image-builder merge-platforms plan.json $PLATFORM_RESULTS --results index-results.json",
    "./image-builder merge-results index-results.json results/*.json --out results.json",
    "./image-builder merge-results results/*.json --out results.json",
    "./image-builder report --plan plan.json --results results.json --log-dir logs --out report",
  ]);
});

// --- The pipeline, run by the shim -------------------------------------------------------------

const PASSWORD = "s3cret-registry-pw";
const AMD = { name: "amd-1", labels: ["docker", "amd64"] };
const ARM = { name: "arm-1", labels: ["docker", "arm64"] };
const PLAIN = { name: "plain-1", labels: ["docker"] };
const RUN_OPTIONS = "--push --progress plain";

/** waves.txt as `plan --all ARGS --waves` writes it for the examples (plus `extra` layers). */
function realWaves(args: string[], extra: Record<string, string> = {}): string {
  using repo = examplesRepo(extra);
  const r = runCli(["plan", "--all", ...args, "--waves", "--out", join(repo.root, "..", `plan-${process.pid}-${Date.now()}.json`)], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  return r.stdout;
}

const examplesWaves = realWaves([]);
const platformWaves = realWaves(["--platform", "linux/amd64,linux/arm64"]);

function pipeline(waves: string, nodes: JenkinsAgent[], more: Partial<JenkinsScenario> = {}): JenkinsTrace {
  return runJenkinsfile({
    env: { BRANCH_NAME: "main", BUILD_URL: "https://ci.example/job/images/7/", ...more.env },
    nodes,
    credentials: { "sciserver-registry": { username: "bot", password: PASSWORD }, "image-signing-key": { file: true }, ...more.credentials },
    outputs: { "waves.txt": waves, ...more.outputs },
    params: more.params,
    fail: more.fail,
  });
}

const shells = (t: JenkinsTrace) => t.events.filter((e) => e.step === "sh");
/** Each image-builder command as the shell runs it, with the agent it runs on. */
const commands = (t: JenkinsTrace) =>
  shells(t).filter((e) => e.shell!.includes("./image-builder")).map((e) => `${e.agent}: ${e.shell}`);
const stageNames = (t: JenkinsTrace) => t.events.filter((e) => e.step === "stage").map((e) => e.name);
const echoes = (t: JenkinsTrace) => t.events.filter((e) => e.step === "echo").map((e) => e.message);
const nodeLabels = (t: JenkinsTrace) => t.events.filter((e) => e.step === "node").map((e) => `${e.label} -> ${e.agent}`);
const isRun = (e: JenkinsEvent) => e.step === "sh" && / run plan\.json /.test(e.shell!);
const idsOf = (waves: string) => waves.trim().split(/\s+/);

/** The commands of the Plan stage, and the run's report, on the pipeline's own agent. */
const planCommands = (agent: string) => [
  `${agent}: ./image-builder -v --dryrun`,
  `${agent}: ./image-builder plan --out plan.json --waves > waves.txt`,
  `${agent}: ./image-builder graph --format mermaid > plan-graph.mmd`,
  `${agent}: rm -rf plan-report && ./image-builder report --plan plan.json --out plan-report`,
];
const PLAN_COMMANDS = planCommands("amd-1");
const report = (agent: string) => `${agent}: ./image-builder report --plan plan.json --results results.json --log-dir logs --out report`;
const REPORT = report("amd-1");
const resultFile = (name: string) => `results/${name.replace(/[^A-Za-z0-9_.-]/g, "_")}.json`;

test("a plan without platforms is built wave by wave on 'docker' agents, as before", () => {
  const t = pipeline(examplesWaves, [AMD, ARM, PLAIN]);
  assert.is(t.result, "SUCCESS", t.error ?? "");
  const waves = examplesWaves.trim().split("\n").map((l) => l.split(" "));
  assert.equal(stageNames(t), ["Set up", "Plan", "Build and push", ...waves.map((_, i) => `Wave ${i + 1}`)]);
  assert.equal(t.events.filter((e) => e.step === "parallel").map((e) => e.branches), waves);
  assert.not.ok(t.events.some((e) => e.step === "nodesByLabel"), "no platform agents looked for");
  const ids = idsOf(examplesWaves);
  assert.equal(commands(t), [
    ...PLAN_COMMANDS,
    ...ids.map((id) => `amd-1: ./image-builder run plan.json --only ${id} ${RUN_OPTIONS} --results ${resultFile(id)} --log-dir logs`),
    `amd-1: ./image-builder merge-results ${ids.map(resultFile).sort().join(" ")} --out results.json`,
    REPORT,
  ]);
  // Each request on an agent of its own labelled 'docker', with the registry credentials.
  assert.equal(nodeLabels(t), ["docker -> amd-1", ...ids.map(() => "docker -> amd-1")]);
  for (const run of shells(t).filter(isRun)) assert.equal(run.credentials, ["REGISTRY_USER", "REGISTRY_PASSWORD"], run.shell);
  assert.is(t.description, "Run report: https://ci.example/job/images/7/artifact/report/index.html");
});

test("a plan with platforms builds each platform on an agent labelled for it, then merges the platforms", () => {
  const t = pipeline(platformWaves, [PLAIN, AMD, ARM]);
  assert.is(t.result, "SUCCESS", t.error ?? "");
  assert.equal(stageNames(t), ["Set up", "Plan", "Build and push", "Platforms", "Merge platforms"]);
  assert.equal(t.events.filter((e) => e.step === "nodesByLabel").map((e) => e.label), ["docker && amd64", "docker && arm64"]);
  assert.equal(echoes(t).slice(0, 2), [
    "linux/amd64: built on an agent labelled 'docker && amd64' (online: amd-1)",
    "linux/arm64: built on an agent labelled 'docker && arm64' (online: arm-1)",
  ]);
  assert.equal(t.events.filter((e) => e.step === "parallel").map((e) => e.branches), [["linux/amd64", "linux/arm64"]]);
  assert.equal(nodeLabels(t), ["docker -> plain-1", "docker && amd64 -> amd-1", "docker && arm64 -> arm-1"]);
  assert.equal(commands(t), [
    ...planCommands("plain-1"),
    `amd-1: ./image-builder run plan.json --platform linux/amd64 ${RUN_OPTIONS} --results results/linux_amd64.json --log-dir logs`,
    `arm-1: ./image-builder run plan.json --platform linux/arm64 ${RUN_OPTIONS} --results results/linux_arm64.json --log-dir logs`,
    "plain-1: ./image-builder merge-platforms plan.json results/linux_amd64.json results/linux_arm64.json --results index-results.json",
    "plain-1: ./image-builder merge-results index-results.json results/linux_amd64.json results/linux_arm64.json --out results.json",
    report("plain-1"),
  ]);
  // Each platform run has the plan, and pushes with the credentials; the merge, run in the
  // pipeline's own workspace, has every platform's results and writes with the credentials.
  for (const run of shells(t).filter(isRun)) {
    assert.equal(run.credentials, ["REGISTRY_USER", "REGISTRY_PASSWORD"], run.shell);
    assert.equal(run.stages, ["Build and push", "Platforms"]);
  }
  const merge = shells(t).find((e) => e.shell!.includes("merge-platforms"))!;
  assert.equal(merge.stages, ["Build and push", "Merge platforms"]);
  assert.equal(merge.credentials, ["REGISTRY_USER", "REGISTRY_PASSWORD"]);
  const mergeAt = t.events.indexOf(merge);
  for (const name of ["results-linux_amd64", "results-linux_arm64"]) {
    const unstash = t.events.findIndex((e) => e.step === "unstash" && e.name === name && e.agent === "plain-1");
    assert.ok(unstash >= 0 && unstash < mergeAt, `${name} unstashed before the merge`);
  }
  assert.ok(t.events.some((e) => e.step === "archive" && e.artifacts!.includes("index-results.json")));
  assert.is(t.description, "Run report: https://ci.example/job/images/7/artifact/report/index.html");
});

test("a platform no online agent is labelled for is built on a 'docker' agent, emulated", () => {
  const offlineArm = { ...ARM, online: false };
  for (const nodes of [[AMD, PLAIN], [AMD, offlineArm, PLAIN], [PLAIN]]) {
    const t = pipeline(platformWaves, nodes);
    assert.is(t.result, "SUCCESS", t.error ?? "");
    const amdNative = nodes.includes(AMD);
    assert.equal(echoes(t).slice(0, 2), [
      amdNative ? "linux/amd64: built on an agent labelled 'docker && amd64' (online: amd-1)"
        : "linux/amd64: no online agent is labelled 'docker && amd64': built on a 'docker' agent, whose engine emulates linux/amd64",
      "linux/arm64: no online agent is labelled 'docker && arm64': built on a 'docker' agent, whose engine emulates linux/arm64",
    ]);
    const runs = shells(t).filter(isRun).map((e) => `${e.branch} on ${t.events.filter((n) => n.step === "node" && n.branch === e.branch)[0].label}`);
    assert.equal(runs, [`linux/amd64 on ${amdNative ? "docker && amd64" : "docker"}`, "linux/arm64 on docker"], JSON.stringify(nodes));
    assert.ok(commands(t).some((c) => c.endsWith("merge-platforms plan.json results/linux_amd64.json results/linux_arm64.json --results index-results.json")));
  }
});

test("a failed platform leaves the indexes alone: no merge, every platform's results reported, the build fails", () => {
  const t = pipeline(platformWaves, [AMD, ARM], { fail: ["--platform linux/arm64"] });
  assert.is(t.result, "FAILURE");
  assert.match(t.error!, "script returned exit code 1");
  assert.equal(stageNames(t), ["Set up", "Plan", "Build and push", "Platforms"]);
  assert.equal(commands(t).slice(PLAN_COMMANDS.length), [
    `amd-1: ./image-builder run plan.json --platform linux/amd64 ${RUN_OPTIONS} --results results/linux_amd64.json --log-dir logs`,
    `arm-1: ./image-builder run plan.json --platform linux/arm64 ${RUN_OPTIONS} --results results/linux_arm64.json --log-dir logs`,
    "amd-1: ./image-builder merge-results results/linux_amd64.json results/linux_arm64.json --out results.json",
    REPORT,
  ]);
  assert.is(t.description, "Run report: https://ci.example/job/images/7/artifact/report/index.html");

  // merge-platforms failing (a platform missing in the registry): what it wrote is reported too.
  const merge = pipeline(platformWaves, [AMD, ARM], { fail: ["merge-platforms"] });
  assert.is(merge.result, "FAILURE");
  assert.equal(commands(merge).slice(-2), [
    "amd-1: ./image-builder merge-results index-results.json results/linux_amd64.json results/linux_arm64.json --out results.json",
    REPORT,
  ]);
});

test("a plan mixing layers with and without platforms builds those without in one more run on a 'docker' agent", () => {
  const waves = realWaves([], science("multi", { image: "multi", version: "1.0", compat: "base", platforms: ["linux/amd64", "linux/arm64"] }, "FROM busybox:stable\n"));
  const ids = idsOf(waves);
  const enginePlatform = ids.filter((id) => !id.includes("@"));
  assert.ok(enginePlatform.length > 0 && enginePlatform.length < ids.length, waves);
  const t = pipeline(waves, [AMD, ARM]);
  assert.is(t.result, "SUCCESS", t.error ?? "");
  assert.equal(t.events.filter((e) => e.step === "parallel").map((e) => e.branches), [["linux/amd64", "linux/arm64", "engine-platform"]]);
  assert.equal(commands(t).slice(PLAN_COMMANDS.length), [
    `amd-1: ./image-builder run plan.json --platform linux/amd64 ${RUN_OPTIONS} --results results/linux_amd64.json --log-dir logs`,
    `arm-1: ./image-builder run plan.json --platform linux/arm64 ${RUN_OPTIONS} --results results/linux_arm64.json --log-dir logs`,
    `amd-1: ./image-builder run plan.json --only ${enginePlatform.join(" ")} ${RUN_OPTIONS} --results results/engine-platform.json --log-dir logs`,
    // Only the platforms' results make indexes; every run's results go into the report.
    "amd-1: ./image-builder merge-platforms plan.json results/linux_amd64.json results/linux_arm64.json --results index-results.json",
    "amd-1: ./image-builder merge-results index-results.json results/engine-platform.json results/linux_amd64.json results/linux_arm64.json --out results.json",
    REPORT,
  ]);
  const engineRun = t.events.find((e) => e.step === "node" && e.branch === "engine-platform")!;
  assert.is(engineRun.label, "docker");
});

test("pull requests plan and report, with platforms too: nothing is built, no credentials are used", () => {
  for (const waves of [examplesWaves, platformWaves]) {
    const t = pipeline(waves, [AMD, ARM], { env: { BRANCH_NAME: "PR-12" } });
    assert.is(t.result, "SUCCESS", t.error ?? "");
    assert.equal(stageNames(t), ["Set up", "Plan", "Build and push"]);
    assert.ok(t.events.some((e) => e.step === "skipped" && e.name === "Build and push"));
    assert.equal(commands(t), PLAN_COMMANDS);
    assert.not.ok(t.events.some((e) => e.step === "withCredentials" || e.step === "nodesByLabel"));
    assert.is(t.description, "Plan report: https://ci.example/job/images/7/artifact/plan-report/index.html");
  }
});

test("PLATFORMS is --platform of every planning command, and the plan it makes is built per platform", () => {
  const t = pipeline("", [AMD, ARM], { params: { PLATFORMS: " linux/arm64 " }, env: { BRANCH_NAME: "PR-3" } });
  const planning = commands(t).filter((c) => / (-v --dryrun|plan|graph) /.test(c));
  assert.equal(planning, [
    "amd-1: ./image-builder -v --dryrun --platform linux/arm64",
    "amd-1: ./image-builder plan --platform linux/arm64 --out plan.json --waves > waves.txt",
    "amd-1: ./image-builder graph --platform linux/arm64 --format mermaid > plan-graph.mmd",
  ]);
  assert.equal(commands(pipeline("", [AMD], { params: { PLATFORMS: "linux/amd64, linux/arm64" }, env: { BRANCH_NAME: "PR-3" } }))[0],
    "amd-1: ./image-builder -v --dryrun --platform linux/amd64,linux/arm64");
  assert.is(pipeline("", [AMD], { env: { BRANCH_NAME: "PR-3" } }).params.PLATFORMS, "", "default: what the plan declares");

  // The plan command as the pipeline runs it, for real: its waves make one platform stage.
  const planCommand = planning[1].replace(/^amd-1: \.\/image-builder /, "").replace(/ > waves\.txt$/, "").split(" ");
  using repo = examplesRepo();
  const r = runCli([...planCommand.map((w) => (w === "plan.json" ? join(repo.root, "..", `plan-${process.pid}.json`) : w)), "--all"], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  const built = pipeline(r.stdout, [AMD, ARM], { params: { PLATFORMS: "linux/arm64", ALL: true } });
  assert.is(built.result, "SUCCESS", built.error ?? "");
  assert.equal(commands(built).slice(PLAN_COMMANDS.length, -3), [
    `arm-1: ./image-builder run plan.json --platform linux/arm64 ${RUN_OPTIONS} --results results/linux_arm64.json --log-dir logs`,
  ]);
});

test("without ALL or RECONCILE the plan covers what changed since the last successful build; a commit of it the clone lacks (a force push) falls back to --reconcile on main, and says so", () => {
  const previous = "0123456789abcdef0123456789abcdef01234567";
  const planning = (t: JenkinsTrace) => commands(t).filter((c) => / (-v --dryrun|plan|graph) /.test(c));
  const known = pipeline("", [AMD], { env: { BRANCH_NAME: "PR-3", GIT_PREVIOUS_SUCCESSFUL_COMMIT: previous } });
  assert.equal(planning(known)[0], `amd-1: ./image-builder -v --dryrun --ref ${previous}..HEAD`);
  assert.ok(shells(known).some((e) => e.shell === `git cat-file -e ${previous}^{commit}`), "the commit is looked up");
  const fail = ["git cat-file"];
  const gone = pipeline("", [AMD], { env: { GIT_PREVIOUS_SUCCESSFUL_COMMIT: previous }, fail });
  assert.equal(planning(gone), [
    "amd-1: ./image-builder -v --dryrun --reconcile",
    "amd-1: ./image-builder plan --reconcile --out plan.json --waves > waves.txt",
    "amd-1: ./image-builder graph --reconcile --format mermaid > plan-graph.mmd",
  ]);
  assert.ok(gone.events.some((e) => e.step === "withCredentials"), "--reconcile reads the registry with the credentials");
  assert.ok(gone.events.some((e) => e.step === "echo" && e.message === `The last successful build's commit ${previous} is not in this clone (a force push?): planning what the registry lacks (--reconcile) instead`));
  // A pull request asks for no credentials: the last commit's change.
  const pr = pipeline("", [AMD], { env: { BRANCH_NAME: "PR-3", GIT_PREVIOUS_SUCCESSFUL_COMMIT: previous }, fail });
  assert.equal(commands(pr)[0], "amd-1: ./image-builder -v --dryrun");
  assert.not.ok(pr.events.some((e) => e.step === "withCredentials"));
  assert.equal(planning(pipeline("", [AMD], { params: { ALL: true }, env: { GIT_PREVIOUS_SUCCESSFUL_COMMIT: previous } }))[0], "amd-1: ./image-builder -v --dryrun --all");
});

test("the signing key's file is bound for the commands that push, only when SIGN_KEY_CREDENTIAL names it; no secret is echoed", () => {
  for (const waves of [examplesWaves, platformWaves]) {
    const signed = pipeline(waves, [AMD, ARM], { params: { SIGN_KEY_CREDENTIAL: "image-signing-key" } });
    assert.is(signed.result, "SUCCESS", signed.error ?? "");
    const pushing = shells(signed).filter((e) => isRun(e) || e.shell!.includes("merge-platforms"));
    assert.ok(pushing.length > 0);
    for (const e of pushing) {
      assert.equal(e.credentials, ["REGISTRY_USER", "REGISTRY_PASSWORD", "IMAGE_BUILDER_SIGN_KEY"], e.shell);
      assert.is(e.vars!.IMAGE_BUILDER_SIGN_KEY, "/secrets/image-signing-key");
    }
    for (const e of shells(signed).filter((s) => !pushing.includes(s))) {
      assert.not.ok(e.vars!.IMAGE_BUILDER_SIGN_KEY, `no key for ${e.shell}`);
    }
    const unsigned = pipeline(waves, [AMD, ARM]);
    assert.not.ok(shells(unsigned).some((e) => e.vars!.IMAGE_BUILDER_SIGN_KEY), "no key without SIGN_KEY_CREDENTIAL");
    assert.not.ok(unsigned.events.some((e) => e.step === "withCredentials" && e.ids!.includes("image-signing-key")));

    // Jenkins logs each step as written, and each shell command (sh -x) as run, but for `set +x`.
    for (const t of [signed, unsigned]) {
      for (const e of t.events) {
        for (const text of [e.script, e.message]) assert.not.ok(text?.includes(PASSWORD), text);
        if (e.shell?.includes(PASSWORD)) assert.match(e.script!, /^\s*set \+x\n/, "a command with the password is not traced");
      }
      assert.not.ok(t.description?.includes(PASSWORD));
    }
  }
});

test.run();
