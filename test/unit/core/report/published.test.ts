import { test } from "uvu";
import * as assert from "uvu/assert";
import { coverageLines, imageVersions, versionsWithoutBuilds, nothingFound, unreadableImage, labelledBuild, matchLayer, movingTagText, newerBuildThan, newestBuilds, parseBuildTag, parseBuildtime, publishedRepositories, readBreadcrumbs, unpublishedLayer } from "../../../../src/core/report/published.js";

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

test("buildtime labels in every shape the builders write: epoch seconds with or without a fraction, RFC 3339 with Z or an offset", () => {
  assert.is(parseBuildtime("1763900000"), 1763900000);
  assert.is(parseBuildtime("1763900000.123"), 1763900000.123);
  assert.is(parseBuildtime("1639077081.9336998"), 1639077081.9336998);
  assert.is(parseBuildtime("2025-11-23T12:13:20Z"), 1763900000);
  assert.is(parseBuildtime("2025-11-23T12:13:20.5Z"), 1763900000.5);
  assert.is(parseBuildtime("2025-11-23T14:13:20+02:00"), 1763900000);
  assert.is(parseBuildtime("2025-11-23t12:13:20.000000250z"), 1763900000.00000025);
  for (const bad of [undefined, "", "yesterday", "-5", "1e9", "2025-11-23", "2025-11-23T12:13:20", "2025-13-45T99:99:99Z"]) assert.is(parseBuildtime(bad), undefined, String(bad));
});

