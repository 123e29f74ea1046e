import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  checkRepositoriesFile, dockerArchiveEntries, layoutManifests, normalizeEntryName, requireOneImage, resolveArchiveEntries, type LayoutBlob,
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

/** Blobs of an OCI layout by the digest each is stored under; `claims` stores one under another digest. */
function layout(blobs: Record<string, unknown>, claims: Record<string, string> = {}): (digest: string) => LayoutBlob | undefined {
  return (digest) => {
    const stored = Object.entries(claims).find(([under]) => under === digest)?.[1] ?? digest;
    if (!(stored in blobs)) return undefined;
    return { digest: stored, size: JSON.stringify(blobs[stored]).length, json: () => blobs[stored] };
  };
}
const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const manifest = { config: { digest: d(9), size: 1 }, layers: [] };
const index = (...digests: string[]) => ({ manifests: digests.map((digest, i) => ({ digest, platform: { os: "linux", architecture: ["amd64", "arm64", "s390x"][i] } })) });

test("an OCI layout's manifests through nested indexes (index.json -> index -> manifests), each with the platform its index gives", () => {
  const found = layoutManifests([{ digest: d(1) }], layout({ [d(1)]: index(d(2), d(3), d(4)), [d(2)]: manifest, [d(3)]: manifest }));
  // d(4) is not in the file: nothing to load, left out.
  assert.equal(found.map((m) => [m.descriptor.digest, m.descriptor.platform?.architecture, m.index?.digest]), [[d(2), "amd64", d(1)], [d(3), "arm64", d(1)]]);
  assert.equal(layoutManifests([{ digest: d(2) }], layout({ [d(2)]: manifest })).map((m) => [m.descriptor.digest, m.index]), [[d(2), undefined]]);
});

test("a nested index pointing outside the blobs, at content of another digest or size, at itself or an index above it, or too deep: refused", () => {
  const blobs = { [d(1)]: index(d(2)), [d(2)]: manifest };
  throwsMatching(() => layoutManifests([{ digest: d(1) }], layout({ [d(1)]: index("sha256:../../index.json") })), /manifest "sha256:\.\.\/\.\.\/index\.json" points outside the archive's blobs/);
  throwsMatching(() => layoutManifests([{ digest: d(1) }], layout({ [d(1)]: { manifests: [{ digest: d(2), urls: ["https://elsewhere"] }] }, [d(2)]: manifest })), /manifest "sha256:2+" points outside the archive \(urls\)/);
  throwsMatching(() => layoutManifests([{ digest: d(1) }], layout({ ...blobs, [d(3)]: manifest }, { [d(2)]: d(3) })), /manifest "sha256:2+" is corrupted: its content has digest sha256:3+/);
  throwsMatching(() => layoutManifests([{ digest: d(1), size: 1 }], layout(blobs)), /index\.json's manifest "sha256:1+" has \d+ bytes, its descriptor says 1/);
  // a size of the wrong type is named as such (it read "has 418 bytes, its descriptor says 418")
  throwsMatching(() => layoutManifests([{ digest: d(1), size: "418" as unknown as number }], layout(blobs)), /index\.json's manifest "sha256:1+": its descriptor's size "418" is not a number/);
  throwsMatching(() => layoutManifests([{ digest: d(1) }], layout({ [d(1)]: index(d(2)), [d(2)]: index(d(1)) })), /manifest "sha256:1+" is part of a loop of indexes/);
  throwsMatching(() => layoutManifests([{ digest: d(1) }], layout({ [d(1)]: index(d(1)) })), /part of a loop/);
  const deep = { [d(1)]: index(d(2)), [d(2)]: index(d(3)), [d(3)]: index(d(4)), [d(4)]: index(d(5)), [d(5)]: index(d(6)), [d(6)]: manifest };
  throwsMatching(() => layoutManifests([{ digest: d(1) }], layout(deep)), /index sha256:5+ is nested 5 deep \(at most 4\)/);
  throwsMatching(() => layoutManifests([{ digest: d(7) }], layout(blobs)), /index\.json's manifest "sha256:7+" is missing from the archive/);
});

test.run();
