import { test } from "uvu";
import * as assert from "uvu/assert";
import { layersLeft } from "../../../../src/core/plan/layers-left.js";
import { oldSidesOfDiff } from "../../../../src/read/git.js";
import type { RepoSnapshot, ScienceLayer } from "../../../../src/core/model.js";

const layer = (dir: string, image: string, version: string): ScienceLayer => ({ dir, path: `science/${dir}`, image, version, target: dir, compat: "base", dockerfile: "FROM busybox:stable\n" });
const snapshot: RepoSnapshot = { science: [layer("tools", "tools", "2.0"), layer("viz", "viz", "3.0")], compat: [] };

test("layers that left an image version: removed, moved to another version or image; one that stayed, or whose old config did not parse, did not", () => {
  const previous = new Map([
    ["science/gone/sciserver-image.json", '{"image": "tools", "version": "2.0"}'],
    ["science/viz/sciserver-image.json", '// a comment\n{"image": "tools", "version": 2.0}'],
    ["science/tools/sciserver-image.json", '{"image": "tools", "version": "2.0", "compat": "old"}'],
    ["science/broken/sciserver-image.json", "{not json"],
    ["science/defaulted/sciserver-image.json", '{"image": "d"}'],
  ]);
  assert.equal(layersLeft(snapshot, previous), [
    { dir: "defaulted", left: "d:1.0" },
    { dir: "gone", left: "tools:2.0" },
    { dir: "viz", left: "tools:2.0", now: "viz:3.0" },
  ]);
});

test("the old side of a whole-file diff: a deleted and an edited file; a new file has none", () => {
  const diff = [
    "diff --git a/science/gone/sciserver-image.json b/science/gone/sciserver-image.json",
    "deleted file mode 100644",
    "index 1111111..0000000",
    "--- a/science/gone/sciserver-image.json",
    "+++ /dev/null",
    "@@ -1,3 +0,0 @@",
    "-{",
    "-  \"image\": \"tools\"",
    "-}",
    "diff --git a/science/x/sciserver-image.json b/science/x/sciserver-image.json",
    "index 2222222..3333333 100644",
    "--- a/science/x/sciserver-image.json",
    "+++ b/science/x/sciserver-image.json",
    "@@ -1,2 +1,2 @@",
    " {\"image\": \"x\",",
    "-\"version\": \"1.0\"}",
    "+\"version\": \"1.1\"}",
    "\\ No newline at end of file",
    "diff --git a/science/new/sciserver-image.json b/science/new/sciserver-image.json",
    "new file mode 100644",
    "--- /dev/null",
    "+++ b/science/new/sciserver-image.json",
    "@@ -0,0 +1 @@",
    "+{\"image\": \"new\"}",
    "",
  ].join("\n");
  assert.equal([...oldSidesOfDiff(diff)], [
    ["science/gone/sciserver-image.json", '{\n  "image": "tools"\n}'],
    ["science/x/sciserver-image.json", '{"image": "x",\n"version": "1.0"}'],
  ]);
});

test.run();
