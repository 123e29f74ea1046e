// sbom and diff: the packages of images built and pushed by image-builder, read back from the
// real registry's layers. The family installs package databases from its own files (no network)
// and a later layer removes some (a whiteout in the registry's layer).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCli, runCliAsync } from "../helpers/cli.js";
import { registryLayerEntries, registryRequest, requireEngine, uniqueRepo } from "../helpers/engine.js";
import { publish } from "../helpers/registry.js";
import { startFaultProxy } from "../helpers/fault-proxy.js";
import { makeRepo, science, compat, type TempRepo } from "../helpers/repo.js";
import { condaRecord, SITE_PACKAGES } from "../helpers/packages.js";
import { tempDir } from "../helpers/temp.js";
import { spdxDocumentSchema } from "../../src/core/formats/spdx.js";

const STATUS = `Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u4

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1

Package: gone
Status: deinstall ok config-files
Version: 1.0
`;

/**
 * science/base installs a dpkg status, a conda-meta record (numpy 1.26.4) and two Python
 * distributions; science/tools on it (the final layer of image `pk`) removes six and numpy's
 * record, installs numpy 2.0.0's and an R package.
 */
function family(): TempRepo {
  return makeRepo({
    ...science("base", { image: "pk", target: "pk-base" }, [
      "FROM busybox:stable",
      "COPY status /var/lib/dpkg/status",
      "COPY numpy-1.26.4-py311_0.json /opt/conda/conda-meta/",
      `COPY six-1.16.0.dist-info ${SITE_PACKAGES}/six-1.16.0.dist-info/`,
      `COPY requests-2.31.0.dist-info ${SITE_PACKAGES}/requests-2.31.0.dist-info/`,
      "",
    ].join("\n")),
    "science/base/status": STATUS,
    "science/base/numpy-1.26.4-py311_0.json": condaRecord("numpy", "1.26.4"),
    "science/base/six-1.16.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n\nPython 2 and 3 compatibility utilities\n",
    "science/base/six-1.16.0.dist-info/RECORD": "six.py,,\n",
    "science/base/requests-2.31.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n",
    ...science("tools", { image: "pk", target: "pk-tools", compat: "c" }, [
      "FROM sci/pk-base:1.0",
      `RUN rm -r ${SITE_PACKAGES}/six-1.16.0.dist-info /opt/conda/conda-meta/numpy-1.26.4-py311_0.json`,
      "COPY numpy-2.0.0-py311_0.json /opt/conda/conda-meta/",
      "COPY ggplot2 /usr/local/lib/R/site-library/ggplot2/",
      "",
    ].join("\n")),
    "science/tools/numpy-2.0.0-py311_0.json": condaRecord("numpy", "2.0.0"),
    "science/tools/ggplot2/DESCRIPTION": "Package: ggplot2\nVersion: 3.4.4\nLicense: MIT + file LICENSE\n",
    ...compat("c", [], "ENV C=1\n"),
  });
}

let repo = "";
/** The build tag every image of the family got: `1.0-{n}-{h}`. */
let buildTag = "";
let cleanup = () => {};
test.after(() => cleanup());

