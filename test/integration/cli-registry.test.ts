// images, inspect, contains, export and run --base-archive against the real registries and engine.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { MAIN, runCli, runCliAsync, within } from "../helpers/cli.js";
import { registryImage, requireEngine, uniqueRepo } from "../helpers/engine.js";
import { authEntry, dockerConfigDir, freePort, loadImageFile, publish } from "../helpers/registry.js";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.js";
import { compat as compatLayer, makeRepo, science } from "../helpers/repo.js";
import { createReadStream } from "node:fs";

const dir = mkdtempSync(join(tmpdir(), "ib-cli-registry-"));
const noCreds = dockerConfigDir({});
test.after(() => {
  rmSync(dir, { recursive: true, force: true });
  noCreds.cleanup();
});
const env = { DOCKER_CONFIG: noCreds.dir };

const sci = (target: string, build: string, time: number) =>
  `LABEL org.sciserver.science.${target}.version="${build}" org.sciserver.science.${target}.buildtime="${time}" org.sciserver.science.${target}.inputs="sha256:${target.length}${"0".repeat(63)}"`;
const compat = (value: string) => `LABEL org.sciserver.compat.version="${value}" org.sciserver.compat.buildtime="1763900500"`;

let repo = "";

/**
 * The example family as published over two commits: build 5 of everything, then essentials-2-4
 * rebuilt at build 9 with its final image, while sci/essentials-2-5 and rel/essentials:2.5 still
 * carry build 5 of essentials-2-4.
 */
test("publish a family with a stale final image", async () => {
  const { docker, registry } = requireEngine();
  repo = uniqueRepo(registry);
  const e24 = `${repo}/sci/essentials-2-4`;
  await publish(docker, [`${e24}:2.4-5-aaaaaaa`, `${e24}:2.4`], `FROM busybox:stable\nRUN echo 5 > /e24\n${sci("essentials-2-4", "2.4-5-aaaaaaa", 1763900000)}\n`);
  await publish(docker, [`${repo}/sci/essentials-2-5:2.5-5-aaaaaaa`, `${repo}/sci/essentials-2-5:2.5`], `FROM ${e24}:2.4-5-aaaaaaa\nRUN echo 5 > /e25\n${sci("essentials-2-5", "2.5-5-aaaaaaa", 1763900100)}\n`);
  await publish(docker, [`${repo}/rel/essentials:2.5-5-aaaaaaa`, `${repo}/rel/essentials:2.5`], `FROM ${repo}/sci/essentials-2-5:2.5-5-aaaaaaa\n${compat("essentials:2.5-5-aaaaaaa")}\n`);
  await publish(docker, [`${repo}/rel/essentials:2.4-5-aaaaaaa`, `${repo}/rel/essentials:2.4`], `FROM ${e24}:2.4-5-aaaaaaa\n${compat("essentials:2.4-5-aaaaaaa")}\n`);
  // build 9: essentials-2-4 changed; only its own final image was rebuilt and pushed
  await publish(docker, [`${e24}:2.4-9-bbbbbbb`, `${e24}:2.4`], `FROM busybox:stable\nRUN echo 9 > /e24\n${sci("essentials-2-4", "2.4-9-bbbbbbb", 1763990000)}\n`);
  await publish(docker, [`${repo}/rel/essentials:2.4-9-bbbbbbb`], `FROM ${e24}:2.4-9-bbbbbbb\n${compat("essentials:2.4-9-bbbbbbb")}\n`);
});

test("images: one row per image version, the build its moving tag serves, and a newer build it does not serve", () => {
  const r = runCli(["images", "--repo", repo, "--json"], { env });
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.is(out.source, "catalog");
  const rows = Object.fromEntries(out.images.map((i: any) => [`${i.name}:${i.version}`, i]));
  assert.equal(Object.keys(rows).sort(), ["rel/essentials:2.4", "rel/essentials:2.5", "sci/essentials-2-4:2.4", "sci/essentials-2-5:2.5"]);
  // rel/essentials:2.4 still serves build 5: nobody moved it; build 9 exists but is not served
  assert.equal([rows["rel/essentials:2.4"].build, rows["rel/essentials:2.4"].servedByMovingTag, rows["rel/essentials:2.4"].newerBuild], ["5-aaaaaaa", true, "2.4-9-bbbbbbb"]);
  assert.equal([rows["sci/essentials-2-4:2.4"].build, rows["sci/essentials-2-4:2.4"].servedByMovingTag, rows["sci/essentials-2-4:2.4"].newerBuild], ["9-bbbbbbb", true, null]);
  assert.ok(rows["sci/essentials-2-4:2.4"].digest.startsWith("sha256:") && rows["sci/essentials-2-4:2.4"].size > 0);

  const human = runCli(["images", "--repo", repo], { env });
  assert.is(human.code, 0, human.stderr);
  assert.match(human.stdout, /^NAME\s+VERSION\s+BUILD\s+DIGEST\s+CREATED\s+SIZE\s+PLATFORMS\s+TAG \{version\}$/m);
  assert.match(human.stdout, /^rel\/essentials\s+2\.4\s+5-aaaaaaa\s+sha256:\S+\s+\S+\s+[\d.]+ [kM]B\s+linux\/amd64\s+serves this; newer build 2\.4-9-bbbbbbb not served$/m);
  assert.match(human.stdout, /^sci\/essentials-2-4\s+2\.4\s+9-bbbbbbb\s+.*\s+serves this$/m);
  assert.not.match(human.stdout, /NOT newest/);
  const all = JSON.parse(runCli(["images", "--repo", repo, "--json", "--all-tags"], { env }).stdout);
  assert.equal(all.images.filter((i: any) => i.name === "rel/essentials" && i.version === "2.4").map((i: any) => [i.tag, i.servedByMovingTag]), [["2.4", true], ["2.4-9-bbbbbbb", false]]);
});

