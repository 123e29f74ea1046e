// BuildKit's cache sources for a request.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { registryCacheSources } from "../../../../src/core/requests/buildkit-cache.js";
import type { BuildRequest } from "../../../../src/core/model.js";

test("registry cache: the request's moving tag and this repository's images it builds on", () => {
  const request: BuildRequest = {
    contexts: [], buildArgs: { BASE: "r.example/x/sci/base:1.0" }, labels: {}, imageRewrites: {},
    inputsDigest: "sha256:0", inputs: { context: "", parents: {} },
    tags: ["r.example/x/sci/child:2.0", "r.example/x/sci/child:2.0-7-abc1234"],
    dockerfile: "ARG BASE\nFROM busybox:stable AS tools\nFROM $BASE\nCOPY --from=r.example/x/sci/other:1.1 /a /a\n",
  };
  assert.equal(registryCacheSources(request, "r.example/x", {}),
    ["r.example/x/sci/child:2.0", "r.example/x/sci/base:1.0", "r.example/x/sci/other:1.1"]);
});

test.run();
