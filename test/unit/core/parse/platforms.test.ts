// Platforms as the command line gives them, and what they mean to tags and FROM lines.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { idWithPlatform, parsePlatformFlag, platformArgs, platformTagSuffix } from "../../../../src/core/parse/platforms.js";
import { InputError } from "../../../../src/core/model.js";

test("--platform takes a comma-separated list, checked like the declared ones", () => {
  assert.equal(parsePlatformFlag("linux/amd64, linux/arm64"), ["linux/amd64", "linux/arm64"]);
  assert.throws(() => parsePlatformFlag("linux/amd64,arm64"), (e: unknown) => e instanceof InputError && /^--platform: invalid platform "arm64"/.test((e as Error).message));
  assert.throws(() => parsePlatformFlag(""), (e: unknown) => e instanceof InputError);
});

test("a platform becomes a tag suffix, the TARGET* args of FROM lines and an id suffix", () => {
  assert.is(platformTagSuffix("linux/arm/v7"), "linux-arm-v7");
  assert.equal(platformArgs("linux/arm64"), { TARGETPLATFORM: "linux/arm64", TARGETOS: "linux", TARGETARCH: "arm64", TARGETVARIANT: "" });
  assert.equal(platformArgs(undefined), {});
  assert.is(idWithPlatform("sci/x", "linux/arm64"), "sci/x@linux/arm64");
  assert.is(idWithPlatform("sci/x", undefined), "sci/x");
});

test.run();
