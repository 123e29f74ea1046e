// The push step's decisions that need no engine: a "not pushed" step, a reused build whose moving
// tag the registry has already or holds a newer build under, a push the stopped run does not
// begin. (Pushing itself: engine-push, publishing.)
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Writable } from "node:stream";
import type Dockerode from "dockerode";
import type { PlannedBuild } from "../../../../src/core/model.js";
import type { RegistryClient } from "../../../../src/registry/client.js";
import { DockerCredentials } from "../../../../src/registry/credentials.js";
import { carryOutPush, type PushStepContext } from "../../../../src/executors/docker/push-step.js";
import { RunReport } from "../../../../src/executors/docker/run-report.js";

const a: PlannedBuild = {
  id: "a", kind: "science", image: "r.example/t/sci/a", version: "1.0", target: "a", source: "sci/a", reasons: [], dependsOn: [],
  request: {
    tags: ["r.example/t/sci/a:1.0", "r.example/t/sci/a:1.0-5-abc"], contexts: ["sci/a"], labels: { "org.sciserver.science.a.version": "1.0-5-abc" },
  } as unknown as PlannedBuild["request"],
};

/** What the registry holds under the moving tag: its manifest digest, its image (config digest) and version label. */
type Moving = { digest: string; configDigest: string; label: string } | undefined;

/** `parentImage`: the image the registry holds under parent p's build tag (the build was built on sha256:ppp). */
async function context(moving: Moving, begin: (id: string) => string | undefined = () => undefined, parentImage = "sha256:ppp") {
  const creds = await DockerCredentials.load("/nonexistent-docker-config", {});
  const out = new Writable({ write: (_c, _e, done) => done() });
  const report = new RunReport({ out, progress: "plain" }, creds);
  report.image(a, { imageId: "sha256:aaa", created: "t" }, 1);
  /** Image configs read from the registry. */
  const configsRead: string[] = [];
  const registry = {
    getManifest: async (tag: string) => {
      if (tag === "r.example/t/sci/p:1.0-5-abc") return { digest: "sha256:pm", config: { digest: parentImage } };
      return tag === "r.example/t/sci/a:1.0" && moving ? { ref: tag, digest: moving.digest, config: { digest: moving.configDigest } } : undefined;
    },
    getBlob: async (_ref: unknown, digest: string) => {
      configsRead.push(digest);
      return Buffer.from(JSON.stringify({ config: { Labels: { "org.sciserver.science.a.version": moving!.label } } }));
    },
  } as unknown as RegistryClient;
  const parentsOf = () => [{ id: "sci/p", buildTag: "r.example/t/sci/p:1.0-5-abc", imageId: "sha256:ppp" }];
  // No engine call is expected: any would fail on this empty object.
  const ctx: PushStepContext = { docker: {} as Dockerode, creds, registry, signal: new AbortController().signal, destroy: new AbortController().signal, slot: (f) => f(), begin, report, allowTagRollback: false, overwrite: false, parentsOf };
  return { ctx, report, configsRead };
}

test("a step the queue decided not to push is recorded with its reason", async () => {
  const { ctx, report } = await context(undefined);
  assert.is(await carryOutPush(ctx, { id: "a", action: "not pushed", reason: "not pushed: parent p was not pushed" }, a, "sha256:aaa"), "not pushed");
  const { outcomes } = report.finish([a], true, false, () => "not pushed");
  await report.close();
  assert.equal([outcomes[0].pushed, outcomes[0].reason], [false, "not pushed: parent p was not pushed"]);
});

test("a reused build whose moving tag the registry has at the same digest: already published", async () => {
  const { ctx, report, configsRead } = await context({ digest: "sha256:reg", configDigest: "sha256:aaa", label: "1.0-5-abc" });
  assert.is(await carryOutPush(ctx, { id: "a", action: "check moving tag" }, a, "sha256:aaa", "sha256:reg"), "pushed");
  // Its manifest names this very image: its config (labels) need not be read.
  assert.equal(configsRead, []);
  const { outcomes } = report.finish([a], true, false, () => "pushed");
  await report.close();
  assert.is(outcomes[0].pushed, true);
  assert.equal(outcomes[0].outputs?.["docker-image-digests"], { "r.example/t/sci/a:1.0-5-abc": "sha256:reg", "r.example/t/sci/a:1.0": "sha256:reg" });
});

