import { test } from "uvu";
import * as assert from "uvu/assert";
import { databaseKind, LayeredFiles, MAX_DATABASE_BYTES, normalizeName, snapshotOfFiles, type LayerEntry, type ReadLimits } from "../../../../src/core/sbom/layered-files.js";

type Entry = LayerEntry & { content?: string };
const file = (name: string, content = "x"): Entry => ({ name, type: "file", size: content.length, content });

/** The layers applied the way the shell applies them: contents only for what LayeredFiles asks for. */
function apply(layers: Entry[][], limits?: ReadLimits): LayeredFiles {
  const files = new LayeredFiles(undefined, limits);
  for (const layer of layers) {
    files.startLayer();
    for (const { content, ...entry } of layer) files.add(entry, files.wantsContent(entry) && content !== undefined ? Buffer.from(content) : undefined);
  }
  return files;
}
const paths = (layers: Entry[][]) => apply(layers).files().map((f) => `${f.path}@${f.layer}`);

test("package databases are recognized by path, under any prefix; other files are not", () => {
  const kinds: [string, string | undefined][] = [
    ["var/lib/dpkg/status", "dpkg"],
    ["var/lib/dpkg/status-old", undefined],
    ["var/lib/dpkg/status.d/libc6", "dpkg"],
    ["lib/apk/db/installed", "apk"],
    ["opt/conda/conda-meta/numpy-1.26.0-py311h64a7726_0.json", "conda"],
    ["opt/conda/envs/py39/conda-meta/python-3.9.18-h0755675_0.json", "conda"],
    ["opt/conda/conda-meta/history", undefined],
    ["usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA", "python"],
    ["usr/lib/python3/dist-packages/requests-2.28.1.dist-info/RECORD", undefined],
    ["usr/local/lib/python3.11/site-packages/six-1.16.0.egg-info/PKG-INFO", "python"],
    ["usr/lib/python3/dist-packages/chardet-3.0.4.egg-info", "python"],
    ["usr/lib/R/library/stats/DESCRIPTION", "r"],
    ["usr/local/lib/R/site-library/ggplot2/DESCRIPTION", "r"],
    ["opt/conda/lib/R/library/base/DESCRIPTION", "r"],
    ["usr/share/doc/ggplot2/DESCRIPTION", undefined],
    ["etc/os-release", "os-release"],
  ];
  for (const [path, kind] of kinds) assert.is(databaseKind(path), kind, path);
});

test("only matching regular files are read, names as the engine extracts them", () => {
  const files = new LayeredFiles();
  files.startLayer();
  assert.ok(files.wantsContent({ name: "./var/lib/dpkg/status", type: "file", size: 10 }));
  assert.ok(files.wantsContent({ name: "/lib/apk/db/installed", type: "file", size: 10 }));
  assert.not.ok(files.wantsContent({ name: "usr/bin/python3", type: "file", size: 10 }));
  assert.not.ok(files.wantsContent({ name: "var/lib/dpkg/status", type: "symlink" }));
  assert.not.ok(files.wantsContent({ name: "var/lib/dpkg/status", type: "file", size: MAX_DATABASE_BYTES + 1 }));
  assert.match(files.warnings.join("\n"), /^\/var\/lib\/dpkg\/status: \d+ bytes, more than \d+: not read$/);
});

test("names as the engine extracts them, the same when normalized again; a state rebuilt from its files applies later layers alike", () => {
  for (const [name, path] of [["./a/b", "a/b"], ["/a/b/", "a/b"], ["opt/././conda-meta/x.json", "opt/conda-meta/x.json"], ["a//b", "a/b"], ["./", ""],
    // `..` as the engine cleans it: within the root
    ["x/../var/lib/dpkg/status", "var/lib/dpkg/status"], ["../../var/lib/dpkg/status", "var/lib/dpkg/status"], ["a/b/../../c/./d", "c/d"], ["..", ""]]) {
    assert.is(normalizeName(name), path, name);
    assert.is(normalizeName(normalizeName(name)), path, name);
  }
  const layers: Entry[][] = [[file("opt/././conda/conda-meta/x-1.json"), file("var/lib/dpkg/status")]];
  const direct = apply(layers);
  const rebuilt = new LayeredFiles(snapshotOfFiles(apply(layers).files(), 1, []));
  for (const files of [direct, rebuilt]) {
    files.startLayer();
    files.add({ name: "opt/conda/.wh..wh..opq", type: "file" });
  }
  assert.equal(direct.files().map((f) => f.path), ["/var/lib/dpkg/status"]);
  assert.equal(rebuilt.files(), direct.files());
});

