import { test } from "uvu";
import * as assert from "uvu/assert";
import { choosePlatformEntry, indexPlatformToLoad, isAttestation, isIndexMediaType, parsePlatformTag, platformEntries, platformToExport } from "../../../../src/core/registry/image-index.js";

const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const image = (os: string, architecture: string, variant?: string) => ({ mediaType: MANIFEST, digest: `sha256:${os}${architecture}${variant ?? ""}`, size: 1, platform: { os, architecture, ...(variant ? { variant } : {}) } });
const attestation = (of: string) => ({
  mediaType: MANIFEST, digest: `sha256:att-${of}`, size: 1, platform: { os: "unknown", architecture: "unknown" },
  annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": of },
});

test("an index's platform images, in its order; attestation manifests, nested indexes and entries without a platform left out", () => {
  const entries = [
    image("linux", "amd64"), attestation("sha256:linuxamd64"), image("linux", "arm64", "v8"), attestation("sha256:linuxarm64v8"),
    { mediaType: "application/vnd.oci.image.index.v1+json", digest: "sha256:nested", platform: { os: "linux", architecture: "s390x" } },
    { mediaType: MANIFEST, digest: "sha256:noplatform" },
  ];
  assert.equal(platformEntries(entries).map((e) => [e.platform, e.entry.digest]), [["linux/amd64", "sha256:linuxamd64"], ["linux/arm64/v8", "sha256:linuxarm64v8"]]);
  // An attestation says so by its annotation even with a platform, or by unknown/unknown without one.
  assert.ok(isAttestation({ ...attestation("x"), platform: { os: "linux", architecture: "amd64" } }));
  assert.ok(isAttestation({ digest: "sha256:x", platform: { os: "unknown", architecture: "unknown" } }));
  assert.not.ok(isAttestation(image("linux", "amd64")));
  assert.ok(isIndexMediaType("application/vnd.docker.distribution.manifest.list.v2+json"));
  assert.not.ok(isIndexMediaType(MANIFEST));
});

test("a platform is chosen as containerd compares them (linux/arm64/v8 is linux/arm64); a missing one names what the index has", () => {
  const images = platformEntries([image("linux", "amd64"), image("linux", "arm64", "v8")]);
  assert.is(choosePlatformEntry(images, "linux/arm64", "h/x:1").entry.digest, "sha256:linuxarm64v8");
  assert.throws(() => choosePlatformEntry(images, "linux/s390x", "h/x:1"), (e: Error) => e.name === "InputError" && e.message === "h/x:1 has no linux/s390x image (it has: linux/amd64, linux/arm64/v8)");
});

test("platform tags: a build or moving tag with a platform appended; anything else is not one", () => {
  assert.equal(parsePlatformTag("1.0-7-3f2a9c1-linux-arm64"), { tag: "1.0-7-3f2a9c1", platform: "linux/arm64" });
  assert.equal(parsePlatformTag("2.4-linux-amd64"), { tag: "2.4", platform: "linux/amd64" });
  assert.equal(parsePlatformTag("1.0-7-3f2a9c1-linux-arm-v7"), { tag: "1.0-7-3f2a9c1", platform: "linux/arm/v7" });
  for (const tag of ["1.0-7-3f2a9c1", "2.4", "latest-linux-amd64", "1.0-7-3f2a9c1-foo-arm64", `sha256-${"a".repeat(64)}.sig`, "1.0-linux"]) {
    assert.is(parsePlatformTag(tag), undefined, tag);
  }
});

test("run --base-archive of an index: the plan's one platform, else the engine's; several, or one the file lacks, refused naming the file", () => {
  const available = ["linux/amd64", "linux/arm64"];
  assert.is(indexPlatformToLoad(["linux/arm64"], undefined, available, "f.tar"), "linux/arm64");
  assert.is(indexPlatformToLoad([], "linux/amd64", available, "f.tar"), "linux/amd64");
  assert.is(indexPlatformToLoad(["linux/arm64"], undefined, ["linux/amd64", "linux/arm64/v8"], "f.tar"), "linux/arm64/v8");
  assert.throws(() => indexPlatformToLoad(available, undefined, available, "f.tar"),
    (e: Error & { file?: string }) => e.file === "f.tar" && /the plan builds for linux\/amd64, linux\/arm64: the engine holds one image per tag.*run PLAN --platform P --base-archive FILE/.test(e.message));
  assert.throws(() => indexPlatformToLoad(["linux/s390x"], undefined, available, "f.tar"), /f\.tar has no linux\/s390x image \(it has: linux\/amd64, linux\/arm64\)/);
});

test("export of an index: a docker-archive of a one-platform index (an image with its attestations) is its platform's image; of several platforms only with --platform; oci writes the whole index", () => {
  // platformEntries has left the attestation manifests out: an image published with attestations has one platform.
  assert.is(platformToExport(["linux/amd64"], undefined, "docker-archive", "r/x:1.0"), "linux/amd64");
  assert.is(platformToExport(["linux/amd64"], undefined, "oci", "r/x:1.0"), undefined);
  assert.is(platformToExport(["linux/amd64", "linux/arm64"], undefined, "oci", "r/x:1.0"), undefined);
  assert.throws(() => platformToExport(["linux/amd64", "linux/arm64"], undefined, "docker-archive", "r/x:1.0"),
    (e: Error) => e.name === "InputError" && e.message === "r/x:1.0 is a multi-platform image (linux/amd64, linux/arm64): a docker-archive holds one platform; pass --platform P, or --format oci for the whole index");
  // --platform as containerd compares them, answered in the index's own spelling; one it lacks is named with what it has.
  assert.is(platformToExport(["linux/amd64", "linux/arm64/v8"], "linux/arm64", "docker-archive", "r/x:1.0"), "linux/arm64/v8");
  assert.is(platformToExport(["linux/amd64", "linux/arm64"], "linux/arm64", "oci", "r/x:1.0"), "linux/arm64");
  assert.throws(() => platformToExport(["linux/amd64"], "linux/s390x", "docker-archive", "r/x:1.0"), /r\/x:1\.0 has no linux\/s390x image \(it has: linux\/amd64\)/);
  assert.throws(() => platformToExport([], undefined, "docker-archive", "r/x:1.0"), /an index without platform images/);
});

test.run();