test("publish a family that installs and removes packages", async () => {
  const { registry } = requireEngine();
  const src = family();
  cleanup = () => src.cleanup();
  repo = uniqueRepo(registry);
  // Without attestations: what is read here is the images' layers (attestations.test.ts reads the stored SBOMs).
  const r = await runCliAsync(["--all", "--push", "--no-attestations", "--repo", repo, "--progress", "plain"], { cwd: src.root });
  assert.is(r.code, 0, r.stderr);
  buildTag = `1.0-1-${src.git("rev-parse", "--short", "HEAD")}`;
  // the RUN rm made whiteouts in a layer of the registry's image, above the layer that wrote the files
  const layers = await registryLayerEntries(`${repo}/rel/pk:1.0`);
  const whiteouts = layers.map((names) => names.filter((n) => /(^|\/)\.wh\./.test(n)));
  const rmLayer = whiteouts.findIndex((w) => w.length > 0);
  assert.ok(rmLayer > 0, JSON.stringify(whiteouts));
  assert.equal(whiteouts[rmLayer].map((n) => n.replace(/^\.?\//, "")).sort(),
    ["opt/conda/conda-meta/.wh.numpy-1.26.4-py311_0.json", `${SITE_PACKAGES.slice(1)}/.wh.six-1.16.0.dist-info`]);
});

test("sbom: exactly the packages installed and not removed, with type, name and version", () => {
  const r = runCli(["sbom", "rel/pk:1.0", "--repo", repo]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, "");
  assert.is(r.stdout, [
    "TYPE   NAME      VERSION",
    "deb    libc6     2.36-9+deb12u4",
    "deb    tzdata    2024a-0+deb12u1",
    "conda  numpy     2.0.0",
    "pypi   requests  2.31.0",
    "cran   ggplot2   3.4.4",
    "",
  ].join("\n"));
  // the layer below still has what the later one removed
  const base = runCli(["sbom", `${repo}/sci/pk-base:1.0`]);
  assert.is(base.code, 0, base.stderr);
  assert.match(base.stdout, /^pypi\s+six\s+1\.16\.0$/m);
  assert.match(base.stdout, /^conda\s+numpy\s+1\.26\.4$/m);
});

test("sbom --json: an SPDX 2.3 document of the image, each package with its purl and where it was found", async () => {
  const r = runCli(["sbom", "rel/pk:1.0", "--repo", repo, "--json"]);
  assert.is(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.ok(spdxDocumentSchema.safeParse(doc).success, JSON.stringify(spdxDocumentSchema.safeParse(doc).error?.issues));
  const [image, ...packages] = doc.packages;
  assert.is(image.name, `${repo}/rel/pk:1.0`);
  const digest = (await registryRequest(repo.slice(0, repo.indexOf("/")), `${repo.slice(repo.indexOf("/") + 1)}/rel/pk/manifests/1.0`, {
    method: "HEAD", accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
  })).headers.get("docker-content-digest");
  assert.is(image.versionInfo, digest);
  assert.equal(packages.map((p: any) => [p.externalRefs[0].referenceLocator, p.sourceInfo]), [
    ["pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64", "found in /var/lib/dpkg/status"],
    ["pkg:deb/debian/tzdata@2024a-0+deb12u1?arch=all", "found in /var/lib/dpkg/status"],
    ["pkg:conda/numpy@2.0.0?build=py311_0&channel=conda-forge&subdir=linux-64", "found in /opt/conda/conda-meta/numpy-2.0.0-py311_0.json"],
    ["pkg:pypi/requests@2.31.0", `found in ${SITE_PACKAGES}/requests-2.31.0.dist-info/METADATA`],
    ["pkg:cran/ggplot2@3.4.4", "found in /usr/local/lib/R/site-library/ggplot2/DESCRIPTION"],
  ]);
  // the same image, the same document
  assert.is(runCli(["sbom", "rel/pk:1.0", "--repo", repo, "--json"]).stdout, r.stdout);
});

test("diff: what the later layer added, removed and changed", () => {
  const r = runCli(["diff", "sci/pk-base:1.0", "rel/pk:1.0", "--repo", repo]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, [
    "CHANGE   TYPE   NAME     sci/pk-base:1.0  rel/pk:1.0",
    "changed  conda  numpy    1.26.4           2.0.0",
    "removed  pypi   six      1.16.0           -",
    "added    cran   ggplot2  -                3.4.4",
    "",
  ].join("\n"));
  const json = JSON.parse(runCli(["diff", "sci/pk-base:1.0", "rel/pk:1.0", "--repo", repo, "--json"]).stdout);
  assert.equal(json.changes.map((c: any) => c.change), ["changed", "removed", "added"]);
  const same = runCli(["diff", "rel/pk:1.0", "sci/pk-tools:1.0", "--repo", repo]);
  assert.is(same.stdout, `no package changed from ${repo}/rel/pk:1.0 to ${repo}/sci/pk-tools:1.0\n`);
});

test("contains --package: the published images holding a matching package, read from their layers", () => {
  const older = runCli(["contains", "--package", "numpy<2", "--repo", repo]);
  assert.is(older.code, 0, older.stderr);
  const lines = older.stdout.trimEnd().split("\n").map((l) => l.split(/\s+/));
  assert.equal(lines, [["IMAGE", "PLATFORM", "TYPE", "NAME", "VERSION"], ["sci/pk-base:1.0", "linux/amd64", "conda", "numpy", "1.26.4"]]);
  const any = JSON.parse(runCli(["contains", "--package", "NumPy", "--repo", repo, "--json"]).stdout);
  assert.equal(any.images.map((i: any) => [i.image, i.packages.map((p: any) => p.version)]), [
    ["rel/pk:1.0", ["2.0.0"]], ["sci/pk-base:1.0", ["1.26.4"]], ["sci/pk-tools:1.0", ["2.0.0"]],
  ]);
  // what each moving tag serves, named with its build
  assert.equal(any.images.map((i: any) => i.build), [buildTag, buildTag, buildTag]);
  assert.equal(JSON.parse(runCli(["contains", "--package", "pypi/six", "--repo", repo, "--json"]).stdout).images.map((i: any) => i.image), ["sci/pk-base:1.0"]);
  const none = runCli(["contains", "--package", "conda/six", "--repo", repo]);
  assert.is(none.stdout, "no published image contains a package conda/six\n");
  for (const args of [["contains", "sci/pk-base", "--package", "six"], ["contains"], ["contains", "--package", "six<<1"]]) {
    const bad = runCli([...args, "--repo", repo]);
    assert.is(bad.code, 2, args.join(" "));
    assert.match(bad.stderr, /^image-builder: error: .+\n$/);
  }
});

test("contains --package reads each layer once, however many images share it", async () => {
  await using proxy = await startFaultProxy(requireEngine().registry, () => undefined);
  const path = repo.slice(repo.indexOf("/") + 1);
  const r = await runCliAsync(["contains", "--package", "numpy", "--repo", `${proxy.address}/${path}`, "--json"]);
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).images.length, 3);
  const blobGets = proxy.forwarded.filter((f) => /^GET \S+\/blobs\/sha256:/.test(f)).map((f) => f.slice(f.lastIndexOf("/") + 1));
  const layers = (await registryLayerEntries(`${repo}/rel/pk:1.0`)).length;
  // 3 configs (one per image) and every layer of the family once: sci/pk-base's are rel/pk's first ones
  assert.is(blobGets.length, 3 + layers, blobGets.join("\n"));
});

test("an image without package databases: says so; a missing image or a bad argument is bad input (exit 2)", async () => {
  const { docker } = requireEngine();
  await publish(docker, [`${repo}/sci/bare:1.0`], "FROM busybox:stable\nRUN echo x > /x\n");
  const bare = runCli(["sbom", "sci/bare:1.0", "--repo", repo]);
  assert.is(bare.code, 0, bare.stderr);
  assert.is(bare.stdout, `no packages found in ${repo}/sci/bare:1.0\n`);
  const r = runCli(["sbom", `${repo}/sci/pk-base:1.0`.replace("pk-base", "none")]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^image-builder: error: \S+\/sci\/none:1\.0: no such image in the registry\n$/);
  const bad = runCli(["sbom", "essentials:2.5"]);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /neither sci\/NAME:TAG, rel\/NAME:TAG nor a full image reference/);
});

