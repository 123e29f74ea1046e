// Choosing the builder (BuildKit or classic) and the build network.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chooseBuilder, defaultNetworkMode, requestedBuilder } from "../../../../src/core/requests/builder-choice.js";

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

test.run();
