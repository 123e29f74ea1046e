// Ctrl-C during a build: the build in flight stops, nothing is pushed, the exit code is 130; during
// a push: what the registry holds is read back before the results are written.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import type { IncomingMessage } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MAIN } from "../helpers/cli.js";
import { happening, isManifest, isManifestPut, startFaultProxy } from "../helpers/fault-proxy.js";
import { processRunning, registryImage, registryTags, requireEngine, uniqueRepo, waitFor } from "../helpers/engine.js";
import { compat, makeRepo, science } from "../helpers/repo.js";
import { deferred, tempDir } from "../helpers/temp.js";

/** sci/quick (compat base) published under `target`: a build of a second. */
const quickFamily = (target: string) => ({
  "image-builder.json": JSON.stringify({ repo: target }),
  ...science("quick", { image: "quick", compat: "base" }, "FROM busybox:stable\nRUN echo quick > /q\n"),
  ...compat("base", [], "ENV X=1\n"),
});

/**
 * A run's stderr as it comes (`stderr()`), when `pattern` first shows in it (`seen`), and its exit
 * code (`exited`).
 */
function watch(child: ChildProcess, pattern: RegExp, what: string) {
  let stderr = "";
  const seen = happening(what);
  child.stderr!.on("data", (d) => {
    stderr += d;
    if (pattern.test(stderr)) seen.then();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  // Waited for in vain: what the run said so far tells where it stood.
  const told = seen.promise.catch((e: Error) => {
    throw new Error(`${e.message}; the run's stderr so far:\n${stderr}`);
  });
  told.catch(() => undefined);
  return { stderr: () => stderr, seen: told, exited };
}

/**
 * A plain push of `root` (results in `file`) sent SIGTERM once the proxy holds the request it waits
 * for (`arrived`), or as soon as it ends: `release` lets that request go once the run says it waits
 * for its push in flight. It exits 130; its stderr.
 */
async function sigtermDuringPush(root: string, file: string, arrived: { promise: Promise<void> }, release: { then: () => void }): Promise<string> {
  const child = pushQuick(root, file);
  const run = watch(child, WAITING_FOR_PUSH, "the run waits for its push in flight");
  run.seen.then(() => release.then(), () => undefined);
  await Promise.race([arrived.promise, run.exited]);
  child.kill("SIGTERM");
  assert.is(await run.exited, 130, run.stderr());
  return run.stderr();
}

/** sci/quick's result in the results file `file`. */
const quickResult = (file: string) => (JSON.parse(readFileSync(file, "utf8")) as { results: { id: string; pushed: boolean; tags: { tag: string; pushed: boolean; digest?: string }[] }[] })
  .results.find((r) => r.id === "sci/quick")!;

/** The line a run prints when, interrupted, it waits for the one push in flight. */
const WAITING_FOR_PUSH = /waiting up to \d+ s for 1 push\(es\) in flight to end/;

/** `--all --push` of `root` as plain images (their moving tag `1.0` written by image-builder; with attestations the index step writes it), results in `file`. */
const pushQuick = (root: string, file: string, env: NodeJS.ProcessEnv = {}) =>
  spawn(process.execPath, [MAIN, "--all", "--push", "--progress", "plain", "--results", file, "--no-attestations"], { cwd: root, env: { ...process.env, ...env } });

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  test(`${signal} stops the builds in flight, pushes nothing and exits 130`, async () => {
    const engine = requireEngine();
    const target = uniqueRepo(engine.registry);
    // The step's shell carries a marker of this run in its command line (see processRunning), so
    // the check below finds this build's step and no other.
    const marker = `signalled-${target.split("/").pop()}`;
    using repo = makeRepo({
      "image-builder.json": JSON.stringify({ repo: target }),
      ...science("slow", { image: "slow", compat: "base" }, `FROM busybox:stable\nRUN echo ${Date.now()} && sleep 60 && echo ${marker}\n`),
      ...compat("base", [], "ENV X=1\n"),
    });
    using out = tempDir("ib-signal-report-");
    const child = spawn(process.execPath, [MAIN, "--all", "--push", "--progress", "plain", "--report", out.path], { cwd: repo.root, env: process.env });
    const run = watch(child, /sleep 60/, "the slow step");
    await Promise.race([run.seen, run.exited]);
    assert.is(child.exitCode, null, `the build should still be running: ${run.stderr()}`);
    const t0 = Date.now();
    child.kill(signal);
    const code = await run.exited;
    assert.is(code, 130, run.stderr());
    assert.match(run.stderr(), /Interrupted: builds in flight were cancelled and no push started after the interrupt\.\n/);
    // Waiting for the step would take the rest of its 60 s sleep: a bound this generous holds on
    // a loaded machine and still fails.
    assert.ok(Date.now() - t0 < 50_000, `stopped promptly, not after the 60 s sleep (${Date.now() - t0} ms)`);
    assert.equal(await registryTags(`${target}/sci/slow`), []);
    assert.equal(await registryTags(`${target}/rel/slow`), []);
    // The interrupted run's report says so.
    const html = readFileSync(join(out.path, "index.html"), "utf8");
    assert.equal([...html.matchAll(/<tr data-id="([^"]+)" data-status="([^"]+)">/g)].map((m) => `${m[1]} ${m[2]}`), ["sci/slow cancelled", "rel/slow:1.0 cancelled"]);
    // The engine is not left running the build: neither the step's process (BuildKit runs it
    // outside any container) nor a container (the classic builder's).
    const stepLeft = async () => processRunning(marker) || (await engine.docker.listContainers()).some((c) => c.Command.includes(marker));
    await waitFor(async () => !(await stepLeft()), 30_000, () => "the build's RUN step is still running");
  });
}

test("Ctrl-C of a run without --push says nothing about pushing", async () => {
  const engine = requireEngine();
  const target = uniqueRepo(engine.registry);
  const marker = `no-registry-${target.split("/").pop()}`;
  using repo = makeRepo({
    "image-builder.json": JSON.stringify({ repo: target }),
    ...science("slow", { image: "slow", compat: "base" }, `FROM busybox:stable\nRUN echo ${Date.now()} && sleep 60 && echo ${marker}\n`),
    ...compat("base", [], "ENV X=1\n"),
  });
  const child = spawn(process.execPath, [MAIN, "--all", "--progress", "plain"], { cwd: repo.root, env: process.env });
  const run = watch(child, /sleep 60/, "the slow step");
  await run.seen;
  child.kill("SIGINT");
  assert.is(await run.exited, 130, run.stderr());
  assert.match(run.stderr(), /Interrupted: builds in flight were cancelled\.\n/);
  assert.not.match(run.stderr(), /push/i, run.stderr());
  await waitFor(() => !processRunning(marker), 30_000, () => "the build's RUN step is still running");
});

test("SIGTERM while a plain push reads the {version}-linux-amd64 an attested push left: that tag is left as it was, and the image, its own tags written, is pushed", async () => {
  const engine = requireEngine();
  const arrived = happening("the plain push's read of sci/quick:1.0-linux-amd64");
  const release = happening("the run waits for its push");
  let armed = false;
  await using proxy = await startFaultProxy(engine.registry, (req) => {
    if (!armed || req.method !== "GET" || !isManifest(req, /^1\.0-linux-[a-z0-9]+$/) || !/\/sci\/quick\//.test(req.url ?? "")) return undefined;
    arrived.then();
    return { hold: release.promise };
  });
  const target = uniqueRepo(proxy.address);
  using repo = makeRepo(quickFamily(target));
  // Published with attestations (the default): sci/quick:1.0-linux-amd64 holds its image.
  const first = spawn(process.execPath, [MAIN, "--all", "--push", "--progress", "plain"], { cwd: repo.root });
  assert.is(await watch(first, /\n\d+ built/, "the attested push").exited, 0);
  const direct = `${target.replace(proxy.address, engine.registry)}/sci/quick`;
  const platformTag = (await registryTags(direct)).find((t) => /^1\.0-linux-[a-z0-9]+$/.test(t))!;
  const before = (await registryImage(`${direct}:${platformTag}`)).digest;
  repo.write(science("quick", { image: "quick", compat: "base" }, "FROM busybox:stable\nRUN echo quicker > /q\n"));
  repo.commit("quicker");
  armed = true;
  using dir = tempDir("ib-signal-");
  const file = join(dir.path, "r.json");
  const stderr = await sigtermDuringPush(repo.root, file, arrived, release);
  // The image's own tags were written before the interrupt: it is pushed; the platform tag is not started.
  const landed = await registryImage(`${direct}:1.0`);
  const result = quickResult(file);
  assert.is(result.pushed, true, stderr);
  assert.equal(result.tags.map((t) => [t.tag.slice(t.tag.lastIndexOf(":") + 1), t.pushed]), [[result.tags[0].tag.slice(result.tags[0].tag.lastIndexOf(":") + 1), true], ["1.0", true]], stderr);
  assert.is.not(landed.digest, before);
  assert.is((await registryImage(`${direct}:${platformTag}`)).digest, before, "the platform tag was written after the interrupt");
});

test("SIGTERM during an attested push: an image pushed under its build tag whose attestations never started says so in --results (merge-platforms took it for a run without them: reviewer12 M3)", async () => {
  const engine = requireEngine();
  const arrived = happening("the engine's PUT of sci/quick's platform build tag");
  const release = happening("the run waits for its push");
  await using proxy = await startFaultProxy(engine.registry, (req) => {
    if (!isManifestPut(req, /^1\.0-\d+-[0-9a-f]+-linux-[a-z0-9]+$/) || !/\/sci\/quick\//.test(req.url ?? "")) return undefined;
    arrived.then();
    return { hold: release.promise };
  });
  const target = uniqueRepo(proxy.address);
  using repo = makeRepo(quickFamily(target));
  using dir = tempDir("ib-signal-");
  const file = join(dir.path, "r.json");
  const child = spawn(process.execPath, [MAIN, "--all", "--push", "--progress", "plain", "--results", file], { cwd: repo.root });
  const run = watch(child, WAITING_FOR_PUSH, "the run waits for its push in flight");
  run.seen.then(() => release.then(), () => undefined);
  await Promise.race([arrived.promise, run.exited]);
  child.kill("SIGTERM");
  assert.is(await run.exited, 130, run.stderr());
  const result = (JSON.parse(readFileSync(file, "utf8")) as { results: { id: string; status: string; tags: { pushed: boolean }[]; attestation?: { status: string; reason?: string } }[] }).results.find((r) => r.id === "sci/quick")!;
  assert.equal([result.status, result.tags[0].pushed], ["built", true], run.stderr());
  assert.equal(result.attestation, { status: "failed", reason: "not made: the run was interrupted before its attestations" }, run.stderr());
});

test("SIGTERM while a moving tag is written: the write ends first, then is read back, and --results says it moved", async () => {
  const engine = requireEngine();
  // The moving tag's PUT (image-builder's registry client writes the manifest under the build tag)
  // reaches the registry's door and is held there; the run is sent SIGTERM. The PUT is let through
  // once the run waits for it, or (a run that doesn't wait) once the run has read the tag back.
  const arrived = happening("the moving tag's PUT");
  const release = happening("the run waits for its push, or reads the tag back");
  const isQuick = (url: string | undefined) => /\/sci\/quick\//.test(url ?? "");
  await using proxy = await startFaultProxy(engine.registry, (req) => {
    if (isManifestPut(req, /^1\.0$/) && isQuick(req.url)) {
      arrived.then();
      return { hold: release.promise };
    }
    if (req.method === "GET" && isManifest(req, /^1\.0$/) && isQuick(req.url) && held) return { answered: release.then };
    return undefined;
  });
  let held = false;
  void arrived.promise.then(() => (held = true));
  const target = uniqueRepo(proxy.address);
  using repo = makeRepo(quickFamily(target));
  using dir = tempDir("ib-signal-");
  const file = join(dir.path, "r.json");
  const stderr = await sigtermDuringPush(repo.root, file, arrived, release);
  // The write of the moving tag ran to its end (its digest), not cut by the interrupt.
  assert.match(stderr, /\] wrote \S+\/sci\/quick:1\.0@sha256:[0-9a-f]{64} \(the manifest under the build tag\)\n/);
  const landed = await registryImage(`${target.replace(proxy.address, engine.registry)}/sci/quick:1.0`);
  const result = quickResult(file);
  assert.equal(result.tags.map((t) => [t.tag.slice(t.tag.lastIndexOf(":") + 1), t.pushed, t.digest]), [
    [result.tags[0].tag.slice(result.tags[0].tag.lastIndexOf(":") + 1), true, landed.digest],
    ["1.0", true, landed.digest],
  ], stderr);
  assert.is(result.pushed, true, stderr);
  assert.not.match(stderr, /nothing more was pushed/);
  assert.match(stderr, /no push started after the interrupt/);
});

test("a second interrupt stops a moving tag's write the registry does not answer: the run ends at once, saying the tag did not move", async () => {
  const engine = requireEngine();
  const arrived = happening("the moving tag's PUT");
  const isQuick = (url: string | undefined) => /\/sci\/quick\//.test(url ?? "");
  // The registry never answers the moving tag's PUT (let through only when the test ends).
  let release!: () => void;
  const never = new Promise<void>((resolve) => (release = resolve));
  await using proxy = await startFaultProxy(engine.registry, (req) => {
    if (isManifestPut(req, /^1\.0$/) && isQuick(req.url)) {
      arrived.then();
      return { hold: never };
    }
    return undefined;
  });
  using _release = deferred(release);
  const target = uniqueRepo(proxy.address);
  using repo = makeRepo(quickFamily(target));
  using dir = tempDir("ib-signal-");
  const file = join(dir.path, "r.json");
  const child = pushQuick(repo.root, file);
  const run = watch(child, WAITING_FOR_PUSH, "the run waits for its push in flight");
  await Promise.race([arrived.promise, run.exited]);
  child.kill("SIGINT");
  await Promise.race([run.seen, run.exited]);
  const t0 = Date.now();
  child.kill("SIGINT");
  assert.is(await run.exited, 130, run.stderr());
  const stderr = run.stderr();
  // At once: not after the registry client's 60 s timeout, nor the 30 s bound of the wait.
  assert.ok(Date.now() - t0 < 20_000, `stopped ${Date.now() - t0} ms after the second interrupt`);
  const result = quickResult(file);
  assert.equal(result.tags.map((t) => [t.tag.slice(t.tag.lastIndexOf(":") + 1) === "1.0", t.pushed]), [[false, true], [true, false]], stderr);
});

/** The registry stops answering anything (as a hung or SIGSTOPped one): requests are held until the test ends. */
async function hangingRegistryProxy(registry: string, hangFrom: (req: IncomingMessage) => boolean) {
  let release!: () => void;
  const never = new Promise<void>((resolve) => (release = resolve));
  let hung = false;
  const proxy = await startFaultProxy(registry, (req) => {
    if (!hung && hangFrom(req)) hung = true;
    return hung ? { hold: never } : undefined;
  });
  return { proxy, hang: () => (hung = true), release: deferred(release) };
}

/** The wait these runs are given (IMAGE_BUILDER_INTERRUPT_WAIT, seconds; 30 by default), and how long beyond it an interrupted run may take on a loaded machine (not the client's 60 s timeout, retried). */
const WAIT_S = 5;
const BOUND_MS = WAIT_S * 1000 + 15_000;
const WAITING = { IMAGE_BUILDER_INTERRUPT_WAIT: String(WAIT_S) };

/**
 * Sends one SIGINT to a run whose registry hangs: it must exit 130 within the bound, saying it did
 * not read the registry back (what it could not). Its stderr.
 */
async function interruptedWithinBound(child: ChildProcess, run: ReturnType<typeof watch>): Promise<string> {
  const t0 = Date.now();
  child.kill("SIGINT");
  const code = await Promise.race([run.exited, new Promise<string>((r) => setTimeout(() => r("still running"), BOUND_MS + 60_000).unref())]);
  const took = Date.now() - t0;
  const stderr = run.stderr();
  assert.is(code, 130, stderr);
  assert.ok(took < BOUND_MS, `ended ${took} ms after the interrupt, beyond the ${WAIT_S} s it was given\n${stderr}`);
  assert.ok(took >= WAIT_S * 1000 - 500 || !/waiting up to/.test(stderr), `ended ${took} ms after the interrupt, before the ${WAIT_S} s it printed\n${stderr}`);
  assert.match(stderr, /not read back at the end of the run/);
  return stderr;
}

test("a registry that stops answering during a push: one interrupt ends the run within the wait it prints, and --results keeps what the push recorded", async () => {
  const engine = requireEngine();
  const arrived = happening("the moving tag's PUT");
  const isQuick = (url: string | undefined) => /\/sci\/quick\//.test(url ?? "");
  // From the moving tag's PUT on, the registry answers nothing (the engine's requests and the run's read-backs too).
  const hanging = await hangingRegistryProxy(engine.registry, (req) => {
    const put = isManifestPut(req, /^1\.0$/) && isQuick(req.url);
    if (put) arrived.then();
    return put;
  });
  await using proxy = hanging.proxy;
  using _release = hanging.release;
  const target = uniqueRepo(proxy.address);
  using repo = makeRepo(quickFamily(target));
  using dir = tempDir("ib-signal-");
  const file = join(dir.path, "r.json");
  const child = pushQuick(repo.root, file, WAITING);
  using _kill = deferred(() => child.kill("SIGKILL"));
  const run = watch(child, WAITING_FOR_PUSH, "the run waits for its push in flight");
  await Promise.race([arrived.promise, run.exited]);
  const stderr = await interruptedWithinBound(child, run);
  assert.match(stderr, /interrupted: waiting up to 5 s for 1 push\(es\) in flight to end/);
  const result = quickResult(file);
  assert.equal(result.tags.map((t) => [t.tag.slice(t.tag.lastIndexOf(":") + 1) === "1.0", t.pushed]), [[false, true], [true, false]], stderr);
});

test("a registry that stops answering after the pushes: an interrupt during a build ends the run within the same bound, the pushes' results kept", async () => {
  const engine = requireEngine();
  const hanging = await hangingRegistryProxy(engine.registry, () => false);
  await using proxy = hanging.proxy;
  using _release = hanging.release;
  const target = uniqueRepo(proxy.address);
  using repo = makeRepo({
    ...quickFamily(target),
    ...science("slow", { image: "slow", compat: "base" }, `FROM busybox:stable\nRUN echo ${Date.now()} && sleep 60\n`),
  });
  using dir = tempDir("ib-signal-");
  const file = join(dir.path, "r.json");
  const child = pushQuick(repo.root, file, WAITING);
  using _kill = deferred(() => child.kill("SIGKILL"));
  // Both of quick's images pushed, moving tags written, while slow builds: nothing in flight with the registry.
  const run = watch(child, /^(?=[^]*\[sci\/quick\] pushed 2 tag)(?=[^]*\[rel\/quick:1\.0\] pushed 2 tag)(?=[^]*sleep 60)/, "quick pushed while slow builds");
  await Promise.race([run.seen, run.exited]);
  assert.is(child.exitCode, null, run.stderr());
  hanging.hang();
  const stderr = await interruptedWithinBound(child, run);
  const results = (JSON.parse(readFileSync(file, "utf8")) as { results: { id: string; pushed: boolean; status: string }[] }).results;
  assert.equal(results.map((r) => [r.id, r.status, r.pushed]).sort(), [["rel/quick:1.0", "built", true], ["rel/slow:1.0", "cancelled", false], ["sci/quick", "built", true], ["sci/slow", "cancelled", false]], stderr);
});

test.run();
