// What only BuildKit does, on the real engine: independent stages in parallel, unused stages skipped, cache mounts kept between
// builds, and Dockerfile features the classic builder lacks refused with file and line.
import { test } from "uvu";
import type { IncomingMessage } from "node:http";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { build, capture, filesInImage, makePlan, requireEngine, runOptions, runPlan, uniqueRepo } from "../helpers/engine.js";
import { tempDir } from "../helpers/temp.js";
import { compat, makeRepo, science } from "../helpers/repo.js";
import { runCliAsync, within } from "../helpers/cli.js";
import { startFaultProxy, type FaultHandler } from "../helpers/fault-proxy.js";

test("--secret: a RUN --mount=type=secret step reads it; no image layer, log or output holds it", async () => {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const secret = `s3cret-${randomBytes(12).toString("hex")}`;
  using logDir = tempDir("ib-secret-logs-");
  // The step proves it saw the secret without writing it: its length, and a line echoing it
  // (which the output must not show).
  const dockerfile = "FROM busybox:stable\nRUN --mount=type=secret,id=tok,required wc -c < /run/secrets/tok > /len && cat /run/secrets/tok\n";
  const plan = makePlan(repo, [build("sci/s", [`${repo}/sci/s:1.0`], dockerfile, { contexts: ["science/x"] })]);
  const out = capture();
  const result = await runPlan(plan, runOptions(src.root, out.stream, { builder: "buildkit", logDir: logDir.path, secrets: new Map([["tok", Buffer.from(secret)]]) }));
  assert.ok(result.ok, out.text());
  assert.is((await filesInImage(docker, `${repo}/sci/s:1.0`, "/len"))["len"]?.content.trim(), String(secret.length));
  // every byte of the image as the engine saves it: layers, config, history
  const saved = await docker.getImage(`${repo}/sci/s:1.0`).get();
  const chunks: Buffer[] = [];
  for await (const c of saved) chunks.push(c as Buffer);
  assert.not.ok(Buffer.concat(chunks).includes(secret), "the secret is in the image");
  assert.not.ok(out.text().includes(secret), "the secret is in the output");
  for (const f of readdirSync(logDir.path)) assert.not.ok(readFileSync(join(logDir.path, f), "utf8").includes(secret), `the secret is in ${f}`);
  assert.not.ok(JSON.stringify(result).includes(secret));

  // without it, the build fails saying which secret is missing (another step: not from the cache)
  const again = capture();
  const other = dockerfile.replace("wc -c", "true && wc -c");
  const missing = await runPlan(makePlan(repo, [build("sci/s2", [`${repo}/sci/s2:1.0`], other, { contexts: ["science/x"] })]),
    runOptions(src.root, again.stream, { builder: "buildkit" }));
  assert.is(missing.ok, false);
  assert.match(missing.outcomes[0].reason!, /tok/);
});

