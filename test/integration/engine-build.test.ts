// The Docker Engine executor against a real engine (test/engine/start.sh): what it builds, with
// which tags, labels, contexts and logs. Pushing is in engine-push.test.ts.
import { chmodSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { rewriteImageRefs } from "../../src/core/parse/dockerfile/index.js";
import { checkEngine, connectEngine } from "../../src/executors/docker/index.js";
import { build, cachedStep, capture, filesInImage, makePlan, processRunning, requireEngine, runOptions, runPlan, stepLine, TEST_BUILDER, uniqueRepo, waitFor } from "../helpers/engine.js";
import { tempDir } from "../helpers/temp.js";
import { makeRepo } from "../helpers/repo.js";


test("science chain and compat build: tags, labels, build args, rewritten FROM, merged contexts, .dockerignore", async () => {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({
    "science/base/hello.txt": "hello from base\n",
    "science/base/run.sh": "#!/bin/sh\necho run\n",
    "science/child/Dockerfile.unused": "",
    "compat/a/shared.txt": "from a\n",
    "compat/a/only-a.txt": "only in a\n",
    "compat/a/secret.txt": "ignored by a's .dockerignore\n",
    "compat/a/.dockerignore": "secret.txt\n",
    "compat/a/docs/keep.md": "kept by an exception\n",
    "compat/a/docs/drop.md": "ignored\n",
    "compat/b/shared.txt": "from b\n",
    "compat/b/junk.tmp": "ignored by b's .dockerignore\n",
    "compat/b/.dockerignore": "*.tmp\n",
    "compat/b/secret.txt": "b does not ignore it\n",
  }, false);
  chmodSync(join(src.root, "science/base/run.sh"), 0o755);
  symlinkSync("hello.txt", join(src.root, "science/base/link.txt"));
  // exceptions inside an ignored directory are honoured, as by docker build
  src.write({ "compat/a/.dockerignore": "secret.txt\ndocs\n!docs/keep.md\n" });
  using logDir = tempDir("ib-logs-");
  const out = capture();
  const base = build("sci/base", [`${repo}/sci/base:1.0`, `${repo}/sci/base:1.0-7-abc1234`],
    "FROM busybox:stable\nARG GREETING=default\nARG FROM_ENV=unset\nENV GREETING=$GREETING FROM_ENV=$FROM_ENV\nCOPY . /base/\n",
    { contexts: ["science/base"] });
  base.request.labels = { "org.sciserver.science.base.version": "1.0-7-abc1234", "org.sciserver.science.base.buildtime": "1700000000" };
  base.request.buildArgs = { GREETING: "from-environment", FROM_ENV: "environment" };
  const child = build("sci/child", [`${repo}/sci/child:1.0`],
    "FROM prod.example.org/ib/sci/base:1.0\nRUN test -f /base/hello.txt && echo child > /child.txt\n",
    { contexts: ["science/child"], dependsOn: ["sci/base"] });
  // As the planner hands it over: the reference spelled with another registry points at --repo.
  child.request.imageRewrites = { "prod.example.org/ib/sci/base:1.0": `${repo}/sci/base:1.0` };
  child.request.dockerfile = rewriteImageRefs(child.request.dockerfile, child.request.imageRewrites);
  const rel = build("rel/child", [`${repo}/rel/child:1.0`],
    `FROM ${repo}/sci/child:1.0\nCOPY . /compat/\n`,
    { kind: "compat", contexts: ["compat/a", "compat/b"], dependsOn: ["sci/child"] });
  rel.request.labels = { "org.sciserver.compat.version": "child:1.0-7-abc1234" };

  const started = Date.now() / 1000;
  const result = await runPlan(makePlan(repo, [base, child, rel]),
    runOptions(src.root, out.stream, { logDir: logDir.path, buildArgs: { GREETING: "from-build-arg" } }));

  assert.ok(result.ok, out.text());
  assert.is(result.interrupted, false);
  assert.equal(result.outcomes.map((o) => [o.id, o.status]), [["sci/base", "built"], ["sci/child", "built"], ["rel/child", "built"]]);

  // outputs match the engine's view of the image
  const info = await docker.getImage(`${repo}/sci/base:1.0`).inspect();
  const outputs = result.outcomes[0].outputs!;
  assert.is(outputs["docker-image-hash"], info.Id);
  assert.is(outputs["docker-image-timestamp"], info.Created);
  assert.equal(outputs["docker-image-repo-tag"], [`${repo}/sci/base:1.0`, `${repo}/sci/base:1.0-7-abc1234`]);
  // (the layer cache may hand back an image earlier runs tagged too)
  for (const tag of outputs["docker-image-repo-tag"]) assert.ok(info.RepoTags.includes(tag), tag);
  assert.is(info.Config.Labels["org.sciserver.science.base.version"], "1.0-7-abc1234");
  // buildtime: when the image was built (the plan's value is replaced), children after parents
  const buildtime = (image: string) => docker.getImage(image).inspect().then((i) => Number(i.Config.Labels["org.sciserver.science.base.buildtime"]));
  const baseTime = await buildtime(`${repo}/sci/base:1.0`);
  assert.ok(baseTime >= Math.floor(started) && baseTime <= Date.now() / 1000, String(baseTime));
  assert.match(info.Config.Labels["org.sciserver.science.base.buildtime"], /^\d{10}\.\d{3}$/);
  // --build-arg wins over the request's buildArgs, which win over the ARG default
  assert.ok(info.Config.Env.includes("GREETING=from-build-arg"), info.Config.Env.join(" "));
  assert.ok(info.Config.Env.includes("FROM_ENV=environment"), info.Config.Env.join(" "));

  // the FROM spelled with another registry was built on this run's image
  const childInfo = await docker.getImage(`${repo}/sci/child:1.0`).inspect();
  assert.ok(childInfo.RootFS.Layers!.includes(info.RootFS.Layers![info.RootFS.Layers!.length - 1]));
  assert.is((await filesInImage(docker, `${repo}/sci/child:1.0`, "/child.txt"))["child.txt"]?.content, "child\n");

  // file modes and symlinks survive the context
  const baseFiles = await filesInImage(docker, `${repo}/sci/base:1.0`, "/base");
  assert.is(baseFiles["base/run.sh"].mode, 0o755);
  assert.is(baseFiles["base/link.txt"].type, "symlink");
  assert.is(baseFiles["base/link.txt"].linkname, "hello.txt");
  // BuildKit applies no .dockerignore to a tar context: `COPY .` takes the Dockerfile along (README, "Builders")
  if (TEST_BUILDER === "classic") assert.not.ok(baseFiles["base/.image-builder.Dockerfile"], "the generated Dockerfile must not be copied");
  assert.not.ok(baseFiles["base/.dockerignore"]);

  // compat: later context wins, each context's own .dockerignore applies to it alone
  const files = await filesInImage(docker, `${repo}/rel/child:1.0`, "/compat");
  assert.is(files["compat/shared.txt"]?.content, "from b\n");
  assert.is(files["compat/only-a.txt"]?.content, "only in a\n");
  assert.is(files["compat/secret.txt"]?.content, "b does not ignore it\n");
  assert.is(files["compat/docs/keep.md"]?.content, "kept by an exception\n");
  assert.not.ok(files["compat/docs/drop.md"]);
  assert.not.ok(files["compat/junk.tmp"]);
  if (TEST_BUILDER === "classic") assert.not.ok(files["compat/.image-builder.Dockerfile"]);
  const relInfo = await docker.getImage(`${repo}/rel/child:1.0`).inspect();
  assert.is(relInfo.Config.Labels["org.sciserver.compat.version"], "child:1.0-7-abc1234");

  // progress: prefixed lines, a summary, the not-pushed note
  const text = out.text();
  assert.match(text, new RegExp(`\\[sci/base\\] ${stepLine("FROM \\S*busybox:stable").source}`));
  assert.match(text, /BUILD\s+RESULT\s+DURATION\s+IMAGE\s+TAGS/);
  assert.match(text, /images were built but not pushed/);

  // one complete log per build
  for (const id of ["sci_base", "sci_child", "rel_child"]) {
    const log = readFileSync(join(logDir.path, `${id}.log`), "utf8");
    // the builder's own account of the build: step names, durations, the tags
    assert.match(log, TEST_BUILDER === "classic" ? /Successfully built/ : /#\d+ DONE \d+\.\ds/);
    assert.match(log, /Successfully tagged|naming to /);
    assert.match(log, /built sha256:/);
  }
});

test("a failing RUN: dependents skipped, independent chain built, log complete", async () => {
  const { registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x", "science/ok/f": "ok" }, false);
  using logDir = tempDir("ib-logs-");
  const out = capture();
  const builds = [
    build("sci/bad", [`${repo}/sci/bad:1.0`], "FROM busybox:stable\nRUN echo about to fail && echo the-last-words >&2 && exit 3\n", { contexts: ["science/x"] }),
    build("sci/bad-child", [`${repo}/sci/bad-child:1.0`], `FROM ${repo}/sci/bad:1.0\n`, { contexts: ["science/x"], dependsOn: ["sci/bad"] }),
    build("sci/bad-grandchild", [`${repo}/sci/bad-grandchild:1.0`], `FROM ${repo}/sci/bad-child:1.0\n`, { contexts: ["science/x"], dependsOn: ["sci/bad-child"] }),
    build("sci/ok", [`${repo}/sci/ok:1.0`], "FROM busybox:stable\nRUN echo fine\n", { contexts: ["science/ok"] }),
    build("sci/ok-child", [`${repo}/sci/ok-child:1.0`], `FROM ${repo}/sci/ok:1.0\nRUN echo fine too\n`, { contexts: ["science/ok"], dependsOn: ["sci/ok"] }),
  ];
  const result = await runPlan(makePlan(repo, builds), runOptions(src.root, out.stream, { logDir: logDir.path }));
  assert.is(result.ok, false);
  const by = Object.fromEntries(result.outcomes.map((o) => [o.id, o]));
  assert.is(by["sci/bad"].status, "failed");
  assert.match(by["sci/bad"].reason!, TEST_BUILDER === "classic" ? /returned a non-zero code: 3/ : /^\[2\/2\] RUN echo about to fail.*: .*exit code: 3/);
  assert.ok(by["sci/bad"].logTail!.some((l) => l.includes("the-last-words")), by["sci/bad"].logTail!.join("\n"));
  assert.is(by["sci/bad-child"].status, "skipped");
  assert.is(by["sci/bad-child"].reason, "parent sci/bad failed");
  assert.is(by["sci/bad-grandchild"].status, "skipped");
  assert.match(by["sci/bad-grandchild"].reason!, /sci\/bad failed/);
  assert.is(by["sci/ok"].status, "built");
  assert.is(by["sci/ok-child"].status, "built");
  const log = readFileSync(join(logDir.path, "sci_bad.log"), "utf8");
  assert.match(log, /about to fail/);
  assert.match(log, /the-last-words/);
  assert.match(log, /FAILED after .*(non-zero code|exit code): 3\n$/);
  assert.match(out.text(), /\[sci\/bad\] \| .*the-last-words/);
});

test("a RUN step printing a 20 MB line without a newline: the build completes, the line shown and logged cut, saying how much", async () => {
  const { registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  using logDir = tempDir("ib-logs-");
  const size = 20_000_000;
  // a marker unique to this run, so the step is never taken from the cache
  const marker = `big-${repo.split("/").pop()}`;
  const dockerfile = `FROM busybox:stable\nRUN echo ${marker} && busybox head -c ${size} /dev/zero | busybox tr '\\0' y\n`;
  const out = capture();
  const result = await runPlan(makePlan(repo, [build("sci/big", [`${repo}/sci/big:1.0`], dockerfile, { contexts: ["science/x"] })]),
    runOptions(src.root, out.stream, { logDir: logDir.path }));
  assert.ok(result.ok, out.text().slice(0, 2000));
  const text = out.text();
  // the 20 MB arrive as one line (classic, which goes on with its next message on the same line)
  // or clipped by BuildKit's own step log limit; either way the line is cut at 64 KiB here
  const cut = /y{65000,65536} \[… line cut: (\d+) more characters\]\n/.exec(text);
  assert.ok(cut, text.replace(/y{200,}/g, (y) => `<${y.length} y>`).slice(0, 3000));
  assert.ok(Number(cut[1]) > 0);
  if (TEST_BUILDER === "classic") assert.ok(Number(cut[1]) >= size - 65536, cut[1]);
  assert.ok(text.length < 1_000_000, `${text.length} characters of output`);
  const log = readFileSync(join(logDir.path, "sci_big.log"), "utf8");
  assert.match(log, /y{65000,65536} \[… line cut: \d+ more characters\]\n/);
  assert.ok(log.length < 1_000_000, `${log.length} characters of log`);
});

test("fail-fast cancels the build in flight and everything not started", async () => {
  const { registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const out = capture();
  const builds = [
    build("sci/slow", [`${repo}/sci/slow:1.0`], "FROM busybox:stable\nRUN sleep 41\n", { contexts: ["science/x"] }),
    build("sci/bad", [`${repo}/sci/bad:1.0`], "FROM busybox:stable\nRUN sleep 1; exit 1\n", { contexts: ["science/x"] }),
    build("sci/later", [`${repo}/sci/later:1.0`], "FROM busybox:stable\n", { contexts: ["science/x"] }),
  ];
  const t0 = Date.now();
  const result = await runPlan(makePlan(repo, builds), runOptions(src.root, out.stream, { jobs: 2, failFast: true, noCache: true }));
  // Waiting for the slow build takes at least its 41 s sleep; well under that shows it was
  // cancelled, however slowly a loaded machine starts the builds.
  assert.ok(Date.now() - t0 < 38_000, `fail-fast must not wait for the slow build (${Date.now() - t0} ms)`);
  assert.equal(result.outcomes.map((o) => o.status), ["cancelled", "failed", "cancelled"]);
  assert.match(result.outcomes[0].reason!, /sci\/bad failed/);
});

test("an abort signal stops builds in flight (the engine cancels them) and reports interrupted", async () => {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const out = capture();
  const ctl = new AbortController();
  // the step's shell carries a marker of this run in its command line: see processRunning
  const marker = `sleepy-${repo.split("/").pop()}`;
  const builds = [
    build("sci/sleepy", [`${repo}/sci/sleepy:1.0`], `FROM busybox:stable\nRUN sleep 43 && echo ${marker}\n`, { contexts: ["science/x"] }),
    build("sci/after", [`${repo}/sci/after:1.0`], `FROM ${repo}/sci/sleepy:1.0\n`, { contexts: ["science/x"], dependsOn: ["sci/sleepy"] }),
  ];
  const running = runPlan(makePlan(repo, builds), runOptions(src.root, out.stream, { signal: ctl.signal, noCache: true }));
  // abort once the RUN step's process runs, so that there is one for the engine to stop
  await waitFor(() => processRunning(marker), 120_000, () => `the RUN step never started:\n${out.text()}`);
  const seen = Date.now();
  ctl.abort();
  const result = await running;
  assert.is(result.interrupted, true);
  assert.is(result.ok, false);
  assert.equal(result.outcomes.map((o) => o.status), ["cancelled", "cancelled"]);
  // Had the run waited for the step, it would have ended 43 s after the step started, at least
  // ~42 s after it was seen: a bound this generous holds on a loaded machine and still fails.
  assert.ok(Date.now() - seen < 40_000, `the run ended ${Date.now() - seen} ms after the abort`);
  // closing the connection made the engine stop the RUN step (a container, under the classic builder)
  const stepLeft = async () => processRunning(marker) || (await docker.listContainers({ all: false })).some((c) => c.Command.includes(marker));
  await waitFor(async () => !(await stepLeft()), 30_000, () => "the build's RUN step is still running");
  assert.match(out.text(), /Interrupted/);
});

test("context and Dockerfile problems fail the build with the reason", async () => {
  const { registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const out = capture();
  const builds = [
    build("sci/nodir", [`${repo}/sci/nodir:1.0`], "FROM busybox:stable\n", { contexts: ["science/missing"] }),
    build("sci/badfile", [`${repo}/sci/badfile:1.0`], "FROM busybox:stable\nFROBNICATE now\n", { contexts: ["science/x"] }),
  ];
  const result = await runPlan(makePlan(repo, builds), runOptions(src.root, out.stream));
  assert.is(result.ok, false);
  assert.match(result.outcomes[0].reason!, /build context science\/missing is not a directory/);
  assert.match(result.outcomes[1].reason!, /unknown instruction:? FROBNICATE/i, result.outcomes[1].reason);
});

test("checkEngine: one line naming the address and DOCKER_HOST", async () => {
  const env = { DOCKER_HOST: "unix:///nonexistent/docker.sock" };
  try {
    await checkEngine(connectEngine(env), env);
    assert.unreachable("should have thrown");
  } catch (e) {
    const msg = (e as Error).message;
    assert.not.match(msg, /\n/);
    assert.match(msg, /unix:\/\/\/nonexistent\/docker\.sock/);
    assert.match(msg, /DOCKER_HOST=unix:\/\/\/nonexistent\/docker\.sock/);
  }
  const { docker } = requireEngine();
  const ok = await checkEngine({ docker, address: "test" });
  assert.ok(ok.version);
});

test("--no-cache runs every step again; --pull builds on the registry's base, not the engine's copy under its tag", async () => {
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const nonce = repo.split("/").pop();
  const run = async (b: ReturnType<typeof build>, extra: Partial<Parameters<typeof runOptions>[2]>) => {
    const out = capture();
    const result = await runPlan(makePlan(repo, [b]), runOptions(src.root, out.stream, extra));
    assert.ok(result.ok, out.text());
    return out.text();
  };
  const step = build("sci/step", [`${repo}/sci/step:1.0`], `FROM busybox:stable\nRUN echo ${nonce} > /n\n`, { contexts: ["science/x"] });
  await run(step, {});
  assert.match(await run(step, {}), cachedStep("RUN echo"));
  assert.not.match(await run(step, { noCache: true }), cachedStep("RUN echo"));

  // The registry has one base; the engine holds another under the same tag.
  const base = `${repo}/sci/base:1.0`;
  await run(build("sci/base", [base], "FROM busybox:stable\nRUN echo registry > /which\n", { contexts: ["science/x"] }), { push: true });
  await run(build("sci/stale", [base], "FROM busybox:stable\nRUN echo stale > /which\n", { contexts: ["science/x"] }), {});
  const child = (id: string) => build(id, [`${repo}/${id}:1.0`], `FROM ${base}\nRUN cp /which /seen\n`, { contexts: ["science/x"] });
  await run(child("sci/without-pull"), {});
  assert.is((await filesInImage(docker, `${repo}/sci/without-pull:1.0`, "/seen"))["seen"]?.content, "stale\n");
  await run(child("sci/with-pull"), { pull: true });
  assert.is((await filesInImage(docker, `${repo}/sci/with-pull:1.0`, "/seen"))["seen"]?.content, "registry\n");
});

test.run();
