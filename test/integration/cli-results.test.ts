// --results after a real run: written where asked, and a write that fails (a full disk) is
// reported without hiding how the run went.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCli } from "../helpers/cli.js";
import { requireEngine, uniqueRepo } from "../helpers/engine.js";
import { compat, makeRepo, science } from "../helpers/repo.js";
import { tempDir } from "../helpers/temp.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";

test("a results file that cannot be written after the builds is one error line; the exit code stays a run failure", async () => {
  const engine = requireEngine();
  const target = uniqueRepo(engine.registry);
  using repo = makeRepo({
    "image-builder.json": JSON.stringify({ repo: target }),
    ...science("tiny", { image: "tiny", compat: "base" }, "FROM busybox:stable\nRUN echo tiny > /tiny\n"),
    ...compat("base", [], "ENV X=1\n"),
  });
  // /dev/full: every write fails with ENOSPC, as on a disk the images have filled
  using report = tempDir("ib-results-report-");
  const r = runCli(["--all", "--progress", "plain", "--results", "/dev/full", "--report", report.path], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, "images were built but not pushed");
  assert.ok(r.stderr.endsWith("image-builder: error: --results /dev/full: cannot write (ENOSPC)\n"), r.stderr);
  // The report is written all the same (it is written however the run ends).
  assert.match(readFileSync(join(report.path, "index.html"), "utf8"), /rel\/tiny:1\.0/);
  const image = await engine.docker.getImage(`${target}/rel/tiny:1.0`).inspect();
  assert.ok(image.Id, "the builds happened");
});

test.run();
