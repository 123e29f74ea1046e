import { test } from "uvu";
import * as assert from "uvu/assert";
import { diffPackages } from "../../../../src/core/sbom/diff.js";
import type { FoundPackage } from "../../../../src/core/sbom/packages.js";

const p = (type: FoundPackage["type"], name: string, version: string): FoundPackage => ({ type, name, version, purl: `pkg:${type}/${name}@${version}`, locations: [] });

test("diff: added, removed and changed packages, by type and name; unchanged ones left out", () => {
  const a = [p("deb", "libc6", "2.36-9"), p("conda", "numpy", "1.25.2"), p("pypi", "six", "1.16.0"), p("pypi", "requests", "2.31.0")];
  const b = [p("deb", "libc6", "2.36-9"), p("conda", "numpy", "1.26.4"), p("pypi", "requests", "2.31.0"), p("cran", "ggplot2", "3.4.4"), p("conda", "Arrow", "14")];
  assert.equal(diffPackages(a, b).map((c) => [c.change, c.type, c.name, c.from, c.to]), [
    ["added", "conda", "Arrow", [], ["14"]],
    ["changed", "conda", "numpy", ["1.25.2"], ["1.26.4"]],
    ["removed", "pypi", "six", ["1.16.0"], []],
    ["added", "cran", "ggplot2", [], ["3.4.4"]],
  ]);
  assert.equal(diffPackages(a, a), []);
});

test("diff: a name at several versions (two environments) changes when its set of versions does", () => {
  const a = [p("pypi", "numpy", "1.26.4"), p("pypi", "numpy", "1.24.0")];
  assert.equal(diffPackages(a, [...a].reverse()), []);
  assert.equal(diffPackages(a, [p("pypi", "numpy", "1.26.4")]).map((c) => [c.change, c.from, c.to]), [["changed", ["1.24.0", "1.26.4"], ["1.26.4"]]]);
});

test.run();
