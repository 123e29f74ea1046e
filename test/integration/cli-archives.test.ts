// `run --base-archive` and `inspect FILE.tar` against image files that would load something else
// than what is checked: every image the engine would load is checked, or the file is refused.
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCli } from "../helpers/cli.js";
import { requireEngine, uniqueRepo } from "../helpers/engine.js";
import { buildImage, dockerConfigDir, pushImage } from "../helpers/registry.js";
import { makeRepo } from "../helpers/repo.js";
import { paxRecords, rawTarEntry, readTarEntries, writeTar, writeTarWithRaw, type TarWriteEntry } from "../helpers/tar.js";
import { tempDir } from "../helpers/temp.js";

const BASE = "busybox:stable";

interface DockerArchiveEntry { Config: string; RepoTags: string[] | null; Layers: string[] }

/** `docker save` of several images, through the engine API, as entries and its manifest.json. */
async function save(names: string[]): Promise<{ entries: TarWriteEntry[]; manifest: DockerArchiveEntry[] }> {
  const { docker } = requireEngine();
  const stream = await (docker as unknown as { getImages(o: { names: string[] }): Promise<NodeJS.ReadableStream> }).getImages({ names });
  const entries = await readTarEntries(stream);
  const manifest = JSON.parse(String(entries.find((e) => e.name === "manifest.json")!.body)) as DockerArchiveEntry[];
  return { entries, manifest };
}

const withManifest = (entries: TarWriteEntry[], manifest: DockerArchiveEntry[]) =>
  [...entries.filter((e) => e.name !== "manifest.json" && e.name !== "repositories"), { name: "manifest.json", body: JSON.stringify(manifest) }];

/**
 * Two images built here (`handed`, the one an archive is meant to hold; `foreign`, one it should
 * not load) and the plan of a repository whose science layer builds on `handed`.
 */
async function handedAndForeign() {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  const handed = `${repo}/rel/handed:1.0`;
  const foreign = `${repo}/foreign:1.0`;
  await buildImage(docker, handed, `FROM ${BASE}\nRUN echo handed > /handed\n`);
  await buildImage(docker, foreign, `FROM ${BASE}\nRUN echo foreign > /foreign\n`);
  const baseId = (await docker.getImage(BASE).inspect()).Id;
  const dir = tempDir("ib-archives-");
  const noCreds = dockerConfigDir({});
  const src = makeRepo({
    "science/child/sciserver-image.json": '{"image": "child", "version": "1.0", "compat": "c"}',
    "science/child/Dockerfile": `FROM ${handed}\nRUN cat /handed > /from-base\n`,
    "compat/c/sciserver-image.json": "{}",
    "compat/c/Dockerfile": "RUN true\n",
  });
  const plan = join(dir.path, "plan.json");
  assert.is(runCli(["plan", "--all", "--repo", `${repo}/air`, "--out", plan], { cwd: src.root }).code, 0);
  return {
    docker, repo, handed, foreign, baseId, dir, noCreds, src, plan,
    [Symbol.dispose]() {
      src[Symbol.dispose]();
      noCreds[Symbol.dispose]();
      dir[Symbol.dispose]();
    },
  };
}

