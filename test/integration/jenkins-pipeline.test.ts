// The Jenkinsfile's own image-builder command lines, run as the pipeline runs them: a plan on the
// controller, then each wave's requests on two separate "agents" (clones that share nothing but
// the registry, the engine's copies of parents removed in between), then the results merged.
// The outcome must match a single `./image-builder --push` run.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp.js";
import { examplesRepo } from "../helpers/fixture.js";
import { registryImage, registryTags, requireEngine, uniqueRepo } from "../helpers/engine.js";
import { jenkinsImageBuilderCommands } from "../helpers/jenkins.js";
import { science } from "../helpers/repo.js";

/** Runs one Jenkinsfile `sh` line as Jenkins would (bash, in the workspace, with the env). */
function sh(command: string, cwd: string, env: Record<string, string>): { code: number; out: string } {
  const r = spawnSync("bash", ["-ec", command], { cwd, env: { ...process.env, ...env }, encoding: "utf8", timeout: 300_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** A workspace: a clone of the repository with ./image-builder in it, as the pipeline checks out. */
function workspace(origin: string, name: string, parent: string): string {
  const dir = join(parent, name);
  const r = spawnSync("git", ["clone", "-q", origin, dir], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  symlinkSync(join(PROJECT_ROOT, "image-builder"), join(dir, "image-builder"));
  return dir;
}

/** A two-wave chain of layers and its final image, besides the examples. */
const WAVE_CHAIN = {
  ...science("wave-a", { image: "wave", version: "1.0" }, "FROM busybox:stable\nRUN echo a > /a\n"),
  ...science("wave-b", { image: "wave", version: "1.0", compat: "base" }, "FROM sci/wave-a:1.0\nRUN echo b > /b\n"),
};

test("the pipeline's commands split a plan over two agents that share only the registry", async () => {
  const engine = requireEngine();
  // The plan's, a plan without platforms' run (wave by wave), the platform runs and merge (not yet
  // run here: see jenkinsfile.test.ts), and the results' merge and report.
  const [cmdDryRun, cmdPlan, cmdGraph, cmdPlanReport, cmdRun, , , , , cmdMerge, cmdRunReport] = jenkinsImageBuilderCommands();
  // The examples plus a two-wave fixture chain of its own.
  using repo = examplesRepo(WAVE_CHAIN);
  using tmp = tempDir("ib-jenkins-");
  const target = uniqueRepo(engine.authRegistry);
  const single = uniqueRepo(engine.authRegistry);
  const auth: [string, string] = [engine.authUser, engine.authPass];
  // What the pipeline's credentials step writes: a private docker config.
  const dockerConfig = join(tmp.path, "docker-config");
  mkdirSync(dockerConfig);
  writeFileSync(join(dockerConfig, "config.json"), JSON.stringify({
    auths: { [engine.authRegistry]: { auth: Buffer.from(`${engine.authUser}:${engine.authPass}`).toString("base64") } },
  }));
  const env = { SELECT_ARGS: "--all", PLAN_ARGS: `--repo ${target}`, DOCKER_CONFIG: dockerConfig, FORCE_COLOR: "0" };
  // Controller: the Plan stage.
  const controller = workspace(repo.root, "controller", tmp.path);
  const dry = sh(cmdDryRun, controller, env);
  assert.is(dry.code, 0, dry.out);
  assert.match(dry.out, "final plan includes 6 science builds and 4 compat builds");
  assert.is(sh(cmdPlan, controller, env).code, 0);
  const graph = sh(cmdGraph, controller, env);
  assert.is(graph.code, 0, graph.out);
  assert.match(readFileSync(join(controller, "plan-graph.mmd"), "utf8"), "sci_wave_a --> sci_wave_b");
  const planReport = sh(cmdPlanReport, controller, env);
  assert.is(planReport.code, 0, planReport.out);
  const planHtml = readFileSync(join(controller, "plan-report", "index.html"), "utf8");
  assert.match(planHtml, '<tr data-id="sci/wave-b" data-status="planned">');
  assert.ok(existsSync(join(controller, "plan-report", "report.css")));
  const plan = JSON.parse(readFileSync(join(controller, "plan.json"), "utf8"));
  const waves = readFileSync(join(controller, "waves.txt"), "utf8").trim().split("\n").map((l) => l.split(" "));
  assert.equal(waves, plan.waves);
  assert.ok(waves.length >= 2);
  assert.ok(waves[0].includes("sci/wave-a") && waves[1].includes("sci/wave-b"));

  // Build and push: each request of each wave on one of two agents, in turn.
  const agents = [workspace(repo.root, "agent-1", tmp.path), workspace(repo.root, "agent-2", tmp.path)];
  let turn = 0;
  for (const wave of waves) {
    // Nothing of this plan stays in the engine: parents must come from the registry.
    for (const b of plan.builds) for (const tag of b.request.tags) await engine.docker.getImage(tag).remove({ force: true }).catch(() => {});
    for (const id of wave) {
      const agent = agents[turn++ % agents.length];
      cpSync(join(controller, "plan.json"), join(agent, "plan.json")); // unstash 'plan'
      const r = sh(cmdRun, agent, { ...env, REQUEST_ID: id, RESULT_NAME: id.replace(/[^A-Za-z0-9_.-]/g, "_") });
      assert.is(r.code, 0, `${id}: ${r.out}`);
      assert.not.match(r.out, engine.authPass);
      const parents = plan.builds.find((b: { id: string }) => b.id === id).dependsOn;
      for (const p of parents) assert.match(r.out, `[${p}] pulled`);
    }
  }
  // Collect results (unstash) and merge.
  mkdirSync(join(controller, "results"));
  for (const agent of agents) {
    for (const f of readdirSync(join(agent, "results"))) cpSync(join(agent, "results", f), join(controller, "results", f));
    assert.ok(existsSync(join(agent, "logs")), "logs kept");
    cpSync(join(agent, "logs"), join(controller, "logs"), { recursive: true });
  }
  const merge = sh(cmdMerge, controller, env);
  assert.is(merge.code, 0, merge.out);
  const merged = JSON.parse(readFileSync(join(controller, "results.json"), "utf8"));
  const runReport = sh(cmdRunReport, controller, env);
  assert.is(runReport.code, 0, runReport.out);
  const runHtml = readFileSync(join(controller, "report", "index.html"), "utf8");
  for (const b of plan.builds) {
    assert.match(runHtml, `<tr data-id="${b.id}" data-status="built">`);
    const log = `${b.id.replace(/[^A-Za-z0-9._-]/g, "_")}.log`;
    assert.ok(existsSync(join(controller, "report", "logs", log)), `${log} copied into the report`);
  }
  assert.match(runHtml, 'id="timeline"');
  assert.is(merged.commit, plan.commit);
  assert.equal(merged.results.map((r: { id: string }) => r.id).sort(), plan.builds.map((b: { id: string }) => b.id).sort());
  for (const r of merged.results) {
    assert.is(r.status, "built", r.id);
    assert.ok(r.pushed, r.id);
    assert.match(r.outputs["docker-image-hash"], /^sha256:[0-9a-f]{64}$/);
    const digests = r.outputs["docker-image-digests"];
    const build = plan.builds.find((b: { id: string }) => b.id === r.id);
    // Each image is under its platform tags (the engine's platform), its index with its attestations under the plan's own.
    assert.equal(Object.keys(digests).sort(), build.request.tags.map((t: string) => `${t}-linux-amd64`).sort());
    for (const d of Object.values(digests)) assert.match(d as string, /^sha256:[0-9a-f]{64}$/);
  }

  // The same images as one `./image-builder --push` run: same tags, same labels but buildtimes.
  const one = runCli(["--all", "--push", "--repo", single, "--progress", "plain"], { cwd: controller, env: { DOCKER_CONFIG: dockerConfig }, timeoutMs: 300_000 });
  assert.is(one.code, 0, one.stderr);
  const strip = (labels: Record<string, string>) => Object.fromEntries(Object.entries(labels).filter(([k]) => !k.endsWith(".buildtime")));
  for (const b of plan.builds) {
    const name = b.request.tags[0].slice(target.length).replace(/:[^:/]+$/, "");
    assert.equal(await registryTags(`${target}${name}`, auth), await registryTags(`${single}${name}`, auth), name);
    const split = await registryImage(b.request.tags[1], auth);
    const whole = await registryImage(`${single}${b.request.tags[1].slice(target.length)}`, auth);
    assert.equal(strip(split.labels), strip(whole.labels), b.id);
    assert.equal(split.env, whole.env, b.id);
  }
});

test("the pipeline's run of the requests without a platform builds them all in one run, in order", async () => {
  const engine = requireEngine();
  // In a plan with platforms, requests without one are one run: `--only` with all their ids.
  const cmdEngineRun = jenkinsImageBuilderCommands().find((c) => c.includes("--only $REQUEST_IDS"))!;
  using repo = examplesRepo(WAVE_CHAIN);
  using tmp = tempDir("ib-jenkins-");
  const agent = workspace(repo.root, "agent", tmp.path);
  const target = uniqueRepo(engine.registry);
  const plan = runCli(["plan", "--include", "science/wave-a", "science/wave-b", "--repo", target, "--out", "plan.json"], { cwd: agent });
  assert.is(plan.code, 0, plan.stderr);
  const ids = ["sci/wave-a", "sci/wave-b", "rel/wave:1.0"];
  const r = sh(cmdEngineRun, agent, { REQUEST_IDS: ids.join(" "), RESULT_NAME: "engine-platform", FORCE_COLOR: "0" });
  assert.is(r.code, 0, r.out);
  const results = JSON.parse(readFileSync(join(agent, "results", "engine-platform.json"), "utf8"));
  assert.equal(results.results.map((b: { id: string; status: string; pushed: boolean }) => [b.id, b.status, b.pushed]), ids.map((id) => [id, "built", true]));
  assert.ok(existsSync(join(agent, "logs", "rel_wave_1.0.log")));
  assert.ok((await registryTags(`${target}/rel/wave`)).includes("1.0"), "the final image is in the registry");
});

test("run refuses a plan of another commit, and a request whose parent is not in the registry", async () => {
  const engine = requireEngine();
  using repo = examplesRepo();
  const target = uniqueRepo(engine.registry);
  const planFile = join(repo.root, "..", `plan-${Date.now()}.json`);
  const p = runCli(["plan", "--all", "--repo", target, "--out", planFile], { cwd: repo.root });
  assert.is(p.code, 0, p.stderr);
  const outputs = join(repo.root, "..", `outputs-${Date.now()}`);
  const missing = runCli(["run", planFile, "--only", "sci/essentials-2-5", "--results", join(outputs, "r.json"), "--log-dir", join(outputs, "logs")], { cwd: repo.root });
  assert.is(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, new RegExp(`^image-builder: error: parent sci/essentials-2-4 is missing from the registry: ${target.replace(/\./g, "\\.")}/sci/essentials-2-4:2\\.4-1-`));
  assert.is(missing.stderr.trim().split("\n").length, 1, missing.stderr);
  assert.not.ok(existsSync(outputs), "a refused run writes nothing");

  // A registry that refuses the credentials is not "missing": the run stops saying why.
  const authTarget = uniqueRepo(engine.authRegistry);
  const authPlan = join(repo.root, "..", `plan-auth-${Date.now()}.json`);
  assert.is(runCli(["plan", "--all", "--repo", authTarget, "--out", authPlan], { cwd: repo.root }).code, 0);
  const config = mkdtempSync(join(tmpdir(), "ib-dockercfg-"));
  writeFileSync(join(config, "config.json"), JSON.stringify({ auths: { [engine.authRegistry]: { username: engine.authUser, password: "wrong-password" } } }));
  const denied = runCli(["run", authPlan, "--only", "sci/essentials-2-5"], { cwd: repo.root, env: { DOCKER_CONFIG: config } });
  assert.is(denied.code, 1, denied.stderr);
  assert.match(denied.stderr, new RegExp(`image-builder: error: cannot pull parent sci/essentials-2-4 ${authTarget.replace(/\./g, "\\.")}/sci/essentials-2-4:2\\.4-1-\\S+ from the registry: .*unauthorized`));
  assert.not.match(denied.stderr, /missing|wrong-password/);
  rmSync(config, { recursive: true, force: true });
  rmSync(authPlan);
  repo.write({ "x": "1" });
  repo.commit();
  const stale = runCli(["run", planFile], { cwd: repo.root });
  assert.is(stale.code, 2);
  assert.match(stale.stderr, /plan was made from commit [0-9a-f]{12}, but the checkout in \. is at [0-9a-f]{12}/);
  rmSync(planFile);
});

test.run();
