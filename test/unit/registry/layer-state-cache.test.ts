import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { LayeredFiles, type LayeredSnapshot } from "../../../src/core/sbom/layered-files.js";
import { cacheDirectory, layerStateCache } from "../../../src/registry/layer-state-cache.js";
import { tempDir } from "../../helpers/temp.js";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const C = `sha256:${"c".repeat(64)}`;
const BIG = "Package: libc6\n".repeat(1000);

/** The states after a base layer (a dpkg status, a conda record) and after a second layer that removes the conda directory, adds a Python dist and a file too big to read. */
function states(): [LayeredSnapshot, LayeredSnapshot] {
  const files = new LayeredFiles();
  files.startLayer();
  files.add({ name: "var/lib/dpkg/status", type: "file" }, Buffer.from(BIG));
  files.add({ name: "opt/conda/conda-meta/numpy-1.26.4-0.json", type: "file" }, Buffer.from('{"name":"numpy"}'));
  const first = files.snapshot();
  files.startLayer();
  files.add({ name: "opt/.wh.conda", type: "file" });
  files.add({ name: "usr/lib/python3/site-packages/six-1.0.dist-info/METADATA", type: "file" }, Buffer.from("Name: six\n"));
  files.wantsContent({ name: "usr/lib/R/library/x/DESCRIPTION", type: "file", size: 1e12 });
  return [first, files.snapshot()];
}
const plain = (s: LayeredSnapshot) => ({ files: [...s.files.entries()].sort(), layers: s.layers, warnings: s.warnings });
const warnings = () => {
  const said: string[] = [];
  return { said, warn: (t: string) => void said.push(t) };
};
const records = (dir: string) => join(dir, "sbom-layers", "v2");
/** Keeps both states of `states()` under A and A,B. */
async function keep(cache: ReturnType<typeof layerStateCache>) {
  const [first, second] = states();
  await cache.put([A], first, undefined);
  await cache.put([A, B], second, first);
  return [first, second];
}

test("a state kept is found again whole, also as the first layers of a longer chain; each file's contents are written once, in the record of the layer that wrote them", async () => {
  using dir = tempDir("ib-lsc-");
  const { said, warn } = warnings();
  const cache = layerStateCache(dir.path, warn);
  const [first, second] = await keep(cache);
  const found = await cache.longest([A, B, C], 0);
  assert.is(found?.layers, 2);
  assert.equal(plain(found!.state), plain(second));
  assert.equal(plain((await cache.longest([A, C], 0))!.state), plain(first));
  assert.is(await cache.longest([A, B, C], 2), undefined, "only chains longer than asked");
  assert.is(await cache.longest([B, A], 0), undefined, "another order is another chain");
  assert.equal(said, []);
  const kept = readdirSync(records(dir.path)).map((f) => readFileSync(join(records(dir.path), f), "utf8"));
  assert.is(kept.length, 2);
  assert.is(kept.filter((r) => r.includes("Package: libc6")).length, 1, "the status file, carried over by the second layer, is in one record");
  assert.is(statSync(records(dir.path)).mode & 0o777, 0o700);
});

test("records unused for 30 days are removed, once a day; a record read is used", async () => {
  using dir = tempDir("ib-lsc-");
  await keep(layerStateCache(dir.path, () => undefined));
  const [a, ab] = readdirSync(records(dir.path)).map((f) => join(records(dir.path), f)).sort((x, y) => statSync(x).size - statSync(y).size).reverse();
  const daysAgo = (n: number) => new Date(Date.now() - n * 24 * 60 * 60 * 1000);
  const age = (file: string, days: number) => utimesSync(file, daysAgo(days), daysAgo(days));
  // A (the status file's record, the bigger) read 10 days ago, A,B 40 days ago; looked over today already: both stay
  age(a, 10);
  age(ab, 40);
  await layerStateCache(dir.path, () => undefined).longest([C], 0);
  assert.equal(readdirSync(records(dir.path)).length, 2, "pruned twice in a day");
  // the last look two days ago: A,B goes, A stays, and being read marks it used
  age(join(dir.path, "sbom-layers", ".pruned"), 2);
  const cache = layerStateCache(dir.path, () => undefined);
  assert.is((await cache.longest([A, B], 0))?.layers, 1);
  assert.equal(readdirSync(records(dir.path)), [a.slice(a.lastIndexOf("/") + 1)]);
  assert.ok(Date.now() - statSync(a).mtimeMs < 60_000, "a record read is marked used");
});