test("a later layer's file replaces an earlier one's", () => {
  const files = apply([[file("var/lib/dpkg/status", "one")], [file("./var/lib/dpkg/status", "two")]]).files();
  assert.equal(files.map((f) => [f.path, f.content, f.layer]), [["/var/lib/dpkg/status", "two", 1]]);
});

test("whiteouts: a file or directory removed in a later layer is gone; one added again after is there", () => {
  const site = "usr/lib/python3/site-packages";
  const base = [file(`${site}/a-1.0.dist-info/METADATA`), file(`${site}/b-1.0.dist-info/METADATA`), file("opt/conda/conda-meta/c-1.json")];
  // `RUN pip uninstall b` removes b's directory: a whiteout of the directory
  assert.equal(paths([base, [{ name: `${site}/.wh.b-1.0.dist-info`, type: "file", size: 0 }]]),
    [`/opt/conda/conda-meta/c-1.json@0`, `/${site}/a-1.0.dist-info/METADATA@0`]);
  // `RUN rm` of one file
  assert.equal(paths([base, [{ name: "opt/conda/conda-meta/.wh.c-1.json", type: "file", size: 0 }]]),
    [`/${site}/a-1.0.dist-info/METADATA@0`, `/${site}/b-1.0.dist-info/METADATA@0`]);
  // a whiteout applies to lower layers only: the file removed, then written again by a later layer
  assert.equal(paths([base, [{ name: "opt/conda/conda-meta/.wh.c-1.json", type: "file" }], [file("opt/conda/conda-meta/c-1.json")]]).filter((p) => p.includes("conda")),
    ["/opt/conda/conda-meta/c-1.json@2"]);
  // a whiteout of a parent directory removes everything under it, at any depth
  assert.equal(paths([base, [{ name: "usr/lib/.wh.python3", type: "file" }]]), ["/opt/conda/conda-meta/c-1.json@0"]);
  // a whiteout of a name that is a prefix but not a parent removes nothing
  assert.equal(paths([base, [{ name: `${site}/.wh.a-1.0.dist`, type: "file" }]]).length, 3);
});

test("an opaque directory hides the lower layers' contents, not the layer's own", () => {
  const site = "usr/lib/python3/site-packages";
  const layers = [
    [file(`${site}/a-1.0.dist-info/METADATA`), file("opt/conda/conda-meta/c-1.json")],
    [{ name: `${site}/.wh..wh..opq`, type: "file" }, file(`${site}/d-2.0.dist-info/METADATA`)],
  ];
  assert.equal(paths(layers), ["/opt/conda/conda-meta/c-1.json@0", `/${site}/d-2.0.dist-info/METADATA@1`]);
  // the opaque marker after the layer's own files (tar order is not fixed) changes nothing
  assert.equal(paths([layers[0], [layers[1][1], layers[1][0]]]), paths(layers));
});

test("a non-directory replacing a directory removes what was under it; hard links carry their target's contents", () => {
  const layers: Entry[][] = [
    [file("opt/conda/conda-meta/c-1.json"), file("opt/env/conda-meta/e-1.json")],
    [{ name: "opt/conda", type: "symlink", linkname: "/opt/env" }],
  ];
  assert.equal(paths(layers), ["/opt/env/conda-meta/e-1.json@0"]);
  const site = "opt/conda/lib/python3.11/site-packages/numpy-1.26.0.dist-info/METADATA";
  const cache = "opt/conda/pkgs/numpy-1.26.0-py311/lib/python3.11/site-packages/numpy-1.26.0.dist-info/METADATA";
  const linked = apply([[file(cache, "Name: numpy\nVersion: 1.26.0\n"), { name: site, type: "link", linkname: cache }]]).files();
  assert.equal(linked.map((f) => [f.path, f.content]), [[`/${site}`, "Name: numpy\nVersion: 1.26.0\n"], [`/${cache}`, "Name: numpy\nVersion: 1.26.0\n"]]);
});

