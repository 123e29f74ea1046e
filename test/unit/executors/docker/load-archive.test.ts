// run --base-archive: the tar the engine is given is made of the entries readArchive checked, and
// fails (never loads something else) when the file changed after the check.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { checkedImageTar } from "../../../../src/executors/docker/load-archive.js";
import { readArchive } from "../../../../src/registry/archive.js";
import { rawTarEntry, readTarEntries, writeTar, type TarWriteEntry } from "../../../helpers/tar.js";
import { tempDir } from "../../../helpers/temp.js";

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const layer = Buffer.concat([rawTarEntry("etc/hello", "0", "hello\n"), Buffer.alloc(1024)]);
const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [sha(layer)] } }));
const hex = (b: Buffer) => sha(b).slice(7);

/** A docker-archive as `docker save` before Docker 25 wrote it: `<hex>.json`, `<hex>/layer.tar`, manifest.json. */
const entries = (layerBody = layer): TarWriteEntry[] => [
  { name: `${hex(layer)}/layer.tar`, body: layerBody },
  { name: `${hex(config)}.json`, body: config },
  { name: "manifest.json", body: JSON.stringify([{ Config: `${hex(config)}.json`, RepoTags: ["handed/x:1.0"], Layers: [`${hex(layer)}/layer.tar`] }]) },
];

/** What the engine would read: the entries, or the error the stream ended with (the engine's request is ended by it, as docker-modem does). */
function drain(stream: NodeJS.ReadableStream): Promise<TarWriteEntry[] | Error> {
  return new Promise((resolve) => {
    stream.on("error", (e: Error) => resolve(e));
    readTarEntries(stream).then(resolve, resolve);
  });
}

test("the engine is given the checked config and layers under their digests, and a manifest.json of its own, last", async () => {
  using dir = tempDir("ib-load-");
  const file = join(dir.path, "x.tar");
  await writeTar(file, [{ name: "notes.txt", body: "not loaded" }, ...entries()]);
  const { loading } = await readArchive(file);
  const failures: Error[] = [];
  const out = await drain(checkedImageTar(file, loading, (e) => failures.push(e)));
  assert.equal(failures, []);
  assert.ok(Array.isArray(out), String(out));
  const got = out as TarWriteEntry[];
  assert.equal(got.map((e) => e.name).sort(), [`blobs/sha256/${hex(config)}`, `blobs/sha256/${hex(layer)}`, "manifest.json"].sort());
  assert.is(got[got.length - 1].name, "manifest.json");
  assert.equal(JSON.parse(String(got[got.length - 1].body)), [{ Config: `blobs/sha256/${hex(config)}`, RepoTags: ["handed/x:1.0"], Layers: [`blobs/sha256/${hex(layer)}`] }]);
  assert.ok(Buffer.compare(got.find((e) => e.name === `blobs/sha256/${hex(layer)}`)!.body as Buffer, layer) === 0);
});

test("a file changed after the check fails the tar before its manifest.json, naming the file: a layer's bytes, a layer gone, a name the check refuses", async () => {
  using dir = tempDir("ib-load-");
  const file = join(dir.path, "x.tar");
  await writeTar(file, entries());
  const { loading } = await readArchive(file);
  const flipped = Buffer.from(layer);
  flipped[600] ^= 1;
  const changes: [string, TarWriteEntry[]][] = [
    ["a byte of the layer", entries(flipped)],
    ["the layer gone", entries().filter((e) => !e.name.endsWith("layer.tar"))],
    ["a name with ..", [{ name: "x/../evil", body: "" }, ...entries()]],
  ];
  for (const [what, content] of changes) {
    await writeTar(file, content);
    const failures: Error[] = [];
    const out = await drain(checkedImageTar(file, loading, (e) => failures.push(e)));
    assert.is(failures.length, 1, what);
    assert.match(failures[0].message, /changed while it was being loaded/, what);
    assert.is((failures[0] as { file?: string }).file, file, what);
    if (Array.isArray(out)) assert.not.ok(out.some((e) => e.name === "manifest.json"), `${what}: manifest.json written`);
  }
});

test.run();
