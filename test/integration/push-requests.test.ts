// What a push costs the registry (issue 19's push-cost target): the requests image-builder itself
// makes (not the engine's) for `--all --push` of a small family, with attestations and without,
// counted at a proxy in front of the test registry. Upper bounds, so that a read added back to
// every image (the manifest read again for its attestations, a parent's digest asked again, an
// index read again by tag) fails here. And a rerun with nothing changed writes nothing, from either.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCliAsync } from "../helpers/cli.js";
import { requireEngine, uniqueRepo } from "../helpers/engine.js";
import { startFaultProxy } from "../helpers/fault-proxy.js";
import { makeRepo, science, compat } from "../helpers/repo.js";
import { writeKeyPair } from "../helpers/keys.js";
import { tempDir } from "../helpers/temp.js";

/** sci/pr-base, sci/pr-tools on it, rel/pr (tools with compat c): a chain of three images, each with a package database. */
const family = () => makeRepo({
  ...science("base", { image: "pr", target: "pr-base" }, "FROM busybox:stable\nCOPY status /var/lib/dpkg/status\n"),
  "science/base/status": "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n",
  ...science("tools", { image: "pr", target: "pr-tools", compat: "c" }, "FROM sci/pr-base:1.0\nCOPY numpy.json /opt/conda/conda-meta/numpy-1.26.4-0.json\n"),
  "science/tools/numpy.json": JSON.stringify({ name: "numpy", version: "1.26.4" }),
  ...compat("c", [], "ENV C=1\n"),
});
const IMAGES = 3;

/**
 * The requests image-builder's registry client made (user agent `image-builder/…`) for `--all --push` of
 * `root`, by kind; to the repository path `path` (`t-…`) of the test registry, a new one by default.
 */
async function clientRequests(root: string, extra: string[], path = uniqueRepo("r").slice(2)): Promise<{ total: number; kinds: Record<string, number>; enginePuts: string[] }> {
  const kinds: Record<string, number> = {};
  let total = 0;
  /** The tags the engine pushed a manifest under. */
  const enginePuts: string[] = [];
  await using proxy = await startFaultProxy(requireEngine().registry, (req) => {
    if (!req.headers["user-agent"]?.startsWith("image-builder/")) {
      const put = req.method === "PUT" && /\/manifests\/([^/?]+)$/.exec(req.url ?? "");
      if (put) enginePuts.push(put[1]);
      return undefined;
    }
    const url = req.url ?? "";
    const kind = `${req.method} ${/\/manifests\//.test(url) ? "manifest" : /\/blobs\/uploads\//.test(url) ? "upload" : /\/blobs\//.test(url) ? "blob" : url}`;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    total++;
    return undefined;
  });
  const r = await runCliAsync(["--all", "--push", "--repo", `${proxy.address}/${path}`, "--progress", "plain", ...extra], { cwd: root });
  assert.is(r.code, 0, r.stderr);
  return { total, kinds, enginePuts };
}

test("the engine pushes each image once, under its build tag: its moving tag gets that manifest from image-builder", async () => {
  using src = family();
  const { kinds, enginePuts } = await clientRequests(src.root, ["--no-attestations"]);
  // Each build tag (`1.0-1-3f2a9c1`) once; no moving tag (`1.0`).
  assert.is(enginePuts.length, IMAGES, `the engine pushed ${enginePuts.join(", ")}`);
  assert.ok(enginePuts.every((t) => /^1\.0-\d+-[0-9a-f]{7,}$/.test(t)), `the engine pushed ${enginePuts.join(", ")}`);
  // image-builder wrote the moving tags: one manifest each.
  assert.is(kinds["PUT manifest"], IMAGES, JSON.stringify(kinds));
});

test("a push of three images with attestations makes at most 89 registry requests, 54 more than without", async () => {
  using src = family();
  const without = await clientRequests(src.root, ["--no-attestations"]);
  const withAttestations = await clientRequests(src.root, []);
  const what = `with: ${JSON.stringify(withAttestations.kinds)}; without: ${JSON.stringify(without.kinds)}`;
  // Per image, with attestations: the run's checks before building anything (a HEAD of its build
  // tag; an upload started and cancelled, where it will push), the checks before the build and the push, the push's read-back,
  // its attestations (its own layers read: its config is the engine's, 3 blobs and a manifest
  // written), its index (the platform image checked again under its tag; the build tag read,
  // written, read back; the moving tag the same) and the end-of-run read-back of its four tags.
  assert.ok(withAttestations.total <= 89, `${withAttestations.total} requests for ${IMAGES} images (${what})`);
  assert.ok(withAttestations.total - without.total <= 54, `${withAttestations.total - without.total} more requests than without attestations for ${IMAGES} images (${what})`);
});

