// Issue 9: what lands in the registry can be trusted. Real engine, real registry (and a fault
// proxy in front of it); results checked in the registry's HTTP API and the engine's images.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, runCliAsync } from "../helpers/cli.js";
import { examplesRepo } from "../helpers/fixture.js";
import { happening, isManifest, isManifestPut, startFaultProxy } from "../helpers/fault-proxy.js";
import { registryImage, registryIndex, registryTags, registryWritesFromNow, requireEngine, stepLine, uniqueRepo, waitFor } from "../helpers/engine.js";
import { baseAndTools, makeRepo, science, compat } from "../helpers/repo.js";
import { tempDir } from "../helpers/temp.js";

// These runs publish plain images under their tags (the rules of issues 9 and 16 for the image
// push itself); an image with its attestations in an index is attestations.test.ts's.
const PLAIN = ["--progress", "plain", "--no-attestations"];

type TagResult = { tag: string; pushed: boolean; digest?: string; registryDigest?: string; reason?: string };
function results(file: string): { results: { id: string; status: string; pushed: boolean; reason?: string; tags?: TagResult[] }[] } {
  return JSON.parse(readFileSync(file, "utf8"));
}
/** One result's tags by the part after the registry location: `sci/a:1.0` -> result. */
function tagsOf(file: string, id: string, target: string): Record<string, TagResult> {
  const r = results(file).results.find((x) => x.id === id)!;
  return Object.fromEntries((r.tags ?? []).map((t) => [t.tag.slice(target.length + 1), t]));
}
/** A science layer `a` (its RUN step's output differs from build to build) and its final image `rel/a`. */
const smallFamily = (run = "date +%s%N > /stamp") => ({
  ...science("a", { image: "a", compat: "c" }, `FROM busybox:stable\nRUN ${run}\n`),
  ...compat("c", [], "ENV C=1\n"),
});
/** A build tag `1.0-{n}-{h}`, and a manifest request of sci/a (`--all` of smallFamily). */
const BUILD_TAG = /^1\.0-\d+-[0-9a-f]+$/;
/** A platform build tag `1.0-{n}-{h}-linux-{arch}`: a platform's image of an index. */
const PLATFORM_BUILD_TAG = /^1\.0-\d+-[0-9a-f]+-linux-[a-z0-9]+$/;
const sciA = (req: { url?: string }) => /\/sci\/a\/manifests\//.test(req.url ?? "");
/**
 * `--all --push` of `cwd` under `{proxy}/{name}` through each proxy at once; results in `dir`/r1.json, r2.json, …
 * Each run's RUN steps have another network mode (not an input of the plan): BuildKit merges the
 * identical steps of builds under way at once into one, --no-cache or not, and two runs whose
 * builds started in the same millisecond (their buildtime labels alike) then got one image, which
 * both rightly claimed, and the race a test stages did not happen (a CI run failed so).
 */
function runsAtOnce(cwd: string, name: string, proxies: string[], dir: string, extra: string[] = []) {
  return Promise.all(proxies.map((proxy, i) =>
    runCliAsync(["--all", "--push", "--repo", `${proxy}/${name}`, "--results", join(dir, `r${i + 1}.json`), "--network", i === 0 ? "host" : "none", ...extra, ...PLAIN], { cwd })));
}

/**
 * Two proxies to the registry, one per run, that order the runs' PUTs of sci/a's tag matching
 * `tag`: run 1's waits until run 2's arrives (both runs have found the tag missing and built their
 * own image); run 2's waits until run 1's is stored; run 1 reads the tag back only after run 2's is
 * stored. So run 2's image is the one the registry keeps, and run 1 must see it.
 */
async function racingProxies(registry: string, tag: RegExp) {
  const secondArrived = happening("run 2's build tag PUT");
  const firstStored = happening("run 1's build tag stored");
  const secondStored = happening("run 2's build tag stored");
  let firstPut = false;
  const one = await startFaultProxy(registry, (req) => {
    if (!sciA(req) || !isManifest(req, tag)) return undefined;
    if (req.method === "PUT") {
      firstPut = true;
      return { hold: secondArrived.promise, answered: firstStored.then };
    }
    return firstPut ? { hold: secondStored.promise } : undefined;
  });
  const two = await startFaultProxy(registry, (req) => {
    if (!sciA(req) || !isManifestPut(req, tag)) return undefined;
    secondArrived.then();
    return { hold: firstStored.promise, answered: secondStored.then };
  });
  return { one, two, [Symbol.asyncDispose]: async () => { await one.close(); await two.close(); } };
}

/**
 * Two proxies to the registry, one per run, ordering sci/a's tag matching `tag` so that another
 * run's image lands after this run read its own back: run 2 checks the tag (missing) before run
 * 1 pushes it; run 1 pushes and reads it back (its own); only then does run 2's PUT go through,
 * and run 1's moving tag (matching `moving`) waits for it.
 */
async function afterReadBackProxies(registry: string, tag: RegExp, moving: RegExp) {
  const secondChecked = happening("run 2's check before its push");
  const firstReadBack = happening("run 1's read-back of its build tag");
  const secondStored = happening("run 2's build tag stored");
  let firstPut = false;
  const one = await startFaultProxy(registry, (req) => {
    if (!sciA(req)) return undefined;
    if (isManifestPut(req, tag)) {
      firstPut = true;
      return { hold: secondChecked.promise };
    }
    if (firstPut && req.method === "GET" && isManifest(req, tag)) return { answered: firstReadBack.then };
    if (isManifestPut(req, moving)) return { hold: secondStored.promise };
    return undefined;
  });
  let secondReads = 0;
  const two = await startFaultProxy(registry, (req) => {
    if (!sciA(req)) return undefined;
    if (isManifestPut(req, tag)) return { hold: firstReadBack.promise, answered: secondStored.then };
    if (req.method === "GET" && isManifest(req, tag) && ++secondReads === 2) return { answered: secondChecked.then };
    return undefined;
  });
  return { one, two, [Symbol.asyncDispose]: async () => { await one.close(); await two.close(); } };
}

/** A rerun of `cwd` to `target` reuses all `images` and writes nothing new; --reconcile finds nothing to do. */
async function assertConverged(cwd: string, target: string, images: number) {
  const again = await runCliAsync(["--all", "--push", "--repo", target, "--progress", "plain"], { cwd });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`\\n${images} reused`), again.stderr);
  const reconcile = runCli(["--reconcile", "--dryrun", "--repo", target], { cwd });
  assert.match(reconcile.stdout + reconcile.stderr, /nothing to build/);
}

/** Every tag of every repository under `repo` -> its manifest digest. */
async function registryState(repo: string, names: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of names) {
    for (const tag of await registryTags(`${repo}/${name}`)) out[`${name}:${tag}`] = (await registryImage(`${repo}/${name}:${tag}`)).digest;
  }
  return out;
}
const EXAMPLE_REPOS = ["sci/essentials-2-4", "sci/essentials-2-5", "sci/astro-base", "sci/astro-tools", "rel/essentials", "rel/astro"];

test("a rerun of a published commit builds nothing and changes no digest; other build args are refused, --overwrite replaces", async () => {
  const { registry } = requireEngine();
  using repo = examplesRepo();
  const target = uniqueRepo(registry);
  using dir = tempDir("ib-publish-");
  const first = runCli(["--all", "--push", "--repo", target, "--results", join(dir.path, "r1.json"), ...PLAIN], { cwd: repo.root });
  assert.is(first.code, 0, first.stderr);
  const before = await registryState(target, EXAMPLE_REPOS);
  assert.is(Object.keys(before).length, 14);

  const again = runCli(["--all", "--push", "--repo", target, "--results", join(dir.path, "r2.json"), ...PLAIN], { cwd: repo.root });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /\b7 reused\b/);
  assert.not.match(again.stderr, stepLine(".*"), "nothing was built");
  const r2 = results(join(dir.path, "r2.json")).results;
  assert.equal(r2.map((r) => r.status), Array(7).fill("reused"));
  assert.ok(r2.every((r) => r.pushed && r.tags!.every((t) => t.pushed && before[t.tag.slice(target.length + 1)] === t.digest)), JSON.stringify(r2));
  assert.equal(await registryState(target, EXAMPLE_REPOS), before);
  // Nothing to build needs no builder: not even a frontend image this engine can't pull
  // (science/astro-base has `# syntax=docker/dockerfile:1`).
  const buildkit = runCli(["--all", "--push", "--repo", target, "--builder", "buildkit", ...PLAIN], { cwd: repo.root });
  assert.is(buildkit.code, 0, buildkit.stderr);
  assert.match(buildkit.stderr, /\b7 reused\b/);

  // The same commit with another build argument would move the immutable build tags: refused.
  const other = runCli(["--all", "--push", "--repo", target, "--build-arg", "EXTRA=1", ...PLAIN], { cwd: repo.root });
  assert.is(other.code, 1, other.stderr);
  assert.match(other.stderr, /already in the registry with inputs sha256:[0-9a-f]{64}, but this build's inputs are sha256:[0-9a-f]{64}: build tags are immutable/);
  assert.equal(await registryState(target, EXAMPLE_REPOS), before);

  const overwrite = runCli(["--all", "--push", "--overwrite", "--repo", target, "--build-arg", "EXTRA=1", ...PLAIN], { cwd: repo.root });
  assert.is(overwrite.code, 0, overwrite.stderr);
  const after = await registryState(target, EXAMPLE_REPOS);
  assert.not.equal(after["sci/essentials-2-4:2.4"], before["sci/essentials-2-4:2.4"]);
});

test("the moving tag is pushed only after the build tag: a refused build tag leaves {version} untouched", async () => {
  const { registry } = requireEngine();
  using repo = examplesRepo();
  // The registry refuses every build tag's manifest (`{version}-{n}-{h}`).
  await using proxy = await startFaultProxy(registry, (req) => (isManifestPut(req, /^\d[\d.]*-\d+-[0-9a-f]+$/) ? 500 : undefined));
  const target = uniqueRepo(proxy.address);
  using dir = tempDir("ib-publish-");
  // Not runCli: the proxy lives in this process, whose event loop must keep running.
  const r = await runCliAsync(["--include", "science/essentials-2-4", "--push", "--repo", target, "--results", join(dir.path, "r.json"), ...PLAIN], { cwd: repo.root });
  assert.is(r.code, 1, r.stderr);
  assert.ok(proxy.refused.length > 0);
  const direct = target.replace(proxy.address, registry);
  assert.equal(await registryTags(`${direct}/sci/essentials-2-4`), []);
  const sci = results(join(dir.path, "r.json")).results.find((x) => x.id === "sci/essentials-2-4")!;
  assert.equal(sci.tags!.map((t) => t.pushed), [false, false]);
  assert.match(sci.tags![0].tag, /:2\.4-\d+-[0-9a-f]+$/);
  assert.match(r.stderr, /not pushed/);
});