test("images of a repository path with nothing under it: one line, exit 0; --json has no images", () => {
  const empty = `${repo}-nothing-here`;
  const human = runCli(["images", "--repo", empty], { env });
  assert.is(human.code, 0, human.stderr);
  assert.is(human.stdout, `no sci/ or rel/ images under ${empty}\n`);
  const json = runCli(["images", "--repo", empty, "--json"], { env });
  assert.is(json.code, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout), { repo: empty, source: "catalog", images: [], unreadable: [] });
});

test("inspect: the breadcrumb trail in build order, from the registry", () => {
  const r = runCli(["inspect", "rel/essentials:2.5", "--repo", repo], { env });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^${repo.replace(/\./g, "\\.")}/rel/essentials:2\\.5$`, "m"));
  assert.match(r.stdout, /digest {4}sha256:[0-9a-f]{64}/);
  assert.match(r.stdout, /platform {2}linux\/amd64/);
  assert.match(r.stdout, /breadcrumbs \(base first, order from the image's history\):\n {2}└─ sci\/essentials-2-4 {2}2\.4-5-aaaaaaa {2}built 2025-11-23T12:13:20Z {2}inputs sha256:14000+\n {5}└─ sci\/essentials-2-5 {2}2\.5-5-aaaaaaa {2}built \S+ {2}inputs sha256:\S+\n {8}└─ compat essentials:2\.5-5-aaaaaaa {2}built /);
  const json = JSON.parse(runCli(["inspect", `${repo}/rel/essentials:2.5-5-aaaaaaa`, "--json"], { env }).stdout);
  assert.equal(json.breadcrumbs.science.map((c: any) => c.target), ["essentials-2-4", "essentials-2-5"]);
  assert.is(json.breadcrumbs.compat.value, "essentials:2.5-5-aaaaaaa");

  const missing = runCli(["inspect", "rel/essentials:7.0", "--repo", repo], { env });
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /^image-builder: error: \S+\/rel\/essentials:7\.0: no such image in the registry\n$/);
});

test("inspect of a family BuildKit built and pushed: breadcrumbs in build order by the buildtimes (milliseconds and all), shown", () => {
  const { registry } = requireEngine();
  const family = uniqueRepo(registry);
  // built zz-base, then mm-mid on it, then aa-top: name order is the reverse. BuildKit makes no
  // LABEL step, so the history can't tell and the buildtime labels (with milliseconds) must.
  using src = makeRepo({
    ...science("zz-base", { image: "fam", target: "zz-base" }, "FROM busybox:stable\nRUN echo base > /base\n"),
    ...science("mm-mid", { image: "fam", target: "mm-mid" }, "FROM sci/zz-base:1.0\nRUN echo mid > /mid\n"),
    ...science("aa-top", { image: "fam", target: "aa-top", compat: "ui" }, "FROM sci/mm-mid:1.0\nRUN echo top > /top\n"),
    ...compatLayer("ui", [], "RUN echo ui > /ui\n"),
  });
  // Plain images (--no-attestations): inspect of one image; of an index, see cli-indexes and attestations.
  const built = runCli(["--all", "--push", "--no-attestations", "--repo", family, "--builder", "buildkit", "--progress", "plain"], { cwd: src.root, env, timeoutMs: 300_000 });
  assert.is(built.code, 0, built.stderr);
  const r = runCli(["inspect", "rel/fam:1.0", "--repo", family], { env });
  assert.is(r.code, 0, r.stderr);
  const time = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{3})?Z";
  assert.match(r.stdout, new RegExp([
    "breadcrumbs \\(base first, order by buildtime\\):",
    `  └─ sci/zz-base  1\\.0-1-[0-9a-f]+  built ${time}  inputs sha256:\\S+`,
    `     └─ sci/mm-mid  1\\.0-1-[0-9a-f]+  built ${time}  inputs sha256:\\S+`,
    `        └─ sci/aa-top  1\\.0-1-[0-9a-f]+  built ${time}  inputs sha256:\\S+`,
    `           └─ compat fam:1\\.0-1-[0-9a-f]+  built ${time}`,
  ].join("\n")), r.stdout);
  const json = JSON.parse(runCli(["inspect", "rel/fam:1.0", "--repo", family, "--json"], { env }).stdout);
  const times: number[] = json.breadcrumbs.science.map((c: { buildtime: number }) => c.buildtime);
  assert.equal(json.breadcrumbs.science.map((c: { target: string }) => c.target), ["zz-base", "mm-mid", "aa-top"]);
  assert.ok(times.every((t, i) => i === 0 || t > times[i - 1]), String(times));
});

test("contains: every image a moving tag serves with the layer, stale ones named with the newest build; --all-tags every build", () => {
  const r = runCli(["contains", "sci/essentials-2-4", "--repo", repo, "--json"], { env });
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.newest, { "2.4": "2.4-9-bbbbbbb" });
  // rel/essentials:2.4 serves build 5 (its build 9 is not served): users pull build 5's
  assert.equal(out.images.map((i: any) => [i.image, i.build, i.state, i.has]), [
    ["rel/essentials:2.4", "2.4-5-aaaaaaa", "stale", "2.4-5-aaaaaaa"],
    ["rel/essentials:2.5", "2.5-5-aaaaaaa", "stale", "2.4-5-aaaaaaa"],
    ["sci/essentials-2-5:2.5", "2.5-5-aaaaaaa", "stale", "2.4-5-aaaaaaa"],
  ]);
  assert.is(out.uncheckedBuildTags, 1);
  const human = runCli(["contains", "sci/essentials-2-4", "--repo", repo], { env });
  assert.match(human.stdout, /^rel\/essentials:2\.5\s+2\.5-5-aaaaaaa\s+2\.4-5-aaaaaaa\s+stale: has 2\.4-5-aaaaaaa, newest 2\.4-9-bbbbbbb$/m);
  assert.is(human.stderr, "image-builder: note: checked what each moving tag {version} serves; 1 build tag no moving tag serves not checked (--all-tags checks every build)\n");
  // at one build: every image users pull that carries it, rel/essentials:2.4 included
  const old = JSON.parse(runCli(["contains", "sci/essentials-2-4:2.4-5-aaaaaaa", "--repo", repo, "--json"], { env }).stdout);
  assert.equal(old.images.map((i: any) => i.image), ["rel/essentials:2.4", "rel/essentials:2.5", "sci/essentials-2-5:2.5"]);
  // build 9 is in no image a moving tag serves; --all-tags finds its build tag
  const nine = runCli(["contains", "sci/essentials-2-4:2.4-9-bbbbbbb", "--repo", repo], { env });
  assert.is(nine.code, 0, nine.stderr);
  assert.is(nine.stdout, "no published image contains sci/essentials-2-4:2.4-9-bbbbbbb\n");
  const nineAll = JSON.parse(runCli(["contains", "sci/essentials-2-4:2.4-9-bbbbbbb", "--repo", repo, "--json", "--all-tags"], { env }).stdout);
  assert.equal(nineAll.images.map((i: any) => [i.image, i.servedByMovingTag]), [["rel/essentials:2.4-9-bbbbbbb", false]]);
  assert.is(nineAll.uncheckedBuildTags, 0);
  // a layer, version or build nothing published has is bad input, not "nothing affected"
  const typo = runCli(["contains", "sci/essentials-2-44", "--repo", repo], { env });
  assert.is(typo.code, 2);
  assert.is(typo.stderr, `image-builder: error: sci/essentials-2-44: no such science layer is published under ${repo}; published: sci/essentials-2-4, sci/essentials-2-5\n`);
  assert.is(typo.stdout, "");
  const version = runCli(["contains", "sci/essentials-2-4:3.0", "--repo", repo, "--json"], { env });
  assert.is(version.code, 2);
  assert.is(version.stderr, `image-builder: error: sci/essentials-2-4:3.0: no build of version 3.0 is published under ${repo}; published versions: 2.4\n`);
  const unknownBuild = runCli(["contains", "sci/essentials-2-4:2.4-7-ccccccc", "--repo", repo], { env });
  assert.is(unknownBuild.code, 2);
  assert.match(unknownBuild.stderr, /no such build is published under \S+; published builds of 2\.4: 2\.4-5-aaaaaaa, 2\.4-9-bbbbbbb\n$/);
  const bad = runCli(["contains", "sci/Essentials", "--repo", repo], { env });
  assert.is(bad.code, 2);
});


test("a moving tag rolled back with --allow-tag-rollback: contains of the build it serves lists the image; images says a newer build is not served", () => {
  const { registry } = requireEngine();
  const target = uniqueRepo(registry);
  const family = (text: string) => ({
    ...science("a", { image: "a", target: "a", compat: "ui" }, `FROM busybox:stable\nRUN echo ${text} > /a\n`),
    ...compatLayer("ui", [], "RUN echo ui > /ui\n"),
  });
  using src = makeRepo(family("one"));
  const older = src.git("rev-parse", "HEAD");
  // Plain images (--no-attestations): contains and images rows without a platform (indexes: cli-indexes).
  const run = (...args: string[]) => runCli([...args, "--push", "--no-attestations", "--repo", target, "--progress", "plain"], { cwd: src.root, env, timeoutMs: 300_000 });
  const first = run("--all");
  assert.is(first.code, 0, first.stderr);
  src.write(family("two"));
  const newer = src.commit("two").slice(0, 7);
  const second = run();
  assert.is(second.code, 0, second.stderr);
  src.git("checkout", "-q", older);
  const back = run("--all", "--allow-tag-rollback");
  assert.is(back.code, 0, back.stderr);
  const served = `1.0-1-${older.slice(0, 7)}`;
  const unserved = `1.0-2-${newer}`;

  const contains = runCli(["contains", `sci/a:${served}`, "--repo", target, "--json"], { env });
  assert.is(contains.code, 0, contains.stderr);
  assert.equal(JSON.parse(contains.stdout).images.map((i: any) => [i.image, i.build, i.servedByMovingTag]), [["rel/a:1.0", served, true]]);
  const human = runCli(["contains", `sci/a:${served}`, "--repo", target], { env });
  assert.match(human.stdout, new RegExp(`^rel/a:1\\.0\\s+${served}\\s+${served}\\s+stale: has ${served}, newest ${unserved}$`, "m"));
  // the newer build is in no image users pull by a moving tag
  const none = runCli(["contains", `sci/a:${unserved}`, "--repo", target], { env });
  assert.is(none.code, 0, none.stderr);
  assert.is(none.stdout, `no published image contains sci/a:${unserved}\n`);

  const images = runCli(["images", "--repo", target], { env });
  assert.is(images.code, 0, images.stderr);
  for (const name of ["rel/a", "sci/a"]) {
    assert.match(images.stdout, new RegExp(`^${name}\\s+1\\.0\\s+1-${older.slice(0, 7)}\\s+.*\\s+serves this; newer build ${unserved} not served$`, "m"));
  }
  assert.not.match(images.stdout, /NOT newest/);
});

test("export docker-archive: loads into the engine with the registry's image id; inspect reads it offline", async () => {
  const { docker } = requireEngine();
  const file = join(dir, "e25.tar");
  const r = runCli(["export", "rel/essentials:2.5", "--repo", repo, "-o", file], { env });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /^wrote .*e25\.tar \(docker-archive\): \S+\/rel\/essentials:2\.5 sha256:\S+, 3 layers/);
  assert.equal(readdirSync(dir), ["e25.tar"]);
  const landed = await registryImage(`${repo}/rel/essentials:2.5`);
  await docker.getImage(`${repo}/rel/essentials:2.5`).remove({ force: true });
  await loadImageFile(docker, file);
  const info = await docker.getImage(`${repo}/rel/essentials:2.5`).inspect();
  assert.is(info.Config.Labels["org.sciserver.compat.version"], "essentials:2.5-5-aaaaaaa");
  // the image id is the config digest: the same image as in the registry
  assert.is(info.Id, landed.configDigest);

  const offline = runCli(["inspect", file, "--json"], { env: { ...env, DOCKER_CONFIG: "/nonexistent" } });
  assert.is(offline.code, 0, offline.stderr);
  const image = JSON.parse(offline.stdout);
  assert.is(image.format, "docker-archive");
  assert.equal(image.breadcrumbs.science.map((c: any) => c.value), ["2.4-5-aaaaaaa", "2.5-5-aaaaaaa"]);
});

test("export -o writes through what it is given, never replacing it: - is standard output, a FIFO is written to, a symbolic link's file is replaced and the link stays", async () => {
  const whole = readFileSync(join(dir, "e25.tar"));
  const out = join(dir, "outputs");
  mkdirSync(out);
  const exportTo = (to: string, ...more: string[]) => runCli(["export", "rel/essentials:2.5", "--repo", repo, "-o", to, ...more], { env });
  // standard output, into a pipe
  const piped = spawnSync(process.execPath, [MAIN, "export", "rel/essentials:2.5", "--repo", repo, "-o", "-"], { env: { ...process.env, ...env }, cwd: out, maxBuffer: 1 << 30 });
  assert.is(piped.status, 0, String(piped.stderr));
  assert.ok(Buffer.compare(piped.stdout, whole) === 0, "the tar on standard output is the file's");
  assert.match(String(piped.stderr), /^wrote standard output \(docker-archive\): /);
  assert.equal(readdirSync(out), [], "no file named - (or anything else) written where it ran");
  const both = exportTo("-", "--json");
  assert.is(both.code, 2);
  assert.match(both.stderr, /--out - writes the tar to standard output, where --json would write too/);
  // a FIFO: written to, and still a FIFO
  const fifo = join(out, "fifo");
  execFileSync("mkfifo", [fifo]);
  const reader = spawn("sh", ["-c", `cat "${fifo}" > "${join(out, "from-fifo.tar")}"`]);
  const readerDone = new Promise((done) => reader.on("exit", done));
  let toFifo;
  try {
    toFifo = await within(runCliAsync(["export", "rel/essentials:2.5", "--repo", repo, "-o", fifo], { env }), 60_000, "export to a FIFO");
    await within(readerDone, 10_000, "the FIFO's reader");
  } finally {
    reader.kill();
  }
  assert.is(toFifo.code, 0, toFifo.stderr);
  assert.ok(lstatSync(fifo).isFIFO(), "the FIFO was replaced");
  assert.ok(Buffer.compare(readFileSync(join(out, "from-fifo.tar")), whole) === 0);
  // a symbolic link (to a file there, and to one not there yet): the file it names is written, the link stays
  mkdirSync(join(out, "real"));
  writeFileSync(join(out, "real", "old.tar"), "old");
  symlinkSync("real/old.tar", join(out, "link.tar"));
  symlinkSync("real/new.tar", join(out, "dangling.tar"));
  for (const [link, file] of [["link.tar", "old.tar"], ["dangling.tar", "new.tar"]]) {
    const r = exportTo(join(out, link));
    assert.is(r.code, 0, r.stderr);
    assert.ok(lstatSync(join(out, link)).isSymbolicLink(), `${link} was replaced`);
    assert.ok(Buffer.compare(readFileSync(join(out, "real", file)), whole) === 0, file);
  }
  assert.equal(readdirSync(join(out, "real")).sort(), ["new.tar", "old.tar"], "no temporary file left");
});

test("export oci: an OCI image layout whose every blob matches its digest; it also loads as a base", async () => {
  const file = join(dir, "e24.oci.tar");
  const r = runCli(["export", `${repo}/rel/essentials:2.4`, "--format", "oci", "-o", file], { env });
  assert.is(r.code, 0, r.stderr);
  const entries = await readTarBinary(file);
  assert.equal(JSON.parse(entries.get("oci-layout")!.toString()), { imageLayoutVersion: "1.0.0" });
  const index = JSON.parse(entries.get("index.json")!.toString());
  assert.is(index.schemaVersion, 2);
  assert.is(index.manifests.length, 1);
  assert.is(index.manifests[0].annotations["org.opencontainers.image.ref.name"], "2.4");
  for (const [name, body] of entries) {
    if (!name.startsWith("blobs/")) continue;
    assert.match(name, /^blobs\/sha256\/[0-9a-f]{64}$/);
    assert.is(`sha256:${createHash("sha256").update(body).digest("hex")}`, `sha256:${name.slice(13)}`, name);
  }
  const m = index.manifests[0];
  const manifest = JSON.parse(entries.get(`blobs/sha256/${m.digest.slice(7)}`)!.toString());
  assert.is(entries.get(`blobs/sha256/${m.digest.slice(7)}`)!.length, m.size);
  for (const d of [manifest.config, ...manifest.layers]) assert.is(entries.get(`blobs/sha256/${d.digest.slice(7)}`)?.length, d.size, d.digest);
  // rel/essentials:2.4 is build 5 (the moving tag was not moved)
  const offline = JSON.parse(runCli(["inspect", file, "--json"], { env }).stdout);
  assert.is(offline.format, "oci");
  assert.is(offline.digest, (await registryImage(`${repo}/rel/essentials:2.4`)).digest);
  assert.is(offline.breadcrumbs.compat.value, "essentials:2.4-5-aaaaaaa");
});

async function readTarBinary(file: string): Promise<Map<string, Buffer>> {
  const tar = (await import("tar-stream")).default;
  const out = new Map<string, Buffer>();
  const extract = tar.extract();
  for await (const entry of createReadStream(file).pipe(extract as any) as any) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.set(entry.header.name, Buffer.concat(chunks));
  }
  return out;
}

test("export of an image listing a layer twice: each blob written once, in both formats; the docker-archive loads back", async () => {
  const { docker } = requireEngine();
  // Pushed over the registry API: a layer with a file, then the same empty layer twice (as old
  // builders left for steps that changed nothing).
  const ref = `${repo}/sci/repeated:1.0-1-ccccccc`;
  const [host, path] = [ref.split("/")[0], ref.slice(ref.indexOf("/") + 1, ref.lastIndexOf(":"))];
  const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
  const upload = async (body: Buffer) => {
    const start = await fetch(`http://${host}/v2/${path}/blobs/uploads/`, { method: "POST" });
    const location = new URL(start.headers.get("location")!, `http://${host}`);
    location.searchParams.set("digest", sha(body));
    const res = await fetch(location, { method: "PUT", body: new Uint8Array(body), headers: { "content-type": "application/octet-stream" } });
    assert.is(res.status, 201, await res.text());
    return { digest: sha(body), size: body.length, mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip" };
  };
  const tarOf = async (files: Record<string, string>) => {
    const pack = (await import("tar-stream")).default.pack();
    for (const [name, body] of Object.entries(files)) pack.entry({ name, mtime: new Date(0) }, body);
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const [fileTar, emptyTar] = [await tarOf({ "hello.txt": "hello\n" }), await tarOf({})];
  const layers = [await upload(gzipSync(fileTar)), await upload(gzipSync(emptyTar)), await upload(gzipSync(emptyTar))];
  const configBytes = Buffer.from(JSON.stringify({
    architecture: "amd64", os: "linux", created: "2026-01-01T00:00:00Z", config: { Labels: { "org.sciserver.science.repeated.version": "1.0-1-ccccccc" } },
    rootfs: { type: "layers", diff_ids: [sha(fileTar), sha(emptyTar), sha(emptyTar)] },
    history: [{ created_by: "COPY hello.txt" }, { created_by: "RUN true" }, { created_by: "RUN true" }],
  }));
  const config = { ...(await upload(configBytes)), mediaType: "application/vnd.docker.container.image.v1+json" };
  const manifest = { schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json", config, layers };
  const put = await fetch(`http://${host}/v2/${path}/manifests/1.0-1-ccccccc`, { method: "PUT", body: JSON.stringify(manifest), headers: { "content-type": manifest.mediaType } });
  assert.is(put.status, 201, await put.text());
  const digests = layers.map((l) => l.digest);
  assert.is(new Set(digests).size, 2);
  for (const format of ["docker-archive", "oci"]) {
    const file = join(dir, `repeated.${format}.tar`);
    const r = runCli(["export", ref, "--format", format, "-o", file], { env });
    assert.is(r.code, 0, r.stderr);
    const names = await tarEntryNames(file);
    assert.equal(names.filter((n, i) => names.indexOf(n) !== i), [], `${format}: entries written twice`);
    for (const d of digests) assert.ok(names.includes(`blobs/sha256/${d.slice(7)}`), d);
    const offline = runCli(["inspect", file, "--json"], { env });
    assert.is(offline.code, 0, offline.stderr);
    assert.is(JSON.parse(offline.stdout).layers.length, digests.length);
  }
  const archive = join(dir, "repeated.docker-archive.tar");
  const entries = await readTarBinary(archive);
  assert.is(JSON.parse(entries.get("manifest.json")!.toString())[0].Layers.length, digests.length);
  await loadImageFile(docker, archive);
  const info = await docker.getImage(ref).inspect();
  assert.is(info.Id, manifest.config.digest);
  assert.is(info.RootFS.Layers?.length, digests.length);
});

async function tarEntryNames(file: string): Promise<string[]> {
  const tar = (await import("tar-stream")).default;
  const names: string[] = [];
  for await (const entry of createReadStream(file).pipe(tar.extract() as any) as any) {
    names.push(entry.header.name);
    entry.resume();
  }
  return names;
}

/** A pass-through proxy to `registry` on the first WHATWG bad port that is free, if any. */
async function proxyOnABadPort(registry: string): Promise<FaultProxy | undefined> {
  for (const port of [6665, 6666, 6667, 6668, 6669, 10080]) {
    const proxy = await startFaultProxy(registry, () => undefined, port).catch(() => undefined);
    if (proxy) return proxy;
  }
  return undefined;
}

test("a registry on a port Node's fetch refuses (WHATWG bad ports: 6665-6669, 10080) is read like any other", async () => {
  const { registry } = requireEngine();
  await using proxy = await proxyOnABadPort(registry);
  assert.ok(proxy, "every bad port tried is in use");
  // Not runCli: the proxy lives in this process, whose event loop must keep running.
  const onBadPort = `${proxy.address}${repo.slice(repo.indexOf("/"))}`;
  const images = await runCliAsync(["images", "--repo", onBadPort, "--json"], { env });
  assert.is(images.code, 0, images.stderr);
  assert.equal(JSON.parse(images.stdout).images.map((i: any) => `${i.name}:${i.version}`).sort(), ["rel/essentials:2.4", "rel/essentials:2.5", "sci/essentials-2-4:2.4", "sci/essentials-2-5:2.5", "sci/repeated:1.0"]);
  const file = join(dir, "bad-port.tar");
  const exported = await runCliAsync(["export", "rel/essentials:2.5", "--repo", onBadPort, "-o", file], { env });
  assert.is(exported.code, 0, exported.stderr);
  const offline = JSON.parse(runCli(["inspect", file, "--json"], { env }).stdout);
  assert.is(offline.breadcrumbs.compat.value, "essentials:2.5-5-aaaaaaa");
  const manifest = await (await fetch(`http://${registry}${repo.slice(repo.indexOf("/"))}/rel/essentials/manifests/2.5`.replace(`${registry}/`, `${registry}/v2/`), { headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" } })).json() as any;
  assert.is(offline.configDigest, manifest.config.digest);
  assert.equal(offline.layers.map((l: any) => l.digest), manifest.layers.map((l: any) => l.digest));
  rmSync(file);
});

test("export faults: unknown image exit 2, registry down exit 1, refused credentials exit 1; no file left", async () => {
  const { authRegistry } = requireEngine();
  const file = join(dir, "fail.tar");
  const unknown = runCli(["export", "rel/essentials:9.9", "--repo", repo, "-o", file], { env });
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /rel\/essentials:9\.9: no such image in the registry/);
  const port = await freePort();
  const down = runCli(["export", `127.0.0.1:${port}/x/rel/a:1`, "-o", file], { env });
  assert.is(down.code, 1);
  assert.is(down.stderr, `image-builder: error: registry 127.0.0.1:${port} cannot be reached (http://127.0.0.1:${port}): ECONNREFUSED\n`);
  using wrong = dockerConfigDir({ auths: { [authRegistry]: authEntry("ibuser", "definitely-wrong") } });
  const refused = runCli(["images", "--repo", `${authRegistry}/x`], { env: { DOCKER_CONFIG: wrong.dir } });
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /access denied by .*credentials from the docker config were refused/);
  assert.not.ok(refused.stderr.includes("definitely-wrong"));
  assert.not.ok(existsSync(file));
  assert.equal(readdirSync(dir).filter((f) => f.includes("fail")), []);
});

test("export -o into directories that do not exist yet: made, as for every output file", () => {
  const file = join(dir, "missing", "deeper", "e25.tar");
  const r = runCli(["export", "rel/essentials:2.5", "--repo", repo, "-o", file], { env });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /^wrote \S+e25\.tar \(docker-archive\): /);
  assert.is(JSON.parse(runCli(["inspect", file, "--json"], { env }).stdout).breadcrumbs.compat.value, "essentials:2.5-5-aaaaaaa");
  rmSync(join(dir, "missing"), { recursive: true });
});

test("inspect of a truncated or corrupted tar: one line naming the file, exit 2", () => {
  const good = join(dir, "e25.tar");
  const truncated = join(dir, "truncated.tar");
  writeFileSync(truncated, readFileSync(good).subarray(0, Math.floor(statSync(good).size / 2)));
  const t = runCli(["inspect", truncated], { env });
  assert.is(t.code, 2);
  assert.match(t.stderr, /^image-builder: error: \S+truncated\.tar: /);
  assert.is(t.stderr.split("\n").length, 2);
  // flip a byte inside the largest blob
  const corrupted = join(dir, "corrupted.tar");
  const bytes = Buffer.from(readFileSync(good));
  bytes[1536 + 600] ^= 0xff;
  writeFileSync(corrupted, bytes);
  const c = runCli(["inspect", corrupted], { env });
  assert.is(c.code, 2, c.stdout);
  assert.match(c.stderr, /corrupted\.tar: .*(corrupted|tar)/);
});

test("run --base-archive: an image handed over as a file is loaded and built on, with no registry access", async () => {
  const { docker, authRegistry, authUser, authPass } = requireEngine();
  const { makeRepo } = await import("../helpers/repo.js");
  // a base only the basic-auth registry has; the run gets no credentials for it
  const base = `${uniqueRepo(authRegistry)}/rel/handed:1.0`;
  await publish(docker, [base], "FROM busybox:stable\nRUN echo handed > /handed\nLABEL org.sciserver.compat.version=handed:1.0-1-ccccccc\n", { username: authUser, password: authPass });
  using creds = dockerConfigDir({ auths: { [authRegistry]: authEntry(authUser, authPass) } });
  const archive = join(dir, "handed.oci.tar");
  const e = runCli(["export", base, "--format", "oci", "-o", archive], { env: { DOCKER_CONFIG: creds.dir } });
  assert.is(e.code, 0, e.stderr);
  await docker.getImage(base).remove({ force: true });
  using src = makeRepo({
    "science/child/sciserver-image.json": '{"image": "child", "version": "1.0", "compat": "c"}',
    "science/child/Dockerfile": `FROM ${base}\nRUN cat /handed > /from-base\n`,
    "compat/c/sciserver-image.json": "{}",
    "compat/c/Dockerfile": "RUN true\n",
  });
  const plan = join(dir, "plan.json");
  const p = runCli(["plan", "--all", "--repo", `${repo}/air`, "--out", plan], { cwd: src.root });
  assert.is(p.code, 0, p.stderr);
  // without the archive the engine cannot get the base
  const without = runCli(["run", plan], { cwd: src.root, env });
  assert.is(without.code, 1);
  const r = runCli(["run", plan, "--base-archive", archive], { cwd: src.root, env });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`loaded ${base.replace(/\./g, "\\.")} from `));
  const info = await docker.getImage(`${repo}/air/sci/child:1.0`).inspect();
  assert.is(info.Config.Labels["org.sciserver.compat.version"], "handed:1.0-1-ccccccc");
  const bad = runCli(["run", plan, "--base-archive", join(dir, "truncated.tar")], { cwd: src.root, env });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /truncated\.tar: /);
});

