import { test } from "uvu";
import * as assert from "uvu/assert";
import { dockerHubScienceBases } from "../../../../src/core/plan/bases-not-built.js";
import { namesDockerHub } from "../../../../src/core/parse/image-reference.js";
import type { Plan } from "../../../../src/core/model.js";

const build = (id: string, dockerfile: string, platform?: string) =>
  ({ id, kind: id.startsWith("rel/") ? "compat" : "science", request: { dockerfile, buildArgs: {}, contexts: [`science/${id.slice(4).split("@")[0]}`], ...(platform ? { platform } : {}) } }) as unknown as Plan["builds"][number];

test("sci/ references without a registry, as the engine would resolve them, are named; the plan's own (its repo on Docker Hub too) and spelled registries are not", () => {
  const plan = {
    repo: "myorg/images",
    builds: [
      build("sci/b", "FROM sci/a:2.0\nCOPY --from=sci/tools:1.0 /x /x\n"),
      build("sci/c", "FROM myorg/images/sci/a:1.0\nCOPY --from=registry.example.org/x/sci/t:1 /y /y\nFROM busybox:stable\n"),
      build("sci/d@linux/arm64", "FROM sci/base-${TARGETARCH}:1.0\n", "linux/arm64"),
      build("sci/e", "FROM docker.io/sci/a:2.0\nCOPY --from=sci/a:1.0@sha256:" + "0".repeat(64) + " /x /x\n"),
      build("rel/f:1.0", "# generated\nFROM myorg/images/sci/f:1.0\nCOPY --from=sci/gone:1.0 /x /x\n"),
    ],
  };
  assert.equal(dockerHubScienceBases(plan), [
    "sci/b: sci/a:2.0 (line 1 of science/b/Dockerfile)", "sci/b: sci/tools:1.0 (line 2 of science/b/Dockerfile)",
    "sci/d@linux/arm64: sci/base-arm64:1.0 (line 1 of science/d/Dockerfile)", "rel/f:1.0: sci/gone:1.0 (line 3 of its generated Dockerfile)",
  ]);
  assert.ok(namesDockerHub("sci/a:1.0"));
  assert.ok(namesDockerHub("busybox"));
  assert.not.ok(namesDockerHub("localhost/sci/a:1.0"));
  assert.not.ok(namesDockerHub("127.0.0.1:5000/sci/a"));
});

test.run();
