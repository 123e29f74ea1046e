import { test } from "uvu";
import * as assert from "uvu/assert";
import { compareVersions, matchesQuery, parsePackageQuery } from "../../../../src/core/sbom/package-query.js";
import type { FoundPackage } from "../../../../src/core/sbom/packages.js";
import { InputError } from "../../../../src/core/model.js";

const p = (type: FoundPackage["type"], name: string, version: string): FoundPackage => ({ type, name, version, purl: "", locations: [] });

test("queries: a bare name, a condition, a type", () => {
  assert.equal(parsePackageQuery("numpy"), { text: "numpy", name: "numpy" });
  assert.equal(parsePackageQuery("numpy<1.26"), { text: "numpy<1.26", name: "numpy", condition: { operator: "<", version: "1.26" } });
  assert.equal(parsePackageQuery("pypi/typing_extensions >= 4.0"), { text: "pypi/typing_extensions >= 4.0", type: "pypi", name: "typing_extensions", condition: { operator: ">=", version: "4.0" } });
  assert.equal(parsePackageQuery("libc6=2.36-9").condition, { operator: "==", version: "2.36-9" });
  for (const bad of ["", "<1.26", "numpy<", "numpy<<1", "npm/left-pad", "numpy 1.26"]) {
    assert.throws(() => parsePackageQuery(bad), (e: Error) => e instanceof InputError && /^--package "/.test(e.message), bad);
  }
});

test("names: PyPI's normalized, others case-insensitive; a type narrows", () => {
  assert.ok(matchesQuery(p("pypi", "Typing.Extensions", "4.9"), parsePackageQuery("typing_extensions")));
  assert.ok(matchesQuery(p("conda", "numpy", "1.25"), parsePackageQuery("NumPy")));
  assert.not.ok(matchesQuery(p("conda", "numpy", "1.25"), parsePackageQuery("pypi/numpy")));
  assert.not.ok(matchesQuery(p("deb", "python3-numpy", "1.24"), parsePackageQuery("numpy")));
});

test("versions by each ecosystem's rules: PEP 440 for Python and conda, dpkg's for Debian and the rest", () => {
  const numpyBelow = parsePackageQuery("numpy<1.26");
  assert.equal(["1.25.2", "1.26.0rc1", "1.26", "1.26.0", "1.26.4", "2.0.0", "1.9"].filter((v) => matchesQuery(p("pypi", "numpy", v), numpyBelow)), ["1.25.2", "1.26.0rc1", "1.9"]);
  assert.ok(matchesQuery(p("conda", "numpy", "1.26.0"), parsePackageQuery("numpy==1.26")));
  assert.ok(compareVersions("deb", "1:1.2.13.dfsg-1", "2.0") > 0, "epoch");
  assert.ok(compareVersions("deb", "2.36-9+deb12u4", "2.36-9") > 0);
  assert.ok(compareVersions("deb", "1.0~rc1-1", "1.0-1") < 0, "~ sorts first");
  assert.ok(compareVersions("deb", "2.36-10", "2.36-9") > 0, "revisions numerically");
  assert.is(compareVersions("deb", "1.01", "1.1"), 0);
  assert.ok(compareVersions("apk", "1.36.1-r15", "1.36.1-r2") > 0);
  assert.ok(compareVersions("cran", "3.4.10", "3.4.4") > 0);
  assert.ok(compareVersions("conda", "2024a", "2023c") > 0);
  assert.ok(matchesQuery(p("deb", "libc6", "2.36-9+deb12u4"), parsePackageQuery("libc6>=2.36-9")));
  assert.ok(matchesQuery(p("deb", "libc6", "2.36-9+deb12u4"), parsePackageQuery("libc6!=2.36-9")));
});

test("a release's versions: ==1.26.* and !=1.26.* (PEP 440's prefix match, and by segments elsewhere); .* with another operator is refused", () => {
  const in126 = parsePackageQuery("numpy==1.26.*");
  assert.equal(in126.condition, { operator: "==", version: "1.26", prefix: true });
  const versions = ["1.26", "1.26.0", "1.26.4", "1.26.0rc1", "1.260", "1.27.0", "1.2", "2.0"];
  assert.equal(versions.filter((v) => matchesQuery(p("pypi", "numpy", v), in126)), ["1.26", "1.26.0", "1.26.4", "1.26.0rc1"]);
  assert.equal(versions.filter((v) => matchesQuery(p("pypi", "numpy", v), parsePackageQuery("numpy!=1.26.*"))), ["1.260", "1.27.0", "1.2", "2.0"]);
  const libc = parsePackageQuery("libc6==2.36.*");
  assert.equal(["2.36-9+deb12u4", "2.36", "2.361-1", "2.37-1", "0:2.36.1-1"].filter((v) => matchesQuery(p("deb", "libc6", v), libc)), ["2.36-9+deb12u4", "2.36", "0:2.36.1-1"]);
  // letters after the release's last part are of it (OpenSSL's 1.1.1w, OpenSSH's 9.2p1, tzdata's 2024a); an epoch 0 is none
  assert.ok(matchesQuery(p("deb", "openssl", "1.1.1w-0+deb11u1"), parsePackageQuery("openssl==1.1.1.*")));
  assert.ok(matchesQuery(p("conda", "openssl", "1.1.1w"), parsePackageQuery("openssl==1.1.1.*")));
  assert.ok(matchesQuery(p("deb", "openssh-client", "1:9.2p1-2+deb12u2"), parsePackageQuery("openssh-client==1:9.2.*")));
  assert.not.ok(matchesQuery(p("deb", "openssh-client", "1:9.2p1-2"), parsePackageQuery("openssh-client==9.2.*")), "another epoch");
  assert.ok(matchesQuery(p("conda", "tzdata", "2024a"), parsePackageQuery("tzdata==2024.*")));
  assert.ok(matchesQuery(p("deb", "libc6", "2.36-9"), parsePackageQuery("libc6==0:2.36.*")));
  assert.throws(() => parsePackageQuery("numpy<1.26.*"), /a version ending in \.\* goes with == or != only/);
});

test("what is no version is refused, not compared as one: a name, an empty part, a character no version has, an epoch that is no number", () => {
  for (const bad of ["numpy==latest", "numpy<1..2", "numpy>=$", "numpy==a:b", "numpy<1.", "numpy==.1", "numpy==1.26.*.*"]) {
    assert.throws(() => parsePackageQuery(bad), (e: Error) => e instanceof InputError && /is no version \(a version starts with a digit/.test(e.message), bad);
  }
  for (const good of ["libc6>=2:2.36-9", "tzdata<2024a", "pkg==1.0+cpu", "pkg<1.0~rc1", "pkg==1.36.1-r15"]) assert.ok(parsePackageQuery(good).condition, good);
});

test("a PyPI local version (torch 2.0.1+cu118) matches as its public version when the query names none (PEP 440); apk's pre-release suffixes sort before the release", () => {
  const torch = p("pypi", "torch", "2.0.1+cu118");
  const matching = ["torch==2.0.1", "torch<=2.0.1", "torch>=2.0.1", "torch>2.0", "torch<2.0.2", "torch==2.0.1+cu118"].filter((q) => matchesQuery(torch, parsePackageQuery(q)));
  assert.equal(matching, ["torch==2.0.1", "torch<=2.0.1", "torch>=2.0.1", "torch>2.0", "torch<2.0.2", "torch==2.0.1+cu118"]);
  for (const q of ["torch>2.0.1", "torch!=2.0.1", "torch<2.0.1", "torch==2.0.1+cpu"]) assert.not.ok(matchesQuery(torch, parsePackageQuery(q)), q);
  assert.ok(matchesQuery(p("conda", "pytorch", "2.0.1+cu118"), parsePackageQuery("pytorch==2.0.1")));
  assert.ok(compareVersions("apk", "1.2.3_rc1", "1.2.3") < 0);
  assert.ok(compareVersions("apk", "1.2.3_alpha2", "1.2.3_beta1") < 0);
  assert.ok(compareVersions("apk", "1.2.3_p1", "1.2.3") > 0);
  assert.ok(compareVersions("apk", "1.2.3_rc1-r5", "1.2.3-r0") < 0);
  assert.ok(compareVersions("apk", "1.2.3a", "1.2.3") > 0);
  assert.ok(compareVersions("apk", "1.2.10", "1.2.9") > 0);
  // A part with a leading zero is a decimal fraction, as apk-tools reads it: 1.02 < 1.1, 1.07.1 < 1.7.
  assert.ok(compareVersions("apk", "1.02", "1.1") < 0);
  assert.ok(compareVersions("apk", "1.07.1", "1.7") < 0);
  assert.ok(compareVersions("apk", "10.1", "9.1") > 0, "the first part as a number");
  assert.ok(matchesQuery(p("apk", "foo", "1.2.3_rc1-r0"), parsePackageQuery("apk/foo<1.2.3")));
});

test.run();
