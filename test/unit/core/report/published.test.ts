import { test } from "uvu";
import * as assert from "uvu/assert";
import { imageVersions, matchLayer, newestBuilds, parseBuildTag, publishedRepositories, readBreadcrumbs } from "../../../../src/core/report/published.js";

test("build tags: {version}-{n}-{h}; newest by version then number, numerically", () => {
  assert.equal(parseBuildTag("2.4-7-3f2a9c1"), { version: "2.4", number: 7, hash: "3f2a9c1" });
  for (const t of ["2.4", "latest", "2.4-7", "2.4-x-3f2a9c1", "v2.4-7-3f2a9c1"]) assert.is(parseBuildTag(t), undefined, t);
  const versions = imageVersions(["2.9", "2.9-10-aaaaaaa", "2.9-9-bbbbbbb", "2.10-2-ccccccc", "latest", "2.9-100-ddddddd"]);
  assert.equal(versions.map((v) => [v.version, `${v.newest.number}`, v.hasMovingTag]), [["2.10", "2", false], ["2.9", "100", true]]);
  assert.equal(versions[1].builds.map((b) => b.number), [9, 10, 100]);
});

const labels = {
  "org.sciserver.science.b.version": "1.0-7-aaaaaaa", "org.sciserver.science.b.buildtime": "100",
  "org.sciserver.science.a.version": "1.0-7-aaaaaaa", "org.sciserver.science.a.buildtime": "200", "org.sciserver.science.a.inputs": "sha256:11",
  "org.sciserver.compat.version": "img:1.0-7-aaaaaaa", "org.sciserver.compat.buildtime": "300", "org.sciserver.compat.inputs": "sha256:22",
  other: "x",
};

test("breadcrumbs: build order from the image history, buildtime when the history does not tell", () => {
  // a was built first (base), b on it, though b's buildtime is older (clock skew between agents)
  const history = [{ createdBy: "ADD rootfs" }, { createdBy: "LABEL org.sciserver.science.a.version=1.0-7-aaaaaaa org.sciserver.science.a.buildtime=200" }, { createdBy: "RUN x" }, { createdBy: "LABEL org.sciserver.science.b.version=1.0-7-aaaaaaa" }];
  const fromHistory = readBreadcrumbs(labels, history);
  assert.is(fromHistory.order, "history");
  assert.equal(fromHistory.science.map((c) => c.target), ["a", "b"]);
  assert.is(fromHistory.science[0].inputs, "sha256:11");
  assert.equal(fromHistory.compat, { image: "img", value: "img:1.0-7-aaaaaaa", build: { version: "1.0", number: 7, hash: "aaaaaaa" }, buildtime: 300, inputs: "sha256:22" });
  const noHistory = readBreadcrumbs(labels, []);
  assert.is(noHistory.order, "buildtime");
  assert.equal(noHistory.science.map((c) => c.target), ["b", "a"]);
  assert.equal(readBreadcrumbs({}, []), { science: [], compat: undefined, order: "history" });
});

test("contains: a layer matches at its version or build, stale when a newer build of its version is published", () => {
  const newest = newestBuilds(["2.4", "2.4-5-aaaaaaa", "2.4-9-bbbbbbb", "2.5-9-bbbbbbb"]);
  const crumb = (value: string) => readBreadcrumbs({ "org.sciserver.science.e.version": value }).science[0];
  assert.equal(matchLayer(crumb("2.4-5-aaaaaaa"), { target: "e" }, newest),
    { state: "stale", has: { version: "2.4", number: 5, hash: "aaaaaaa" }, newest: { version: "2.4", number: 9, hash: "bbbbbbb" } });
  assert.equal(matchLayer(crumb("2.4-9-bbbbbbb"), { target: "e", version: "2.4" }, newest)?.state, "newest");
  assert.is(matchLayer(crumb("2.4-9-bbbbbbb"), { target: "e", version: "2.5" }, newest), undefined);
  assert.is(matchLayer(crumb("2.4-9-bbbbbbb"), { target: "e", version: "2.4", build: { version: "2.4", number: 5, hash: "aaaaaaa" } }, newest), undefined);
  assert.is(matchLayer(undefined, { target: "e" }, newest), undefined);
  // a label the tool did not write: shown, not judged
  assert.equal(matchLayer(crumb("custom"), { target: "e" }, newest), { state: "unknown", has: "custom" });
});

test("catalog: the sci/ and rel/ repositories under the repo's path only", () => {
  const catalog = ["ci/sci/a", "ci/rel/a", "ci/other/x", "ci/sci/a/deeper", "prod/sci/a", "cix/sci/b"];
  assert.equal(publishedRepositories(catalog, "ci").map((r) => r.path), ["ci/rel/a", "ci/sci/a"]);
  assert.equal(publishedRepositories(["sci/z", "rel/y"], "").map((r) => `${r.kind}/${r.name}`), ["rel/y", "sci/z"]);
});

test.run();
