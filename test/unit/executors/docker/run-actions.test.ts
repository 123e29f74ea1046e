// What RunActions does with the run's resources, without an engine: the push slots (`--jobs`)
// bound the engine's pushes; a layer's index step, which waits for its image's attachments
// (attestations), holds none, so the pushes of the images after it go on meanwhile.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Writable } from "node:stream";
import type Dockerode from "dockerode";
import type { PlannedBuild } from "../../../../src/core/model.js";
import { RunCoordinator } from "../../../../src/core/execute/run-coordinator.js";
import type { IndexLayer } from "../../../../src/core/execute/image-index.js";
import type { RegistryClient } from "../../../../src/registry/client.js";
import { DockerCredentials } from "../../../../src/registry/credentials.js";
import type { BuildStepContext } from "../../../../src/executors/docker/build-step.js";
import type { AttachHook } from "../../../../src/executors/index-step.js";
import { RunActions } from "../../../../src/executors/docker/run-actions.js";
import { RunReport } from "../../../../src/executors/docker/run-report.js";

const REPO = "r.example/t";
const image = (name: string): PlannedBuild => ({
  id: `sci/${name}`, kind: "science", image: `${REPO}/sci/${name}`, version: "1.0", target: name, source: `sci/${name}`, reasons: [], dependsOn: [],
  request: {
    tags: [`${REPO}/sci/${name}:1.0-linux-amd64`, `${REPO}/sci/${name}:1.0-5-abc-linux-amd64`], contexts: [], labels: { [`org.sciserver.science.${name}.version`]: "1.0-5-abc" },
  } as unknown as PlannedBuild["request"],
});

/** Something the test waits for, failing the test (instead of hanging it) when it does not come. */
function expected(what: string) {
  let then!: () => void;
  const promise = new Promise<void>((resolve, reject) => {
    const bound = setTimeout(() => reject(new Error(`${what}: did not happen in 10 s`)), 10_000);
    then = () => {
      clearTimeout(bound);
      resolve();
    };
  });
  return { promise, then };
}

test("with one push slot, an index step waiting for its image's attachments does not hold up the next image's push", async () => {
  const [a, b] = [image("a"), image("b")];
  const layer: IndexLayer = { id: "sci/a", buildTag: `${REPO}/sci/a:1.0-5-abc`, movingTag: `${REPO}/sci/a:1.0`, members: [{ platform: "linux/amd64", id: "sci/a" }] };
  const attaching = expected("the index step of sci/a asks for its attachments");
  const bChecked = expected("the push of sci/b starts (its build tag is checked)");
  // The attachments of a come only after b's push has started: an index step holding the one slot would never see them.
  const attach: AttachHook = async () => {
    attaching.then();
    await bChecked.promise;
    return [];
  };
  const registry = {
    getManifest: async (tag: string) => {
      if (tag === `${REPO}/sci/a:1.0-5-abc-linux-amd64`) return { digest: "sha256:am", manifestDigest: "sha256:am", mediaType: "application/vnd.oci.image.manifest.v1+json", bytes: Buffer.from("{}"), config: { digest: undefined }, layers: [] };
      if (tag === `${REPO}/sci/b:1.0-5-abc-linux-amd64`) bChecked.then();
      // Whatever else: the registry does not answer (the steps stay where they are).
      return new Promise(() => undefined);
    },
  } as unknown as RegistryClient;
  const creds = await DockerCredentials.load("/nonexistent-docker-config", {});
  const report = new RunReport({ out: new Writable({ write: (_c, _e, done) => done() }), progress: "plain" }, creds);
  for (const build of [a, b]) report.image(build, { imageId: "sha256:img", created: "t" }, 1);
  const run = new RunCoordinator([a, b], { jobs: 1, push: true, failFast: false });
  const context = {
    // No engine call is expected: any would fail on this empty object.
    docker: {} as Dockerode, creds, registry, repo: REPO, options: { attach }, builder: {}, builders: {},
  } as unknown as BuildStepContext;
  const actions = new RunActions(run, report, [a, b], context, () => undefined);
  actions.perform([{ type: "index", layer }]);
  await attaching.promise;
  actions.perform([{ type: "push", step: { id: "sci/b", action: "push" } }]);
  await bChecked.promise;
  assert.is(actions.pushesInFlight, 2, "the index step and the push are both under way");
});

test.run();