test("an image file that would retag busybox:stable is refused, by run --base-archive and inspect; busybox:stable stays", async () => {
  using fixture = await handedAndForeign();
  const { docker, repo, handed, foreign, baseId, dir, noCreds, src, plan } = fixture;

  const { entries, manifest } = await save([handed, foreign]);
  const handedEntry = manifest.find((m) => m.RepoTags?.includes(handed))!;
  const foreignEntry = { ...manifest.find((m) => m.RepoTags?.includes(foreign))!, RepoTags: [BASE] };
  const files = {
    // manifest.json's first entry is the handed image; a second one retags busybox:stable
    "extra-entry.tar": withManifest(entries, [handedEntry, foreignEntry]),
    // one entry in manifest.json, and a later `x/../manifest.json`, which the engine extracts over it
    "dotdot.tar": [...withManifest(entries, [handedEntry]), { name: "x/../manifest.json", body: JSON.stringify([handedEntry, foreignEntry]) }],
    // the same name twice: the engine keeps the last
    "twice.tar": [...withManifest(entries, [handedEntry]), { name: "./manifest.json", body: JSON.stringify([foreignEntry]) }],
    // the legacy file names what manifest.json does not
    "repositories.tar": [...withManifest(entries, [handedEntry]), { name: "repositories", body: JSON.stringify({ busybox: { stable: "0".repeat(64) } }) }],
  };
  const problems: Record<string, RegExp> = {
    "extra-entry.tar": /manifest\.json names 2 images; an image file must hold one/,
    "dotdot.tar": /entry "x\/\.\.\/manifest\.json" has a "\.\." in its name/,
    "twice.tar": /entry "\.\/manifest\.json" has the same name as an earlier one/,
    "repositories.tar": /repositories names busybox:stable, which manifest\.json does not/,
  };
  try {
    for (const [name, content] of Object.entries(files)) {
      const file = join(dir.path, name);
      await writeTar(file, content);
      const run = runCli(["run", plan, "--base-archive", file], { cwd: src.root, env: { DOCKER_CONFIG: noCreds.dir } });
      assert.is(run.code, 2, `${name}: ${run.stderr}`);
      assert.is(run.stderr.split("\n").length, 2, run.stderr);
      assert.match(run.stderr, new RegExp(`^image-builder: error: ${file.replace(/[./]/g, "\\$&")}: `));
      assert.match(run.stderr, problems[name]);
      assert.is((await docker.getImage(BASE).inspect()).Id, baseId, `${name} retagged ${BASE}`);
      const inspect = runCli(["inspect", file], { env: { DOCKER_CONFIG: noCreds.dir } });
      assert.is(inspect.code, 2, `${name}: ${inspect.stdout}`);
      assert.match(inspect.stderr, problems[name]);
    }
    // an OCI layout whose index.json names a second image besides the one exported
    const oci = join(dir.path, "handed.oci.tar");
    await pushImage(docker, handed);
    const exported = runCli(["export", handed, "--format", "oci", "-o", oci], { env: { DOCKER_CONFIG: noCreds.dir } });
    assert.is(exported.code, 0, exported.stderr);
    const ociEntries = await readTarEntries(createReadStream(oci));
    const index = JSON.parse(String(ociEntries.find((e) => e.name === "index.json")!.body));
    index.manifests.push({ ...index.manifests[0], annotations: { "io.containerd.image.name": `docker.io/library/${BASE}`, "org.opencontainers.image.ref.name": "stable" } });
    const twoImages = join(dir.path, "two-images.oci.tar");
    await writeTar(twoImages, ociEntries.map((e) => (e.name === "index.json" ? { ...e, body: JSON.stringify(index) } : e)));
    const refused = runCli(["run", plan, "--base-archive", twoImages], { cwd: src.root, env: { DOCKER_CONFIG: noCreds.dir } });
    assert.is(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /two-images\.oci\.tar: index\.json names 2 images; an image file must hold one/);
    assert.is((await docker.getImage(BASE).inspect()).Id, baseId);
    assert.not.ok(await docker.getImage(`${repo}/air/sci/child:1.0`).inspect().then(() => true, () => false), "something was built");

    // the engine's own docker save of the one image (repositories, layer directories) loads and is built on
    const good = join(dir.path, "good.tar");
    const single = await save([handed]);
    await writeTar(good, single.entries);
    const shown = JSON.parse(runCli(["inspect", good, "--json"], { env: { DOCKER_CONFIG: noCreds.dir } }).stdout);
    assert.equal([shown.format, shown.names], ["docker-archive", [handed]]);
    await docker.getImage(handed).remove({ force: true });
    const run = runCli(["run", plan, "--base-archive", good], { cwd: src.root, env: { DOCKER_CONFIG: noCreds.dir } });
    assert.is(run.code, 0, run.stderr);
    assert.match(run.stderr, `loaded ${handed} from ${good}`);

    // Files of metadata size are kept in memory only when JSON, and no more than 64 MiB of them:
    // 17 files of 4 MiB that are no JSON (layers) are read past, 17 that could be are refused.
    const padding = (first: string) => Array.from({ length: 17 }, (_, i) => ({ name: `pad/${i}`, body: Buffer.alloc(4 * 1024 * 1024, first) }));
    const layers = join(dir.path, "many-layers.tar");
    await writeTar(layers, [...padding("x"), ...single.entries]);
    const many = runCli(["inspect", layers, "--json"], { env: { DOCKER_CONFIG: noCreds.dir } });
    assert.is(many.code, 0, many.stderr);
    const jsons = join(dir.path, "many-json.tar");
    await writeTar(jsons, [...padding("["), ...single.entries]);
    const tooMuch = runCli(["inspect", jsons], { env: { DOCKER_CONFIG: noCreds.dir } });
    assert.is(tooMuch.code, 2, tooMuch.stderr);
    assert.is(tooMuch.stderr, `image-builder: error: ${jsons}: holds more than 64 MiB of JSON files: no image's metadata is that large\n`);
  } finally {
    // should a file have got through: busybox:stable back where it was, for the tests after this one
    if ((await docker.getImage(BASE).inspect()).Id !== baseId) await docker.getImage(baseId).tag({ repo: "busybox", tag: "stable" });
  }
});