// Published as a run publishes by default (with attestations): every tag holds an index of the
// image and its attestation manifest. sci/a's final image rel/a holds curl; sci/b's (rel/b) holds
// openssl, bumped by a second commit, so that build 1 of sci/b and rel/b is served by no moving tag.
let attested = "";
let firstB = "";
const dpkg = (name: string, version: string) => `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${version}\n`;
const attestedFamily = (openssl: string) => ({
  ...science("a", { image: "a", target: "a", compat: "ui" }, "FROM busybox:stable\nCOPY status /var/lib/dpkg/status\n"),
  "science/a/status": dpkg("curl", "7.88.1"),
  ...science("b", { image: "b", target: "b", compat: "ui" }, "FROM busybox:stable\nCOPY status /var/lib/dpkg/status\n"),
  "science/b/status": dpkg("openssl", openssl),
  ...compatLayer("ui", [], "RUN echo ui > /ui\n"),
});

test("published with attestations, then a commit bumping openssl in sci/b", () => {
  const { registry } = requireEngine();
  attested = uniqueRepo(registry);
  using src = makeRepo(attestedFamily("3.0.11"));
  firstB = `1.0-1-${src.git("rev-parse", "--short", "HEAD")}`;
  const run = (...args: string[]) => runCli([...args, "--push", "--repo", attested, "--progress", "plain"], { cwd: src.root, env, timeoutMs: 300_000 });
  const first = run("--all");
  assert.is(first.code, 0, first.stderr);
  src.write(attestedFamily("3.0.13"));
  src.commit("openssl 3.0.13");
  const second = run();
  assert.is(second.code, 0, second.stderr);
});

