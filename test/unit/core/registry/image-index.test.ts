import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  entryPlatformOf, imageOfPlatform, imageShownFor, indexPlatformToLoad, isAttestation, isIndexMediaType, parsePlatformTag, platformEntries, platformEntryOf, platformOfEntry, platformToExport,
} from "../../../../src/core/registry/image-index.js";
import { InputError } from "../../../../src/core/model.js";
import type { Descriptor } from "../../../../src/core/registry/image-index.js";

const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const image = (os: string, architecture: string, variant?: string) => ({ mediaType: MANIFEST, digest: `sha256:${os}${architecture}${variant ?? ""}`, size: 1, platform: { os, architecture, ...(variant ? { variant } : {}) } });
const attestation = (of: string) => ({
  mediaType: MANIFEST, digest: `sha256:att-${of}`, size: 1, platform: { os: "unknown", architecture: "unknown" },
  annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": of },
});

test("an index's platform images, in its order; attestation manifests, nested indexes and entries without a platform left out", () => {
  const entries = [
    image("linux", "amd64"), attestation("sha256:linuxamd64"), image("linux", "arm64", "v8"), attestation("sha256:linuxarm64v8"),
    { mediaType: "application/vnd.oci.image.index.v1+json", digest: "sha256:nested", size: 1, platform: { os: "linux", architecture: "s390x" } },
    { mediaType: MANIFEST, digest: "sha256:noplatform", size: 1 },
  ];
  assert.equal(platformEntries(entries).map((e) => [e.platform, e.entry.digest]), [["linux/amd64", "sha256:linuxamd64"], ["linux/arm64/v8", "sha256:linuxarm64v8"]]);
  // An attestation says so by its annotation even with a platform, or by unknown/unknown without one.
  assert.ok(isAttestation({ ...attestation("x"), platform: { os: "linux", architecture: "amd64" } }));
  assert.ok(isAttestation({ platform: { os: "unknown", architecture: "unknown" } }));
  assert.not.ok(isAttestation(image("linux", "amd64")));
  assert.ok(isIndexMediaType("application/vnd.docker.distribution.manifest.list.v2+json"));
  assert.not.ok(isIndexMediaType(MANIFEST));
});

// The one rule every reader of an index chooses a platform's image by (the registry client, what
// a tag holds, archives, the index step). Before it, the registry client (getManifest, getImage:
// sbom, diff, verify's parents, merge-platforms, the index step) had a rule of its own; each
// difference it made is a test below.
const HOST = "linux/amd64";
const choose = (entries: Descriptor[], wanted: string | undefined) => imageOfPlatform(platformEntries(entries), wanted, "h/x:1", HOST)?.entry.digest;
const refusal = (message: string) => (e: unknown) => e instanceof InputError && e.message === message;

test("a platform asked for: the index's image of it, as containerd compares them (linux/arm64/v8 is linux/arm64); one it lacks names what it has", () => {
  const entries = [attestation("sha256:linuxamd64"), image("linux", "amd64"), image("linux", "arm64", "v8"), image("linux", "arm", "v7")];
  assert.is(choose(entries, "linux/arm64"), "sha256:linuxarm64v8");
  assert.is(choose(entries, "linux/arm/v7"), "sha256:linuxarmv7");
  assert.is(choose(entries, "linux/arm"), "sha256:linuxarmv7", "linux/arm is linux/arm/v7");
  assert.throws(() => choose(entries, "linux/s390x"), refusal("h/x:1 has no linux/s390x image (it has: linux/amd64, linux/arm64/v8, linux/arm/v7)"));
  // An attestation manifest that names its image's platform (and says what it is in its annotation) is no image of it.
  const named = { ...attestation("sha256:linuxamd64"), platform: { os: "linux", architecture: "amd64" } };
  assert.is(choose([named, image("linux", "amd64")], "linux/amd64"), "sha256:linuxamd64");
  assert.is(choose([named, image("linux", "amd64")], undefined), "sha256:linuxamd64");
});

test("an index's image of a platform, or none, without refusing (a put-back that finds none leaves the tags alone)", () => {
  const entries = [attestation("sha256:linuxamd64"), image("linux", "amd64"), image("linux", "arm64", "v8")];
  assert.is(platformEntryOf(entries, "linux/arm64")?.digest, "sha256:linuxarm64v8");
  assert.is(platformEntryOf(entries, "linux/amd64")?.digest, "sha256:linuxamd64");
  assert.is(platformEntryOf(entries, "linux/s390x"), undefined);
  assert.is(platformEntryOf([attestation("sha256:linuxamd64")], "linux/amd64"), undefined);
});

