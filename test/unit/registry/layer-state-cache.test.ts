import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LayeredFiles } from "../../../src/core/sbom/layered-files.js";
import { cacheDirectory, layerStateCache } from "../../../src/registry/layer-state-cache.js";
import { tempDir } from "../../helpers/temp.js";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const C = `sha256:${"c".repeat(64)}`;

/** The state after a base layer with a dpkg status and a conda record, and a second layer whose big status file was not read. */
function state() {
  const files = new LayeredFiles();
  files.startLayer();
  files.add({ name: "var/lib/dpkg/status", type: "file" }, Buffer.from("Package: libc6\n"));
  files.add({ name: "opt/conda/conda-meta/numpy-1.26.4-0.json", type: "file" }, Buffer.from('{"name":"numpy"}'));
  files.startLayer();
  files.wantsContent({ name: "usr/lib/R/library/x/DESCRIPTION", type: "file", size: 1e12 });
  return files.snapshot();
}
const plain = (s: { files: ReadonlyMap<string, unknown>; layers: number; warnings: readonly string[] }) => ({ files: [...s.files.values()], layers: s.layers, warnings: s.warnings });
const warnings = () => {
  const said: string[] = [];
  return { said, warn: (t: string) => void said.push(t) };
};

test("a state kept is found again whole, also as the first layers of a longer chain; a chain not kept is not found", async () => {
  using dir = tempDir("ib-lsc-");
  const { said, warn } = warnings();
  const cache = layerStateCache(dir.path, warn);
  const kept = state();
  await cache.put([A, B], kept);
  const found = await cache.longest([A, B, C], 0);
  assert.is(found?.layers, 2);
  assert.equal(plain(found!.state), plain(kept));
  assert.equal([...found!.state.directories].sort(), [...kept.directories].sort());
  assert.is(await cache.longest([A, B, C], 2), undefined, "only chains longer than asked");
  assert.is(await cache.longest([B, A], 0), undefined, "another order is another chain");
  assert.is(await cache.longest([A], 0), undefined);
  assert.equal(said, []);
  // contents once each, private
  const files = join(dir.path, "sbom-layers", "v1", "files");
  assert.is(readdirSync(files).length, 2);
  assert.is(statSync(files).mode & 0o777, 0o700);
});

test("a state from the cache goes on as one read: a later layer's whiteout of a directory removes what the state held under it", async () => {
  using dir = tempDir("ib-lsc-");
  const cache = layerStateCache(dir.path, () => undefined);
  await cache.put([A], state());
  const files = new LayeredFiles((await cache.longest([A, B], 0))!.state);
  files.startLayer();
  files.add({ name: "opt/.wh.conda", type: "file" });
  assert.equal(files.files().map((f) => f.path), ["/var/lib/dpkg/status"]);
});

test("a state not whole is a miss: its record cut short, a file of it damaged or gone", async () => {
  using dir = tempDir("ib-lsc-");
  const cache = layerStateCache(dir.path, () => undefined);
  const root = join(dir.path, "sbom-layers", "v1");
  await cache.put([A], state());
  const [record] = readdirSync(join(root, "states"));
  const text = readFileSync(join(root, "states", record), "utf8");
  writeFileSync(join(root, "states", record), text.slice(0, -5));
  assert.is(await cache.longest([A], 0), undefined, "cut short");
  writeFileSync(join(root, "states", record), text);
  assert.ok(await cache.longest([A], 0));
  const [file] = readdirSync(join(root, "files"));
  writeFileSync(join(root, "files", file), "damaged");
  assert.is(await cache.longest([A], 0), undefined, "damaged");
  // written again: mended
  await cache.put([A], state());
  assert.ok(await cache.longest([A], 0));
});

test("a cache that cannot be written: one warning naming it, nothing found, the caller goes on", async () => {
  using dir = tempDir("ib-lsc-");
  const blocked = join(dir.path, "a-file");
  writeFileSync(blocked, "");
  const { said, warn } = warnings();
  const cache = layerStateCache(blocked, warn);
  await cache.put([A], state());
  await cache.put([A, B], state());
  assert.is(said.length, 1);
  assert.match(said[0], new RegExp(`^the SBOM cache ${blocked} cannot be written \\(ENOTDIR\\)`));
  assert.is(await cache.longest([A, B], 0), undefined);
});

test("a cache others could write is not used (whoever writes it decides what the SBOMs list): one warning naming it, nothing kept or found", async () => {
  using dir = tempDir("ib-lsc-");
  const cacheDir = join(dir.path, "shared");
  mkdirSync(cacheDir, { mode: 0o700 });
  await layerStateCache(cacheDir, () => undefined).put([A], state());
  chmodSync(cacheDir, 0o777);
  const { said, warn } = warnings();
  const cache = layerStateCache(cacheDir, warn);
  assert.is(await cache.longest([A], 0), undefined, "a state kept before is not taken from it");
  await cache.put([B], state());
  assert.equal(said, [`the SBOM cache is not used: ${cacheDir} is writable by others (whoever can write it could change what the SBOMs list); layers are read from the registry`]);
  assert.is(readdirSync(join(cacheDir, "sbom-layers", "v1", "states")).length, 1, "nothing written");
  chmodSync(cacheDir, 0o700);
  assert.ok(await layerStateCache(cacheDir, () => undefined).longest([A], 0), "private again: used");
});

test("where the cache is: IMAGE_BUILDER_CACHE, none for no cache, else the user's cache directory", () => {
  assert.is(cacheDirectory({ IMAGE_BUILDER_CACHE: "/c", HOME: "/h" }), "/c");
  assert.is(cacheDirectory({ IMAGE_BUILDER_CACHE: "none", HOME: "/h" }), undefined);
  assert.is(cacheDirectory({ XDG_CACHE_HOME: "/x", HOME: "/h" }), "/x/image-builder");
  assert.is(cacheDirectory({ HOME: "/h" }), "/h/.cache/image-builder");
});

test.run();
