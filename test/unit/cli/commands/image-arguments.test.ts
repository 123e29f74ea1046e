// The IMAGE and LAYER arguments of inspect, contains and export.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { looksLikeFile, parseLayerQuery, resolveImageArgument } from "../../../../src/cli/commands/image-arguments.js";
import { InputError } from "../../../../src/core/model.js";

test("contains LAYER: sci/ optional, a version or a build; anything else is bad input", () => {
  assert.equal(parseLayerQuery("sci/e"), { target: "e" });
  assert.equal(parseLayerQuery("e"), { target: "e" });
  assert.equal(parseLayerQuery("sci/e:2.4"), { target: "e", version: "2.4" });
  assert.equal(parseLayerQuery("sci/e:2.4-5-aaaaaaa"), { target: "e", version: "2.4", build: { version: "2.4", number: 5, hash: "aaaaaaa" } });
  for (const bad of ["sci/E", "sci/e:latest", "rel/e", "sci/e:2.4-x"]) assert.throws(() => parseLayerQuery(bad), (e: unknown) => e instanceof InputError, bad);
});

test("image arguments: sci/ and rel/ under --repo, full references as they are", () => {
  assert.is(resolveImageArgument("rel/essentials:2.5", "reg.example.org/ci"), "reg.example.org/ci/rel/essentials:2.5");
  assert.is(resolveImageArgument("127.0.0.1:5000/x/rel/a:1", undefined), "127.0.0.1:5000/x/rel/a:1");
  assert.throws(() => resolveImageArgument("essentials:2.5", "r.example.org"), /neither sci\/NAME:TAG, rel\/NAME:TAG nor a full image reference/);
  assert.throws(() => resolveImageArgument("rel/a:1", undefined), /pass --repo/);
});

test("inspect arguments that look like files: paths and names ending in .tar, but not a reference whose tag ends in .tar", () => {
  for (const f of ["/tmp/missing.tar", "./e25", "../out/e25.oci", "~/e25.tar", "e25.tar", "out/e25.TAR", "C:\\images\\e25", "/tmp/x:1.tar"]) assert.ok(looksLikeFile(f), f);
  for (const r of ["rel/essentials:2.5", "sci/essentials-2-5:2.5-7-3f2a9c1", "127.0.0.1:5000/x/rel/a:1", "reg.example.org/a:v1.tar", "essentials"]) assert.not.ok(looksLikeFile(r), r);
});

test.run();