test("--secret with a multi-line value (a PEM key): none of its lines in the output, the log dir or the results", async () => {
  const { registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const body = randomBytes(96).toString("base64").match(/.{1,32}/g)!;
  const pem = ["-----BEGIN PRIVATE KEY-----", ...body, "-----END PRIVATE KEY-----", ""].join("\n");
  using logDir = tempDir("ib-secret-logs-");
  // printed as it is, and with its lines joined (one long line holding every line of it)
  const dockerfile = "FROM busybox:stable\nRUN --mount=type=secret,id=key,required cat /run/secrets/key && tr -d '\\n' < /run/secrets/key && echo && false\n";
  const plan = makePlan(repo, [build("sci/pem", [`${repo}/sci/pem:1.0`], dockerfile, { contexts: ["science/x"] })]);
  const out = capture();
  const result = await runPlan(plan, runOptions(src.root, out.stream, { builder: "buildkit", logDir: logDir.path, secrets: new Map([["key", Buffer.from(pem)]]) }));
  // the step ran (and failed after printing), so the failure's log tail is in the results too
  assert.is(result.outcomes[0].status, "failed", out.text());
  assert.match(out.text(), /#\d+ \*\*\*\n/);
  const recorded = new Map([["output", out.text()], ["results", JSON.stringify(result)]]);
  for (const f of readdirSync(logDir.path)) recorded.set(f, readFileSync(join(logDir.path, f), "utf8"));
  for (const [where, text] of recorded) {
    for (const line of pem.split("\n").filter((l) => l.length >= 4)) assert.not.ok(text.includes(line), `${where} shows the secret's line ${line}`);
  }
});

test("a secret asked for after a long step still reaches the build: the session outlives the engine's health checks", async () => {
  const { registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  // The engine health-checks the session about once a second and dropped one that did not answer,
  // so a secret (or a base's credentials) asked for later than that failed after a 5 s wait: on a
  // busy machine, any build. The first step lasts past a few checks (its own marker: never cached).
  const marker = repo.split("/").pop();
  const dockerfile = `FROM busybox:stable\nRUN sleep 3 && echo ${marker}\nRUN --mount=type=secret,id=tok,required wc -c < /run/secrets/tok\n`;
  const out = capture();
  const result = await runPlan(makePlan(repo, [build("sci/late", [`${repo}/sci/late:1.0`], dockerfile, { contexts: ["science/x"] })]),
    runOptions(src.root, out.stream, { builder: "buildkit", secrets: new Map([["tok", Buffer.from("late-secret-value")]]) }));
  assert.ok(result.ok, out.text());
  assert.not.match(out.text(), /no active session/);
});

test("an unused stage is skipped (its RUN false fails nothing); a cache mount survives between builds", async () => {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const nonce = repo.split("/").pop();
  const dockerfile = (n: number) => `FROM busybox:stable AS broken\nRUN false\n` +
    `FROM busybox:stable\nRUN --mount=type=cache,id=${nonce},target=/cache echo run${n} >> /cache/runs && cp /cache/runs /runs\n`;
  for (const n of [1, 2]) {
    const out = capture();
    const result = await runPlan(makePlan(repo, [build("sci/m", [`${repo}/sci/m:1.0`], dockerfile(n), { contexts: ["science/x"] })]),
      runOptions(src.root, out.stream, { builder: "buildkit" }));
    assert.ok(result.ok, out.text());
    assert.not.match(out.text(), /RUN false/);
  }
  // the second build found what the first left in the cache mount
  assert.is((await filesInImage(docker, `${repo}/sci/m:1.0`, "/runs"))["runs"]?.content, "run1\nrun2\n");
});

test("a registry that never answers the engine's cache lookup: the build is stopped after IMAGE_BUILDER_REGISTRY_CACHE_TIMEOUT, naming the cache source and --no-registry-cache; the engine builds on", async () => {
  const { registry } = requireEngine();
  // The engine's manifest requests (BuildKit resolving the cache sources) get no answer; image-builder's own pass.
  await using proxy = await startFaultProxy(registry, (req) =>
    /\/manifests\//.test(req.url ?? "") && !String(req.headers["user-agent"]).startsWith("image-builder/") ? ((req: IncomingMessage) => void req.resume()) as FaultHandler : undefined);
  const repo = uniqueRepo(proxy.address);
  using src = makeRepo({ ...science("a", { image: "a", compat: "ui" }, "FROM busybox:stable\nRUN echo a > /a\n"), ...compat("ui", [], "RUN true\n") });
  const started = Date.now();
  const r = await within(runCliAsync(["--all", "--repo", repo, "--progress", "plain", "--builder", "buildkit"], { cwd: src.root, env: { IMAGE_BUILDER_REGISTRY_CACHE_TIMEOUT: "5" } }), 90_000, "a build whose cache lookup gets no answer");
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`sci/a: the registry did not answer the engine's lookup of the cache source ${proxy.address}/\\S+/sci/a:1\\.0 in 5s \\(BuildKit waits for ever\\): the build was stopped; --no-registry-cache builds without the registry's images as cache`));
  assert.ok(Date.now() - started < 60_000, "stopped long after its limit");
  await proxy.close();
  // The proxy gone, the engine is not left waiting: the same plan builds, without the registry's cache.
  const again = await within(runCliAsync(["--all", "--repo", repo, "--progress", "plain", "--builder", "buildkit", "--no-registry-cache"], { cwd: src.root }), 90_000, "the next build");
  assert.is(again.code, 0, again.stderr);
});

test("independent stages build in parallel: each waits for a file the other writes into a shared cache mount", async () => {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const nonce = repo.split("/").pop();
  // Built one after the other, the first stage would wait out its bound (120 s) and fail the build:
  // only stages run at the same time meet. The mount's id is new for each run, so nothing is left over.
  const stage = (me: string, other: string) => `FROM busybox:stable AS ${me}\n` +
    `RUN --mount=type=cache,id=${nonce},target=/c echo ${nonce} > /c/${me} && ` +
    `i=0; while [ ! -e /c/${other} ]; do i=$((i+1)); [ $i -le 1200 ] || exit 7; sleep 0.1; done; echo met > /${me}\n`;
  const dockerfile = stage("a", "b") + stage("b", "a") +
    "FROM busybox:stable\nCOPY --from=a /a /met/a\nCOPY --from=b /b /met/b\n";
  const out = capture();
  const result = await runPlan(makePlan(repo, [build("sci/m", [`${repo}/sci/m:1.0`], dockerfile, { contexts: ["science/x"] })]),
    runOptions(src.root, out.stream, { builder: "buildkit" }));
  assert.ok(result.ok, out.text());
  const met = await filesInImage(docker, `${repo}/sci/m:1.0`, "/met");
  assert.is(met["met/a"]?.content, "met\n");
  assert.is(met["met/b"]?.content, "met\n");
});

test("RUN --mount under the classic builder is refused before anything is built, naming file and line", async () => {
  const { registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const b = build("sci/m", [`${repo}/sci/m:1.0`], "FROM busybox:stable\nRUN --mount=type=cache,target=/c true\n", { contexts: ["science/x"], source: "science/x" });
  const out = capture();
  await runPlan(makePlan(repo, [b]), runOptions(src.root, out.stream, { builder: "classic" })).then(
    () => assert.unreachable("should have been refused"),
    (e: Error) => assert.match(e.message, /^science\/x\/Dockerfile:2: RUN --mount needs BuildKit/),
  );
  assert.not.match(out.text(), /Step 1/);
});

test.run();
