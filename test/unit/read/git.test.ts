// Questions to git (src/read/git.ts), on a real repository in a temporary directory.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { makeRepo } from "../../helpers/repo.js";
import { commitOf, openGit } from "../../../src/read/git.js";
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

test.run();