test("with the SBOM cache: sbom and contains --package read no layer an earlier command read and answer the same; a layer gone from the registry makes the image unreadable with the cache as without", async () => {
  const { registry } = requireEngine();
  using cache = tempDir("ib-sbom-cache-");
  const env = { IMAGE_BUILDER_CACHE: cache.path };
  const path = repo.slice(repo.indexOf("/") + 1);
  const manifest = await registryRequest(registry, `${path}/rel/pk/manifests/1.0`, { accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" });
  const layers = (JSON.parse(Buffer.from(await manifest.arrayBuffer()).toString()).layers as { digest: string }[]).map((l) => l.digest);
  const sbom = (r: string, e: NodeJS.ProcessEnv = env) => runCliAsync(["sbom", "rel/pk:1.0", "--repo", r], { env: e });
  const contains = (r: string) => runCliAsync(["contains", "--package", "numpy", "--repo", r, "--json"], { env });
  const [cold, coldContains] = [await sbom(repo), await contains(repo)];
  assert.is(cold.code, 0, cold.stderr);
  assert.is(coldContains.code, 0, coldContains.stderr);
  // kept: none of rel/pk's layers is read again, the answers the same
  await using proxy = await startFaultProxy(registry, () => undefined);
  const warm = await sbom(`${proxy.address}/${path}`);
  const warmContains = await contains(`${proxy.address}/${path}`);
  assert.is(warm.code, 0, warm.stderr);
  assert.is(warm.stdout, cold.stdout);
  assert.equal(JSON.parse(warmContains.stdout).images.map((i: any) => [i.image, i.packages]), JSON.parse(coldContains.stdout).images.map((i: any) => [i.image, i.packages]));
  const layerGets = proxy.forwarded.filter((f) => /^GET \S+\/blobs\/sha256:/.test(f) && layers.some((l) => f.endsWith(l)));
  assert.equal(layerGets, [], "layers read again");
  // gone from the registry: unreadable either way
  const deleted = await registryRequest(registry, `${path}/rel/pk/blobs/${layers[layers.length - 1]}`, { method: "DELETE" });
  assert.is(deleted.status, 202);
  const [withCache, without] = [await sbom(repo), await sbom(repo, { IMAGE_BUILDER_CACHE: "none" })];
  assert.is(without.code, 1, without.stderr);
  assert.is(withCache.code, without.code, withCache.stdout);
  assert.match(withCache.stderr, /404/);
});

test("a package file not read (a hard link to a file outside the package databases): sbom warns, contains --package does not read clean (exit 1, the image named)", async () => {
  const { docker } = requireEngine();
  const hidden = uniqueRepo(requireEngine().registry);
  await publish(docker, [`${hidden}/sci/hidden:1.0`], [
    "FROM busybox:stable",
    "RUN mkdir -p /var/lib/dpkg && printf 'Package: openssl\\nStatus: install ok installed\\nVersion: 1.0.1f-1\\n' > /tmp/x && ln /tmp/x /var/lib/dpkg/status",
    "",
  ].join("\n"));
  await publish(docker, [`${hidden}/sci/clean:1.0`], "FROM busybox:stable\nRUN echo x > /x\n");
  const env = { IMAGE_BUILDER_CACHE: "none" };
  const sbom = runCli(["sbom", "sci/hidden:1.0", "--repo", hidden], { env });
  assert.is(sbom.code, 0, sbom.stderr);
  assert.match(sbom.stderr, /warning: \S+\/sci\/hidden:1\.0: \/var\/lib\/dpkg\/status: a hard link to \/tmp\/x, which was not read/);
  const json = JSON.parse(runCli(["sbom", "sci/hidden:1.0", "--repo", hidden, "--json"], { env }).stdout);
  assert.match(json.comment, /^image-builder did not read every package file of the image, so packages may be missing: \/var\/lib\/dpkg\/status: a hard link/);
  const contains = runCli(["contains", "--package", "openssl<1.1", "--repo", hidden, "--json"], { env });
  assert.is(contains.code, 1, contains.stderr);
  const answer = JSON.parse(contains.stdout);
  assert.equal(answer.images, []);
  assert.equal(answer.unreadable.map((u: any) => u.reference), [`${hidden}/sci/hidden:1.0`]);
  assert.match(answer.unreadable[0].error, /^not every package file was read \(\/var\/lib\/dpkg\/status: a hard link to \/tmp\/x, which was not read\): it may hold such a package$/);
  const text = runCli(["contains", "--package", "openssl<1.1", "--repo", hidden], { env });
  assert.is(text.code, 1);
  assert.not.match(text.stdout, /^no published image contains a package openssl<1\.1\n$/, "not a clean answer");
});

test.run();