test("contains --package says which build tags it did not check, as contains LAYER does; --all-tags checks them", () => {
  const r = runCli(["contains", "--package", "openssl<3.0.12", "--repo", attested], { env });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, "no published image contains a package openssl<3.0.12\n");
  // sci/b and rel/b at build 1, which no moving tag serves
  const note = "image-builder: note: checked what each moving tag {version} serves; 2 build tags no moving tag serves not checked (--all-tags checks every build)\n";
  assert.is(r.stderr, note);
  // (contains sci/a reads the other repositories: rel/b and sci/b at build 1 are not checked either.)
  assert.is(runCli(["contains", "sci/a", "--repo", attested], { env }).stderr, note);
  const json = JSON.parse(runCli(["contains", "--package", "openssl<3.0.12", "--repo", attested, "--json"], { env }).stdout);
  assert.equal([json.images, json.uncheckedBuildTags, json.unreadable], [[], 2, []]);
  const all = runCli(["contains", "--package", "openssl<3.0.12", "--repo", attested, "--all-tags", "--json"], { env });
  assert.is(all.code, 0, all.stderr);
  const found = JSON.parse(all.stdout);
  assert.equal(found.images.map((i: any) => i.image).sort(), [`rel/b:${firstB}`, `sci/b:${firstB}`]);
  assert.is(found.uncheckedBuildTags, 0);
});