test("an earlier layout's records (sbom-layers/v1, of older versions) are pruned by the same rule, and its directory once empty", async () => {
  using dir = tempDir("ib-lsc-");
  const v1 = join(dir.path, "sbom-layers", "v1");
  mkdirSync(v1, { recursive: true, mode: 0o700 });
  const daysAgo = (n: number) => new Date(Date.now() - n * 24 * 60 * 60 * 1000);
  for (const [name, days] of [["old.json", 40], ["recent.json", 5]] as const) {
    writeFileSync(join(v1, name), "x");
    utimesSync(join(v1, name), daysAgo(days), daysAgo(days));
  }
  await layerStateCache(dir.path, () => undefined).longest([A], 0);
  assert.equal(readdirSync(v1), ["recent.json"], "a record a downgraded run used lately stays");
  utimesSync(join(v1, "recent.json"), daysAgo(31), daysAgo(31));
  utimesSync(join(dir.path, "sbom-layers", ".pruned"), daysAgo(2), daysAgo(2));
  await layerStateCache(dir.path, () => undefined).longest([A], 0);
  assert.not.ok(existsSync(v1), "the empty layout's directory is removed");
  assert.ok(existsSync(records(dir.path)), "this version's stays");
});

test("a state from the cache goes on as one read: a later layer's whiteout of a directory removes what the state held under it", async () => {
  using dir = tempDir("ib-lsc-");
  const cache = layerStateCache(dir.path, () => undefined);
  const [first] = states();
  await cache.put([A], first, undefined);
  const files = new LayeredFiles((await cache.longest([A, B], 0))!.state);
  files.startLayer();
  files.add({ name: "opt/.wh.conda", type: "file" });
  assert.equal(files.files().map((f) => f.path), ["/var/lib/dpkg/status"]);
});

test("a state not whole is a miss: a record cut short, damaged, gone, or not a regular file (a FIFO, a link to a device)", async () => {
  using dir = tempDir("ib-lsc-");
  const cache = layerStateCache(dir.path, () => undefined);
  await keep(cache);
  const root = records(dir.path);
  const found = await cache.longest([A, B], 0);
  assert.is(found?.layers, 2);
  // which file is A's record: the one without the dist
  const [recordA, recordAB] = readdirSync(root).sort((x, y) => Number(readFileSync(join(root, x), "utf8").includes("six")) - Number(readFileSync(join(root, y), "utf8").includes("six")));
  const text = readFileSync(join(root, recordAB), "utf8");
  writeFileSync(join(root, recordAB), text.slice(0, -5));
  assert.is((await cache.longest([A, B], 0))?.layers, 1, "cut short: the chain before it still serves");
  writeFileSync(join(root, recordAB), text.replace("six", "sox"));
  assert.is((await cache.longest([A, B], 0))?.layers, 1, "damaged");
  writeFileSync(join(root, recordAB), text);
  assert.is((await cache.longest([A, B], 0))?.layers, 2);
  unlinkSync(join(root, recordA));
  assert.is(await cache.longest([A, B], 0), undefined, "the record of an earlier layer gone: the later ones do not serve");
  execFileSync("mkfifo", [join(root, recordA)]);
  assert.is(await cache.longest([A, B], 0), undefined, "a FIFO is not read (no hang)");
  unlinkSync(join(root, recordA));
  symlinkSync("/dev/zero", join(root, recordA));
  assert.is(await cache.longest([A, B], 0), undefined, "a link is not followed");
  unlinkSync(join(root, recordA));
  // written again: mended
  await keep(cache);
  assert.is((await cache.longest([A, B], 0))?.layers, 2);
});