test("breadcrumbs without history (BuildKit makes no LABEL step) follow the buildtimes, milliseconds and all", () => {
  // built in this order: zeta (the base), then alpha on it, then mid; names sort the other way
  const crumbs = readBreadcrumbs({
    "org.sciserver.science.alpha.version": "1.0-7-aaaaaaa", "org.sciserver.science.alpha.buildtime": "1763900000.750",
    "org.sciserver.science.zeta.version": "1.0-7-aaaaaaa", "org.sciserver.science.zeta.buildtime": "1763900000.250",
    "org.sciserver.science.mid.version": "1.0-7-aaaaaaa", "org.sciserver.science.mid.buildtime": "2025-11-23T12:13:20.9+00:00",
  });
  assert.is(crumbs.order, "buildtime");
  assert.equal(crumbs.science.map((c) => [c.target, c.buildtime]), [["zeta", 1763900000.25], ["alpha", 1763900000.75], ["mid", 1763900000.9]]);
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

test("contains: a layer, version or build nothing published has is named as such, with what is published", () => {
  const b = (tag: string) => parseBuildTag(tag)!;
  const known = new Map([["essentials-2-4", [b("2.4-5-aaaaaaa"), b("2.4-9-bbbbbbb")]], ["astro", [b("1.0-9-bbbbbbb")]], ["custom", []]]);
  assert.is(unpublishedLayer({ target: "essentials-2-4" }, known, "r/x"), undefined);
  assert.is(unpublishedLayer({ target: "essentials-2-4", version: "2.4" }, known, "r/x"), undefined);
  assert.is(unpublishedLayer({ target: "essentials-2-4", version: "2.4", build: b("2.4-5-aaaaaaa") }, known, "r/x"), undefined);
  assert.is(unpublishedLayer({ target: "essentiels-2-4" }, known, "r/x"),
    "sci/essentiels-2-4: no such science layer is published under r/x; published: sci/astro, sci/custom, sci/essentials-2-4");
  assert.is(unpublishedLayer({ target: "essentials-2-4", version: "3.0" }, known, "r/x"),
    "sci/essentials-2-4:3.0: no build of version 3.0 is published under r/x; published versions: 2.4");
  assert.is(unpublishedLayer({ target: "essentials-2-4", version: "2.4", build: b("2.4-7-ccccccc") }, known, "r/x"),
    "sci/essentials-2-4:2.4-7-ccccccc: no such build is published under r/x; published builds of 2.4: 2.4-5-aaaaaaa, 2.4-9-bbbbbbb");
  // a build number published, but with another commit's hash: not that build
  assert.is(unpublishedLayer({ target: "essentials-2-4", version: "2.4", build: b("2.4-5-ccccccc") }, known, "r/x"),
    "sci/essentials-2-4:2.4-5-ccccccc: no such build is published under r/x; published builds of 2.4: 2.4-5-aaaaaaa, 2.4-9-bbbbbbb");
  assert.is(unpublishedLayer({ target: "custom", version: "1.0" }, known, "r/x"),
    "sci/custom:1.0: no build of version 1.0 is published under r/x; published versions: none recorded");
  assert.is(unpublishedLayer({ target: "x" }, new Map(), "r/x"), "sci/x: no such science layer is published under r/x; none is");
});

test("a moving tag serves the build its image's label names, whatever is newest; a newer build it does not serve is named neutrally", () => {
  const builds = imageVersions(["1.0", "1.0-1-53c8582", "1.0-2-fa660bb", "1.0-2-0ddba11", "1.0-3-abcdef0"])[0].builds;
  const served = labelledBuild("sci", "a", { "org.sciserver.science.a.version": "1.0-1-53c8582" }, builds);
  assert.equal(served, { version: "1.0", number: 1, hash: "53c8582" });
  // a rel/ image names its build in the compat label, `{image}:{build}`; two builds of one number are told apart by hash
  assert.equal(labelledBuild("rel", "a", { "org.sciserver.compat.version": "a:1.0-2-0ddba11" }, builds), { version: "1.0", number: 2, hash: "0ddba11" });
  assert.is(labelledBuild("rel", "a", { "org.sciserver.compat.version": "a:1.0-2-1234567" }, builds), undefined, "a build no tag holds");
  assert.is(labelledBuild("sci", "a", { "org.sciserver.science.b.version": "1.0-1-53c8582" }, builds), undefined, "another layer's label");
  assert.is(labelledBuild("sci", "a", {}, builds), undefined);
  assert.equal(newerBuildThan(served!, builds), { version: "1.0", number: 3, hash: "abcdef0" });
  assert.is(newerBuildThan(builds[builds.length - 1], builds), undefined);
  assert.is(movingTagText({ served: true, build: served, newerBuild: newerBuildThan(served!, builds), hasMovingTag: true }), "serves this; newer build 1.0-3-abcdef0 not served");
  assert.is(movingTagText({ served: true, build: builds[builds.length - 1], hasMovingTag: true }), "serves this");
  assert.is(movingTagText({ served: true, hasMovingTag: true }), "serves an image of no build tag");
  // One platform's image of the build's index under {version}, not the index.
  assert.is(movingTagText({ served: true, build: builds[builds.length - 1], hasMovingTag: true, servedPlatformImage: "linux/amd64" }), "serves its linux/amd64 image, not its index");
  assert.is(movingTagText({ served: true, build: served, newerBuild: newerBuildThan(served!, builds), hasMovingTag: true, servedPlatformImage: "linux/amd64" }), "serves its linux/amd64 image, not its index; newer build 1.0-3-abcdef0 not served");
  assert.is(movingTagText({ served: false, build: served, hasMovingTag: true }), "-");
  assert.is(movingTagText({ served: false, build: served, hasMovingTag: false }), "no {version} tag");
  for (const text of ["serves this; newer build 1.0-3-abcdef0 not served", "serves this"]) assert.not.match(text, /NOT|stale|old/);
});

test("catalog: the sci/ and rel/ repositories under the repo's path only", () => {
  const catalog = ["ci/sci/a", "ci/rel/a", "ci/other/x", "ci/sci/a/deeper", "prod/sci/a", "cix/sci/b"];
  assert.equal(publishedRepositories(catalog, "ci").map((r) => r.path), ["ci/rel/a", "ci/sci/a"]);
  assert.equal(publishedRepositories(["sci/z", "rel/y"], "").map((r) => `${r.kind}/${r.name}`), ["rel/y", "sci/z"]);
});

test("what an answer does not cover: a warning per image that could not be read, a note of unchecked build tags; nothing found is said of what was read", () => {
  const broken = unreadableImage("r/m/rel/essentials:2.4", "r/m/rel/essentials:2.4: the index names manifest sha256:aa, which the registry does not have");
  assert.equal(broken, { reference: "r/m/rel/essentials:2.4", error: "the index names manifest sha256:aa, which the registry does not have" });
  // An error that does not start with the reference is kept whole.
  assert.is(unreadableImage("r/x:1", "blob sha256:bb of r/x: registry r answered HTTP 404").error, "blob sha256:bb of r/x: registry r answered HTTP 404");
  assert.equal(coverageLines({ uncheckedBuildTags: 0, unreadable: [] }), { warnings: [], notes: [] });
  assert.equal(coverageLines({ uncheckedBuildTags: 1, unreadable: [broken] }), {
    warnings: ["image-builder: warning: r/m/rel/essentials:2.4: left out, cannot be read: the index names manifest sha256:aa, which the registry does not have"],
    notes: ["image-builder: note: checked what each moving tag {version} serves; 1 build tag no moving tag serves not checked (--all-tags checks every build)"],
  });
  assert.match(coverageLines({ uncheckedBuildTags: 3, unreadable: [] }).notes[0], /; 3 build tags no moving tag serves not checked/);
  assert.is(nothingFound("sci/a", { unreadable: [] }), "no published image contains sci/a");
  assert.is(nothingFound("a package curl", { unreadable: [broken, broken] }), "no published image that could be read contains a package curl (2 could not be read, see above)");
});

test("versionsWithoutBuilds: moving tags whose version has no build tag, newest first; platform, signature and other tags are not versions", () => {
  const tags = ["1.0", "1.0-3-abc1234", "2.0", "10.0", "2.0-linux-amd64", "latest", "sha256-" + "0".repeat(64) + ".sig", "3.0-4-def5678", "2.0-1-abc1234-linux-amd64"];
  assert.equal(versionsWithoutBuilds(tags), ["10.0", "2.0"]);
  assert.equal(versionsWithoutBuilds(["1.0", "1.0-3-abc1234"]), []);
});

test.run();