test("a reused build of an older commit leaves the moving tag on the newer build, and says why", async () => {
  const { ctx, report } = await context({ digest: "sha256:newer", configDigest: "sha256:bbb", label: "1.0-9-def" });
  assert.is(await carryOutPush(ctx, { id: "a", action: "check moving tag" }, a, "sha256:aaa", "sha256:reg"), "pushed");
  const { outcomes } = report.finish([a], true, false, () => "pushed");
  await report.close();
  assert.is(outcomes[0].pushed, true);
  assert.is(outcomes[0].reason, "not moved: r.example/t/sci/a:1.0 is at 1.0-9-def, newer");
  assert.equal(outcomes[0].tags, [
    { tag: "r.example/t/sci/a:1.0-5-abc", pushed: true, digest: "sha256:reg" },
    { tag: "r.example/t/sci/a:1.0", pushed: false, registryDigest: "sha256:newer", reason: "not moved: r.example/t/sci/a:1.0 is at 1.0-9-def, newer" },
  ]);
  // only this image's digests: the moving tag's is another build's
  assert.equal(outcomes[0].outputs?.["docker-image-digests"], { "r.example/t/sci/a:1.0-5-abc": "sha256:reg" });
});

test("a push that gets its slot after the run stopped is not pushed, with the reason", async () => {
  const { ctx, report } = await context(undefined, () => "not pushed: interrupted");
  assert.is(await carryOutPush(ctx, { id: "a", action: "push" }, a, "sha256:aaa"), "not pushed");
  const { outcomes } = report.finish([a], true, true, () => "not pushed");
  await report.close();
  assert.equal([outcomes[0].reason, outcomes[0].tags?.map((t) => t.pushed)], ["not pushed: interrupted", [false, false]]);
});

test("a parent's build tag replaced by another run's image since it was read back: the child is not pushed, saying so", async () => {
  const { ctx, report } = await context(undefined, () => undefined, "sha256:another-run");
  // As the push queue says it of the children of a parent found superseded by its own push (hunter21 F3: it said superseded).
  assert.is(await carryOutPush(ctx, { id: "a", action: "push" }, a, "sha256:aaa"), "not pushed");
  const { outcomes } = report.finish([a], true, false, () => "not pushed");
  await report.close();
  assert.is(outcomes[0].pushed, false);
  assert.match(outcomes[0].reason!, "not pushed: built on parent sci/p's image of this run, but the registry's build tag of sci/p holds another run's");
  assert.ok(outcomes[0].tags?.every((t) => !t.pushed && t.reason === outcomes[0].reason), JSON.stringify(outcomes[0].tags));
});

test("a moving tag written, then not read back (the registry stopped answering, or an interrupt stopped the wait): not called missing; the read's failure is said", async () => {
  for (const interrupted of [false, true]) {
    const { ctx, report } = await context({ digest: "sha256:older", configDigest: "sha256:bbb", label: "1.0-4-def" });
    const getManifest = ctx.registry.getManifest.bind(ctx.registry);
    let written = false;
    const stop = new AbortController();
    Object.assign(ctx.registry, {
      // The build tag's manifest (what the moving tag gets), and the moving tag until it is written.
      getManifest: async (tag: string) => {
        if (tag === "r.example/t/sci/a:1.0-5-abc") return { ref: tag, digest: "sha256:reg", manifestDigest: "sha256:reg", mediaType: "m", bytes: Buffer.from("{}"), config: { digest: "sha256:aaa" } };
        if (written) throw new Error(interrupted ? "stopped waiting for the registry (the run was interrupted)" : "connect ECONNREFUSED");
        return getManifest(tag);
      },
      putManifest: async () => {
        written = true;
        if (interrupted) stop.abort();
        return "sha256:reg";
      },
    });
    const result = await carryOutPush({ ...ctx, signal: stop.signal }, { id: "a", action: "check moving tag" }, a, "sha256:aaa", "sha256:reg");
    const { outcomes } = report.finish([a], true, interrupted, () => result);
    await report.close();
    assert.is(result, interrupted ? "not pushed" : "push failed");
    assert.match(outcomes[0].tags![1].reason!, /^could not read r\.example\/t\/sci\/a:1\.0 back from the registry: /);
    assert.not.match(JSON.stringify(outcomes[0]), /does not hold the tag/);
  }
});

test.run();