test("a push of new builds over published ones reads the image of each moving tag's index once: at most 98 requests for three images", async () => {
  using src = family();
  const path = uniqueRepo("r").slice(2);
  await clientRequests(src.root, [], path);
  src.write({ "science/base/status": "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u4\n" });
  src.commit("newer libc6");
  const again = await clientRequests(src.root, [], path);
  // As the first push, and per image: the moving tags hold the images of the first push, whose
  // version labels are read (the platform image's config; the index's image of the platform by
  // digest, and its config).
  assert.ok(again.total <= 98, `${again.total} requests for ${IMAGES} images over published ones (${JSON.stringify(again.kinds)})`);
});

test("a --no-attestations push over attested builds moves each platform moving tag with {version}: at most 56 requests for three images, 5 more per image than over plain builds, where looking for that tag costs one read (at most 41) (hunter18 F3)", async () => {
  /** A publish (`first`), a change of sci/pr-base (every image built again), then a plain push: its requests. */
  const plainOver = async (first: string[]) => {
    using src = family();
    const path = uniqueRepo("r").slice(2);
    await clientRequests(src.root, first, path);
    src.write({ "science/base/status": "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u4\n" });
    src.commit("newer libc6");
    return await clientRequests(src.root, ["--no-attestations"], path);
  };
  const [overPlain, overAttested] = [await plainOver(["--no-attestations"]), await plainOver([])];
  const what = `over attested: ${JSON.stringify(overAttested.kinds)}; over plain: ${JSON.stringify(overPlain.kinds)}`;
  // Over plain builds, per image: a plain push as ever, and one GET of `{version}-linux-amd64` (a 404) once `{version}` moved.
  assert.ok(overPlain.total <= 41, `${overPlain.total} requests over plain builds (${what})`);
  // Over attested, per image (5 more than before the fix; 1 more over plain builds): that tag read,
  // its image's config read (its version label), the tag written (`{version}`'s manifest), read
  // back, and read back at the end of the run.
  assert.is(overAttested.kinds["PUT manifest"], 2 * IMAGES, what);
  assert.ok(overAttested.total <= 56, `${overAttested.total} requests over attested builds (${what})`);
  assert.ok(overAttested.total - overPlain.total <= 5 * IMAGES, `${overAttested.total - overPlain.total} more over attested builds (${what})`);
});

test("a rerun with nothing changed writes nothing to the registry: no PUT, POST or PATCH from image-builder or the engine (attestations, --sign-key or IMAGE_BUILDER_SIGN_KEY)", async () => {
  using src = family();
  using keys = tempDir("ib-pr-keys-");
  const { key, pem } = writeKeyPair(keys.path);
  /** Requests that write, by who sent them (image-builder's client names itself; anything else is the engine). */
  const writes: string[] = [];
  let clientReads = 0;
  // One proxy for every run: the repository's host is part of what is signed and attested.
  await using proxy = await startFaultProxy(requireEngine().registry, (req) => {
    const agent = req.headers["user-agent"] ?? "";
    const who = agent.startsWith("image-builder/") ? "image-builder" : "the engine";
    if (req.method !== "GET" && req.method !== "HEAD") writes.push(`${who}: ${req.method} ${req.url?.replace(/\?.*$/, "")} (${agent})`);
    else if (who === "image-builder") clientReads++;
    return undefined;
  });
  const args = ["--all", "--push", "--repo", uniqueRepo(proxy.address), "--progress", "plain"];
  const first = await runCliAsync([...args, "--sign-key", key], { cwd: src.root });
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stderr, /\n3 built/);
  // what a write of each looks like at the proxy: the first run's
  assert.ok(writes.some((w) => w.startsWith("the engine: PUT ")) && writes.some((w) => w.startsWith("image-builder: PUT ")), writes.join("\n"));
  writes.length = 0;
  for (const [how, extra, env] of [["--sign-key", ["--sign-key", key], {}], ["IMAGE_BUILDER_SIGN_KEY", [], { IMAGE_BUILDER_SIGN_KEY: pem }]] as const) {
    const reads = clientReads;
    const again = await runCliAsync([...args, ...extra], { cwd: src.root, env });
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stderr, /\n3 reused/, how);
    assert.match(again.stderr, /already signed by this key: /, how);
    // the rerun asked the registry (through the proxy), and wrote nothing
    assert.ok(clientReads > reads, `${how}: no request of image-builder passed the proxy`);
    assert.equal(writes, [], `${how}: the rerun wrote to the registry`);
  }
});

test.run();
