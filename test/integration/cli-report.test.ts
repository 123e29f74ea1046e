// `report` and `--report` through the real CLI: the folder written, the refusals (one line, exit 2,
// nothing written), and a run that could not reach the engine still leaving its report.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { runCli } from "../helpers/cli.js";
import { requireEngine, uniqueRepo } from "../helpers/engine.js";
import { compat, makeRepo, science } from "../helpers/repo.js";
import { examplesRepo } from "../helpers/fixture.js";
import { tempDir } from "../helpers/temp.js";

const IDS = ["sci/astro-base", "sci/astro-tools", "sci/essentials-2-4", "sci/essentials-2-5", "rel/astro:1.0", "rel/essentials:2.4", "rel/essentials:2.5"];
const statusesIn = (html: string) => Object.fromEntries([...html.matchAll(/<tr data-id="([^"]+)" data-status="([^"]+)">/g)].map((m) => [m[1], m[2]]));

test("report --plan: the plan's report folder, every build planned; results of another plan are refused naming the file", () => {
  using repo = examplesRepo();
  using out = tempDir("ib-cli-report-");
  const plan = join(out.path, "plan.json");
  assert.is(runCli(["plan", "--all", "--out", plan], { cwd: repo.root }).code, 0);
  const r = runCli(["report", "--plan", plan, "-o", join(out.path, "report")], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  assert.equal(readdirSync(join(out.path, "report")).sort(), ["index.html", "report.css"]);
  assert.equal(statusesIn(readFileSync(join(out.path, "report", "index.html"), "utf8")), Object.fromEntries(IDS.map((id) => [id, "planned"])));

  const other = join(out.path, "other.json");
  writeFileSync(other, JSON.stringify({ repo: "elsewhere.example/x", commit: "f".repeat(40), buildNumber: 1, results: [] }));
  const refused = runCli(["report", "--plan", plan, "--results", other, "-o", join(out.path, "refused")], { cwd: repo.root });
  assert.is(refused.code, 2);
  assert.match(refused.stderr, /^image-builder: error: \S*other\.json: results of another plan/);
  assert.is(refused.stderr.trim().split("\n").length, 1, refused.stderr);
  assert.not.ok(existsSync(join(out.path, "refused")), "nothing written");
  const unwritable = runCli(["report", "--plan", plan, "-o", "/proc/ib-report"], { cwd: repo.root });
  assert.is(unwritable.code, 2);
  assert.match(unwritable.stderr, /^image-builder: error: --out \/proc\/ib-report: /);
});

/** A plan of every example (`plan.json` in `dir`) and results of a run of it without times (`results.json`): `failed` builds first, the rest skipped. */
function planAndResults(root: string, dir: string, failed: number): { plan: string; results: string } {
  const plan = join(dir, "plan.json");
  assert.is(runCli(["plan", "--all", "--out", plan], { cwd: root }).code, 0);
  const p = JSON.parse(readFileSync(plan, "utf8"));
  const results = join(dir, "results.json");
  writeFileSync(results, JSON.stringify({ repo: p.repo, commit: p.commit, buildNumber: p.buildNumber,
    results: p.builds.map((b: { id: string }, i: number) => ({ id: b.id, status: i < failed ? "failed" : "skipped", reason: i < failed ? "boom" : "parent failed", durationMs: 5, pushed: false })) }));
  return { plan, results };
}

test("report --results of an older run (no times): the statuses, a note instead of the timeline, the failure's log tail from --log-dir", () => {
  using repo = examplesRepo();
  using out = tempDir("ib-cli-report-");
  const { plan, results } = planAndResults(repo.root, out.path, 1);
  const logs = join(out.path, "logs");
  mkdirSync(logs);
  writeFileSync(join(logs, "sci_astro-base.log"), `${Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n")}\n`);
  const r = runCli(["report", "--plan", plan, "--results", results, "--log-dir", logs, "-o", join(out.path, "report")], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  const html = readFileSync(join(out.path, "report", "index.html"), "utf8");
  assert.is(statusesIn(html)["sci/astro-base"], "failed");
  assert.match(html, "The results file records no times");
  // the last 30 lines, and the whole log copied beside the report
  assert.match(html, /<pre class="log">line 70\n[^<]*line 99<\/pre>/);
  assert.not.match(html, "line 69\n");
  assert.is(readFileSync(join(out.path, "report", "logs", "sci_astro-base.log"), "utf8"), readFileSync(join(logs, "sci_astro-base.log"), "utf8"));
  assert.match(html, '<a href="logs/sci_astro-base.log">');
  // a log whose last line is longer than the end read for the tail: that line's end is shown, not nothing
  writeFileSync(join(logs, "sci_astro-base.log"), `the real error: disk full\n${"B".repeat(70000)}END\n`);
  const long = runCli(["report", "--plan", plan, "--results", results, "--log-dir", logs, "-o", join(out.path, "long")], { cwd: repo.root });
  assert.is(long.code, 0, long.stderr);
  assert.match(readFileSync(join(out.path, "long", "index.html"), "utf8"), /<pre class="log">\[… the start of this line left out\] B+END<\/pre>/);
});

test("a report folder holding symbolic links (a checkout's `report/index.html -> ~/.bashrc`): replaced by the report's files, their targets untouched; a log that is a link is not copied", () => {
  using repo = examplesRepo();
  using out = tempDir("ib-cli-report-");
  const { plan, results } = planAndResults(repo.root, out.path, 2);
  const victims = ["bashrc", "profile", "secret"].map((name) => join(out.path, name));
  for (const v of victims) writeFileSync(v, `${v} as it was\n`);
  const report = join(out.path, "report");
  mkdirSync(join(out.path, "elsewhere"));
  mkdirSync(report, { recursive: true });
  symlinkSync(victims[0], join(report, "index.html"));
  // the logs folder itself a link (to a folder of someone's), holding a link to a file
  symlinkSync(join(out.path, "elsewhere"), join(report, "logs"));
  symlinkSync(victims[1], join(out.path, "elsewhere", "sci_astro-base.log"));
  const logs = join(out.path, "logs");
  mkdirSync(logs);
  writeFileSync(join(logs, "sci_astro-base.log"), "the real log\n");
  symlinkSync(victims[2], join(logs, "sci_astro-tools.log"));
  const r = runCli(["report", "--plan", plan, "--results", results, "--log-dir", logs, "-o", report], { cwd: repo.root });
  assert.is(r.code, 0, r.stderr);
  for (const v of victims) assert.is(readFileSync(v, "utf8"), `${v} as it was\n`);
  assert.ok(lstatSync(join(report, "index.html")).isFile());
  assert.ok(lstatSync(join(report, "logs")).isDirectory(), "the logs link replaced by a folder");
  assert.ok(lstatSync(join(out.path, "elsewhere", "sci_astro-base.log")).isSymbolicLink(), "nothing written in the folder it pointed at");
  assert.match(readFileSync(join(report, "index.html"), "utf8"), /^<!doctype html>/i);
  assert.is(readFileSync(join(report, "logs", "sci_astro-base.log"), "utf8"), "the real log\n");
  assert.not.ok(existsSync(join(report, "logs", "sci_astro-tools.log")), "a linked log is not copied");
  assert.not.match(readFileSync(join(report, "index.html"), "utf8"), "as it was");
});

test("--report on a run that can't reach the engine: every build cancelled, with the reason, in the report", () => {
  using repo = examplesRepo();
  using out = tempDir("ib-cli-report-");
  const report = join(out.path, "report");
  const r = runCli(["--all", "--report", report, "--progress", "plain"], { cwd: repo.root, env: { DOCKER_HOST: `unix://${join(out.path, "no-engine.sock")}` } });
  assert.is(r.code, 1, r.stderr);
  const html = readFileSync(join(report, "index.html"), "utf8");
  assert.equal(statusesIn(html), Object.fromEntries(IDS.map((id) => [id, "cancelled"])));
  assert.match(html, "no-engine.sock");
  const dash = runCli(["--all", "--report", "-"], { cwd: repo.root });
  assert.is(dash.code, 2);
  assert.match(dash.stderr, "--report -: a directory is needed");
});

test("--report of a run whose failing step prints a --secret: the secret is nowhere in the report or its logs", () => {
  const engine = requireEngine();
  const secret = `s3cret-${randomBytes(12).toString("hex")}`;
  using repo = makeRepo({
    "image-builder.json": JSON.stringify({ repo: uniqueRepo(engine.registry) }),
    ...science("leaky", { image: "leaky", compat: "base" }, "FROM busybox:stable\nRUN --mount=type=secret,id=tok cat /run/secrets/tok && exit 4\n"),
    ...compat("base", [], "ENV X=1\n"),
  });
  using out = tempDir("ib-cli-report-");
  const report = join(out.path, "report");
  const r = runCli(["--all", "--builder", "buildkit", "--secret", "id=tok,env=IB_TEST_TOK", "--progress", "plain", "--log-dir", join(out.path, "logs"), "--report", report],
    { cwd: repo.root, env: { IB_TEST_TOK: secret } });
  assert.is(r.code, 1, r.stderr);
  const html = readFileSync(join(report, "index.html"), "utf8");
  assert.is(statusesIn(html)["sci/leaky"], "failed");
  assert.match(html, /<pre class="log">[^<]*\*\*\*/, "the log tail, with the secret hidden");
  for (const file of [join(report, "index.html"), join(report, "logs", "sci_leaky.log")]) assert.not.match(readFileSync(file, "utf8"), secret, file);
});

test.run();
