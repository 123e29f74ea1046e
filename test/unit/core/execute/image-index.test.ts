import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  decideIndexBuildTag, decideIndexedImagePutBack, decideIndexMovingTag, imageIndex, indexLayers, indexLayersParentsFirst, indexNotWritten, missingPlatformImage, parentIndexLayers, singlePlatformIndexes,
} from "../../../../src/core/execute/image-index.js";
import type { PlannedBuild } from "../../../../src/core/model.js";
import { entryPlatformOf } from "../../../../src/core/registry/image-index.js";

const REPO = "reg.example:5000/ci";
const request = (name: string, platform?: string) => {
  const suffix = platform ? `-${platform.split("/").join("-")}` : "";
  return { tags: [`${REPO}/${name}:1.0${suffix}`, `${REPO}/${name}:1.0-7-abc${suffix}`], ...(platform ? { platform } : {}) };
};
const build = (id: string, name: string, platform?: string) => ({ id: platform ? `${id}@${platform}` : id, request: request(name, platform) as PlannedBuild["request"] });

const amd = { mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: `sha256:${"a".repeat(64)}`, size: 528, platform: entryPlatformOf("linux/amd64") };
const arm = { mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: `sha256:${"b".repeat(64)}`, size: 530, platform: entryPlatformOf("linux/arm64") };

test("a layer's platform builds make one index under the layer's own tags, in the plan's platform order", () => {
  const layers = indexLayers([
    build("sci/a", "sci/a", "linux/arm64"), build("sci/a", "sci/a", "linux/amd64"),
    build("rel/a:1.0", "rel/a", "linux/amd64"), build("rel/a:1.0", "rel/a", "linux/arm64"),
  ]);
  assert.equal(layers, [
    { id: "sci/a", buildTag: `${REPO}/sci/a:1.0-7-abc`, movingTag: `${REPO}/sci/a:1.0`, members: [{ platform: "linux/arm64", id: "sci/a@linux/arm64" }, { platform: "linux/amd64", id: "sci/a@linux/amd64" }] },
    { id: "rel/a:1.0", buildTag: `${REPO}/rel/a:1.0-7-abc`, movingTag: `${REPO}/rel/a:1.0`, members: [{ platform: "linux/arm64", id: "rel/a:1.0@linux/arm64" }, { platform: "linux/amd64", id: "rel/a:1.0@linux/amd64" }] },
  ]);
  assert.equal(indexLayers([build("sci/a", "sci/a")]), [], "a plan without platforms publishes no index");
});

test("with attachments, a plan without platforms is published as one-platform indexes: the engine's platform tags, the index under the request's own", () => {
  const { builds, layers } = singlePlatformIndexes([build("sci/a", "sci/a")], "linux/amd64");
  assert.equal(builds[0].request.tags, [`${REPO}/sci/a:1.0-linux-amd64`, `${REPO}/sci/a:1.0-7-abc-linux-amd64`]);
  assert.equal(layers, [{ id: "sci/a", buildTag: `${REPO}/sci/a:1.0-7-abc`, movingTag: `${REPO}/sci/a:1.0`, members: [{ platform: "linux/amd64", id: "sci/a" }] }]);
  const platformPlan = [build("sci/a", "sci/a", "linux/arm64")];
  assert.equal(singlePlatformIndexes(platformPlan, "linux/amd64").builds, platformPlan, "a plan naming platforms keeps its tags");
});