test("a snapshot after some layers, resumed with the rest, gives what applying them all gives", () => {
  const layers: Entry[][] = [
    [file("opt/conda/conda-meta/a-1.json"), file("opt/conda/conda-meta/b-1.json")],
    [{ name: "opt/conda/conda-meta/.wh.a-1.json", type: "file" }, file("var/lib/dpkg/status", "s")],
    [{ name: "opt/.wh.conda", type: "file" }],
  ];
  const head = apply(layers.slice(0, 2));
  const snapshot = head.snapshot();
  const resumed = new LayeredFiles(snapshot);
  resumed.startLayer();
  for (const e of layers[2]) resumed.add(e);
  assert.equal(resumed.files(), apply(layers).files());
  assert.equal(resumed.files().map((f) => [f.path, f.layer]), [["/var/lib/dpkg/status", 1]]);
  // the snapshot is not changed by what came after it
  assert.equal([...snapshot.files.keys()].sort(), ["opt/conda/conda-meta/b-1.json", "var/lib/dpkg/status"]);
  assert.equal(new LayeredFiles(snapshot).files(), head.files());
});

test("the package files read of one image stop at the image limit: what later layers delete or replace frees its share; one warning", () => {
  const limits = { file: 40, image: 100 };
  const meta = (n: number, content: string) => file(`opt/conda/conda-meta/p${n}-1.0-0.json`, content);
  const x = (n: number) => "x".repeat(n);
  // 3 × 30 fit; a fourth 30 would pass 100: not read, and nothing after it that would pass either
  const full = apply([[meta(1, x(30)), meta(2, x(30)), meta(3, x(30)), meta(4, x(30)), meta(5, x(30))], [meta(6, x(5))]], limits);
  assert.equal(full.files().map((f) => f.path.replace(/.*\//, "")), ["p1-1.0-0.json", "p2-1.0-0.json", "p3-1.0-0.json", "p6-1.0-0.json"]);
  assert.equal(full.warnings, ["/opt/conda/conda-meta/p4-1.0-0.json: 30 bytes would take the package files read from this image past 100 bytes: not read (nor any later file that would)"]);
  // a file over the file limit is its own warning, and counts for nothing
  const big = apply([[meta(1, x(41)), meta(2, x(30))]], limits);
  assert.equal(big.files().length, 1);
  assert.match(big.warnings[0], /p1-1\.0-0\.json: 41 bytes, more than 40: not read/);
  // deleted (whiteout) and replaced files give their share back, in the layer and across layers
  const freed = apply([
    [meta(1, x(30)), meta(2, x(30)), meta(3, x(30))],
    [file("opt/conda/conda-meta/.wh.p1-1.0-0.json"), meta(2, x(10)), meta(4, x(30))],
    [meta(4, x(20)), meta(4, x(40)), meta(5, x(20))],
  ], limits);
  assert.equal(freed.warnings, []);
  assert.equal(freed.files().map((f) => f.content.length), [10, 30, 40, 20]);
  // hard links to a file read count as files of their own (each is scanned, and cached)
  const linked = apply([[meta(1, x(40)), ...[2, 3, 4].map((n) => ({ name: `opt/conda/conda-meta/p${n}-1.0-0.json`, type: "link", linkname: "opt/conda/conda-meta/p1-1.0-0.json" }))]], limits);
  assert.equal(linked.files().map((f) => f.path.replace(/.*\//, "")), ["p1-1.0-0.json", "p2-1.0-0.json"]);
  assert.match(linked.warnings.join("\n"), /p3-1\.0-0\.json: 40 bytes would take the package files read from this image past 100 bytes/);
  // a state taken up again (a shared chain, the cache) counts what it holds
  const head = apply([[meta(1, x(30)), meta(2, x(30)), meta(3, x(30))]], limits);
  const next = new LayeredFiles(head.snapshot(), limits);
  next.startLayer();
  assert.not.ok(next.wantsContent({ name: "opt/conda/conda-meta/p9-1.0-0.json", type: "file", size: 20 }));
  assert.ok(next.wantsContent({ name: "opt/conda/conda-meta/p1-1.0-0.json", type: "file", size: 30 }), "replacing a file of the same size fits");
});


test("a package file named through `..` is read where the engine puts it", () => {
  assert.equal(paths([[file("x/../var/lib/dpkg/status"), file("../../opt/conda/conda-meta/a-1.json")]]), ["/opt/conda/conda-meta/a-1.json@0", "/var/lib/dpkg/status@0"]);
});

test("a path that is both a lower layer's file and a directory with files under it: whiteouts above reach both, whichever goes first, with or without a snapshot between", () => {
  const site = "usr/lib/python3/site-packages";
  const egg = file(`${site}/foo.egg-info`);
  const pkgInfo = file(`${site}/foo.egg-info/PKG-INFO`);
  const cases: [string, Entry[][]][] = [
    ["the child removed, then an opaque directory above", [[egg], [pkgInfo], [{ name: `${site}/foo.egg-info/.wh.PKG-INFO`, type: "file" }], [{ name: `${site}/.wh..wh..opq`, type: "file" }]]],
    ["the file replaced by a directory, then the directory above whited out", [[egg], [pkgInfo], [{ name: `${site}/foo.egg-info`, type: "directory" }], [{ name: "usr/lib/python3/.wh.site-packages", type: "file" }]]],
  ];
  for (const [what, layers] of cases) {
    assert.equal(paths(layers), [], what);
    const resumed = new LayeredFiles(apply(layers.slice(0, -1)).snapshot());
    resumed.startLayer();
    for (const entry of layers[layers.length - 1]) resumed.add(entry);
    assert.equal(resumed.files(), [], `${what}, from a snapshot`);
  }
});

test("whiteouts of many directories each remove their own files (each looks under its own directory: BENCH.md)", () => {
  const n = 20000;
  const lower = Array.from({ length: n }, (_, i) => file(`e/${i}/conda-meta/x-1.json`));
  const whiteouts: Entry[] = Array.from({ length: n - 1 }, (_, i) => ({ name: `e/.wh.${i}`, type: "file" }));
  assert.equal(paths([lower, whiteouts]), [`/e/${n - 1}/conda-meta/x-1.json@0`]);
  // from a snapshot (as a cache gives it), and an opaque directory at the top: nothing left
  const resumed = new LayeredFiles(snapshotOfFiles(apply([lower]).files(), 1, []));
  resumed.startLayer();
  resumed.add({ name: "e/5/.wh..wh..opq", type: "file" });
  resumed.add({ name: "e/.wh.7", type: "file" });
  assert.is(resumed.files().length, n - 2);
  resumed.startLayer();
  resumed.add({ name: "e/.wh..wh..opq", type: "file" });
  assert.equal(resumed.files(), []);
});

test("a hard link to a package file of another kind is not read as this one (what is kept of a file is its own kind's), with a warning", () => {
  const files = apply([[file("var/lib/dpkg/status", "Package: a\nVersion: 1\n"), { name: "usr/lib/python3/site-packages/x.egg-info", type: "link", linkname: "var/lib/dpkg/status" }]]);
  assert.equal(files.files().map((f) => f.path), ["/var/lib/dpkg/status"]);
  assert.equal(files.warnings, ["/usr/lib/python3/site-packages/x.egg-info: a hard link to /var/lib/dpkg/status, a package file of another kind, which was not read as this one"]);
  // of the same kind: its target's contents, as before
  assert.equal(apply([[file("a/conda-meta/x.json", "{}"), { name: "b/conda-meta/x.json", type: "link", linkname: "a/conda-meta/x.json" }]]).files().map((f) => f.content), ["{}", "{}"]);
});

test.run();
