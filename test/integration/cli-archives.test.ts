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
import { readTarEntries, writeTar, type TarWriteEntry } from "../helpers/tar.js";
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

test("an image file that would retag busybox:stable is refused, by run --base-archive and inspect; busybox:stable stays", async () => {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  const handed = `${repo}/rel/handed:1.0`;
  const foreign = `${repo}/foreign:1.0`;
  await buildImage(docker, handed, `FROM ${BASE}\nRUN echo handed > /handed\n`);
  await buildImage(docker, foreign, `FROM ${BASE}\nRUN echo foreign > /foreign\n`);
  const baseId = (await docker.getImage(BASE).inspect()).Id;
  using dir = tempDir("ib-archives-");
  using noCreds = dockerConfigDir({});
  using src = makeRepo({
    "science/child/sciserver-image.json": '{"image": "child", "version": "1.0", "compat": "c"}',
    "science/child/Dockerfile": `FROM ${handed}\nRUN cat /handed > /from-base\n`,
    "compat/c/sciserver-image.json": "{}",
    "compat/c/Dockerfile": "RUN true\n",
  });
  const plan = join(dir.path, "plan.json");
  assert.is(runCli(["plan", "--all", "--repo", `${repo}/air`, "--out", plan], { cwd: src.root }).code, 0);

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
  } finally {
    // should a file have got through: busybox:stable back where it was, for the tests after this one
    if ((await docker.getImage(BASE).inspect()).Id !== baseId) await docker.getImage(baseId).tag({ repo: "busybox", tag: "stable" });
  }
});

test.run();
