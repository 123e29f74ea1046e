// The registry location: --repo, else image-builder.json, else SciServer's default.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_REPO, describeRepoLocation, parseRepoConfig, resolveRepo } from "../../../../src/core/parse/repo-config.js";
import { InputError } from "../../../../src/core/model.js";

test("--repo wins over image-builder.json, which wins over the SciServer default", () => {
  const config = parseRepoConfig('{"repo": "registry.example.org/images"}');
  assert.equal(resolveRepo("127.0.0.1:5000/test/", config), { repo: "127.0.0.1:5000/test", source: "--repo" });
  assert.equal(resolveRepo(undefined, config), { repo: "registry.example.org/images", source: "image-builder.json" });
  assert.equal(resolveRepo(undefined, parseRepoConfig(undefined)), { repo: "containers.repo.sciserver.org/compute-images", source: "default" });
  assert.is(DEFAULT_REPO, "containers.repo.sciserver.org/compute-images");
  assert.throws(() => resolveRepo("HTTP://x", config), (e: Error) => e instanceof InputError && /invalid repo "HTTP:\/\/x"/.test(e.message));
});

test("-v says where the location came from", () => {
  assert.is(describeRepoLocation({ repo: "r.example/x", source: "--repo" }), "registry location r.example/x (from --repo)");
  assert.is(describeRepoLocation({ repo: "r.example/x", source: "image-builder.json" }), "registry location r.example/x (from image-builder.json)");
  assert.is(describeRepoLocation({ repo: DEFAULT_REPO, source: "default" }),
    "registry location containers.repo.sciserver.org/compute-images (the default: neither --repo nor image-builder.json names one)");
});

test.run();