test("difference: linux/arm64/v8 asked of an index listing linux/arm64 (a parent's index, for verify) is its arm64 image; the registry client refused it", () => {
  assert.is(choose([image("linux", "amd64"), image("linux", "arm64")], "linux/arm64/v8"), "sha256:linuxarm64");
  assert.is(choose([image("linux", "arm")], "linux/arm/v7"), "sha256:linuxarm", "an entry's missing arm variant is v7");
  assert.is(choose([image("linux", "arm64")], "linux/aarch64"), "sha256:linuxarm64", "uname -m's name");
});

test("difference: a platform asked without a variant is not any variant of it (the registry client took linux/arm/v6 for linux/arm, linux/amd64/v3 for linux/amd64)", () => {
  assert.throws(() => choose([image("linux", "arm", "v6")], "linux/arm"), refusal("h/x:1 has no linux/arm image (it has: linux/arm/v6)"));
  assert.throws(() => choose([image("linux", "amd64", "v3")], "linux/amd64"), refusal("h/x:1 has no linux/amd64 image (it has: linux/amd64/v3)"));
});

test("no platform asked: this machine's where the index has it, as containerd compares them (the registry client took the first entry of its architecture, linux/amd64/v2 before linux/amd64)", () => {
  assert.is(choose([image("linux", "arm64"), image("linux", "amd64")], undefined), "sha256:linuxamd64");
  assert.is(choose([image("linux", "amd64", "v2"), image("linux", "amd64")], undefined), "sha256:linuxamd64");
  assert.is(imageOfPlatform(platformEntries([image("linux", "amd64"), image("linux", "arm64", "v8")]), undefined, "h/x:1", "linux/arm64")?.entry.digest, "sha256:linuxarm64v8");
});

test("difference: no platform asked of an index without this machine's: its one image, but several are bad input naming them (the client, inspect and archives took the first; export to a docker-archive refused)", () => {
  assert.is(choose([attestation("sha256:linuxs390x"), image("linux", "s390x")], undefined), "sha256:linuxs390x");
  assert.throws(() => choose([image("linux", "arm64"), image("linux", "s390x")], undefined),
    refusal("h/x:1 is a multi-platform image (linux/arm64, linux/s390x) without this machine's platform (linux/amd64): pass --platform P"));
});

test("difference: an index without platform images has no image of any platform, asked or not, for the caller to report as broken (the registry client called it bad input when a platform was asked: 'it has: none')", () => {
  const none = [attestation("sha256:gone"), { mediaType: MANIFEST, digest: "sha256:noplatform", size: 1 }];
  assert.is(choose(none, "linux/amd64"), undefined);
  assert.is(choose(none, undefined), undefined, "an entry without a platform is no platform's image (the registry client chose it when nothing else was there)");
});

test("the image standing for a whole index in a row (images, inspect): the one chosen without a platform asked, else the index's first", () => {
  const shown = (entries: Descriptor[]) => imageShownFor(platformEntries(entries), HOST)?.entry.digest;
  assert.is(shown([image("linux", "arm64"), image("linux", "amd64")]), "sha256:linuxamd64");
  assert.is(shown([image("linux", "arm64"), image("linux", "s390x")]), "sha256:linuxarm64");
  assert.is(shown([]), undefined);
});

test("an entry's platform and back: platformOfEntry reads os/arch[/variant], entryPlatformOf writes it in OCI's key order", () => {
  assert.is(platformOfEntry(image("linux", "arm", "v7")), "linux/arm/v7");
  assert.is(platformOfEntry({ platform: { os: "linux" } }), undefined);
  assert.is(platformOfEntry({}), undefined);
  assert.equal(entryPlatformOf("linux/arm/v7"), { architecture: "arm", os: "linux", variant: "v7" });
  assert.equal(JSON.stringify(entryPlatformOf("linux/amd64")), '{"architecture":"amd64","os":"linux"}');
  for (const p of ["linux/amd64", "linux/arm64/v8"]) assert.is(platformOfEntry({ platform: entryPlatformOf(p) }), p);
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
