// `run PLAN` on a checkout that differs from the one the plan was made on (issue 16, item 1): the
// image would carry the plan's inputs label but be built from other files, and later runs and
// --reconcile would reuse it. Refused before anything is built or pushed, naming the files; an
// unchanged checkout builds as before, its image labelled with the plan's inputs and holding the
// planned files.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { capture, filesInImage, registryImage, registryTags, requireEngine, runOptions, runPlan, uniqueRepo } from "../helpers/engine.js";
import { parsePlanFile } from "../../src/core/requests/plan-file.js";
import { compat, makeRepo, science, type TempRepo } from "../helpers/repo.js";
import type { Plan } from "../../src/core/model.js";
import { tempDir } from "../helpers/temp.js";

const PLAIN = ["--progress", "plain"];

/** `plan --all` of `repo` into `dir`: the file and the plan. */
function planInto(repo: TempRepo, dir: string): { planFile: string; plan: Plan } {
  const planFile = join(dir, "plan.json");
  const r = runCli(["plan", "--all", "--out", planFile], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  return { planFile, plan: parsePlanFile(readFileSync(planFile, "utf8"), planFile) };
}

function repoFor(target: string) {
  return makeRepo({
    "image-builder.json": JSON.stringify({ repo: target }),
    ...science("a", { image: "a", compat: "base" }, "FROM busybox:stable\nCOPY data.txt /data.txt\n"),
    "science/a/data.txt": "planned\n",
    ...compat("base", [], "COPY base.txt /base.txt\n", { "base.txt": "base\n" }),
  });
}

test("a checkout changed under a planned layer is refused, naming the files; nothing is built or pushed; unchanged, it builds as before", async () => {
  const engine = requireEngine();
  const target = uniqueRepo(engine.registry);
  using repo = repoFor(target);
  using dir = tempDir("ib-run-checkout-");
  const { planFile, plan } = planInto(repo, dir.path);
  const a = plan.builds.find((b) => b.id === "sci/a")!;

  // What an agent's checkout could hold: a file changed, a file git does not track.
  repo.write({ "science/a/data.txt": "tampered\n", "compat/base/new.txt": "untracked\n" });
  const results = join(dir.path, "results.json");
  const refused = runCli(["run", planFile, "--only", "sci/a", "--push", "--results", results, ...PLAIN], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /^image-builder: error: .*plan\.json: the checkout does not make the inputs this plan labels its images with, so nothing is built: sci\/a: science\/a\/data\.txt changed \(/);
  assert.is(refused.stderr.trim().split("\n").length, 1, refused.stderr);
  // The whole plan: every build that sends a changed file is named.
  const all = runCli(["run", planFile, "--push", ...PLAIN], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(all.code, 2, all.stderr);
  assert.match(all.stderr, "sci/a: science/a/data.txt changed; rel/a:1.0: compat/base/new.txt added");
  // A .dockerignore changes what is sent, too.
  repo.write({ "science/a/data.txt": "planned\n", "science/a/.dockerignore": "data.txt\n" });
  repo.remove("compat/base/new.txt");
  const ignored = runCli(["run", planFile, "--only", "sci/a", "--push", ...PLAIN], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(ignored.code, 2, ignored.stderr);
  assert.match(ignored.stderr, "sci/a: science/a/data.txt removed");
  // Nothing was built, pushed or written.
  assert.not.ok(existsSync(results));
  assert.equal(await registryTags(`${target}/sci/a`), []);
  const built = await engine.docker.getImage(a.request.tags[1]).inspect().catch(() => undefined);
  assert.is(built, undefined, "no image under the build tag");

  // The checkout as planned: built and pushed as before, labelled with the plan's inputs.
  repo.remove("science/a/.dockerignore");
  const ok = runCli(["run", planFile, "--only", "sci/a", "--push", "--results", results, ...PLAIN], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(ok.code, 0, ok.stderr);
  assert.not.match(ok.stderr, /uncommitted/);
  const pushed = await registryImage(a.request.tags[1]);
  assert.is(pushed.labels["org.sciserver.science.a.inputs"], a.request.inputsDigest);
  const files = await filesInImage(engine.docker, a.request.tags[1], "/data.txt");
  assert.is(files["data.txt"].content, "planned\n");
  assert.is(JSON.parse(readFileSync(results, "utf8")).results[0].status, "built");
});

test("a plan without inputs digests (older, or stripped) is refused with a tampered checkout: one line per plan, nothing built or pushed", async () => {
  const engine = requireEngine();
  const target = uniqueRepo(engine.registry);
  using repo = repoFor(target);
  using dir = tempDir("ib-run-stripped-");
  const { planFile, plan } = planInto(repo, dir.path);
  const a = plan.builds.find((b) => b.id === "sci/a")!;
  // What the reviewer did: the digests, their inputs and the inputs labels taken out, then a file changed.
  const stripped = JSON.parse(readFileSync(planFile, "utf8"));
  for (const b of stripped.builds) {
    delete b.request.inputsDigest;
    delete b.request.inputs;
    for (const k of Object.keys(b.request.labels)) if (k.endsWith(".inputs")) delete b.request.labels[k];
  }
  const strippedFile = join(dir.path, "stripped.json");
  writeFileSync(strippedFile, JSON.stringify(stripped));
  repo.write({ "science/a/data.txt": "tampered\n" });
  const results = join(dir.path, "results.json");
  const refused = runCli(["run", strippedFile, "--only", "sci/a", "--push", "-vvv", "--results", results, ...PLAIN], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(refused.code, 2, refused.stderr);
  assert.is(refused.stderr, `image-builder: error: ${strippedFile}: nothing is built: sci/a: made by an older image-builder or edited: it has no inputs digest, so what it builds can't be checked against the checkout; make the plan again\n`);
  // A label put back by hand does not make it checkable either.
  for (const b of stripped.builds) if (b.id === "sci/a") b.request.labels["org.sciserver.science.a.inputs"] = a.request.inputsDigest;
  writeFileSync(strippedFile, JSON.stringify(stripped));
  const relabelled = runCli(["run", strippedFile, "--push", ...PLAIN], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(relabelled.code, 2, relabelled.stderr);
  assert.match(relabelled.stderr, /nothing is built: sci\/a: made by an older image-builder or edited: .*; rel\/a:1\.0: made by an older/);
  assert.not.ok(existsSync(results));
  assert.equal(await registryTags(`${target}/sci/a`), []);
  const built = await engine.docker.getImage(a.request.tags[1]).inspect().catch(() => undefined);
  assert.is(built, undefined, "no image under the build tag");
});

test("run warns about uncommitted and untracked changes under planned layers, as the default command does", async () => {
  const engine = requireEngine();
  const target = uniqueRepo(engine.registry);
  using repo = repoFor(target);
  using dir = tempDir("ib-run-dirty-");
  // A plan made from (and run on) a checkout with an uncommitted change: it matches, but the
  // image is tagged as the commit's.
  repo.write({ "science/a/data.txt": "uncommitted\n" });
  const planFile = join(dir.path, "plan.json");
  const planned = runCli(["plan", "--all", "--out", planFile], { cwd: repo.root });
  assert.match(planned.stderr, /warning: uncommitted changes are built as they are in the checkout, but tagged 1-\w+ as if committed: science\/a/);
  const r = runCli(["run", planFile, "--only", "sci/a", ...PLAIN], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /^image-builder: warning: uncommitted changes are built as they are in the checkout, but tagged 1-\w+ as if committed: science\/a$/m);
  const plan = JSON.parse(readFileSync(planFile, "utf8"));
  const files = await filesInImage(engine.docker, plan.builds[0].request.tags[1], "/data.txt");
  assert.is(files["data.txt"].content, "uncommitted\n");
  // A file git does not track yet, in another planned context: named too.
  repo.write({ "compat/base/notes.txt": "untracked\n" });
  const replanned = runCli(["plan", "--all", "--out", planFile], { cwd: repo.root });
  assert.is(replanned.code, 0, replanned.stderr);
  const whole = runCli(["run", planFile, ...PLAIN], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(whole.code, 0, whole.stderr);
  assert.match(whole.stderr, /^image-builder: warning: uncommitted changes are built as they are in the checkout, but tagged 1-\w+ as if committed: compat\/base, science\/a$/m);
});

test("run PLAN on another clone of the commit, made under another umask, builds the plan (modes are git's); what git status does not show (a file marked assume-unchanged, then edited) is said by plan and by run", async () => {
  const engine = requireEngine();
  const target = uniqueRepo(engine.registry);
  using repo = repoFor(target);
  using dir = tempDir("ib-run-umask-");
  // The plan's checkout under the usual umask, the agent's clone under 002 (group-writable files).
  const clone = join(dir.path, "clone");
  const cloned = spawnSync("sh", ["-c", 'umask 002 && git clone -q "$0" "$1"', repo.root, clone], { encoding: "utf8" });
  assert.is(cloned.status, 0, cloned.stderr);
  assert.is(statSync(join(clone, "science/a/data.txt")).mode & 0o777, 0o664);
  const { planFile, plan } = planInto(repo, dir.path);
  const r = runCli(["run", planFile, "--only", "sci/a", ...PLAIN], { cwd: clone, timeoutMs: 300_000 });
  assert.is(r.code, 0, r.stderr);
  assert.not.match(r.stderr, /warning/);
  const files = await filesInImage(engine.docker, plan.builds[0].request.tags[1], "/data.txt");
  assert.is(files["data.txt"].mode & 0o777, 0o644, "the commit's mode, not the clone's");
  // Marked assume-unchanged and edited: git status is clean, the build is not the commit's.
  spawnSync("git", ["update-index", "--assume-unchanged", "science/a/data.txt"], { cwd: clone });
  writeFileSync(join(clone, "science/a/data.txt"), "local edit\n");
  const planned = runCli(["plan", "--all", "--out", join(dir.path, "edited.json")], { cwd: clone });
  assert.is(planned.code, 0, planned.stderr);
  const said = /^image-builder: warning: the checkout differs from its commit where git status does not show it, and is built as it is, tagged 1-\w+, which another checkout of the commit does not make: science\/a\/data\.txt \(marked assume-unchanged: git status does not compare it with the commit, so it may differ\)$/m;
  assert.match(planned.stderr, said);
  const run = runCli(["run", join(dir.path, "edited.json"), "--only", "sci/a", ...PLAIN], { cwd: clone, timeoutMs: 300_000 });
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stderr, said);
});

test("the executor builds only a context that makes the request's digest: a file changed after the check fails the build before the engine has it", async () => {
  const engine = requireEngine();
  const target = uniqueRepo(engine.registry);
  using repo = repoFor(target);
  using dir = tempDir("ib-run-stream-");
  const { plan } = planInto(repo, dir.path);
  const only = { ...plan, builds: plan.builds.filter((b) => b.id === "sci/a"), waves: [["sci/a"]] };
  // As if changed while a long run went on, after `run` compared the checkout with the plan.
  repo.write({ "science/a/data.txt": "changed!\n" });
  for (const builder of ["buildkit", "classic"] as const) {
    const out = capture();
    const result = await runPlan(only, runOptions(repo.root, out.stream, { builder }));
    assert.is(result.ok, false, out.text());
    assert.match(result.outcomes[0].reason ?? "", /the build context's files changed since the plan was made/, `${builder}: ${out.text()}`);
    const built = await engine.docker.getImage(only.builds[0].request.tags[1]).inspect().catch(() => undefined);
    assert.is(built, undefined, `${builder}: no image under the build tag`);
  }
});

test.run();
