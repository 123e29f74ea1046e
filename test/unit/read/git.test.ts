// Questions to git (src/read/git.ts), on a real repository in a temporary directory.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makeRepo } from "../../helpers/repo.js";
import { deferred, tempDir } from "../../helpers/temp.js";
import { commitOf, openGit, readGitInfo, readHead } from "../../../src/read/git.js";
import { InputError } from "../../../src/core/model.js";

test("the end of a range is looked up as a commit; an unknown one is an error naming --ref", async () => {
  using repo = makeRepo({ README: "r" });
  const git = openGit(repo.root);
  assert.is(await commitOf(git, "main", "x..main"), repo.git("rev-parse", "HEAD"));
  try {
    await commitOf(git, "nosuchbranch", "x..nosuchbranch");
    assert.unreachable("expected an error");
  } catch (e) {
    assert.instance(e, InputError);
    assert.is((e as Error).message, "--ref x..nosuchbranch: git does not know this revision");
  }
});

/** What `ask` returns, and the git commands it ran as GIT_TRACE records them (simple-git lets GIT_TRACE through). */
async function traced<T>(ask: () => Promise<T>): Promise<{ result: T; commands: string }> {
  using dir = tempDir("ib-git-trace-");
  const trace = join(dir.path, "trace");
  const before = process.env.GIT_TRACE;
  using _restore = deferred(() => (before === undefined ? delete process.env.GIT_TRACE : (process.env.GIT_TRACE = before)));
  process.env.GIT_TRACE = trace;
  const result = await ask();
  return { result, commands: readFileSync(trace, "utf8") };
}

test("run reads HEAD without walking the history (the plan carries the build numbers); planning counts it", async () => {
  using repo = makeRepo({ README: "r" });
  repo.write({ README: "r2" });
  repo.commit("second");
  const git = openGit(repo.root);
  const forRun = await traced(() => readHead(git, repo.root));
  assert.equal(forRun.result, { prefix: "", commit: repo.git("rev-parse", "HEAD"), shortCommit: repo.git("rev-parse", "--short", "HEAD"), isShallow: false });
  assert.match(forRun.commands, /rev-parse/);
  assert.not.match(forRun.commands, /rev-list/);
  const forPlan = await traced(() => readGitInfo(git, repo.root));
  assert.is(forPlan.result.buildNumber, 2);
  assert.match(forPlan.commands, /rev-list/);
});

test.run();