test("export of an image published with attestations (a one-platform index) as a docker-archive: its one platform's image", async () => {
  const { docker } = requireEngine();
  const file = join(dir, "attested-a.tar");
  const r = runCli(["export", "rel/a:1.0", "--repo", attested, "-o", file], { env });
  assert.is(r.code, 0, r.stderr);
  const landed = await registryImage(`${attested}/rel/a:1.0`);
  assert.ok(landed.indexDigest, "rel/a:1.0 holds an index");
  assert.match(r.stderr, new RegExp(`^wrote \\S+attested-a\\.tar \\(docker-archive\\): \\S+/rel/a:1\\.0 ${landed.digest.slice(0, 19)} \\(linux/amd64\\), \\d+ layers`));
  await loadImageFile(docker, file);
  const info = await docker.getImage(`${attested}/rel/a:1.0`).inspect();
  assert.is(info.Id, landed.configDigest);
  assert.is(info.Architecture, "amd64");
  rmSync(file);
});

test("an index naming a manifest the registry lacks: images and contains answer for every other image, name the broken tag, exit 1", async () => {
  const { registry } = requireEngine();
  const { digest, indexDigest } = await registryImage(`${attested}/rel/a:1.0`);
  assert.ok(indexDigest);
  const path = `${attested.slice(registry.length + 1)}/rel/a`;
  const deleted = await fetch(`http://${registry}/v2/${path}/manifests/${digest}`, { method: "DELETE" });
  assert.is(deleted.status, 202, await deleted.text());
  const broken = `${attested}/rel/a:1.0`;
  const problem = `the index names manifest ${digest}, which the registry does not have`;
  const warning = (ref: string) => `image-builder: warning: ${ref}: left out, cannot be read: ${problem}\n`;
  // {version} of rel/a and, read instead as the version's newest build, its build tag: both hold the index.
  const buildA = (await fetch(`http://${registry}/v2/${path}/tags/list`).then((t) => t.json()) as { tags: string[] }).tags.find((t) => /^1\.0-1-[0-9a-f]+$/.test(t))!;
  const unreadable = [{ reference: broken, error: problem }, { reference: `${attested}/rel/a:${buildA}`, error: problem }];

  const images = runCli(["images", "--repo", attested], { env });
  assert.is(images.code, 1, images.stderr);
  assert.is(images.stderr, warning(broken) + warning(`${attested}/rel/a:${buildA}`));
  assert.match(images.stdout, /^rel\/b\s+1\.0\s+2-/m);
  assert.match(images.stdout, /^sci\/a\s+1\.0\s+1-/m);
  assert.not.match(images.stdout, /^rel\/a/m);
  const imagesJson = runCli(["images", "--repo", attested, "--json"], { env });
  assert.is(imagesJson.code, 1);
  const listed = JSON.parse(imagesJson.stdout);
  assert.equal(listed.images.map((i: any) => i.name), ["rel/b", "sci/a", "sci/b"]);
  assert.equal(listed.unreadable, unreadable);

  const curl = runCli(["contains", "--package", "curl", "--repo", attested, "--json"], { env });
  assert.is(curl.code, 1, curl.stderr);
  assert.match(curl.stderr, new RegExp(`warning: ${broken.replace(/\./g, "\\.")}: left out, cannot be read: the index names manifest`));
  const holders = JSON.parse(curl.stdout);
  assert.equal(holders.images.map((i: any) => i.image), ["sci/a:1.0"]);
  assert.equal(holders.unreadable, unreadable);

  // Of a layer whose only image that holds it is the broken one: not "no image contains it".
  const layer = runCli(["contains", "sci/a", "--repo", attested], { env });
  assert.is(layer.code, 1, layer.stderr);
  assert.is(layer.stdout, "no published image that could be read contains sci/a (2 could not be read, see above)\n");
  assert.ok(layer.stderr.startsWith(warning(broken)), layer.stderr);
  assert.equal(JSON.parse(runCli(["contains", "sci/a", "--repo", attested, "--json"], { env }).stdout).unreadable, unreadable);
  // The layer of the other images is answered whole.
  const b = runCli(["contains", "sci/b", "--repo", attested, "--json"], { env });
  assert.equal(JSON.parse(b.stdout).images.map((i: any) => i.image), ["rel/b:1.0"]);

  // The broken tag itself: a clear error naming it.
  for (const args of [["inspect", "rel/a:1.0"], ["export", "rel/a:1.0", "-o", join(dir, "broken.tar")]]) {
    const r = runCli([...args, "--repo", attested], { env });
    assert.is(r.code, 1, r.stderr);
    assert.is(r.stderr, `image-builder: error: ${broken}: ${problem}\n`);
  }
  assert.not.ok(existsSync(join(dir, "broken.tar")));
});