test("--reconcile rebuilds exactly what an earlier run failed to publish, and says why", async () => {
  const { registry } = requireEngine();
  using repo = examplesRepo();
  // The first run cannot publish essentials 2.5 (its manifests are refused).
  await using proxy = await startFaultProxy(registry, (req) => (req.method === "PUT" && /\/sci\/essentials-2-5\/manifests\//.test(req.url ?? "") ? 403 : undefined));
  const viaProxy = uniqueRepo(proxy.address);
  const target = viaProxy.replace(proxy.address, registry);
  const first = await runCliAsync(["--all", "--push", "--repo", viaProxy, ...PLAIN], { cwd: repo.root });
  assert.is(first.code, 1, first.stderr);

  const dry = runCli(["--reconcile", "--dryrun", "-vv", "--no-attestations", "--repo", target], { cwd: repo.root });
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /build sci\/essentials-2-5: not published/);
  assert.match(dry.stderr, /build rel\/essentials:2\.5 \(after sci\/essentials-2-5\): not published .*; built on sci\/essentials-2-5, which is rebuilt/);
  assert.match(dry.stderr, /final plan includes 1 science build and 1 compat build/);
  // the graph marks what reconcile plans: essentials-2-5 missing, its final image rebuilt, nothing else
  const graph = runCli(["graph", "--reconcile", "--no-attestations", "--repo", target], { cwd: repo.root });
  assert.is(graph.code, 0, graph.stderr);
  assert.match(graph.stdout, "  class sci_essentials_2_5 changed\n  class rel_essentials_2_5 rebuilt\n");

  const fix = runCli(["--reconcile", "--push", "--repo", target, ...PLAIN], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(fix.code, 0, fix.stderr);
  assert.equal((await registryTags(`${target}/rel/essentials`)).length, 4);
  const done = runCli(["--reconcile", "--dryrun", "-v", "--no-attestations", "--repo", target], { cwd: repo.root });
  assert.match(done.stderr, /nothing to build: nothing missing from or stale in the registry/);
  const quiet = runCli(["graph", "--reconcile", "--no-attestations", "--repo", target], { cwd: repo.root });
  assert.is(quiet.code, 0, quiet.stderr);
  assert.not.match(quiet.stdout, /^ {2}class /m);

  // A build tag gone while {version} still holds its image (a tag-only delete, a retention policy): planned, with what builds on it.
  const e24 = `${target.slice(registry.length + 1)}/sci/essentials-2-4`;
  const held = await fetch(`http://${registry}/v2/${e24}/manifests/2.4`, { headers: { accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" } });
  const bytes = new Uint8Array(await held.arrayBuffer());
  assert.is((await fetch(`http://${registry}/v2/${e24}/manifests/${held.headers.get("docker-content-digest")}`, { method: "DELETE" })).status, 202);
  assert.is((await fetch(`http://${registry}/v2/${e24}/manifests/2.4`, { method: "PUT", body: bytes, headers: { "content-type": held.headers.get("content-type")! } })).status, 201);
  const gone = runCli(["--reconcile", "--dryrun", "-vv", "--no-attestations", "--repo", target], { cwd: repo.root });
  assert.is(gone.code, 0, gone.stderr);
  assert.match(gone.stderr, /build sci\/essentials-2-4: \S+\/sci\/essentials-2-4:2\.4 holds 2\.4-\d+-[0-9a-f]+, of this checkout's inputs, but its build tag \S+\/sci\/essentials-2-4:2\.4-\d+-[0-9a-f]+ is gone/);
  assert.match(gone.stderr, /build sci\/essentials-2-5 .*built on sci\/essentials-2-4, which is rebuilt/);

  // A registry that can't be read is an error, not "everything is missing".
  const down = runCli(["--reconcile", "--dryrun", "--repo", "127.0.0.1:9/nothing"], { cwd: repo.root });
  assert.is(down.code, 1);
  assert.match(down.stderr, /^image-builder: error: --reconcile: cannot read 127\.0\.0\.1:9\/nothing\/.* from the registry/m);
  assert.is(down.stderr.trim().split("\n").length, 1, down.stderr);
});

test("--all --push on a commit already published: an image under this commit's build tag built on an earlier build of a parent the run builds again is refused, not reused on a build {version} moves away from", async () => {
  using src = makeRepo(baseAndTools("sp"));
  const at = uniqueRepo(requireEngine().registry);
  assert.is(runCli(["--all", "--push", "--repo", at, ...PLAIN], { cwd: src.root }).code, 0);
  const first = `1.0-1-${src.git("rev-parse", "--short", "HEAD")}`;
  // The next commit changes tools only: the default run builds tools and its final image on base's build 1.
  src.write({ "science/tools/Dockerfile": "FROM sci/sp-base:1.0\nRUN echo tools 2 > /tools.txt\n" });
  const second = `1.0-2-${src.commit("tools 2")}`;
  assert.is(runCli(["--push", "--repo", at, ...PLAIN], { cwd: src.root }).code, 0);
  // --all on that commit (a pipeline's ALL=true) builds base again as build 2: tools' build tag stands on build 1.
  const all = runCli(["--all", "--push", "--repo", at, ...PLAIN], { cwd: src.root });
  assert.is(all.code, 1, all.stderr);
  assert.match(all.stderr, new RegExp(`sci/sp-tools:${second}(-linux-amd64)? is already in the registry with an image built on sci/sp-base:${first}, while this run's sci/sp-base:1\\.0 is build ${second}: build tags are immutable .*--overwrite`), all.stderr);
  // Refused before anything was built or pushed: base's {version} still holds build 1, its build 2 is not there.
  assert.match(all.stderr, /^image-builder: error: refused before building anything: \S+sci\/sp-tools:/m, all.stderr);
  assert.not.match(all.stderr, /building with|pushed/, all.stderr);
  assert.is((await registryImage(`${at}/sci/sp-base:1.0`)).labels["org.sciserver.science.sp-base.version"], first);
  assert.not.ok((await registryTags(`${at}/sci/sp-base`)).some((t) => t.startsWith(second)), "base's build 2 was not pushed");
  const overwritten = runCli(["--all", "--push", "--overwrite", "--repo", at, ...PLAIN], { cwd: src.root });
  assert.is(overwritten.code, 0, overwritten.stderr);
  for (const image of ["sci/sp-tools:1.0", "rel/sp:1.0"]) {
    const { labels } = await registryImage(`${at}/${image}`);
    assert.is(labels["org.sciserver.science.sp-base.version"], second, `${image} is built on base's build ${second}`);
  }
  const contains = runCli(["contains", "--repo", at, "sci/sp-base"], { cwd: src.root });
  assert.is(contains.code, 0, contains.stdout + contains.stderr);
  assert.not.match(contains.stdout, /stale/);
  // A parent the run does not build is pinned to what {version} holds, which may be a later build
  // of the same inputs: the older commit's images, built on an earlier build, are reused (judged on
  // what the registry holds under their parents' build tags), not refused.
  src.write({ "NOTES.md": "notes\n" });
  src.commit("notes");
  assert.is(runCli(["--all", "--push", "--repo", at, ...PLAIN], { cwd: src.root }).code, 0);
  src.git("checkout", "-q", "HEAD~1");
  const older = runCli(["--push", "--repo", at, ...PLAIN], { cwd: src.root });
  assert.is(older.code, 0, older.stderr);
  assert.match(older.stderr, /\n2 reused/, older.stderr);
});

test("a push the registry would refuse for some repositories (credentials scoped to sci/, not rel/) is refused before anything is built or pushed", async () => {
  const { registry } = requireEngine();
  using src = makeRepo(baseAndTools("pp"));
  // Writes to rel/ refused, as a registry whose credentials may push to sci/ only answers them.
  await using proxy = await startFaultProxy(registry, (req) => req.method !== "GET" && req.method !== "HEAD" && /^\/v2\/[^?]*\/rel\//.test(req.url ?? "") ? 403 : undefined);
  const at = uniqueRepo(proxy.address);
  // Asynchronous: the proxy answers from this process.
  const run = await runCliAsync(["--push", "--all", "--repo", at, ...PLAIN], { cwd: src.root });
  assert.is(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`^image-builder: error: refused before building anything: may not push to ${at.replace(/\./g, "\\.")}/rel/pp: a push to \\S+/rel/pp: access denied by \\S+ \\(HTTP 403: DENIED: refused by the test's fault proxy\\)`, "m"), run.stderr);
  assert.not.match(run.stderr, /building with|pushed/, run.stderr);
  // Nothing of sci/ pushed either (before, sci/pp-base and sci/pp-tools were, and their {version} moved).
  const path = at.slice(proxy.address.length + 1);
  for (const name of ["sci/pp-base", "sci/pp-tools", "rel/pp"]) assert.equal(await registryTags(`${registry}/${path}/${name}`), [], name);
  // The check starts an upload and cancels it: the uploads of sci/ were asked for, rel/'s refused.
  assert.ok(proxy.forwarded.some((r) => /^POST \S+\/sci\/pp-base\/blobs\/uploads\/$/.test(r)) && proxy.forwarded.some((r) => /^DELETE \S+\/sci\/pp-base\/blobs\/uploads\//.test(r)), proxy.forwarded.join("\n"));
});

test("the push-rights check's cancel of its upload: one the registry refuses is said in one note naming the repository, one never answered holds the run seconds at most, not the 60 s request bound (hunter19 F4, hunter20 F4)", async () => {
  const { registry } = requireEngine();
  using src = makeRepo(smallFamily("echo one > /a"));
  const cancel = (req: { method?: string; url?: string; headers: Record<string, unknown> }) =>
    req.method === "DELETE" && /\/blobs\/uploads\//.test(req.url ?? "") && String(req.headers["user-agent"] ?? "").startsWith("image-builder/");
  {
    await using proxy = await startFaultProxy(registry, (req) => (cancel(req) ? 500 : undefined));
    const at = uniqueRepo(proxy.address);
    const run = await runCliAsync(["--push", "--all", "--repo", at, ...PLAIN], { cwd: src.root });
    assert.is(run.code, 0, run.stderr);
    assert.equal(proxy.refused.filter((r) => r.startsWith("DELETE ")).length, 2, "one DELETE per repository, not retried");
    const escaped = at.replace(/\./g, "\\.");
    assert.match(run.stderr, new RegExp(`^image-builder: note: the push-rights check's upload was not cancelled \\(cancel of the upload in ${escaped}/(sci/a|rel/a): registry \\S+ answered HTTP 500 \\(DENIED: refused by the test's fault proxy\\); and 1 more\\): the registry keeps it until it purges uploads$`, "m"), run.stderr);
  }
  {
    await using proxy = await startFaultProxy(registry, (req) => (cancel(req) ? { hold: new Promise(() => undefined) } : undefined));
    const at = uniqueRepo(proxy.address);
    const started = Date.now();
    const run = await runCliAsync(["--push", "--all", "--repo", at, ...PLAIN], { cwd: src.root });
    const took = Date.now() - started;
    assert.is(run.code, 0, run.stderr);
    assert.ok(took < 40_000, `the run took ${took} ms`);
    // Said as it stands when the run ends: its bound lapsed first, or the run ended first (it does not wait for it).
    assert.match(run.stderr, /^image-builder: note: the push-rights check's upload was not cancelled \(cancel of the upload in \S+: no answer (within 3 s|by the end of the run \(it may still go through\)); and 1 more\): the registry keeps it until it purges uploads$/m, run.stderr);
  }
});

test("an older commit's pipeline run after a newer commit published a parent of other inputs builds on the parent's build of its own inputs, publishing its build tags; {version} stays on the newer build", async () => {
  using src = makeRepo(baseAndTools("oc"));
  const at = uniqueRepo(requireEngine().registry);
  const push = (cwd: string) => runCliAsync(["--push", "--repo", at, "--progress", "plain"], { cwd });
  assert.is((await push(src.root)).code, 0);
  const first = `1.0-1-${src.git("rev-parse", "--short", "HEAD")}`;
  // Commit 2 changes tools; its pipeline waits behind commit 3's, which changes base.
  src.write({ "science/tools/Dockerfile": "FROM sci/oc-base:1.0\nRUN echo tools 2 > /tools.txt\n" });
  const second = `1.0-2-${src.commit("tools 2")}`;
  src.write({ "science/base/Dockerfile": "FROM busybox:stable\nRUN echo base 3 > /base.txt\n" });
  const third = `1.0-3-${src.commit("base 3")}`;
  assert.is((await push(src.root)).code, 0);
  using older = tempDir("ib-older-commit-");
  src.git("worktree", "add", "-q", join(older.path, "wt"), "HEAD~1");
  // Before: refused for good ("base image …:1.0 (build 1.0-3-…) was built from other inputs"), its advice (--reconcile) doing nothing.
  const late = await push(join(older.path, "wt"));
  assert.is(late.code, 0, late.stderr);
  assert.match(late.stderr, new RegExp(`\\[base\\] \\S+sci/oc-base:1\\.0 holds build ${third} of other inputs; \\S+sci/oc-base:${first} holds this checkout's: building on it`), late.stderr);
  const tools = await registryImage(`${at}/sci/oc-tools:${second}`);
  assert.is(tools.labels["org.sciserver.science.oc-base.version"], first, "commit 2's tools is built on base's build 1");
  for (const [image, build] of [["sci/oc-base:1.0", third], ["sci/oc-tools:1.0", third], ["rel/oc:1.0", third]]) {
    assert.is((await registryImage(`${at}/${image}`)).labels[image.startsWith("rel/") ? "org.sciserver.science.oc-tools.version" : `org.sciserver.science.${image.slice(4, image.indexOf(":"))}.version`], build, `${image} stays on the newest build`);
  }
});

test("--reconcile completing an earlier build whose parent's {version} moved on (run --only of a later plan) reuses it: judged on the registry's build tags, not refused", async () => {
  using src = makeRepo(baseAndTools("sq"));
  const at = uniqueRepo(requireEngine().registry);
  assert.is(runCli(["--all", "--push", "--repo", at, ...PLAIN], { cwd: src.root }).code, 0);
  src.write({ "NOTES.md": "notes\n" });
  src.commit("notes");
  using dir = tempDir("ib-earlier-only-");
  const plan = join(dir.path, "plan.json");
  assert.is(runCli(["plan", "--all", "--repo", at, "--out", plan], { cwd: src.root }).code, 0);
  const only = runCli(["run", plan, "--only", "sci/sq-base", "--push", ...PLAIN], { cwd: src.root });
  assert.is(only.code, 0, only.stderr);
  // tools and its final image: {version} holds build 1 without attestations, completed where it is.
  const r = runCli(["--reconcile", "--push", "--repo", at, "--progress", "plain"], { cwd: src.root });
  assert.is(r.code, 0, r.stderr);
  assert.match(runCli(["--reconcile", "--dryrun", "-v", "--repo", at], { cwd: src.root }).stderr, /nothing to build/);
});

test("a parent whose moving tag holds another commit's build is refused as a base, not built on", async () => {
  const { registry } = requireEngine();
  using repo = examplesRepo();
  const target = uniqueRepo(registry);
  const first = runCli(["--all", "--push", "--repo", target, ...PLAIN], { cwd: repo.root });
  assert.is(first.code, 0, first.stderr);
  const original = repo.git("rev-parse", "HEAD");
  // Another branch publishes its own essentials 2.4: the moving tag sci/essentials-2-4:2.4 is now its build.
  repo.write({ "science/essentials-2-4/packages.txt": "another branch\n" });
  repo.commit("other branch");
  const other = runCli(["--include", "science/essentials-2-4", "--push", "--repo", target, ...PLAIN], { cwd: repo.root });
  assert.is(other.code, 0, other.stderr);
  // Back on the first branch, a change to essentials 2.5 only: its parent is not built, but pulled.
  repo.git("reset", "-q", "--hard", original);
  repo.write({ "science/essentials-2-5/Dockerfile": `${readFileSync(join(repo.root, "science/essentials-2-5/Dockerfile"), "utf8")}RUN echo more > /more\n` });
  const sha = repo.commit("feature");
  const tagsBefore = await registryTags(`${target}/sci/essentials-2-5`);
  const r = runCli(["--push", "--repo", target, ...PLAIN], { cwd: repo.root });
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /base image .*sci\/essentials-2-4:2\.4 \(build 2\.4-\d+-[0-9a-f]+\) was built from other inputs \(sha256:[0-9a-f]{64}\) than this checkout's sci\/essentials-2-4 \(sha256:[0-9a-f]{64}\): another commit's build holds the tag, or an older image-builder's that digested the files otherwise \(README, upgrading\)/);
  const tagsAfter = await registryTags(`${target}/sci/essentials-2-5`);
  assert.equal(tagsAfter, tagsBefore);
  assert.not.ok(tagsAfter.some((t) => t.endsWith(sha)), "the feature commit's essentials 2.5 was pushed");
  // With build arguments (part of every build's inputs, the parent's too), the refusal names them:
  // the parent published is this commit's, built without them.
  repo.git("reset", "-q", "--hard", original);
  const withArgs = runCli(["--include", "science/essentials-2-5", "--build-arg", "FOO=1", "--repo", target, ...PLAIN], { cwd: repo.root });
  assert.is(withArgs.code, 1, withArgs.stderr);
  assert.match(withArgs.stderr, /than this checkout's sci\/essentials-2-4 with this run's build argument FOO \(part of its inputs\) \(sha256:[0-9a-f]{64}\): another commit's build holds the tag, or one built without those build arguments, or an older image-builder's that digested the files otherwise \(README, upgrading\); build it in this run too \(--include its directory\)/);
});

test("two commits built at once on one engine: each final image is built on its own commit's parent", async () => {
  const { docker, registry } = requireEngine();
  const target = uniqueRepo(registry);
  // b builds on a and on x. In the first commit x is slow, so b starts long after a; meanwhile
  // the second commit's run rebuilds a (other contents) and moves the tag sci/a:1.0.
  const layers = (slow: number, aText: string) => ({
    ...science("a", { image: "a", version: "1.0", compat: "c" }, `FROM busybox:stable\nRUN echo ${aText} > /a\n`),
    ...science("x", { image: "x", version: "1.0", compat: "c" }, `FROM busybox:stable\nRUN sleep ${slow} && echo x > /x\n`),
    ...science("b", { image: "b", version: "1.0", compat: "c" }, `FROM sci/x:1.0 AS x\nFROM sci/a:1.0\nCOPY --from=x /x /x\n`),
    ...compat("c", [], "RUN true\n"),
  });
  using one = makeRepo(layers(6, "first"));
  using two = makeRepo({}, false);
  two.git("pull", "-q", one.root, "main");
  two.write(layers(0, "second"));
  two.commit("second");
  const args = ["--all", "--repo", target, "--jobs", "3", ...PLAIN];
  const [r1, r2] = await Promise.all([runCliAsync(args, { cwd: one.root }), runCliAsync(args, { cwd: two.root })]);
  assert.is(r1.code, 0, r1.stderr);
  assert.is(r2.code, 0, r2.stderr);
  for (const r of [one, two]) {
    const suffix = `${r.git("rev-list", "--count", "HEAD")}-${r.git("rev-parse", "--short", "HEAD")}`;
    const info = await docker.getImage(`${target}/rel/b:1.0-${suffix}`).inspect();
    assert.is(info.Config.Labels["org.sciserver.science.a.version"], `1.0-${suffix}`, `${r.root}: final image built on another commit's parent`);
    assert.is(info.Config.Labels["org.sciserver.compat.version"], `b:1.0-${suffix}`);
  }
});

test("a rerun of an older commit leaves every {version} on the newer build, saying why; --allow-tag-rollback moves it back", async () => {
  const { registry, docker } = requireEngine();
  const target = uniqueRepo(registry);
  using repo = makeRepo({ "image-builder.json": JSON.stringify({ repo: target }), ...smallFamily("echo one > /a") });
  const older = repo.git("rev-parse", "HEAD");
  const first = runCli(["--all", "--push", ...PLAIN], { cwd: repo.root });
  assert.is(first.code, 0, first.stderr);
  repo.write(smallFamily("echo two > /a"));
  repo.commit("two");
  const second = runCli(["--push", ...PLAIN], { cwd: repo.root });
  assert.is(second.code, 0, second.stderr);
  const newer = await registryState(target, ["sci/a", "rel/a"]);

  repo.git("checkout", "-q", older);
  using dir = tempDir("ib-publish-");
  const file = join(dir.path, "r.json");
  const again = runCli(["--all", "--push", "--overwrite", "--results", file, ...PLAIN], { cwd: repo.root });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /2 reused, 2 moving tags not moved/);
  assert.match(again.stderr, new RegExp(`^sci/a +reused .*${target}/sci/a:1\\.0 \\(not moved\\), ${target}/sci/a:1\\.0-1-`, "m"), "the summary table marks the moving tag");
  assert.match(again.stderr, new RegExp(`sci/a: not moved: ${target}/sci/a:1\\.0 is at 1\\.0-2-[0-9a-f]+, newer`));
  assert.equal(await registryState(target, ["sci/a", "rel/a"]), newer, "a moving tag went back");
  // Nor does the engine's own moving tag go back.
  for (const name of ["sci/a", "rel/a"]) {
    assert.is((await docker.getImage(`${target}/${name}:1.0`).inspect()).Id, (await registryImage(`${target}/${name}:1.0`)).configDigest, `the engine's ${name}:1.0 went back`);
  }
  for (const [id, name] of [["sci/a", "sci/a"], ["rel/a:1.0", "rel/a"]]) {
    const tags = tagsOf(file, id, target);
    assert.equal([tags[`${name}:1.0`].pushed, tags[`${name}:1.0`].registryDigest], [false, newer[`${name}:1.0`]]);
    assert.match(tags[`${name}:1.0`].reason!, /^not moved: .* is at (a:)?1\.0-2-[0-9a-f]+, newer$/);
    assert.equal([tags[`${name}:1.0-1-${older.slice(0, 7)}`].pushed, tags[`${name}:1.0-1-${older.slice(0, 7)}`].digest], [true, newer[`${name}:1.0-1-${older.slice(0, 7)}`]]);
  }

  // Nor does --reconcile on the older commit count a newer build as stale, and -vv says why per layer.
  const reconcile = runCli(["--reconcile", "--dryrun", "-vv"], { cwd: repo.root });
  assert.is(reconcile.code, 0, reconcile.stderr);
  assert.match(reconcile.stderr, /nothing to build: nothing missing from or stale in the registry/);
  for (const [id, name] of [["sci/a", "sci/a"], ["rel/a:1.0", "rel/a"]]) {
    assert.match(reconcile.stderr, new RegExp(`^${id}: current \\(${target}/${name}:1\\.0 holds (a:)?1\\.0-2-[0-9a-f]+, a newer build; moving tags only move forward\\)$`, "m"));
  }

  const backFile = join(dir.path, "back.json");
  const back = runCli(["--all", "--push", "--allow-tag-rollback", "--results", backFile, ...PLAIN], { cwd: repo.root });
  assert.is(back.code, 0, back.stderr);
  assert.match(back.stderr, /moved back: .*sci\/a:1\.0 was at 1\.0-2-[0-9a-f]+, newer \(--allow-tag-rollback\)/);
  // Said in the summary and --results too, not only as it happens.
  assert.match(back.stderr, /^\s*sci\/a: moved back: .*sci\/a:1\.0 was at 1\.0-2-[0-9a-f]+, newer \(--allow-tag-rollback\)$/m);
  const moved = tagsOf(backFile, "sci/a", target)["sci/a:1.0"];
  assert.equal([moved.pushed, moved.reason?.replace(/ was at .*/, "")], [true, `moved back: ${target}/sci/a:1.0`]);
  const rolled = await registryState(target, ["sci/a", "rel/a"]);
  for (const name of ["sci/a", "rel/a"]) assert.is(rolled[`${name}:1.0`], newer[`${name}:1.0-1-${older.slice(0, 7)}`]);
});

test("a --no-attestations push after an attested one moves the platform moving tag {version}-linux-amd64 with {version}, only where it is there; a rerun writes nothing (hunter18 F3)", async () => {
  const { registry } = requireEngine();
  const target = uniqueRepo(registry);
  const path = target.slice(registry.length + 1);
  using repo = makeRepo({ "image-builder.json": JSON.stringify({ repo: target }), ...smallFamily("echo one > /a") });
  // Attested (the default): each image under its platform tags, an index of it under its own.
  const first = await runCliAsync(["--all", "--push", "--progress", "plain"], { cwd: repo.root });
  assert.is(first.code, 0, first.stderr);
  const platformTag = (await registryTags(`${target}/sci/a`)).find((t) => /^1\.0-linux-[a-z0-9-]+$/.test(t));
  assert.ok(platformTag, "the attested push wrote a platform moving tag");
  const ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
  const earlier = await fetch(`http://${registry}/v2/${path}/sci/a/manifests/${platformTag}`, { headers: { accept: ACCEPT } });
  const [earlierType, earlierBytes] = [earlier.headers.get("content-type")!, Buffer.from(await earlier.arrayBuffer())];
  // A change of sci/a's layer (rel/a is built on it), and a layer never published with attestations.
  repo.write({ ...smallFamily("echo two > /a"), ...science("b", { image: "b", compat: "c" }, "FROM busybox:stable\nRUN echo b > /b\n") });
  const h2 = repo.commit("two");
  using dir = tempDir("ib-publish-");
  const file = join(dir.path, "r.json");
  const writes = registryWritesFromNow("registry", path);
  const plain = await runCliAsync(["--push", "--results", file, ...PLAIN], { cwd: repo.root });
  assert.is(plain.code, 0, plain.stderr);
  for (const [id, name] of [["sci/a", "sci/a"], ["rel/a:1.0", "rel/a"]]) {
    const [moving, platform] = [await registryImage(`${target}/${name}:1.0`), await registryImage(`${target}/${name}:${platformTag}`)];
    assert.is(moving.indexDigest, undefined, `${name}:1.0 is a plain image now`);
    assert.match(Object.entries(moving.labels).find(([k]) => k.endsWith(".version"))![1], new RegExp(`1\\.0-2-${h2}$`), `${name}:1.0 is the new build`);
    assert.is(platform.digest, moving.digest, `${name}:${platformTag} serves the build ${name}:1.0 serves`);
    const tag = tagsOf(file, id, target)[`${name}:${platformTag}`];
    assert.equal([tag?.pushed, tag?.digest], [true, moving.digest], `--results records ${name}:${platformTag}`);
  }
  // Where no attested push wrote one, none is written (nor asked for more than once).
  for (const name of ["sci/b", "rel/b"]) assert.equal(await registryTags(`${target}/${name}`), ["1.0", `1.0-2-${h2}`]);
  assert.not.ok(writes().some((l) => /\/(sci|rel)\/b\/manifests\/1\.0-linux-/.test(l)), "a platform tag written for b");

  // A rerun moves nothing and so reads no platform tag: nothing is written.
  const before = await registryState(target, ["sci/a", "rel/a", "sci/b", "rel/b"]);
  const rerunWrites = registryWritesFromNow("registry", path);
  const again = await runCliAsync(["--push", ...PLAIN], { cwd: repo.root });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /\b4 reused\b/, again.stderr);
  assert.equal(rerunWrites(), [], "the rerun wrote to the registry");
  assert.equal(await registryState(target, ["sci/a", "rel/a", "sci/b", "rel/b"]), before);
  // A run interrupted between its write of {version} and of the platform tag left this on the
  // earlier build: a plain rerun, whose {version} holds its image, moves it on.
  const put = await fetch(`http://${registry}/v2/${path}/sci/a/manifests/${platformTag}`, { method: "PUT", headers: { "content-type": earlierType }, body: earlierBytes });
  assert.is(put.status, 201);
  const repair = await runCliAsync(["--push", ...PLAIN], { cwd: repo.root });
  assert.is(repair.code, 0, repair.stderr);
  assert.equal(await registryState(target, ["sci/a", "rel/a", "sci/b", "rel/b"]), before);
  // So left, --reconcile --no-attestations plans it (reused, what is built on it stays), and its run moves it on (hunter20 F1).
  assert.is((await fetch(`http://${registry}/v2/${path}/sci/a/manifests/${platformTag}`, { method: "PUT", headers: { "content-type": earlierType }, body: earlierBytes })).status, 201);
  // images --all-tags says it lags: not 1.0's image, and which build 1.0 holds (it said "linux/amd64 of 1.0": hunter20 F6).
  const lagging = runCli(["images", "--repo", target, "--all-tags"], { cwd: repo.root });
  assert.is(lagging.code, 0, lagging.stderr);
  assert.match(lagging.stdout, new RegExp(`^sci/a\\s.* tag ${platformTag!.replace(/\./g, "\\.")}: ${platformTag!.slice(4).replace(/-/g, "/")}, not 1\\.0's \\(1\\.0 holds build 2-${h2}\\)\\s*$`, "m"), lagging.stdout);
  const planned = runCli(["--reconcile", "--dryrun", "-vv", ...PLAIN], { cwd: repo.root });
  assert.is(planned.code, 0, planned.stderr);
  assert.match(planned.stderr, new RegExp(`build sci/a: \\S+sci/a:1\\.0 holds 1\\.0-2-${h2}, of this checkout's inputs, but \\S+sci/a:${platformTag} holds sha256:[0-9a-f]{64}, not its image sha256:[0-9a-f]{64}`));
  assert.match(planned.stderr, /final plan includes 1 science build and 0 compat builds/);
  const reconciled = await runCliAsync(["--reconcile", "--push", ...PLAIN], { cwd: repo.root });
  assert.is(reconciled.code, 0, reconciled.stderr);
  assert.equal(await registryState(target, ["sci/a", "rel/a", "sci/b", "rel/b"]), before);
  // images --all-tags names the build the platform tag serves: the one {version} serves (a plain image, no platform build tag).
  const images = runCli(["images", "--repo", target, "--all-tags", "--json"], { cwd: repo.root });
  assert.is(images.code, 0, images.stderr);
  const rows = JSON.parse(images.stdout).images.filter((i: any) => i.name === "sci/a" && (i.tag === "1.0" || i.tag === platformTag));
  assert.equal(rows.map((i: any) => [i.tag, i.build, i.digest, i.platformTagOf?.holdsTagImage ?? null]), [["1.0", `2-${h2}`, before["sci/a:1.0"], null], [platformTag, `2-${h2}`, before["sci/a:1.0"], true]]);
  assert.match(runCli(["images", "--repo", target, "--all-tags"], { cwd: repo.root }).stdout, new RegExp(`^sci/a\\s.* tag ${platformTag!.replace(/\./g, "\\.")}: ${platformTag!.slice(4).replace(/-/g, "/")} of 1\\.0\\s*$`, "m"));
});

test("a base pulled for a pushing run whose config blob the registry lost: the run builds on the engine's copy and says the registry's is broken", async () => {
  const { registry } = requireEngine();
  const target = uniqueRepo(registry);
  using repo = makeRepo({ "image-builder.json": JSON.stringify({ repo: target }), ...smallFamily() });
  const first = runCli(["--all", "--push", ...PLAIN], { cwd: repo.root });
  assert.is(first.code, 0, first.stderr);
  const { configDigest } = await registryImage(`${target}/sci/a:1.0`);
  assert.is((await fetch(`http://${registry}/v2/${target.slice(registry.length + 1)}/sci/a/blobs/${configDigest}`, { method: "DELETE" })).status, 202);
  repo.write(compat("c", [], "ENV C=2\n"));
  repo.commit("compat only");
  const child = runCli(["--push", ...PLAIN], { cwd: repo.root });
  assert.is(child.code, 0, child.stderr);
  assert.match(child.stdout + child.stderr, new RegExp(`\\[base\\] warning: ${target}/sci/a:1\\.0 in the registry is broken \\(.*404.*\\): nobody can pull it.*--reconcile --push`), child.stdout + child.stderr);
});

test("after an amend, {version} stays on the discarded commit's build: --reconcile names it, and --reconcile --allow-tag-rollback --push publishes the amended commit's build there", async () => {
  const { registry } = requireEngine();
  const target = uniqueRepo(registry);
  using repo = makeRepo({ "image-builder.json": JSON.stringify({ repo: target }), ...smallFamily("echo typo > /a") });
  repo.write({ README: "r" });
  repo.commit("two");
  repo.write(smallFamily("echo typo > /a"));
  const first = runCli(["--all", "--push", ...PLAIN], { cwd: repo.root });
  assert.is(first.code, 0, first.stderr);
  const discarded = repo.git("rev-parse", "--short", "HEAD");
  repo.write(smallFamily("echo fixed > /a"));
  repo.git("add", "-A");
  repo.git("commit", "-q", "--amend", "-m", "two, fixed");
  const amended = repo.git("rev-parse", "--short", "HEAD");
  const second = runCli(["--all", "--push", ...PLAIN], { cwd: repo.root });
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stderr, new RegExp(`not moved: ${target}/sci/a:1\\.0 is at 1\\.0-2-${discarded}, another commit with the same build number 2`));
  assert.is((await registryImage(`${target}/sci/a:1.0`)).labels["org.sciserver.science.a.version"], `1.0-2-${discarded}`);

  const plan = runCli(["--reconcile", "--dryrun", ...PLAIN], { cwd: repo.root });
  assert.is(plan.code, 0, plan.stderr);
  assert.match(plan.stderr, /nothing to build/);
  assert.match(plan.stderr, new RegExp(`warning: ${target}/sci/a:1\\.0 holds 1\\.0-2-${discarded}, ${target}/rel/a:1\\.0 holds 1\\.0-2-${discarded}: builds of commits no branch or tag of this clone has: not fetched yet \\(git fetch, then look again\\), or amended or force-pushed away.*--reconcile --allow-tag-rollback --push`));
  const back = runCli(["--reconcile", "--allow-tag-rollback", "--push", ...PLAIN], { cwd: repo.root });
  assert.is(back.code, 0, back.stderr);
  for (const [name, label, value] of [["sci/a", "org.sciserver.science.a.version", `1.0-2-${amended}`], ["rel/a", "org.sciserver.compat.version", `a:1.0-2-${amended}`]]) {
    assert.is((await registryImage(`${target}/${name}:1.0`)).labels[label], value, name);
  }
  const after = runCli(["--reconcile", "--dryrun", ...PLAIN], { cwd: repo.root });
  assert.match(after.stderr, /nothing to build/);
  assert.not.match(after.stderr, /no branch or tag/, after.stderr);
});

test("the registry's image under a build tag is the published one: a rerun takes it, not the engine's own, and builds the child on it", async () => {
  const { docker, registry } = requireEngine();
  using repo = makeRepo(smallFamily());
  const target = uniqueRepo(registry);
  const suffix = `1.0-1-${repo.git("rev-parse", "--short", "HEAD")}`;
  const stamp = "org.sciserver.science.a.buildtime";
  // Agent A built both images, but its push never happened.
  const a = runCli(["--all", "--repo", target, ...PLAIN], { cwd: repo.root });
  assert.is(a.code, 0, a.stderr);
  const agentA = (await docker.getImage(`${target}/sci/a:${suffix}`).inspect()).Config.Labels[stamp];
  // Agent B (its own build: another RUN output, another buildtime) published sci/a; rel/a was refused.
  await using proxy = await startFaultProxy(registry, (req) => (isManifestPut(req, /./) && /\/rel\//.test(req.url ?? "") ? 403 : undefined));
  const b = await runCliAsync(["--all", "--push", "--no-cache", "--repo", target.replace(registry, proxy.address), ...PLAIN], { cwd: repo.root });
  assert.is(b.code, 1, b.stderr);
  const published = await registryImage(`${target}/sci/a:${suffix}`);
  assert.is.not(published.labels[stamp], agentA, "agent B's image is another build");
  assert.equal(await registryTags(`${target}/rel/a`), []);

  // Agent A reruns: the engine has its own sci/a and rel/a under their build tags, with the same inputs.
  const rerun = runCli(["--all", "--push", "--repo", target, ...PLAIN], { cwd: repo.root });
  assert.is(rerun.code, 0, rerun.stderr);
  assert.is((await registryImage(`${target}/sci/a:${suffix}`)).digest, published.digest, "the published build tag moved");
  const child = await registryImage(`${target}/rel/a:${suffix}`);
  assert.is(child.labels[stamp], published.labels[stamp], "rel/a was pushed on agent A's sci/a, which the registry does not hold under its build tag");
  assert.is((await docker.getImage(`${target}/sci/a:${suffix}`).inspect()).Id, published.configDigest, "the engine keeps its own image under the build tag");
});

test("a parent rebuilt after its image was deleted from the registry: its child there, built on the old parent build, is not reused but refused as immutable; --overwrite rebuilds it on the new one", async () => {
  const { docker, registry } = requireEngine();
  using repo = makeRepo({
    ...science("x-a", { image: "x", target: "x-a" }, "FROM busybox:stable\nRUN echo a > /a\n"),
    ...science("x-b", { image: "x", target: "x-b", compat: "ui" }, "FROM sci/x-a:1.0\nRUN echo b > /b\n"),
    ...compat("ui", [], "RUN true\n"),
  });
  const target = uniqueRepo(registry);
  const suffix = `1.0-1-${repo.git("rev-parse", "--short", "HEAD")}`;
  const stamp = "org.sciserver.science.x-a.buildtime";
  const first = runCli(["--all", "--push", "--repo", target, ...PLAIN], { cwd: repo.root });
  assert.is(first.code, 0, first.stderr);
  const oldParent = (await registryImage(`${target}/sci/x-a:${suffix}`)).labels[stamp];
  // The parent's image deleted from the registry (a retention policy), and a fresh agent: its engine has none of them.
  const parent = await registryImage(`${target}/sci/x-a:${suffix}`);
  const name = `${target.slice(registry.length + 1)}/sci/x-a`;
  assert.is((await fetch(`http://${registry}/v2/${name}/manifests/${parent.digest}`, { method: "DELETE" })).status, 202);
  for (const image of await docker.listImages()) {
    for (const tag of image.RepoTags ?? []) if (tag.startsWith(`${target}/`)) await docker.getImage(tag).remove({ noprune: true });
  }

  const rerun = runCli(["--all", "--push", "--repo", target, ...PLAIN], { cwd: repo.root });
  assert.is(rerun.code, 1, rerun.stderr);
  const newParent = (await registryImage(`${target}/sci/x-a:${suffix}`)).labels[stamp];
  assert.is.not(newParent, oldParent, "the parent was rebuilt");
  // Judged when the child is checked: before the parent's push the registry has no such build, after it another.
  assert.match(rerun.stderr, new RegExp(`sci/x-b:${suffix} is already in the registry with an image built on sci/x-a:${suffix}, of which the registry (has no|holds another build under) \\S+/sci/x-a:${suffix}.*build tags are immutable \\(--overwrite replaces it\\)`));
  assert.is((await registryImage(`${target}/sci/x-b:${suffix}`)).labels[stamp], oldParent, "the child's build tag is left as it was");

  const overwrite = runCli(["--all", "--push", "--overwrite", "--repo", target, ...PLAIN], { cwd: repo.root });
  assert.is(overwrite.code, 0, overwrite.stderr);
  assert.is((await registryImage(`${target}/sci/x-b:${suffix}`)).labels[stamp], newParent, "the child is built on the parent the registry holds");
  assert.is((await registryImage(`${target}/rel/x:${suffix}`)).labels[stamp], newParent);
});

test("two runs of one commit at once: the registry keeps one image per build tag, and both runs' results say which", async () => {
  const { registry } = requireEngine();
  using repo = makeRepo(smallFamily());
  const name = uniqueRepo("x").slice(2);
  // Run 2's image is the one the registry keeps under the build tag (see racingProxies).
  await using proxies = await racingProxies(registry, BUILD_TAG);
  const { one, two } = proxies;
  using dir = tempDir("ib-publish-");
  // --no-cache: BuildKit merging the two runs' identical steps (started in the same millisecond,
  // the same buildtime label too) would give both runs one image, which both may then claim.
  const [r1, r2] = await runsAtOnce(repo.root, name, [one.address, two.address], dir.path, ["--no-cache"]);
  assert.is(r2.code, 0, r2.stderr);
  assert.is(r1.code, 1, r1.stderr);
  const target = `${registry}/${name}`;
  const held = await registryState(target, ["sci/a", "rel/a"]);
  const suffix = Object.keys(held).find((t) => t.startsWith("sci/a:1.0-"))!.slice("sci/a:".length);
  // Run 2's results are the registry's.
  const two2 = tagsOf(join(dir.path, "r2.json"), "sci/a", `${two.address}/${name}`);
  assert.equal([two2[`sci/a:${suffix}`].digest, two2["sci/a:1.0"].digest], [held[`sci/a:${suffix}`], held["sci/a:1.0"]]);
  assert.is(held["sci/a:1.0"], held[`sci/a:${suffix}`]);
  // Run 1 says its image is not the published one, with the registry's digest; its moving tag and child were not pushed.
  const r1a = results(join(dir.path, "r1.json")).results.find((x) => x.id === "sci/a")!;
  const one1 = tagsOf(join(dir.path, "r1.json"), "sci/a", `${one.address}/${name}`);
  assert.equal([r1a.status, r1a.pushed], ["built", false]);
  assert.match(r1a.reason!, /another run of this commit pushed .*sci\/a:1\.0-\d+-[0-9a-f]+ too, and the registry holds its image/);
  assert.equal([one1[`sci/a:${suffix}`].pushed, one1[`sci/a:${suffix}`].registryDigest], [false, held[`sci/a:${suffix}`]]);
  assert.is(one1["sci/a:1.0"].pushed, false);
  const r1rel = results(join(dir.path, "r1.json")).results.find((x) => x.id === "rel/a:1.0")!;
  assert.equal([r1rel.pushed, r1rel.reason], [false, "not pushed: built on parent sci/a's image of this run, but the registry's build tag of sci/a holds another run's (a rerun takes that one)"]);
  assert.match(r1.stderr, /another run of this commit pushed/);
  assert.match(r1.stderr, /\n2 built, 1 superseded, 1 not pushed\n/, r1.stderr);
  // The registry's rel/a is run 2's, built on the published sci/a.
  const rel = tagsOf(join(dir.path, "r2.json"), "rel/a:1.0", `${two.address}/${name}`);
  assert.is(rel[`rel/a:${suffix}`].digest, held[`rel/a:${suffix}`]);
  // Run 1 again: it takes the registry's images, and succeeds without changing a digest.
  const again = await runCliAsync(["--all", "--push", "--repo", `${one.address}/${name}`, ...PLAIN], { cwd: repo.root });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /2 reused/);
  assert.equal(await registryState(target, ["sci/a", "rel/a"]), held);
});

test("another run on the engine retags a build tag's name between this run's build and its push: the run pushes its own image", async () => {
  const { registry, docker } = requireEngine();
  using repo = makeRepo(smallFamily());
  const name = uniqueRepo("x").slice(2);
  // Engine tags are shared by every run on the engine. Once this run has built sci/a (its check
  // just before the push reads the build tag), the name is tagged to another image, as another
  // run's build of the same commit would; then the check goes on.
  let retagged = false;
  await using proxy = await startFaultProxy(registry, (req) => {
    if (retagged || req.method !== "GET" || !sciA(req) || !isManifest(req, BUILD_TAG)) return undefined;
    const tag = /\/manifests\/([^/?]+)$/.exec(req.url!)![1];
    const repository = `${proxy.address}/${name}/sci/a`;
    return { hold: (async () => {
      if (!(await docker.getImage(`${repository}:${tag}`).inspect().catch(() => undefined))) return;
      retagged = true;
      await docker.getImage("busybox:stable").tag({ repo: repository, tag });
    })() };
  });
  using dir = tempDir("ib-publish-");
  const file = join(dir.path, "r.json");
  const r = await runCliAsync(["--all", "--push", "--repo", `${proxy.address}/${name}`, "--results", file, ...PLAIN], { cwd: repo.root });
  assert.ok(retagged, "the name was retagged before the push");
  assert.is(r.code, 0, r.stderr);
  const sciAResult = (results(file).results as { id: string; pushed: boolean; outputs?: Record<string, string> }[]).find((x) => x.id === "sci/a")!;
  const tags = tagsOf(file, "sci/a", `${proxy.address}/${name}`);
  const buildTag = Object.keys(tags).find((t) => t !== "sci/a:1.0")!;
  const held = await registryImage(`${registry}/${name}/${buildTag}`);
  // The registry holds this run's image (the engine's image id is the config digest), and the results say so.
  assert.is(held.configDigest, sciAResult.outputs!["docker-image-hash"]);
  assert.equal([sciAResult.pushed, tags[buildTag].digest, tags["sci/a:1.0"].digest], [true, held.digest, held.digest]);
  assert.is(results(file).results.find((x) => x.id === "rel/a:1.0")!.pushed, true);
});

test("a build tag another run pushes after this run read it back: this run's results say so when it ends", async () => {
  const { registry } = requireEngine();
  using repo = makeRepo(smallFamily());
  const name = uniqueRepo("x").slice(2);
  // Run 2's PUT goes through after run 1 read its own image back (see afterReadBackProxies).
  await using proxies = await afterReadBackProxies(registry, BUILD_TAG, /^1\.0$/);
  const { one, two } = proxies;
  using dir = tempDir("ib-publish-");
  // --no-cache: the engine's cache (or BuildKit merging the two runs' identical steps) would give both runs one image.
  const [r1, r2] = await runsAtOnce(repo.root, name, [one.address, two.address], dir.path, ["--no-cache"]);
  assert.is(r2.code, 0, r2.stderr);
  assert.is(r1.code, 1, r1.stderr);
  const held = await registryState(`${registry}/${name}`, ["sci/a"]);
  const buildTag = Object.keys(held).find((t) => t !== "sci/a:1.0")!;
  assert.is(tagsOf(join(dir.path, "r2.json"), "sci/a", `${two.address}/${name}`)[buildTag].digest, held[buildTag]);
  const first = results(join(dir.path, "r1.json")).results.find((x) => x.id === "sci/a")!;
  assert.equal([first.pushed, first.tags![0].pushed, first.tags![0].registryDigest], [false, false, held[buildTag]], r1.stderr);
  assert.match(first.reason!, /registry holds another image under .*sci\/a:1\.0-\d+-[0-9a-f]+ \(manifest sha256:[0-9a-f]+\), not this one: another run pushed it after this one/);
  assert.is(results(join(dir.path, "r1.json")).results.find((x) => x.id === "rel/a:1.0")!.pushed, false);
});

test("two runs of one commit at once on one engine: the second's build retags the names before the first's moving tag push; the registry and both runs agree", async () => {
  const { registry, docker } = requireEngine();
  using repo = makeRepo(smallFamily());
  const name = uniqueRepo("x").slice(2);
  // Both runs push through one proxy, so they share the engine's names. The second run's reuse
  // check (the registry lacks the build tag) is answered only once the first run has stored its
  // build tag, so the second run builds after the first run's build. The first run then reads its
  // moving tag (image-builder's own request, not the engine's); that read waits until the second
  // run's build has tagged the engine's sci/a:1.0 with its own image.
  const firstStored = happening("the first run's build tag stored");
  let buildTag: string | undefined;
  let checks = 0;
  let held = false;
  await using proxy = await startFaultProxy(registry, (req) => {
    if (!sciA(req)) return undefined;
    if (isManifestPut(req, BUILD_TAG)) {
      const tag = /\/manifests\/([^/?]+)$/.exec(req.url!)![1];
      return { answered: () => { buildTag ??= tag; firstStored.then(); } };
    }
    const ours = !/docker|buildkit|containerd|go-http/i.test(req.headers["user-agent"] ?? "");
    if (!ours || req.method !== "GET") return undefined;
    if (isManifest(req, BUILD_TAG) && ++checks === 2) return { holdReply: firstStored.promise };
    if (held || !buildTag || !isManifest(req, /^1\.0$/)) return undefined;
    held = true;
    const local = `${proxy.address}/${name}/sci/a:1.0`;
    return { hold: (async () => {
      const published = (await registryImage(`${registry}/${name}/sci/a:${buildTag}`)).configDigest;
      await waitFor(async () => (await docker.getImage(local).inspect()).Id !== published, 150_000, () => "the second run's build never tagged sci/a:1.0");
    })() };
  });
  using dir = tempDir("ib-publish-");
  const [r1, r2] = await Promise.all([1, 2].map((i) => runCliAsync(
    ["--all", "--push", "--no-cache", "--repo", `${proxy.address}/${name}`, "--results", join(dir.path, `r${i}.json`), ...PLAIN], { cwd: repo.root })));
  assert.ok(held, `the moving tag's read was held: ${r1.stderr}\n${r2.stderr}`);
  assert.equal([r1.code, r2.code].sort(), [0, 1], `${r1.stderr}\n${r2.stderr}`);
  const target = `${registry}/${name}`;
  const state = await registryState(target, ["sci/a", "rel/a"]);
  const image = (tag: string) => registryImage(`${target}/${tag}`);
  // The moving tags hold the published builds, and the published child is built on the published parent.
  const sciBuild = await image(`sci/a:${buildTag}`);
  assert.is((await image("sci/a:1.0")).configDigest, sciBuild.configDigest);
  const relBuildTag = Object.keys(state).find((t) => t.startsWith("rel/a:") && t !== "rel/a:1.0")!;
  assert.is((await image("rel/a:1.0")).configDigest, (await image(relBuildTag)).configDigest);
  assert.is((await image(relBuildTag)).labels["org.sciserver.science.a.buildtime"], sciBuild.labels["org.sciserver.science.a.buildtime"]);
  // Each run's results say what the registry holds under every tag it pushed or found.
  for (const file of ["r1.json", "r2.json"]) {
    for (const id of ["sci/a", "rel/a:1.0"]) {
      for (const [tag, t] of Object.entries(tagsOf(join(dir.path, file), id, `${proxy.address}/${name}`))) {
        assert.is(t.pushed ? t.digest : t.registryDigest, state[tag], `${file} ${tag}: ${JSON.stringify(t)}`);
      }
    }
  }
});

test("a run that finds its build tag published by another run of the commit while it built does not replace it", async () => {
  const { registry } = requireEngine();
  using repo = makeRepo(smallFamily());
  const name = uniqueRepo("x").slice(2);
  // Run 2 finds the build tag missing when its build starts; run 1 then publishes sci/a entirely
  // (build tag and moving tag); only then does run 2 get to push its own.
  const secondChecked = happening("run 2's reuse check");
  const firstMoved = happening("run 1's moving tag stored");
  await using one = await startFaultProxy(registry, (req) => {
    if (!sciA(req)) return undefined;
    if (isManifestPut(req, BUILD_TAG)) return { hold: secondChecked.promise };
    if (isManifestPut(req, /^1\.0$/)) return { answered: firstMoved.then };
    return undefined;
  });
  let secondReads = 0;
  await using two = await startFaultProxy(registry, (req) => {
    if (!sciA(req) || req.method !== "GET" || !isManifest(req, BUILD_TAG)) return undefined;
    return ++secondReads === 1 ? { answered: secondChecked.then } : { hold: firstMoved.promise };
  });
  using dir = tempDir("ib-publish-");
  // --no-cache: as above, each run its own image.
  const [r1, r2] = await runsAtOnce(repo.root, name, [one.address, two.address], dir.path, ["--no-cache"]);
  assert.is(r1.code, 0, r1.stderr);
  assert.is(r2.code, 1, r2.stderr);
  const held = await registryState(`${registry}/${name}`, ["sci/a", "rel/a"]);
  const suffix = Object.keys(held).find((t) => t.startsWith("sci/a:1.0-"))!.slice("sci/a:".length);
  const first = tagsOf(join(dir.path, "r1.json"), "sci/a", `${one.address}/${name}`);
  assert.equal([first[`sci/a:${suffix}`].digest, first["sci/a:1.0"].digest], [held[`sci/a:${suffix}`], held["sci/a:1.0"]]);
  const second = results(join(dir.path, "r2.json")).results.find((x) => x.id === "sci/a")!;
  assert.equal([second.status, second.pushed], ["built", false]);
  assert.match(second.reason!, /another run of this commit published .*sci\/a:1\.0-\d+-[0-9a-f]+ while this one built it/);
  // Its moving tag was not pushed; the registry holds run 1's under it (read back at the end).
  assert.equal(second.tags!.map((t) => [t.pushed, t.registryDigest]), [[false, held[`sci/a:${suffix}`]], [false, held["sci/a:1.0"]]]);
  assert.is(results(join(dir.path, "r2.json")).results.find((x) => x.id === "rel/a:1.0")!.pushed, false);
});

test("a published build tag refused on a dirty checkout advises committing first, not --overwrite", async () => {
  const { registry } = requireEngine();
  const target = uniqueRepo(registry);
  using repo = makeRepo({
    ...science("a", { image: "a", version: "1.0", compat: "c" }, "FROM busybox:stable\nRUN echo a > /a\n"),
    ...compat("c", [], "RUN true\n"),
  });
  const first = runCli(["--all", "--push", "--repo", target, ...PLAIN], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(first.code, 0, first.stderr);
  const published = await registryState(target, ["sci/a", "rel/a"]);
  // an edit not committed yet: built as it is, but tagged as HEAD's build, which the registry has
  repo.write({ "science/a/Dockerfile": "FROM busybox:stable\nRUN echo edited > /a\n" });
  const dirty = runCli(["--all", "--push", "--repo", target, ...PLAIN], { cwd: repo.root, timeoutMs: 300_000 });
  assert.is(dirty.code, 1, dirty.stderr);
  assert.match(dirty.stderr, /build tags are immutable; science\/a differs from the commit \(uncommitted changes, or what git status does not show: see the warning\): commit the changes first, or build a clean checkout \(a new commit gets its own build tags\)/);
  assert.not.match(dirty.stderr, /--overwrite/);
  assert.equal(await registryState(target, ["sci/a", "rel/a"]), published);
});

test("two runs of one commit at once, published with attestations (the default): one platform image per build tag, and only its index, with its attestations, under the layer's tags", async () => {
  const { registry } = requireEngine();
  using repo = makeRepo(smallFamily());
  const name = uniqueRepo("x").slice(2);
  // As above, on the platform build tag the engine pushes each image under (`1.0-{n}-{h}-linux-amd64`).
  await using proxies = await racingProxies(registry, /^1\.0-\d+-[0-9a-f]+-linux-[a-z0-9]+$/);
  const { one, two } = proxies;
  using dir = tempDir("ib-publish-");
  // As runsAtOnce, with attestations: each run builds an image of its own (--no-cache: not an
  // earlier test's cached step, which made both runs push one image and race on rel/a instead;
  // another network mode: BuildKit does not merge the two runs' identical steps).
  const [r1, r2] = await Promise.all([one.address, two.address].map((proxy, i) =>
    runCliAsync(["--all", "--push", "--repo", `${proxy}/${name}`, "--results", join(dir.path, `r${i + 1}.json`), "--progress", "plain", "--no-cache", "--network", i === 0 ? "host" : "none"], { cwd: repo.root })));
  assert.is(r2.code, 0, r2.stderr);
  assert.is(r1.code, 1, r1.stderr);
  const target = `${registry}/${name}`;
  const state = async () => {
    const out: Record<string, string> = {};
    for (const n of ["sci/a", "rel/a"]) for (const tag of await registryTags(`${target}/${n}`)) out[`${n}:${tag}`] = (await registryIndex(`${target}/${n}:${tag}`)).digest;
    return out;
  };
  const held = await state();
  const platformTag = Object.keys(held).find((t) => /^sci\/a:1\.0-\d+-[0-9a-f]+-linux-/.test(t))!;
  const layerTag = platformTag.replace(/-linux-[a-z0-9]+$/, "");
  // The layer's build tag and moving tag hold one index: run 2's image and its attestation manifest.
  const index = await registryIndex(`${target}/${layerTag}`);
  assert.is(held["sci/a:1.0"], index.digest);
  assert.equal(index.manifests.map((m) => m.digest), [held[platformTag], index.manifests[1].digest]);
  assert.is(index.manifests[1].annotations?.["vnd.docker.reference.digest"], held[platformTag]);
  const indexOf = (file: string) => (JSON.parse(readFileSync(join(dir.path, file), "utf8")) as { indexes: { id: string; status: string; digest?: string; reason?: string; tags: TagResult[] }[] }).indexes.find((i) => i.id === "sci/a")!;
  const two2 = indexOf("r2.json");
  assert.equal([two2.status, two2.tags.map((t) => [t.pushed, t.digest])], ["pushed", [[true, index.digest], [true, index.digest]]]);
  // Run 1 wrote no index: its image is not the published one, and it says so.
  const one1 = indexOf("r1.json");
  assert.is.not(one1.status, "pushed");
  assert.equal(one1.tags.map((t) => t.pushed), [false, false]);
  const r1a = results(join(dir.path, "r1.json")).results.find((x) => x.id === "sci/a")!;
  assert.equal([r1a.status, r1a.pushed], ["built", false]);
  assert.match(r1a.reason!, /another run of this commit pushed .*sci\/a:1\.0-\d+-[0-9a-f]+-linux-[a-z0-9]+ too, and the registry holds its image/);
  // Run 1 again: it takes the registry's images and index as they are, and writes nothing.
  const again = await runCliAsync(["--all", "--push", "--repo", `${one.address}/${name}`, "--progress", "plain"], { cwd: repo.root });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /2 reused, 2 indexes already there/);
  assert.equal(await state(), held);
});

test("another run's platform image pushed after this run read its own back, before this run's index: the index is not written on the stale read", async () => {
  const { registry } = requireEngine();
  using repo = makeRepo(smallFamily());
  const name = uniqueRepo("x").slice(2);
  // Run 2's platform image lands after run 1 read its own back; run 1's moving tag (and so its
  // index step) waits for it. Run 1's index must name what the tag holds now: run 2's image.
  await using proxies = await afterReadBackProxies(registry, PLATFORM_BUILD_TAG, /^1\.0-linux-[a-z0-9]+$/);
  const { one, two } = proxies;
  using dir = tempDir("ib-publish-");
  // --no-cache: the engine's cache (or BuildKit merging the two runs' identical steps) would give both runs one image.
  const [r1, r2] = await Promise.all([one.address, two.address].map((proxy, i) =>
    runCliAsync(["--all", "--push", "--repo", `${proxy}/${name}`, "--results", join(dir.path, `r${i + 1}.json`), "--progress", "plain", "--no-cache"], { cwd: repo.root })));
  assert.is(r2.code, 0, r2.stderr);
  assert.is(r1.code, 1, r1.stderr);
  const target = `${registry}/${name}/sci/a`;
  const tags = await registryTags(target);
  const platformTag = tags.find((t) => PLATFORM_BUILD_TAG.test(t))!;
  const image = (await registryImage(`${target}:${platformTag}`)).digest;
  // The layer's index, under both its tags, names the image its platform build tag holds.
  for (const tag of [platformTag.replace(/-linux-[a-z0-9]+$/, ""), "1.0"]) {
    assert.is((await registryIndex(`${target}:${tag}`)).manifests[0].digest, image, `${tag}: ${r1.stderr}`);
  }
  const indexOf = (file: string) => (JSON.parse(readFileSync(join(dir.path, file), "utf8")) as { indexes: { id: string; status: string; reason?: string }[] }).indexes.find((i) => i.id === "sci/a")!;
  const first = indexOf("r1.json");
  assert.is(first.status, "superseded", r1.stderr);
  assert.match(first.reason!, /index not written: .*sci\/a:1\.0-\d+-[0-9a-f]+-linux-[a-z0-9]+ holds another image/, `${first.reason}\n${r1.stderr}\n${r2.stderr}`);
});

test("another run's platform image pushed after this run published the family: that run puts the indexed image back under the platform tags, and a rerun reuses the family", async () => {
  const { registry } = requireEngine();
  using repo = makeRepo(smallFamily());
  const name = uniqueRepo("x").slice(2);
  // Both runs find sci/a's platform build tag missing before pushing; run 2's PUT lands only once
  // run 1 has published the family (its indexes name its own images): two agents' engines, each
  // pushing its own image under the same tag, as a registry without compare-and-swap lets them.
  const secondChecked = happening("run 2's check before its push");
  const firstIndexed = happening("run 1's index of rel/a stored");
  await using one = await startFaultProxy(registry, (req) => {
    if (sciA(req) && isManifestPut(req, PLATFORM_BUILD_TAG)) return { hold: secondChecked.promise };
    if (/\/rel\/a\/manifests\//.test(req.url ?? "") && isManifestPut(req, BUILD_TAG)) return { answered: firstIndexed.then };
    return undefined;
  });
  let secondReads = 0;
  await using two = await startFaultProxy(registry, (req) => {
    if (!sciA(req)) return undefined;
    if (isManifestPut(req, PLATFORM_BUILD_TAG)) return { hold: firstIndexed.promise };
    // Its GETs of the tag: the build's own check, then the one just before its push.
    if (req.method === "GET" && isManifest(req, PLATFORM_BUILD_TAG) && ++secondReads === 2) return { answered: secondChecked.then };
    return undefined;
  });
  using dir = tempDir("ib-publish-");
  // Another network mode per run: BuildKit would merge the two runs' identical RUN steps into one image.
  const [, r2] = await Promise.all([one.address, two.address].map((proxy, i) =>
    runCliAsync(["--all", "--push", "--repo", `${proxy}/${name}`, "--results", join(dir.path, `r${i + 1}.json`), "--progress", "plain", "--no-cache", "--network", i === 0 ? "host" : "none"], { cwd: repo.root })));
  assert.match(r2.stderr, /put back \S+sci\/a:1\.0-\d+-[0-9a-f]+-linux-[a-z0-9]+@sha256:[0-9a-f]{64}: the image the index \S+ names/, r2.stderr);
  const target = `${registry}/${name}`;
  const tags = await registryTags(`${target}/sci/a`);
  const platformTag = tags.find((t) => PLATFORM_BUILD_TAG.test(t))!;
  const image = (await registryImage(`${target}/sci/a:${platformTag}`)).digest;
  // The index under both its tags names the image its platform build tag (and platform moving tag) holds.
  assert.is((await registryImage(`${target}/sci/a:${platformTag.replace(/^[^-]+-\d+-[0-9a-f]+/, "1.0")}`)).digest, image);
  for (const tag of [platformTag.replace(/-linux-[a-z0-9]+$/, ""), "1.0"]) {
    assert.is((await registryIndex(`${target}/sci/a:${tag}`)).manifests[0].digest, image, tag);
  }
  // A rerun takes the registry's images as they are (before: refused as immutable, every time).
  await assertConverged(repo.root, target, 2);
});

test("two runs of one commit, the second's images landing over the first's indexed family layer after layer: each is put back, and a rerun reuses the family", async () => {
  const { registry } = requireEngine();
  using repo = makeRepo(baseAndTools("tw"));
  repo.write({ "science/base/Dockerfile": "FROM busybox:stable\nRUN date +%s%N > /stamp\n" });
  repo.commit("stamped base");
  const name = uniqueRepo("x").slice(2);
  const of = (req: { url?: string }, image: string) => new RegExp(`/${image}/manifests/`).test(req.url ?? "");
  // Run 2's base lands over run 1's once run 1 has indexed it. Run 2's tools, built on run 2's
  // base, is checked (missing) before run 2 puts run 1's base back; run 1 builds its tools only
  // after that (on its base, there again), publishes the family, and only then does run 2's tools
  // land over run 1's indexed one (and run 2's rel/tw, if it gets pushed, over run 1's).
  const secondChecked = happening("run 2's check of base before its push");
  const baseIndexed = happening("run 1's index of base stored");
  const toolsChecked = happening("run 2's check of tools before its push");
  const baseRestored = happening("run 2's put-back of run 1's base");
  const familyDone = happening("run 1's index of rel/tw stored");
  let firstToolsReads = 0;
  await using one = await startFaultProxy(registry, (req) => {
    if (of(req, "sci/tw-base") && isManifestPut(req, PLATFORM_BUILD_TAG)) return { hold: secondChecked.promise };
    if (of(req, "sci/tw-tools") && req.method === "GET" && isManifest(req, PLATFORM_BUILD_TAG) && ++firstToolsReads === 1) return { hold: baseRestored.promise };
    if (of(req, "sci/tw-base") && isManifestPut(req, BUILD_TAG)) return { answered: baseIndexed.then };
    if (of(req, "rel/tw") && isManifestPut(req, BUILD_TAG)) return { answered: familyDone.then };
    return undefined;
  });
  let baseReads = 0;
  let toolsReads = 0;
  let basePuts = 0;
  await using two = await startFaultProxy(registry, (req) => {
    // Its second PUT of base's platform build tag is its put-back.
    if (of(req, "sci/tw-base") && isManifestPut(req, PLATFORM_BUILD_TAG)) return ++basePuts === 1 ? { hold: baseIndexed.promise } : { hold: toolsChecked.promise, answered: baseRestored.then };
    if (of(req, "sci/tw-tools") && isManifestPut(req, PLATFORM_BUILD_TAG)) return { hold: familyDone.promise };
    // Its GETs of a tag: the build's own check, then the one just before its push.
    if (of(req, "sci/tw-base") && req.method === "GET" && isManifest(req, PLATFORM_BUILD_TAG) && ++baseReads === 2) return { answered: secondChecked.then };
    if (of(req, "sci/tw-tools") && req.method === "GET" && isManifest(req, PLATFORM_BUILD_TAG) && ++toolsReads === 2) return { answered: toolsChecked.then };
    return undefined;
  });
  using dir = tempDir("ib-publish-");
  const [, r2] = await Promise.all([one.address, two.address].map((proxy, i) =>
    runCliAsync(["--all", "--push", "--repo", `${proxy}/${name}`, "--results", join(dir.path, `r${i + 1}.json`), "--progress", "plain", "--no-cache", "--network", i === 0 ? "host" : "none"], { cwd: repo.root })));
  assert.match(r2.stderr, /\[sci\/tw-tools\] put back \S+sci\/tw-tools:1\.0-\d+-[0-9a-f]+-linux-[a-z0-9]+@sha256:/, r2.stderr);
  const target = `${registry}/${name}`;
  // Each layer's index names the image its platform build tag holds.
  for (const image of ["sci/tw-base", "sci/tw-tools", "rel/tw"]) {
    const platformTag = (await registryTags(`${target}/${image}`)).find((t) => PLATFORM_BUILD_TAG.test(t))!;
    const held = (await registryImage(`${target}/${image}:${platformTag}`)).digest;
    assert.is((await registryIndex(`${target}/${image}:${platformTag.replace(/-linux-[a-z0-9]+$/, "")}`)).manifests[0].digest, held, `${image}: ${r2.stderr}`);
  }
  await assertConverged(repo.root, target, 3);
});

/**
 * Another build of the same inputs, as another run of the commit made it (its own buildtime),
 * written straight into the registry under `tags` of `repo` (`host:port/name`) over what
 * `from` holds there: that image's layers, its config with another buildtime label. Returns its manifest digest.
 */
async function pushAnotherBuild(repo: string, from: string, tags: string[]): Promise<string> {
  const slash = repo.indexOf("/");
  const [registry, name] = [repo.slice(0, slash), repo.slice(slash + 1)];
  const base = `http://${registry}/v2/${name}`;
  const res = await fetch(`${base}/manifests/${from}`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" } });
  const manifest = (await res.json()) as { mediaType: string; config: { digest: string; size: number } };
  const config = (await (await fetch(`${base}/blobs/${manifest.config.digest}`)).json()) as { config: { Labels: Record<string, string> } };
  const labels = config.config.Labels;
  for (const key of Object.keys(labels).filter((k) => k.endsWith(".buildtime"))) labels[key] = `${labels[key]}1`;
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = `sha256:${createHash("sha256").update(configBytes).digest("hex")}`;
  const session = await fetch(`${base}/blobs/uploads/`, { method: "POST" });
  await session.arrayBuffer();
  const location = new URL(session.headers.get("location")!, base);
  location.searchParams.set("digest", configDigest);
  const upload = await fetch(location, { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: configBytes });
  await upload.arrayBuffer();
  assert.is(upload.status, 201, `upload of the config blob: HTTP ${upload.status}`);
  const bytes = Buffer.from(JSON.stringify({ ...manifest, config: { ...manifest.config, digest: configDigest, size: configBytes.length } }));
  for (const tag of tags) {
    const put = await fetch(`${base}/manifests/${tag}`, { method: "PUT", headers: { "content-type": manifest.mediaType }, body: bytes });
    await put.arrayBuffer();
    assert.is(put.status, 201, `PUT ${tag}: HTTP ${put.status}`);
  }
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

test("a run of the commit killed between its platform push and its index step, its image over the other run's indexed one: --reconcile --push and a rerun put the indexed image back at once and reuse the family", async () => {
  const { registry } = requireEngine();
  using repo = makeRepo(baseAndTools("kr"));
  repo.write({ "science/base/Dockerfile": "FROM busybox:stable\nRUN date +%s%N > /stamp\n" });
  repo.commit("stamped base");
  const target = `${registry}/${uniqueRepo("x").slice(2)}`;
  const first = await runCliAsync(["--all", "--push", "--repo", target, "--progress", "plain"], { cwd: repo.root });
  assert.is(first.code, 0, first.stderr);
  const base = `${target}/sci/kr-base`;
  const platformTag = (await registryTags(base)).find((t) => PLATFORM_BUILD_TAG.test(t))!;
  const platformMovingTag = platformTag.replace(/^[^-]+-\d+-[0-9a-f]+/, "1.0");
  const indexed = (await registryImage(`${base}:${platformTag}`)).digest;
  const published = async () => {
    const out: Record<string, string> = {};
    for (const image of ["sci/kr-base", "sci/kr-tools", "rel/kr"]) {
      for (const tag of await registryTags(`${target}/${image}`)) out[`${image}:${tag}`] = (await registryIndex(`${target}/${image}:${tag}`)).digest;
    }
    return out;
  };
  const before = await published();
  // The killed run's state: its build of base (the same inputs) under the platform build tag, the
  // index naming the first run's; its put-back (in its index step) never ran.
  const other = await pushAnotherBuild(base, platformTag, [platformTag]);
  assert.is.not(other, indexed);
  // --reconcile plans it (to be reused), and what builds on it, whose parent's platform build tag holds another build.
  const plan = runCli(["--reconcile", "--dryrun", "-vv", "--repo", target], { cwd: repo.root });
  assert.match(plan.stderr, new RegExp(`build sci/kr-base: \\S+sci/kr-base:1\\.0 holds 1\\.0-\\d+-[0-9a-f]+, of this checkout's inputs, but \\S+:${platformTag} holds another image of them \\(${other}\\), not the index's ${indexed}`), plan.stdout + plan.stderr);
  const reconcile = await runCliAsync(["--reconcile", "--push", "--repo", target, "--progress", "plain"], { cwd: repo.root });
  assert.is(reconcile.code, 0, reconcile.stderr);
  assert.match(reconcile.stderr, new RegExp(`put back \\S+sci/kr-base:${platformTag}@${indexed}: `), reconcile.stderr);
  assert.not.match(reconcile.stderr, /another run/, reconcile.stderr);
  // Every tag as the first run left it: the index's image under the platform build tag again.
  assert.equal(await published(), before);
  await assertConverged(repo.root, target, 3);

  // Again, the killed run's push having reached the platform moving tag too: a plain rerun (the
  // commit's diff) puts both back, and its children are reused on it, at the first try.
  await pushAnotherBuild(base, platformTag, [platformTag, platformMovingTag]);
  const rerun = await runCliAsync(["--push", "--repo", target, "--progress", "plain"], { cwd: repo.root });
  assert.is(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stderr, new RegExp(`put back \\S+sci/kr-base:${platformMovingTag}@${indexed}: `), rerun.stderr);
  assert.not.match(rerun.stderr, /another run|--overwrite/, rerun.stderr);
  assert.match(rerun.stderr, /\n3 reused/, rerun.stderr);
  assert.equal(await published(), before);
});

test("runs of consecutive commits at once, the older's write of {version} landing last: the older leaves the layer's {version} to the newer, whose platform moving tag it found", async () => {
  const { registry } = requireEngine();
  using repo = makeRepo(smallFamily("echo one > /one"));
  repo.write({ "science/a/Dockerfile": "FROM busybox:stable\nRUN echo two > /two\n" });
  repo.commit("two");
  using older = tempDir("ib-older-");
  repo.git("worktree", "add", "-q", join(older.path, "wt"), "HEAD~1");
  const name = uniqueRepo("x").slice(2);
  const MOVING = /^1\.0$/;
  const PLATFORM_MOVING = /^1\.0-linux-[a-z0-9]+$/;
  // The newer run's platform moving tag is stored before the older run asks for it (so the older
  // run's push finds a newer build there); the newer run's write of {version} waits for the older
  // run's read of {version} (or its end), and the older run's write of it lands after the newer's.
  const newerPlatformMoved = happening("the newer run's platform moving tag stored");
  const olderReadVersion = happening("the older run's read of {version}");
  const newerMoved = happening("the newer run's {version} stored");
  const olderEnded = happening("the older run ended");
  await using newer = await startFaultProxy(registry, (req) => {
    if (!sciA(req)) return undefined;
    if (isManifestPut(req, PLATFORM_MOVING)) return { answered: newerPlatformMoved.then };
    if (isManifestPut(req, MOVING)) return { hold: Promise.race([olderReadVersion.promise, olderEnded.promise]), answered: newerMoved.then };
    return undefined;
  });
  await using old = await startFaultProxy(registry, (req) => {
    if (!sciA(req)) return undefined;
    if (req.method === "GET" && isManifest(req, PLATFORM_MOVING)) return { hold: newerPlatformMoved.promise };
    if (req.method === "GET" && isManifest(req, MOVING)) return { answered: olderReadVersion.then };
    if (isManifestPut(req, MOVING)) return { hold: newerMoved.promise };
    return undefined;
  });
  const run = (cwd: string, proxy: string) => runCliAsync(["--all", "--push", "--repo", `${proxy}/${name}`, "--progress", "plain"], { cwd });
  const [o, n] = await Promise.all([run(join(older.path, "wt"), old.address).finally(() => olderEnded.then()), run(repo.root, newer.address)]);
  assert.match(o.stderr, /\[sci\/a\] not moved: \S+sci\/a:1\.0-linux-[a-z0-9]+ holds a newer build \(1\.0-2-[0-9a-f]+, manifest sha256:[0-9a-f]{64}\), so \S+sci\/a:1\.0 is left to it/, o.stderr);
  const target = `${registry}/${name}/sci/a`;
  const newest = `1.0-2-${repo.git("rev-parse", "--short", "HEAD")}`;
  // {version} holds the newer build's index, as does its platform moving tag its image.
  assert.is((await registryIndex(`${target}:1.0`)).manifests[0].digest, (await registryIndex(`${target}:${newest}`)).manifests[0].digest, `${o.stderr}\n${n.stderr}`);
  assert.is((await registryImage(`${target}:1.0`)).labels["org.sciserver.science.a.version"], newest);
});

test("an image whose config blob the registry lost: --reconcile plans it, a run pushes the engine's image of it again; an agent without it refuses, --overwrite rebuilds", async () => {
  const { docker, registry } = requireEngine();
  using repo = makeRepo(smallFamily());
  const target = uniqueRepo(registry);
  const suffix = `1.0-1-${repo.git("rev-parse", "--short", "HEAD")}`;
  // With attestations (the default): the platform image under its platform build tag, in the layer's index.
  const first = runCli(["--all", "--push", "--repo", target, "--progress", "plain"], { cwd: repo.root });
  assert.is(first.code, 0, first.stderr);
  const platformTag = `${target}/sci/a:${suffix}-linux-amd64`;
  const published = await registryImage(platformTag);
  const final = await registryImage(`${target}/rel/a:${suffix}`);
  const blob = `http://${registry}/v2/${target.slice(registry.length + 1)}/sci/a/blobs/${published.configDigest}`;
  const loseConfig = async () => assert.is((await fetch(blob, { method: "DELETE" })).status, 202);
  await loseConfig();

  const plan = runCli(["--reconcile", "--dryrun", "-vv", "--repo", target], { cwd: repo.root });
  assert.is(plan.code, 0, plan.stderr);
  assert.match(plan.stderr, /build sci\/a: .*broken: .*BLOB_UNKNOWN/);

  // This agent's engine has the image: pushed again, the registry has its config back; nothing is rebuilt.
  const repair = runCli(["--reconcile", "--push", "--repo", target, "--progress", "plain"], { cwd: repo.root });
  assert.is(repair.code, 0, repair.stderr);
  assert.match(repair.stderr + repair.stdout, new RegExp(`sci/a:${suffix}-linux-amd64 in the registry is broken \\(.*\\): the engine's image of it \\(${published.configDigest}\\) is pushed again`));
  assert.is((await fetch(blob, { method: "HEAD" })).status, 200, "the config blob is back");
  assert.equal((await registryImage(platformTag)).digest, published.digest);
  assert.is((await registryImage(`${target}/rel/a:${suffix}`)).digest, final.digest, "rel/a is not rebuilt");
  const nothing = runCli(["--reconcile", "--dryrun", "--repo", target], { cwd: repo.root });
  assert.match(nothing.stdout + nothing.stderr, /nothing to build/);

  // Lost again, on an agent whose engine does not have the image: which build it is can't be read, so the build tag is kept.
  await loseConfig();
  for (const image of await docker.listImages()) {
    for (const tag of image.RepoTags ?? []) if (tag.startsWith(`${target}/`)) await docker.getImage(tag).remove({ noprune: true });
  }
  const refused = runCli(["--reconcile", "--push", "--repo", target, "--progress", "plain"], { cwd: repo.root });
  assert.is(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, new RegExp(`sci/a:${suffix}-linux-amd64 is in the registry, but broken \\(.*\\), and the engine has no image ${published.configDigest} to push again: .*\\(--overwrite pushes this build over it\\)`));
  assert.is((await fetch(blob, { method: "HEAD" })).status, 404);
  const overwrite = runCli(["--reconcile", "--push", "--overwrite", "--repo", target, "--progress", "plain"], { cwd: repo.root });
  assert.is(overwrite.code, 0, overwrite.stderr);
  const rebuilt = await registryImage(platformTag);
  assert.is.not(rebuilt.configDigest, published.configDigest, "sci/a rebuilt");
  const child = await registryImage(`${target}/rel/a:${suffix}-linux-amd64`);
  assert.is(child.labels["org.sciserver.science.a.buildtime"], rebuilt.labels["org.sciserver.science.a.buildtime"], "rel/a built on it");
  // Each layer's index (build tag and {version}) names the images now under its platform tags, not those they replaced.
  for (const [name, image] of [["sci/a", rebuilt], ["rel/a", child]] as const) {
    for (const tag of [suffix, "1.0"]) assert.is((await registryImage(`${target}/${name}:${tag}`)).digest, image.digest, `${name}:${tag}`);
  }
});

test("two runs of consecutive commits at once, the older's moving-tag writes landing just after the newer's: the newer moves {version} and its platform tag forward again, and the registry ends on the newer build", async () => {
  const { registry } = requireEngine();
  using src = makeRepo({
    ...science("a", { image: "cc", target: "cc-a", compat: "c" }, "FROM busybox:stable\nRUN echo one > /a\n"),
    ...compat("c", [], "ENV C=1\n"),
  });
  const target = uniqueRepo(registry);
  const path = target.slice(registry.length + 1);
  const first = await runCliAsync(["--all", "--push", "--repo", target, "--progress", "plain"], { cwd: src.root });
  assert.is(first.code, 0, first.stderr);
  // What the older run writes under the moving tags: its index, and its bare image.
  const ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
  const older = await Promise.all(["1.0", "1.0-linux-amd64"].map(async (t) => {
    const res = await fetch(`http://${registry}/v2/${path}/sci/cc-a/manifests/${t}`, { headers: { accept: ACCEPT } });
    return { tag: t, type: res.headers.get("content-type")!, bytes: Buffer.from(await res.arrayBuffer()) };
  }));
  src.write({ "science/a/Dockerfile": "FROM busybox:stable\nRUN echo two > /a\n" });
  const h2 = src.commit("a two");
  const raced = new Set<string>();
  const statuses: number[] = [];
  await using proxy = await startFaultProxy(registry, (req) => {
    const m = /\/sci\/cc-a\/manifests\/(1\.0|1\.0-linux-amd64)$/.exec(req.url ?? "");
    if (req.method !== "PUT" || !m || raced.has(m[1]) || !req.headers["user-agent"]?.startsWith("image-builder/")) return undefined;
    raced.add(m[1]);
    const theirs = older.find((o) => o.tag === m[1])!;
    let wrote!: () => void;
    const written = new Promise<void>((ok) => (wrote = ok));
    // Once the registry has stored this run's write, the older run's lands, before this run hears back.
    return {
      answered: () => void fetch(`http://${registry}/v2/${path}/sci/cc-a/manifests/${m[1]}`, { method: "PUT", headers: { "content-type": theirs.type }, body: theirs.bytes })
        .then(async (r) => { statuses.push(r.status); await r.arrayBuffer(); }).then(() => wrote(), () => wrote()),
      holdReply: written,
    };
  });
  const r = await runCliAsync(["--push", "--repo", `${proxy.address}/${path}`, "--progress", "plain"], { cwd: src.root });
  assert.is(r.code, 0, r.stderr);
  assert.equal([...raced].sort(), ["1.0", "1.0-linux-amd64"]);
  assert.equal(statuses, [201, 201], "the older run's writes landed");
  assert.match(r.stderr, /another run wrote \S+sci\/cc-a:1\.0-linux-amd64 at the same time with an older build \(1\.0-1-[0-9a-f]+\): moved forward again/);
  assert.match(r.stderr, /another run wrote \S+sci\/cc-a:1\.0 at the same time with an older build's index \(1\.0-1-[0-9a-f]+\): moved forward again/);
  const digest = async (t: string) => (await fetch(`http://${registry}/v2/${path}/sci/cc-a/manifests/${t}`, { method: "HEAD", headers: { accept: ACCEPT } })).headers.get("docker-content-digest");
  assert.is(await digest("1.0"), await digest(`1.0-2-${h2}`));
  assert.is(await digest("1.0-linux-amd64"), await digest(`1.0-2-${h2}-linux-amd64`));

  // The older run's write landing after this run's read-back, before the end of the run: the
  // read-back at the end finds {version} moved back to the older build, says so, and the run fails.
  src.write({ "science/a/Dockerfile": "FROM busybox:stable\nRUN echo three > /a\n" });
  src.commit("a three");
  let gets = 0;
  await using late = await startFaultProxy(registry, (req) => {
    if (req.method !== "GET" || !/\/sci\/cc-a\/manifests\/1\.0$/.test(req.url ?? "") || !req.headers["user-agent"]?.startsWith("image-builder/")) return undefined;
    // Before the build: none; the index step: what it holds, then its read-back; then the end of the run.
    if (++gets !== 3) return undefined;
    const theirs = older.find((o) => o.tag === "1.0")!;
    return { hold: fetch(`http://${registry}/v2/${path}/sci/cc-a/manifests/1.0`, { method: "PUT", headers: { "content-type": theirs.type }, body: theirs.bytes }).then((res) => res.arrayBuffer()) };
  });
  using out = tempDir("ib-moved-back-");
  const results = join(out.path, "results.json");
  const third = await runCliAsync(["--push", "--repo", `${late.address}/${path}`, "--progress", "plain", "--results", results], { cwd: src.root });
  assert.is(third.code, 1, third.stderr);
  assert.match(third.stderr, /\[sci\/cc-a\] read back at the end of the run: moved back by another run: \S+sci\/cc-a:1\.0 to 1\.0-1-[0-9a-f]+, an older build \(manifest sha256:[0-9a-f]{64}\), after this run moved it \(a run of an older commit, or a rollback with --allow-tag-rollback\): unless it was rolled back on purpose, run this commit again, or --reconcile --push, to move it forward/);
  const index = JSON.parse(readFileSync(results, "utf8")).indexes.find((i: { id: string }) => i.id === "sci/cc-a");
  assert.is(index.status, "push failed");
  assert.match(index.tags[1].reason, /^moved back by another run: /);
});

test("runs of consecutive commits at once, the older's write of its platform moving tag landing after the newer run published: the older moves it on to the newer build's image, which {version} names", async () => {
  const { registry } = requireEngine();
  using src = makeRepo({
    ...science("a", { image: "cc", target: "cc-a", compat: "c" }, "FROM busybox:stable\nRUN echo one > /a\n"),
    ...compat("c", [], "ENV C=1\n"),
  });
  src.write({ "science/a/Dockerfile": "FROM busybox:stable\nRUN echo two > /a\n" });
  const h2 = src.commit("a two");
  using older = tempDir("ib-older-");
  src.git("worktree", "add", "-q", join(older.path, "wt"), "HEAD~1");
  const target = uniqueRepo(registry);
  const path = target.slice(registry.length + 1);
  // The older run read sci/cc-a's platform moving tag (nothing there) and writes it; its write is
  // held until the newer run has published its build under every tag.
  const olderWrite = happening("the older run's write of sci/cc-a:1.0-linux-amd64");
  const newerEnded = happening("the newer run ended");
  await using proxy = await startFaultProxy(registry, (req) => {
    if (!isManifestPut(req, /^1\.0-linux-amd64$/) || !/\/sci\/cc-a\//.test(req.url ?? "")) return undefined;
    olderWrite.then();
    return { hold: newerEnded.promise };
  });
  const o = runCliAsync(["--all", "--push", "--repo", `${proxy.address}/${path}`, "--progress", "plain"], { cwd: join(older.path, "wt") });
  await olderWrite.promise;
  const n = await runCliAsync(["--all", "--push", "--repo", target, "--progress", "plain"], { cwd: src.root }).finally(() => newerEnded.then());
  assert.is(n.code, 0, n.stderr);
  const old = await o;
  assert.match(old.stderr, /\[sci\/cc-a\] moved \S+sci\/cc-a:1\.0-linux-amd64 on to sha256:[0-9a-f]{64}, the linux\/amd64 image of the newer build \S+sci\/cc-a:1\.0 holds: this run's write of it had landed after that build's/, old.stderr);
  assert.is(old.code, 0, old.stderr);
  const ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
  const digest = async (t: string) => (await fetch(`http://${registry}/v2/${path}/sci/cc-a/manifests/${t}`, { method: "HEAD", headers: { accept: ACCEPT } })).headers.get("docker-content-digest");
  // Both moving tags on the newer build: {version} its index, the platform moving tag its image.
  assert.is(await digest("1.0"), await digest(`1.0-2-${h2}`));
  assert.is(await digest("1.0-linux-amd64"), await digest(`1.0-2-${h2}-linux-amd64`));
});

test.run();
