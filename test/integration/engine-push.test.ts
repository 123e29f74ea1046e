// Pushing with the Docker Engine executor, checked through the registries' HTTP API.
import { isManifestPut, startFaultProxy } from "../helpers/fault-proxy.js";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { RunOutcome } from "../../src/executors/docker/index.js";
import { build, capture, makePlan, registryImage, registryTags, requireEngine, runOptions, runPlan, stepLine, uniqueRepo } from "../helpers/engine.js";
import { makeRepo } from "../helpers/repo.js";
import { dockerConfigDir } from "../helpers/registry.js";
import { deferred, tempDir } from "../helpers/temp.js";

/** Fails if a credential shows up anywhere the run wrote or returned. */
function assertNoSecrets(secrets: string[], out: string, result: RunOutcome, logDir?: string): void {
  const places: [string, string][] = [["output", out], ["outcomes", JSON.stringify(result)]];
  if (logDir) for (const f of readdirSync(logDir)) places.push([`log ${f}`, readFileSync(join(logDir, f), "utf8")]);
  for (const [where, text] of places) for (const s of secrets) assert.not.ok(text.includes(s), `credential leaked into ${where}`);
}

test("a failing RUN mid-DAG: independent chain built and pushed, nothing of the failed chain pushed", async () => {
  const { registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const out = capture();
  const ok = build("sci/ok", [`${repo}/sci/ok:1.0`, `${repo}/sci/ok:1.0-7-abc1234`], "FROM busybox:stable\nRUN echo ok > /ok\n", { contexts: ["science/x"] });
  ok.request.labels = { "org.sciserver.science.ok.version": "1.0-7-abc1234" };
  const builds = [
    ok,
    build("rel/ok", [`${repo}/rel/ok:1.0`], `FROM ${repo}/sci/ok:1.0\nRUN echo rel > /rel\n`, { contexts: ["science/x"], dependsOn: ["sci/ok"] }),
    build("sci/bad", [`${repo}/sci/bad:1.0`], "FROM busybox:stable\nRUN exit 1\n", { contexts: ["science/x"] }),
    build("rel/bad", [`${repo}/rel/bad:1.0`], `FROM ${repo}/sci/bad:1.0\n`, { contexts: ["science/x"], dependsOn: ["sci/bad"] }),
  ];
  const result = await runPlan(makePlan(repo, builds), runOptions(src.root, out.stream, { push: true }));
  assert.is(result.ok, false);
  const by = Object.fromEntries(result.outcomes.map((o) => [o.id, o]));
  assert.equal([by["sci/ok"].status, by["rel/ok"].status, by["sci/bad"].status, by["rel/bad"].status], ["built", "built", "failed", "skipped"]);
  assert.ok(by["sci/ok"].pushed && by["rel/ok"].pushed);
  assert.not.ok(by["sci/bad"].pushed || by["rel/bad"].pushed);

  assert.equal(await registryTags(`${repo}/sci/ok`), ["1.0", "1.0-7-abc1234"]);
  assert.equal(await registryTags(`${repo}/rel/ok`), ["1.0"]);
  assert.equal(await registryTags(`${repo}/sci/bad`), []);
  assert.equal(await registryTags(`${repo}/rel/bad`), []);

  // the digest recorded is the one the registry serves, and the labels went along
  const landed = await registryImage(`${repo}/sci/ok:1.0-7-abc1234`);
  assert.is(by["sci/ok"].outputs!["docker-image-digests"]![`${repo}/sci/ok:1.0-7-abc1234`], landed.digest);
  assert.is(landed.labels["org.sciserver.science.ok.version"], "1.0-7-abc1234");
  assert.not.match(out.text(), /built but not pushed/);
});

test("push order: each image's build tag lands before its moving tag, and a parent's before its child's", async () => {
  const { registry } = requireEngine();
  // Nothing refused: the proxy only records the order in which the manifests reach the registry.
  await using proxy = await startFaultProxy(registry, () => undefined);
  const repo = uniqueRepo(proxy.address);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const out = capture();
  const tags = (name: string) => [`${repo}/${name}:1.0`, `${repo}/${name}:1.0-7-abc1234`];
  const builds = [
    build("sci/p", tags("sci/p"), "FROM busybox:stable\nRUN echo p > /p\n", { contexts: ["science/x"] }),
    build("sci/c", tags("sci/c"), `FROM ${repo}/sci/p:1.0\nRUN cat /p\n`, { contexts: ["science/x"], dependsOn: ["sci/p"] }),
  ];
  const result = await runPlan(makePlan(repo, builds), runOptions(src.root, out.stream, { push: true }));
  assert.ok(result.ok, out.text());
  const path = repo.slice(repo.indexOf("/") + 1);
  const puts = proxy.forwarded.filter((r) => r.startsWith("PUT ") && r.includes("/manifests/"))
    .map((r) => r.slice(r.indexOf(`/v2/${path}/`) + `/v2/${path}/`.length).replace("/manifests/", ":"));
  assert.equal(puts, ["sci/p:1.0-7-abc1234", "sci/p:1.0", "sci/c:1.0-7-abc1234", "sci/c:1.0"]);
});

test("a child is not pushed when its parent's push failed: the registry never holds it without its parent", async () => {
  const { registry } = requireEngine();
  // The registry refuses the parent's manifests (through a fault proxy); the child's land.
  await using proxy = await startFaultProxy(registry, (req) => (/\/sci\/p\/manifests\//.test(req.url ?? "") && req.method === "PUT" ? 403 : undefined));
  const repo = uniqueRepo(proxy.address);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const out = capture();
  const parentTag = `${repo}/sci/p:1.0`;
  const builds = [
    build("sci/p", [parentTag], "FROM busybox:stable\nRUN echo p > /p\n", { contexts: ["science/x"] }),
    build("sci/c", [`${repo}/sci/c:1.0`], `FROM ${parentTag}\nRUN cat /p\n`, { contexts: ["science/x"], dependsOn: ["sci/p"] }),
    build("sci/other", [`${repo}/sci/other:1.0`], "FROM busybox:stable\n", { contexts: ["science/x"] }),
  ];
  const result = await runPlan(makePlan(repo, builds), runOptions(src.root, out.stream, { push: true }));
  assert.is(result.ok, false);
  const by = Object.fromEntries(result.outcomes.map((o) => [o.id, o]));
  assert.equal(result.outcomes.map((o) => [o.id, o.status, o.pushed]), [["sci/p", "built", false], ["sci/c", "built", false], ["sci/other", "built", true]]);
  assert.match(by["sci/p"].reason!, /denied|refused/i);
  assert.is(by["sci/c"].reason, "not pushed: parent sci/p was not pushed");
  const direct = repo.replace(proxy.address, registry);
  assert.equal(await registryTags(`${direct}/sci/c`), []);
  assert.equal(await registryTags(`${direct}/sci/other`), ["1.0"]);
  assert.match(out.text(), /\[sci\/c\] not pushed: parent sci\/p was not pushed/);
  assert.match(out.text(), /3 built, 1 push failed, 1 not pushed/);
});

test("a moving tag the registry stored but whose reply was lost is recorded as pushed: what the registry holds is read back", async () => {
  const { registry } = requireEngine();
  // The registry stores every PUT of a moving tag's manifest; the proxy loses its reply.
  await using proxy = await startFaultProxy(registry, (req) => (isManifestPut(req, /^1\.0$/) ? { dropReply: true } : undefined));
  const repo = uniqueRepo(proxy.address);
  using src = makeRepo({ "science/x/f": "x" }, false);
  const out = capture();
  const tags = [`${repo}/sci/p:1.0`, `${repo}/sci/p:1.0-7-abc1234`];
  const builds = [build("sci/p", tags, "FROM busybox:stable\nRUN echo p > /p\n", { contexts: ["science/x"] })];
  const result = await runPlan(makePlan(repo, builds), runOptions(src.root, out.stream, { push: true }));
  assert.ok(proxy.dropped.length > 0, "no reply was lost");
  const landed = await registryImage(`${repo.replace(proxy.address, registry)}/sci/p:1.0`);
  const o = result.outcomes[0];
  assert.equal(o.tags, [{ tag: tags[1], pushed: true, digest: landed.digest }, { tag: tags[0], pushed: true, digest: landed.digest }], out.text());
  assert.ok(o.pushed && result.ok, out.text());
  assert.equal(o.outputs?.["docker-image-digests"], { [tags[1]]: landed.digest, [tags[0]]: landed.digest });
  // The moving tag is written by the registry client, with the very manifest under the build tag.
  assert.match(out.text(), `the write of ${tags[0]} reported an error, but the registry holds this image under it`);
});

test("a registry that can't be asked about a build tag refuses the run before anything is built", async () => {
  const { docker } = requireEngine();
  const repo = `127.0.0.1:9/t-${Date.now()}`;
  using src = makeRepo({ "science/x/f": "x" }, false);
  const out = capture();
  const builds = [build("sci/p", [`${repo}/sci/p:1.0`], "FROM busybox:stable\nRUN echo p > /p\n", { contexts: ["science/x"] })];
  const refused = await runPlan(makePlan(repo, builds), runOptions(src.root, out.stream, { push: true })).then(() => undefined, (e: Error) => e);
  // The run does not start: its check before building anything asks the registry.
  assert.match(refused?.message ?? "", /cannot check 127\.0\.0\.1:9\/.*sci\/p:1\.0 in the registry before pushing/);
  // refused before building: no step ran, no image under the tag
  assert.not.match(out.text(), stepLine("RUN"));
  assert.not.ok(await docker.getImage(`${repo}/sci/p:1.0`).inspect().then(() => true, () => false), "an image was built");
});

test("auth registry: without credentials the push fails clearly; with a config.json auths entry it lands", async () => {
  const { authRegistry, authUser, authPass } = requireEngine();
  const repo = uniqueRepo(authRegistry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  using empty = dockerConfigDir({});
  const b64 = Buffer.from(`${authUser}:${authPass}`).toString("base64");
  using withAuth = dockerConfigDir({ auths: { [`http://${authRegistry}/v1/`]: { auth: b64 } } });
  using logDir = tempDir("ib-logs-");
  const plan = makePlan(repo, [build("sci/a", [`${repo}/sci/a:1.0`], "FROM busybox:stable\nRUN echo a > /a\n", { contexts: ["science/x"] })]);

  const out1 = capture();
  const denied = await runPlan(plan, runOptions(src.root, out1.stream, { push: true, dockerConfigDir: empty.dir })).then(() => undefined, (e: Error) => e);
  // The registry is asked about the build tag before building anything, and refuses without credentials.
  assert.match(denied?.message ?? "", /requires credentials and the docker config \S+ has none for it/);
  assert.ok(denied!.message.includes(authRegistry), denied!.message);
  assert.equal(await registryTags(`${repo}/sci/a`, [authUser, authPass]), []);

  const out2 = capture();
  const pushed = await runPlan(plan, runOptions(src.root, out2.stream, { push: true, dockerConfigDir: withAuth.dir, logDir: logDir.path }));
  assert.ok(pushed.ok, out2.text());
  assert.ok(pushed.outcomes[0].pushed);
  assert.equal(await registryTags(`${repo}/sci/a`, [authUser, authPass]), ["1.0"]);
  assertNoSecrets([authPass, b64], out2.text(), pushed, logDir.path);
});

test("auth registry: credential helper for push, and X-Registry-Config to pull a base during a build", async () => {
  const { docker, authRegistry, authUser, authPass } = requireEngine();
  const repo = uniqueRepo(authRegistry);
  using src = makeRepo({ "science/x/f": "x" }, false);
  using bin = tempDir("ib-bin-");
  const savedPath = process.env.PATH;
  // docker-credential-<name> protocol: server on stdin, JSON on stdout
  const helper = join(bin.path, "docker-credential-ibtest");
  writeFileSync(helper, `#!/bin/sh\nread server\nprintf '{"ServerURL":"%s","Username":"${authUser}","Secret":"${authPass}"}' "$server"\n`);
  chmodSync(helper, 0o755);
  using config = dockerConfigDir({ credHelpers: { [authRegistry]: "ibtest" } });
  using logDir = tempDir("ib-logs-");
  process.env.PATH = `${bin.path}:${savedPath}`;
  using _restorePath = deferred(() => { process.env.PATH = savedPath; });
  // a base unique to this run: a warm engine's layer cache can neither supply it nor skip the child's RUN
  const marker = `base-${repo.split("/").pop()}`;
  const base = build("sci/base", [`${repo}/sci/base:1.0`], `FROM busybox:stable\nRUN echo ${marker} > /base\n`, { contexts: ["science/x"] });
  const out1 = capture();
  const first = await runPlan(makePlan(repo, [base]), runOptions(src.root, out1.stream, { push: true, dockerConfigDir: config.dir }));
  assert.ok(first.ok, out1.text());
  assert.equal(await registryTags(`${repo}/sci/base`, [authUser, authPass]), ["1.0"]);

  // only the registry has the base now: the build must pull it with the helper's credentials
  await docker.getImage(`${repo}/sci/base:1.0`).remove();
  const child = build("sci/child", [`${repo}/sci/child:1.0`], `FROM ${repo}/sci/base:1.0\nRUN cat /base\n`, { contexts: ["science/x"] });
  const out2 = capture();
  const second = await runPlan(makePlan(repo, [child]), runOptions(src.root, out2.stream, { dockerConfigDir: config.dir, logDir: logDir.path }));
  assert.ok(second.ok, out2.text());
  // a RUN step's output line: `[id] line` (classic), `[id] #n line` (BuildKit)
  assert.match(out2.text(), new RegExp(`\\[sci/child\\] (#\\d+ )?${marker}\\n`), out2.text());
  assertNoSecrets([authPass], out1.text() + out2.text(), second, logDir.path);
});

test("build args and a pushed image's config: labels and env as the registry serves them", async () => {
  const { registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({}, false);
  mkdirSync(join(src.root, "science/x"), { recursive: true });
  const out = capture();
  const b = build("sci/env", [`${repo}/sci/env:2.0`], "FROM busybox:stable\nARG VERSION\nENV IMAGE_VERSION=$VERSION\n", { contexts: ["science/x"] });
  b.request.labels = { "org.sciserver.science.env.buildtime": "1700000001" };
  const result = await runPlan(makePlan(repo, [b]), runOptions(src.root, out.stream, { push: true, buildArgs: { VERSION: "2.0-7" } }));
  assert.ok(result.ok, out.text());
  const landed = await registryImage(`${repo}/sci/env:2.0`);
  assert.ok(landed.env.includes("IMAGE_VERSION=2.0-7"), landed.env.join(" "));
  // the executor sets when the image was built, whatever the plan said
  assert.match(landed.labels["org.sciserver.science.env.buildtime"], /^\d{10}\.\d{3}$/);
  assert.is.not(landed.labels["org.sciserver.science.env.buildtime"], "1700000001");
});

test.run();