test("images: a moving tag holding one platform's image of its build's index (not the index) says so", async () => {
  const { registry } = requireEngine();
  const path = `${attested.slice(registry.length + 1)}/rel/b`;
  const { digest } = await registryImage(`${attested}/rel/b:1.0`);
  // What a publish that stopped between the index's two tags leaves, or a tag set by hand: {version} holds the platform image.
  const manifest = await fetch(`http://${registry}/v2/${path}/manifests/${digest}`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" } });
  const type = manifest.headers.get("content-type")!;
  const put = await fetch(`http://${registry}/v2/${path}/manifests/1.0`, { method: "PUT", body: new Uint8Array(await manifest.arrayBuffer()), headers: { "content-type": type } });
  assert.is(put.status, 201, await put.text());
  const r = runCli(["images", "--repo", attested, "--json"], { env });
  const row = JSON.parse(r.stdout).images.find((i: any) => i.name === "rel/b");
  assert.match(row.build, /^2-[0-9a-f]+$/);
  assert.equal([row.tag, row.index, row.servedByMovingTag, row.servedPlatformImage, row.movingTag], ["1.0", false, true, "linux/amd64", "serves its linux/amd64 image, not its index"]);
  assert.match(runCli(["images", "--repo", attested], { env }).stdout, /^rel\/b\s+1\.0\s+2-[0-9a-f]+\s+.*\s+serves its linux\/amd64 image, not its index$/m);
});

test("a moving tag whose build tags are all gone (a retention policy) is still listed and searched: images says it serves an image of no build tag, contains finds what it holds", async () => {
  const { docker, registry } = requireEngine();
  const bare = uniqueRepo(registry);
  await publish(docker, [`${bare}/sci/base:1.0`], `FROM busybox:stable\nRUN echo base > /base\n${sci("base", "1.0-3-ccccccc", 1763900000)}\n`);
  await publish(docker, [`${bare}/rel/app:1.0`], `FROM ${bare}/sci/base:1.0\n${compat("app:1.0-3-ccccccc")}\n`);
  const r = runCli(["images", "--repo", bare, "--json"], { env });
  assert.is(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout).images.map((i: any) => [i.name, i.version, i.build, i.servedByMovingTag]);
  assert.equal(rows, [["rel/app", "1.0", null, true], ["sci/base", "1.0", null, true]]);
  assert.match(runCli(["images", "--repo", bare], { env }).stdout, /^rel\/app\s+1\.0\s+.*serves an image of no build tag$/m);
  const found = runCli(["contains", "sci/base", "--repo", bare, "--json"], { env });
  assert.is(found.code, 0, found.stderr);
  assert.equal(JSON.parse(found.stdout).images.map((i: any) => i.name ?? i.image), ["rel/app:1.0"]);
  // Its platform tag, of no build either, is listed with --all-tags, as a build's are.
  await publish(docker, [`${bare}/sci/base:1.0-linux-amd64`], `FROM busybox:stable\nRUN echo base > /base\n${sci("base", "1.0-3-ccccccc", 1763900000)}\n`);
  const all = runCli(["images", "--repo", bare, "--all-tags", "--json"], { env });
  assert.is(all.code, 0, all.stderr);
  assert.equal(JSON.parse(all.stdout).images.map((i: any) => [i.name, i.tag]), [["rel/app", "1.0"], ["sci/base", "1.0"], ["sci/base", "1.0-linux-amd64"]]);
});

test.run();
