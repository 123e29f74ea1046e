import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  checkRepositoriesFile, dockerArchiveEntries, normalizeEntryName, requireOneImage, resolveArchiveEntries,
} from "../../../../src/core/parse/image-archive.js";

const throwsMatching = (f: () => unknown, pattern: RegExp) => {
  try {
    f();
  } catch (e) {
    assert.is((e as Error).name, "InputError");
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected an error matching ${pattern}`);
};

test("entry names as the engine extracts them; absolute names and .. refused", () => {
  assert.is(normalizeEntryName("./manifest.json"), "manifest.json");
  assert.is(normalizeEntryName("blobs//sha256/./ab/"), "blobs/sha256/ab");
  assert.is(normalizeEntryName("./"), "");
  throwsMatching(() => normalizeEntryName("x/../manifest.json"), /"x\/\.\.\/manifest\.json" has a "\.\." in its name/);
  throwsMatching(() => normalizeEntryName("../etc/passwd"), /has a "\.\." in its name/);
  throwsMatching(() => normalizeEntryName("/manifest.json"), /"\/manifest\.json" has an absolute name/);
});

test("one name once: duplicates after normalising refused, repeated directories allowed", () => {
  const file = (name: string) => ({ name, type: "file" });
  throwsMatching(() => resolveArchiveEntries([file("manifest.json"), file("./manifest.json")]), /"\.\/manifest\.json" has the same name as an earlier one \("manifest\.json"\)/);
  throwsMatching(() => resolveArchiveEntries([file("a"), { name: "a/", type: "directory" }]), /same name/);
  const ok = resolveArchiveEntries([{ name: "./", type: "directory" }, { name: "blobs/", type: "directory" }, { name: "./blobs/", type: "directory" }, file("blobs/x")]);
  assert.equal([...ok], [["blobs/x", "blobs/x"]]);
  throwsMatching(() => resolveArchiveEntries([{ name: "dev", type: "character-device" }]), /"dev" is a character-device, not a file or directory/);
});

test("links resolve to the file they name inside the archive (docker save links shared layers); escaping or dangling ones are refused", () => {
  const files = resolveArchiveEntries([
    { name: "aaa/layer.tar", type: "file" },
    { name: "bbb/layer.tar", type: "symlink", linkname: "../aaa/layer.tar" },
    { name: "ccc/layer.tar", type: "link", linkname: "bbb/layer.tar" },
  ]);
  assert.equal([...files], [["aaa/layer.tar", "aaa/layer.tar"], ["bbb/layer.tar", "aaa/layer.tar"], ["ccc/layer.tar", "aaa/layer.tar"]]);
  throwsMatching(() => resolveArchiveEntries([{ name: "a", type: "symlink", linkname: "../../etc/passwd" }]), /points outside the archive/);
  throwsMatching(() => resolveArchiveEntries([{ name: "a", type: "symlink", linkname: "/etc/passwd" }]), /points outside the archive/);
  throwsMatching(() => resolveArchiveEntries([{ name: "a", type: "symlink", linkname: "missing" }]), /points at "missing", which is not in the archive/);
  throwsMatching(() => resolveArchiveEntries([{ name: "a", type: "symlink", linkname: "b" }, { name: "b", type: "symlink", linkname: "a" }]), /part of a loop/);
});

test("manifest.json: every entry read, paths normalised, bad shapes and escaping paths refused", () => {
  assert.equal(dockerArchiveEntries([{ Config: "./c.json", RepoTags: ["a:1"], Layers: ["l/layer.tar"] }, { Config: "d.json", RepoTags: null, Layers: [] }]), [
    { config: "c.json", repoTags: ["a:1"], layers: ["l/layer.tar"] },
    { config: "d.json", repoTags: [], layers: [] },
  ]);
  throwsMatching(() => dockerArchiveEntries([]), /manifest\.json names no image/);
  throwsMatching(() => dockerArchiveEntries({}), /manifest\.json names no image/);
  throwsMatching(() => dockerArchiveEntries([{ Config: "c.json", Layers: [1] }]), /manifest\.json entry 1 names no image/);
  throwsMatching(() => dockerArchiveEntries([{ Config: "c.json", Layers: ["../x/layer.tar"] }]), /manifest\.json entry 1: path "\.\.\/x\/layer\.tar" has a "\.\." in its name/);
});

test("repositories may only name what manifest.json names; one image per file", () => {
  checkRepositoriesFile({ busybox: { stable: "abc" } }, ["busybox:stable"]);
  throwsMatching(() => checkRepositoriesFile({ busybox: { stable: "abc" } }, ["handed:1.0"]), /repositories names busybox:stable, which manifest\.json does not/);
  requireOneImage([{ file: "manifest.json", images: 1 }, { file: "index.json", images: 1 }]);
  throwsMatching(() => requireOneImage([{ file: "manifest.json", images: 2 }]), /manifest\.json names 2 images; an image file must hold one/);
});

test.run();