test("run --base-archive hands the engine only the entries it checked: headers Go's tar reader reads otherwise retag nothing", async () => {
  using fixture = await handedAndForeign();
  const { docker, handed, foreign, baseId, dir, noCreds, src, plan } = fixture;
  const handedId = (await docker.getImage(handed).inspect()).Id;
  const { entries, manifest } = await save([handed, foreign]);
  const handedEntry = manifest.find((m) => m.RepoTags?.includes(handed))!;
  const retagBase = JSON.stringify([{ ...manifest.find((m) => m.RepoTags?.includes(foreign))!, RepoTags: [BASE] }]);
  // After the checked manifest.json, a second one this reader names otherwise and Go's reads as
  // manifest.json (the engine extracts it over the first):
  const files: Record<string, Buffer[]> = {
    // a GNU long name and a PAX path on one entry: Go takes the long name, tar-stream the path
    "long-name.tar": [rawTarEntry("././@LongLink", "L", "manifest.json\0"), rawTarEntry("PaxHeader", "x", paxRecords({ path: "notes.json" })), rawTarEntry("notes.json", "0", retagBase)],
    // a global PAX path: tar-stream applies it to the next entry with a PAX header, Go to none
    "global.tar": [rawTarEntry("pax_global_header", "g", paxRecords({ path: "notes.json" })), rawTarEntry("PaxHeader", "x", paxRecords({ comment: "-" })), rawTarEntry("manifest.json", "0", retagBase)],
  };
  try {
    for (const [name, raw] of Object.entries(files)) {
      const file = join(dir.path, name);
      await writeTarWithRaw(file, withManifest(entries, [handedEntry]), raw);
      const shown = runCli(["inspect", file, "--json"], { env: { DOCKER_CONFIG: noCreds.dir } });
      assert.equal(JSON.parse(shown.stdout).names, [handed], `${name}: ${shown.stderr}`);
      await docker.getImage(handed).remove({ force: true, noprune: true });
      const run = runCli(["run", plan, "--base-archive", file], { cwd: src.root, env: { DOCKER_CONFIG: noCreds.dir } });
      assert.is(run.code, 0, `${name}: ${run.stderr}`);
      assert.match(run.stderr, `loaded ${handed} from ${file}`);
      assert.is((await docker.getImage(BASE).inspect()).Id, baseId, `${name} retagged ${BASE}`);
      assert.is((await docker.getImage(handed).inspect()).Id, handedId, `${name} loaded another image as ${handed}`);
    }
  } finally {
    if ((await docker.getImage(BASE).inspect()).Id !== baseId) await docker.getImage(baseId).tag({ repo: "busybox", tag: "stable" });
  }
});

test.run();