test("a plan mixing layers that declare platforms and layers that don't: each build without a platform is a one-platform index all the same (hunter24: plain images with no attestations, or platform tags alone under run --only)", () => {
  const plan = [build("sci/m", "sci/m", "linux/amd64"), build("sci/m", "sci/m", "linux/arm64"), build("sci/a", "sci/a"), build("rel/a:1.0", "rel/a")];
  const { builds, layers, onePlatform } = singlePlatformIndexes(plan, "linux/amd64");
  assert.equal(builds.map((b) => b.request.tags[0]), [`${REPO}/sci/m:1.0-linux-amd64`, `${REPO}/sci/m:1.0-linux-arm64`, `${REPO}/sci/a:1.0-linux-amd64`, `${REPO}/rel/a:1.0-linux-amd64`]);
  assert.equal(onePlatform.map((l) => [l.id, l.movingTag, l.members]), [
    ["sci/a", `${REPO}/sci/a:1.0`, [{ platform: "linux/amd64", id: "sci/a" }]],
    ["rel/a:1.0", `${REPO}/rel/a:1.0`, [{ platform: "linux/amd64", id: "rel/a:1.0" }]],
  ]);
  assert.equal(layers.map((l) => l.id), ["sci/m", "sci/a", "rel/a:1.0"]);
  assert.equal(layers[0].members.map((m) => m.id), ["sci/m@linux/amd64", "sci/m@linux/arm64"]);
});

test("the index's bytes depend only on its entries: fixed key order, platforms then attachments, annotations sorted", () => {
  const attachment = { annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": amd.digest }, size: 10, digest: `sha256:${"c".repeat(64)}`, mediaType: "application/vnd.oci.image.manifest.v1+json", platform: { os: "unknown", architecture: "unknown" } };
  const index = imageIndex([amd, arm], [attachment]);
  assert.is(index.bytes.toString(), JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [
      { mediaType: amd.mediaType, digest: amd.digest, size: 528, platform: { architecture: "amd64", os: "linux" } },
      { mediaType: arm.mediaType, digest: arm.digest, size: 530, platform: { architecture: "arm64", os: "linux" } },
      { mediaType: attachment.mediaType, digest: attachment.digest, size: 10, platform: { architecture: "unknown", os: "unknown" },
        annotations: { "vnd.docker.reference.digest": amd.digest, "vnd.docker.reference.type": "attestation-manifest" } },
    ],
  }));
  assert.is(imageIndex([{ ...arm, platform: { os: "linux", architecture: "arm64" } }]).digest, imageIndex([arm]).digest, "key order of the input does not matter");
  assert.is.not(imageIndex([arm, amd]).digest, imageIndex([amd, arm]).digest, "platform order does");
});

test("the index build tag: written when absent, nothing when it holds this index, superseded by another run's index of the same inputs, refused otherwise; --overwrite writes over either", () => {
  const expected = { "linux/amd64": "sha256:in-amd", "linux/arm64": "sha256:in-arm" };
  const q = { tag: `${REPO}/sci/a:1.0-7-abc`, digest: "sha256:ours", expected, overwrite: false };
  assert.equal(decideIndexBuildTag(q), { action: "put" });
  assert.equal(decideIndexBuildTag({ ...q, held: { digest: "sha256:ours", isIndex: true, inputs: expected } }), { action: "already" });
  const same = decideIndexBuildTag({ ...q, held: { digest: "sha256:theirs", isIndex: true, inputs: expected } });
  assert.is(same.action, "superseded");
  assert.match((same as { reason: string }).reason, /^not published: another run of this commit published the index .*sci\/a:1\.0-7-abc \(sha256:theirs\)/);
  const other = decideIndexBuildTag({ ...q, held: { digest: "sha256:theirs", isIndex: true, inputs: { ...expected, "linux/arm64": "sha256:other" } } });
  assert.is(other.action, "refuse");
  assert.match((other as { reason: string }).reason, /holding an index of other images \(linux\/amd64: sha256:in-amd, linux\/arm64: sha256:other\).*build tags are immutable \(--overwrite replaces it\)/);
  assert.match((decideIndexBuildTag({ ...q, held: { digest: "sha256:img", isIndex: false, inputs: {} } }) as { reason: string }).reason, /holding a single image, not an index/);
  assert.equal(decideIndexBuildTag({ ...q, overwrite: true, held: { digest: "sha256:theirs", isIndex: true, inputs: {} } }), { action: "put", why: "--overwrite" });
  // --overwrite over an index of the same inputs (a child rebuilt on a new build of its parent, its
  // platform tags pushed over): the index names the images now under them, not those they replaced.
  assert.equal(decideIndexBuildTag({ ...q, overwrite: true, held: { digest: "sha256:theirs", isIndex: true, inputs: expected } }), { action: "put", why: "--overwrite" });
});

