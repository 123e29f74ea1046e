// `contains --package` on images built for two platforms whose packages differ (issue 19, item 5:
// "lists the published images, per platform, whose SBOM matches"): each platform image of an
// index is asked, from its stored SBOM attestation or, published without attestations, from its
// own layers, and answers with its platform.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCli, runCliAsync } from "../helpers/cli.js";
import { requireEngine, uniqueRepo } from "../helpers/engine.js";
import { makeArm64Base, skipped } from "../helpers/platforms.js";
import { compat, makeRepo, science } from "../helpers/repo.js";
import { condaRecord } from "../helpers/packages.js";


test("contains --package answers per platform of an index: numpy 1.25.2 in the amd64 image, 2.0.0 in the arm64 one", async () => {
  if (skipped("contains --package per platform", { classic: true })) return;
  const { docker, registry } = requireEngine();
  await makeArm64Base(docker);
  using src = makeRepo({
    // Each platform copies its own conda-meta record: no RUN, so nothing is emulated.
    ...science("np", { image: "np", compat: "ui", platforms: ["linux/amd64", "linux/arm64"] }, [
      "FROM busybox:stable-${TARGETARCH}",
      "ARG TARGETARCH",
      "COPY numpy-${TARGETARCH}.json /opt/conda/conda-meta/numpy.json",
      "",
    ].join("\n")),
    "science/np/numpy-amd64.json": condaRecord("numpy", "1.25.2"),
    "science/np/numpy-arm64.json": condaRecord("numpy", "2.0.0"),
    ...compat("ui", [], "ENV UI=1\n"),
  });
  const rows = (out: string) => (JSON.parse(out).images as { image: string; platform: string; sbom: string; packages: { version: string }[] }[])
    .map((i) => [i.image, i.platform, i.sbom, i.packages.map((p) => p.version).join(",")]);
  // The same family twice: with attestations (stored SBOMs), and without (read from the layers).
  for (const [flags, source] of [[[], "attestation"], [["--no-attestations"], "layers"]] as const) {
    const repo = uniqueRepo(registry);
    const run = await runCliAsync(["--all", "--push", "--repo", repo, "--progress", "plain", ...flags], { cwd: src.root });
    assert.is(run.code, 0, run.stderr);
    const old = runCli(["contains", "--package", "numpy<1.26", "--repo", repo, "--json"], { cwd: src.root });
    assert.is(old.code, 0, old.stderr);
    assert.equal(rows(old.stdout), [["rel/np:1.0", "linux/amd64", source, "1.25.2"], ["sci/np:1.0", "linux/amd64", source, "1.25.2"]], source);
    const any = runCli(["contains", "--package", "numpy", "--repo", repo], { cwd: src.root });
    assert.is(any.code, 0, any.stderr);
    for (const image of ["rel/np:1.0", "sci/np:1.0"]) {
      assert.match(any.stdout, new RegExp(`^${image}\\s+linux/amd64\\s+conda\\s+numpy\\s+1\\.25\\.2$`, "m"), any.stdout);
      assert.match(any.stdout, new RegExp(`^${image}\\s+linux/arm64\\s+conda\\s+numpy\\s+2\\.0\\.0$`, "m"), any.stdout);
    }
  }
});

test.run();