test("a cache that cannot be written: one warning naming it, nothing found, the caller goes on", async () => {
  using dir = tempDir("ib-lsc-");
  const blocked = join(dir.path, "a-file");
  writeFileSync(blocked, "");
  const { said, warn } = warnings();
  const cache = layerStateCache(blocked, warn);
  await keep(cache);
  assert.is(said.length, 1);
  assert.match(said[0], new RegExp(`^the SBOM cache ${blocked} cannot be written \\(EEXIST|ENOTDIR\\)`));
  assert.is(await cache.longest([A, B], 0), undefined);
});

test("a cache others could write is not used (whoever writes it decides what the SBOMs list): one warning naming it; private again, it is", async () => {
  using dir = tempDir("ib-lsc-");
  const cacheDir = join(dir.path, "shared");
  await keep(layerStateCache(cacheDir, () => undefined));
  for (const [mode, who] of [[0o777, "others"], [0o770, "its group"]] as const) {
    chmodSync(cacheDir, mode);
    const { said, warn } = warnings();
    const cache = layerStateCache(cacheDir, warn);
    assert.is(await cache.longest([A], 0), undefined, "a state kept before is not taken from it");
    await cache.put([C], states()[0], undefined);
    assert.equal(said, [`the SBOM cache is not used: ${cacheDir} is writable by ${who} (whoever can write it could change what the SBOMs list); layers are read from the registry`]);
    assert.is(readdirSync(records(cacheDir)).length, 2, "nothing written");
  }
  chmodSync(cacheDir, 0o700);
  assert.ok(await layerStateCache(cacheDir, () => undefined).longest([A], 0), "private again: used");
  // named through a link (to a disk with room): the directory it leads to is what counts
  const link = join(dir.path, "link");
  symlinkSync(cacheDir, link);
  assert.ok(await layerStateCache(link, () => undefined).longest([A], 0));
});

test("made private whatever the umask (002, as for users on Debian): used from the first run on", async () => {
  using dir = tempDir("ib-lsc-");
  const before = process.umask(0o002);
  try {
    const cacheDir = join(dir.path, "home", ".cache", "image-builder");
    const { said, warn } = warnings();
    await keep(layerStateCache(cacheDir, warn));
    assert.equal(said, []);
    assert.is(statSync(cacheDir).mode & 0o777, 0o700);
    assert.is((await layerStateCache(cacheDir, warn).longest([A, B], 0))?.layers, 2);
  } finally {
    process.umask(before);
  }
});

test("where the cache is: IMAGE_BUILDER_CACHE (an absolute path; none or off: no cache), else the user's cache directory; a relative path is refused, not put where the command runs", () => {
  assert.equal(cacheDirectory({ IMAGE_BUILDER_CACHE: "/c", HOME: "/h" }), { dir: "/c" });
  for (const off of ["none", "NONE", " none ", "off", "0"]) assert.equal(cacheDirectory({ IMAGE_BUILDER_CACHE: off, HOME: "/h" }), {}, off);
  assert.match(cacheDirectory({ IMAGE_BUILDER_CACHE: "cache", HOME: "/h" }).problem!, /^IMAGE_BUILDER_CACHE=cache: not an absolute path, so no SBOM cache is used/);
  assert.equal(cacheDirectory({ XDG_CACHE_HOME: "/x", HOME: "/h" }), { dir: "/x/image-builder" });
  assert.equal(cacheDirectory({ XDG_CACHE_HOME: ".cache", HOME: "/h" }), { dir: "/h/.cache/image-builder" }, "a relative XDG_CACHE_HOME is ignored, as the XDG spec says");
  assert.equal(cacheDirectory({ HOME: "/h" }), { dir: "/h/.cache/image-builder" });
});

test.run();