test("the image an index names goes back under its platform build tag, holding another image of the same build, only when it is sound and nothing is overwritten", () => {
  const ours = { inputs: "sha256:in", build: "1.0-7-abc" };
  const indexed = { digest: "sha256:indexed", ...ours };
  const q = { inputsDigest: "sha256:in", build: "1.0-7-abc", held: { digest: "sha256:other", ...ours }, indexed, overwrite: false };
  assert.is(decideIndexedImagePutBack(q), true, "another run's build of these inputs over the indexed one (its index step never ran)");
  assert.is(decideIndexedImagePutBack({ ...q, held: { ...q.held, digest: "sha256:indexed" } }), false, "the tag holds the indexed image");
  assert.is(decideIndexedImagePutBack({ ...q, held: undefined }), false, "nothing under the platform build tag");
  assert.is(decideIndexedImagePutBack({ ...q, indexed: undefined }), false, "no index of it");
  assert.is(decideIndexedImagePutBack({ ...q, overwrite: true }), false, "--overwrite replaces on purpose");
  assert.is(decideIndexedImagePutBack({ ...q, indexed: { ...indexed, inputs: "sha256:old" } }), false, "an index of other inputs stays a refusal");
  assert.is(decideIndexedImagePutBack({ ...q, indexed: { ...indexed, build: "1.0-6-def" } }), false, "another build's image");
  assert.is(decideIndexedImagePutBack({ ...q, held: { ...q.held, inputs: "sha256:new" } }), false, "the platform build tag of other inputs: the reuse check's");
  assert.is(decideIndexedImagePutBack({ ...q, indexed: { ...indexed, fault: "an image built on sci/p:1.0-7-abc, of which the registry holds another build" } }), false,
    "built on a parent build the registry no longer holds (an interrupted --overwrite's rebuild stays)");
  assert.is(decideIndexedImagePutBack({ ...q, inputsDigest: undefined }), false, "a plan without inputs digests");
});

test("the index build tag holding these very images without attachments (published with --no-attestations) gets the index with them; other images do not", () => {
  const expected = { "linux/amd64": "sha256:in-amd" };
  const q = { tag: `${REPO}/sci/a:1.0-7-abc`, digest: "sha256:ours", expected, overwrite: false, images: ["sha256:img"] };
  const why = `${REPO}/sci/a:1.0-7-abc holds these very images without their attachments`;
  assert.equal(decideIndexBuildTag({ ...q, held: { digest: "sha256:img", isIndex: false, inputs: {}, images: ["sha256:img"] } }), { action: "put", why });
  assert.equal(decideIndexBuildTag({ ...q, held: { digest: "sha256:bare", isIndex: true, inputs: expected, images: ["sha256:img"] } }), { action: "put", why });
  assert.is(decideIndexBuildTag({ ...q, held: { digest: "sha256:other", isIndex: false, inputs: {}, images: ["sha256:other"] } }).action, "refuse");
  assert.is(decideIndexBuildTag({ ...q, held: { digest: "sha256:theirs", isIndex: true, inputs: expected, images: ["sha256:theirs-img"] } }).action, "superseded");
});

test("the index moving tag moves only forward, judged on the version label of the image it holds", () => {
  const q = { tag: `${REPO}/sci/a:1.0`, digest: "sha256:ours", ours: "1.0-7-abc", allowRollback: false };
  assert.equal(decideIndexMovingTag(q), { move: true });
  assert.equal(decideIndexMovingTag({ ...q, held: { digest: "sha256:ours", label: "1.0-7-abc" } }), { move: true, already: true });
  assert.equal(decideIndexMovingTag({ ...q, held: { digest: "sha256:old", label: "1.0-6-0ff" } }), { move: true });
  assert.equal(decideIndexMovingTag({ ...q, held: { digest: "sha256:new", label: "1.0-9-bbb" } }), { move: false, reason: `not moved: ${REPO}/sci/a:1.0 is at 1.0-9-bbb, newer` });
  assert.ok((decideIndexMovingTag({ ...q, allowRollback: true, held: { digest: "sha256:new", label: "1.0-9-bbb" } }) as { back?: string }).back?.startsWith("moved back:"));
});

