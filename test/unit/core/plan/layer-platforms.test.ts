// Which platforms each layer is built for: declared, inherited, narrowed, never widened.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { layerPlatforms } from "../../../../src/core/plan/layer-platforms.js";
import { analyzeRepository } from "../../../../src/core/plan/analyze-repository.js";
import { readLayers, type RawLayerFiles } from "../../../../src/core/parse/layer-config.js";
import { InputError } from "../../../../src/core/model.js";

function sci(dir: string, meta: Record<string, unknown>, dockerfile: string): RawLayerFiles {
  return { kind: "science", dir, config: JSON.stringify({ image: dir, compat: "base", ...meta }), dockerfile };
}
const BASE: RawLayerFiles = { kind: "compat", dir: "base", config: "{}", dockerfile: "COPY x /x\n" };
const BOTH = ["linux/amd64", "linux/arm64"];

function platformsOf(raw: RawLayerFiles[], override?: string[]): Record<string, readonly string[] | undefined> {
  const snapshot = readLayers([...raw, BASE]);
  return Object.fromEntries(layerPlatforms(snapshot, analyzeRepository(snapshot), override));
}
function refused(raw: RawLayerFiles[], pattern: RegExp): void {
  try {
    platformsOf(raw);
  } catch (e) {
    assert.instance(e, InputError);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected an InputError matching ${pattern}`);
}

test("without platforms anywhere, every layer is built for the engine's own (none named)", () => {
  assert.equal(platformsOf([sci("a", {}, "FROM busybox:stable\n"), sci("b", {}, "FROM sci/a:1.0\n")]), { a: undefined, b: undefined });
});

test("a layer's platforms are inherited by the layers built on it, and a layer may narrow them", () => {
  const raw = [
    sci("a", { platforms: BOTH }, "FROM busybox:stable\n"),
    sci("b", {}, "FROM sci/a:1.0\n"),
    sci("c", { platforms: ["linux/arm64"] }, "FROM sci/b:1.0\n"),
    sci("d", {}, "FROM sci/c:1.0\n"),
  ];
  assert.equal(platformsOf(raw), { a: BOTH, b: BOTH, c: ["linux/arm64"], d: ["linux/arm64"] });
});

test("a layer that widens its parents' platforms is refused, naming both files", () => {
  refused([
    sci("a", { platforms: ["linux/amd64"] }, "FROM busybox:stable\n"),
    sci("b", { platforms: BOTH }, "FROM sci/a:1.0\n"),
  ], /^science\/b\/sciserver-image\.json: platform linux\/arm64 is not among the platforms of sci\/a it builds on \(science\/a\/sciserver-image\.json: linux\/amd64\)/);
  refused([
    sci("a", {}, "FROM busybox:stable\n"),
    sci("b", { platforms: BOTH }, "FROM sci/a:1.0\n"),
  ], /^science\/b\/sciserver-image\.json: platform linux\/amd64 is not among the platforms of sci\/a it builds on \(science\/a\/sciserver-image\.json: none\)/);
});

test("parents with and without platforms, or with none in common, are refused naming the files", () => {
  refused([
    sci("a", { platforms: BOTH }, "FROM busybox:stable\n"),
    sci("t", {}, "FROM busybox:stable\n"),
    sci("b", {}, "FROM sci/a:1.0\nCOPY --from=sci/t:1.0 /x /x\n"),
  ], /^science\/b\/sciserver-image\.json: builds on sci\/a \(science\/a\/sciserver-image\.json: linux\/amd64, linux\/arm64\) and on sci\/t, which has no platforms \(science\/t\/sciserver-image\.json\)/);
  refused([
    sci("a", { platforms: ["linux/amd64"] }, "FROM busybox:stable\n"),
    sci("t", { platforms: ["linux/arm64"] }, "FROM busybox:stable\n"),
    sci("b", {}, "FROM sci/a:1.0\nCOPY --from=sci/t:1.0 /x /x\n"),
  ], /^science\/b\/sciserver-image\.json: the layers it builds on share no platform/);
});

test("a compat fragment copying from a layer not built for a final image's platform is refused", () => {
  const ui: RawLayerFiles = { kind: "compat", dir: "ui", config: "{}", dockerfile: "COPY --from=sci/tools:1.0 /t /t\n" };
  refused([
    sci("a", { platforms: BOTH, compat: "ui" }, "FROM busybox:stable\n"),
    sci("tools", { platforms: ["linux/amd64"] }, "FROM busybox:stable\n"),
    ui,
  ], /^science\/a\/sciserver-image\.json: compat\/ui copies from sci\/tools \(science\/tools\/sciserver-image\.json: linux\/amd64\), which is not built for linux\/arm64/);
});

test("--platform replaces every layer's platforms for the run", () => {
  const raw = [sci("a", { platforms: ["linux/amd64"] }, "FROM busybox:stable\n"), sci("b", {}, "FROM sci/a:1.0\n")];
  assert.equal(platformsOf(raw, ["linux/arm64"]), { a: ["linux/arm64"], b: ["linux/arm64"] });
});

test("platforms in sciserver-image.json are checked: os/arch[/variant], a non-empty list, each once", () => {
  for (const [platforms, pattern] of [
    [["linux"], /invalid platform "linux": use os\/arch or os\/arch\/variant/],
    [["Linux/AMD64"], /invalid platform "Linux\/AMD64"/],
    [["linux/arm/v7/x"], /invalid platform "linux\/arm\/v7\/x"/],
    [[], /"platforms" must be a non-empty list/],
    ["linux/amd64", /"platforms" must be a non-empty list/],
    [["linux/amd64", "linux/amd64"], /platform linux\/amd64 is listed twice/],
  ] as const) {
    try {
      readLayers([sci("a", { platforms }, "FROM busybox:stable\n")]);
      assert.unreachable(`accepted ${JSON.stringify(platforms)}`);
    } catch (e) {
      assert.instance(e, InputError);
      assert.match((e as Error).message, /^science\/a\/sciserver-image\.json: /);
      assert.match((e as Error).message, pattern);
    }
  }
  assert.equal(readLayers([sci("a", { platforms: ["linux/arm/v7"] }, "FROM busybox:stable\n")]).science[0].platforms, ["linux/arm/v7"]);
});

test.run();
