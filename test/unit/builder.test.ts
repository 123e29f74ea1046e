import { InputError } from "../../src/core/model.js";
import { parseSecretFlag } from "../../src/core/parse/secret-flag.js";
// Choosing the builder, BuildKit's cache sources, and BuildKit's status messages as the run shows them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chooseBuilder, defaultNetworkMode, requestedBuilder } from "../../src/core/requests/builder-choice.js";
import { registryCacheSources } from "../../src/core/requests/buildkit-cache.js";
import { BuildkitProgress } from "../../src/executors/docker/buildkit-progress.js";
import { decodeStatus, encodeStatus } from "../../src/executors/docker/buildkit-status.js";
import type { BuildRequest } from "../../src/core/model.js";

const debian = { version: "20.10.24+dfsg1", apiVersion: "1.41", os: "linux" };

test("auto picks BuildKit from API 1.39 on Linux, the classic builder otherwise, and says why", () => {
  assert.is(chooseBuilder("auto", debian).builder, "buildkit");
  assert.is(chooseBuilder("auto", { version: "18.09.0", apiVersion: "1.39", os: "linux" }).builder, "buildkit");
  const old = chooseBuilder("auto", { version: "18.06.1", apiVersion: "1.38", os: "linux" });
  assert.is(old.builder, "classic");
  assert.match(old.reason, /predates BuildKit/);
  assert.is(chooseBuilder("auto", { ...debian, os: "windows" }).builder, "classic");
  assert.is(chooseBuilder("classic", debian).builder, "classic");
  assert.throws(() => chooseBuilder("buildkit", { ...debian, os: "windows" }), /--builder buildkit: a Windows engine has no BuildKit/);
});

test("--builder wins over DOCKER_BUILDKIT, which wins over auto", () => {
  assert.is(requestedBuilder("classic", "1"), "classic");
  assert.is(requestedBuilder(undefined, "0"), "classic");
  assert.is(requestedBuilder(undefined, "1"), "buildkit");
  assert.is(requestedBuilder(undefined, undefined), "auto");
  assert.throws(() => requestedBuilder(undefined, "maybe"), /DOCKER_BUILDKIT=maybe/);
});

test("network: the engine's default when it has one, else none", () => {
  assert.is(defaultNetworkMode(["bridge", "host", "none"]), undefined);
  assert.is(defaultNetworkMode(["host", "none"]), "none");
});

test("registry cache: the request's moving tag and this repository's images it builds on", () => {
  const request: BuildRequest = {
    command: [], contexts: [], buildArgs: { BASE: "r.example/x/sci/base:1.0" }, labels: {}, imageRewrites: {},
    inputsDigest: "sha256:0", inputs: { context: "", parents: {} },
    tags: ["r.example/x/sci/child:2.0", "r.example/x/sci/child:2.0-7-abc1234"],
    dockerfile: "ARG BASE\nFROM busybox:stable AS tools\nFROM $BASE\nCOPY --from=r.example/x/sci/other:1.1 /a /a\n",
  };
  assert.equal(registryCacheSources(request, "r.example/x", {}),
    ["r.example/x/sci/child:2.0", "r.example/x/sci/base:1.0", "r.example/x/sci/other:1.1"]);
});

test("a StatusResponse survives encoding and decoding", () => {
  const status = decodeStatus(encodeStatus({
    vertexes: [{ digest: "sha256:a", inputs: [], name: "[1/2] FROM busybox", cached: true, started: 1_700_000_000_000, completed: 1_700_000_000_250, error: "" }],
    logs: [{ vertex: "sha256:a", stream: 1, msg: Buffer.from("hello\n") }],
  }));
  assert.is(status.vertexes[0].name, "[1/2] FROM busybox");
  assert.is(status.vertexes[0].completed, 1_700_000_000_250);
  assert.is(status.logs[0].msg.toString(), "hello\n");
  assert.equal(status.statuses, []);
});

test("BuildKit progress: numbered steps, their output, CACHED, DONE with duration, the failing step", () => {
  const lines: string[] = [];
  const p = new BuildkitProgress((l) => lines.push(l));
  const t = 1_700_000_000_000;
  const v = (digest: string, name: string, extra: object) => ({ digest, inputs: [], name, cached: false, started: t, completed: undefined, error: "", ...extra });
  p.update(decodeStatus(encodeStatus({ vertexes: [v("a", "[1/3] FROM busybox", { cached: true, completed: t }), v("b", "[2/3] RUN make", {})] })));
  assert.is(p.state(), "1/2 steps, 1 cached: [2/3] RUN make");
  p.update(decodeStatus(encodeStatus({ logs: [{ vertex: "b", stream: 1, msg: Buffer.from("compiling\npart") }] })));
  p.update(decodeStatus(encodeStatus({ logs: [{ vertex: "b", stream: 2, msg: Buffer.from("ial\n") }] })));
  p.update(decodeStatus(encodeStatus({ vertexes: [v("b", "[2/3] RUN make", { completed: t + 1500 }), v("c", "[3/3] RUN false", { completed: t + 1600, error: "exit code: 1" })] })));
  assert.equal(lines, ["#1 [1/3] FROM busybox", "#1 CACHED", "#2 [2/3] RUN make", "#2 compiling", "#2 partial", "#2 DONE 1.5s",
    "#3 [3/3] RUN false", "#3 ERROR: exit code: 1"]);
  assert.is(p.failedStep("executor failed running [/bin/sh -c false]: exit code: 1"), "[3/3] RUN false");
});

test("--secret id=ID,src=FILE or env=VAR, as docker build spells it", () => {
  assert.equal(parseSecretFlag("id=tok,src=/run/tok.txt"), { id: "tok", file: "/run/tok.txt" });
  assert.equal(parseSecretFlag("id=tok,source=f,type=file"), { id: "tok", file: "f" });
  assert.equal(parseSecretFlag("id=TOKEN,env=MY_TOKEN"), { id: "TOKEN", env: "MY_TOKEN" });
  assert.equal(parseSecretFlag("id=tok"), { id: "tok", file: "tok" });
  for (const bad of ["tok", "src=f", "id=t,src=f,env=E", "id=t,colour=red", "id=t,type=ssh"]) {
    assert.throws(() => parseSecretFlag(bad), (e: Error) => e instanceof InputError && e.message.startsWith(`--secret ${bad}`));
  }
});

test.run();