test("an index not written says which platform's image is missing and what became of it", () => {
  const [layer] = indexLayers([build("sci/a", "sci/a", "linux/amd64"), build("sci/a", "sci/a", "linux/arm64")]);
  const status = (id: string) => (id.endsWith("amd64") ? { build: "built", push: "pushed" } : { build: "failed", reason: "RUN make: exit code 2" });
  assert.is(indexNotWritten(layer, status), `index not written: the linux/arm64 image (sci/a@linux/arm64) is failed (RUN make: exit code 2); ${REPO}/sci/a:1.0-7-abc and ${REPO}/sci/a:1.0 are left as they were`);
  assert.match(indexNotWritten(layer, (id) => (id.endsWith("amd64") ? { build: "built", push: "superseded" } : { build: "built", push: "pushed" })), /the linux\/amd64 image \(sci\/a@linux\/amd64\) is superseded/);
  assert.match(indexNotWritten(layer, () => ({ build: "built", push: "pushed" })), /^index not written: the run stopped before its index step/);
});

test("merge-platforms: a platform image is there when its platform build tag holds the plan's inputs; otherwise named, with what its results say", () => {
  const member = { platform: "linux/arm64", id: "sci/a@linux/arm64" };
  const tag = `${REPO}/sci/a:1.0-7-abc-linux-arm64`;
  assert.is(missingPlatformImage(member, tag, "sha256:in", { inputs: "sha256:in" }, undefined), undefined);
  assert.is(missingPlatformImage(member, tag, "sha256:in", undefined, undefined), `linux/arm64 (sci/a@linux/arm64) is missing: the registry does not hold ${tag}; no results file has it`);
  assert.is(missingPlatformImage(member, tag, "sha256:in", undefined, { status: "failed", pushed: false, reason: "RUN make: exit code 2" }),
    `linux/arm64 (sci/a@linux/arm64) is missing: the registry does not hold ${tag}; its results say failed (RUN make: exit code 2)`);
  assert.is(missingPlatformImage(member, tag, "sha256:in", { inputs: "sha256:old" }, { status: "built", pushed: false }),
    `linux/arm64 (sci/a@linux/arm64) is missing: ${tag} holds an image of inputs sha256:old, not the plan's sha256:in; its results say built, not pushed`);
  // There, of the plan's inputs, but its agent could not sign it: not put in an index.
  const unsigned = { status: "built" as const, pushed: false, signature: { status: "failed" as const, digest: `sha256:${"a".repeat(64)}`, reason: "HTTP 500" } };
  assert.is(missingPlatformImage(member, tag, "sha256:in", { inputs: "sha256:in" }, unsigned), "linux/arm64 (sci/a@linux/arm64) is not published as asked: its signature failed (HTTP 500)");
});

test("index layers parents first: a plan listing a child before its parent (a per-platform parent) is reordered, the rest kept in order", () => {
  const layer = (id: string, ...members: string[]) => ({ id, buildTag: `r/${id}:1.0-1-a`, movingTag: `r/${id}:1.0`, members: members.map((m) => ({ platform: m.split("@")[1], id: m })) });
  const app = layer("sci/app", "sci/app@linux/amd64", "sci/app@linux/arm64");
  const base = layer("sci/base", "sci/base@linux/amd64", "sci/base@linux/arm64");
  const other = layer("sci/other", "sci/other@linux/amd64");
  const dependsOn = (id: string) => (id.startsWith("sci/app@") ? [id.replace("app", "base")] : []);
  assert.equal(indexLayersParentsFirst([app, other, base], dependsOn).map((l) => l.id), ["sci/other", "sci/base", "sci/app"]);
  assert.equal(parentIndexLayers(app, [app, other, base], dependsOn).map((l) => l.id), ["sci/base"]);
});

test.run();
