import { test } from "uvu";
import * as assert from "uvu/assert";
import type { FoundFile } from "../../../../src/core/sbom/layered-files.js";
import { parseControlParagraphs, parseOsRelease, reduceDatabaseFile, scanPackages } from "../../../../src/core/sbom/packages.js";

const found = (path: string, kind: FoundFile["kind"], content: string): FoundFile => ({ path, kind, content, layer: 0 });
const rows = (files: FoundFile[]) => scanPackages(files).packages.map((p) => `${p.type} ${p.name} ${p.version} ${p.purl}`);

const DPKG_STATUS = `Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: zlib1g
Status: install ok installed
Architecture: amd64
Version: 1:1.2.13.dfsg-1

Package: oldpkg
Status: deinstall ok config-files
Architecture: all
Version: 0.1
`;

test("dpkg status: installed packages with architecture; the distribution from os-release", () => {
  const status = found("/var/lib/dpkg/status", "dpkg", DPKG_STATUS);
  assert.equal(rows([status]), [
    "deb libc6 2.36-9+deb12u4 pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64",
    "deb zlib1g 1:1.2.13.dfsg-1 pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64",
  ]);
  const ubuntu = found("/etc/os-release", "os-release", 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\n');
  assert.is(scanPackages([ubuntu, status]).packages[0].purl, "pkg:deb/ubuntu/libc6@2.36-9+deb12u4?arch=amd64&distro=ubuntu-22.04");
});

test("control paragraphs: continuation lines, CRLF, several blank lines", () => {
  assert.equal(parseControlParagraphs("A: 1\r\nB: two\r\n  more\r\n\r\n\r\nA: 3\n"), [{ A: "1", B: "two\nmore" }, { A: "3" }]);
  assert.equal(parseOsRelease("ID='alpine'\nVERSION_ID=3.19.1\n"), { id: "alpine", versionId: "3.19.1" });
});

test("apk installed: P/V/A/L of each block", () => {
  const installed = found("/lib/apk/db/installed", "apk", `C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nS:383152\nL:MIT\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\nC:Q1def=\nP:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\n\n`);
  const alpine = found("/etc/os-release", "os-release", "ID=alpine\nVERSION_ID=3.19.1\n");
  const scan = scanPackages([alpine, installed]);
  assert.equal(scan.packages.map((p) => [p.name, p.version, p.purl, p.license]), [
    ["busybox", "1.36.1-r15", "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1", "GPL-2.0-only"],
    ["musl", "1.2.4_git20230717-r4", "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1", "MIT"],
  ]);
});

test("conda-meta: name, version, build, channel name and subdir; a package in two environments is one package in two places", () => {
  const numpy = JSON.stringify({ name: "numpy", version: "1.26.4", build: "py311h64a7726_0", build_number: 0, channel: "https://conda.anaconda.org/conda-forge/linux-64", subdir: "linux-64", license: "BSD-3-Clause", files: ["lib/x.so"] });
  const scan = scanPackages([
    found("/opt/conda/conda-meta/numpy-1.26.4-py311h64a7726_0.json", "conda", numpy),
    found("/opt/conda/envs/b/conda-meta/numpy-1.26.4-py311h64a7726_0.json", "conda", numpy),
    found("/opt/conda/conda-meta/tzdata-2024a-h0c530f3_0.json", "conda", JSON.stringify({ name: "tzdata", version: "2024a", channel: "conda-forge" })),
    // A channel URL without a subdir field: the URL's platform folder is no channel name.
    found("/opt/conda/conda-meta/zlib-1.3-h0.json", "conda", JSON.stringify({ name: "zlib", version: "1.3", channel: "https://conda.anaconda.org/conda-forge/noarch" })),
    found("/opt/conda/conda-meta/broken.json", "conda", "{"),
  ]);
  assert.equal(scan.packages.map((p) => [p.purl, p.locations]), [
    ["pkg:conda/numpy@1.26.4?build=py311h64a7726_0&channel=conda-forge&subdir=linux-64",
      ["/opt/conda/conda-meta/numpy-1.26.4-py311h64a7726_0.json", "/opt/conda/envs/b/conda-meta/numpy-1.26.4-py311h64a7726_0.json"]],
    ["pkg:conda/tzdata@2024a?channel=conda-forge", ["/opt/conda/conda-meta/tzdata-2024a-h0c530f3_0.json"]],
    ["pkg:conda/zlib@1.3?channel=conda-forge", ["/opt/conda/conda-meta/zlib-1.3-h0.json"]],
  ]);
  assert.equal(scan.warnings, ["/opt/conda/conda-meta/broken.json: not a JSON object"]);
});

test("Python METADATA and PKG-INFO: the headers only (the body is the description); names normalized in the purl", () => {
  const metadata = `Metadata-Version: 2.1\nName: Jinja2\nVersion: 3.1.3\nSummary: A very fast template engine.\nLicense: BSD-3-Clause\n\nName: NotThis\nVersion: 9\n`;
  const scan = scanPackages([
    found("/usr/lib/python3/dist-packages/Jinja2-3.1.3.dist-info/METADATA", "python", metadata),
    found("/usr/lib/python3/dist-packages/typing_extensions-4.9.0.egg-info/PKG-INFO", "python", "Metadata-Version: 1.1\r\nName: typing_extensions\r\nVersion: 4.9.0\r\n"),
    found("/usr/lib/python3/dist-packages/x.dist-info/METADATA", "python", "Metadata-Version: 2.1\nName: x\n"),
  ]);
  assert.equal(scan.packages.map((p) => [p.name, p.version, p.purl, p.license]), [
    ["Jinja2", "3.1.3", "pkg:pypi/jinja2@3.1.3", "BSD-3-Clause"],
    ["typing_extensions", "4.9.0", "pkg:pypi/typing-extensions@4.9.0", undefined],
  ]);
  assert.equal(scan.warnings, ["/usr/lib/python3/dist-packages/x.dist-info/METADATA: no Version"]);
});

test("R DESCRIPTION: Package and Version", () => {
  const description = `Package: ggplot2\nVersion: 3.4.4\nTitle: Create Elegant Data Visualisations Using the Grammar of\n    Graphics\nLicense: MIT + file LICENSE\nBuilt: R 4.3.2; ; 2023-11-10 10:00:00 UTC; unix\n`;
  assert.equal(rows([found("/usr/local/lib/R/site-library/ggplot2/DESCRIPTION", "r", description)]), ["cran ggplot2 3.4.4 pkg:cran/ggplot2@3.4.4"]);
});

test("packages of every kind in one list, ordered by type then name", () => {
  const scan = scanPackages([
    found("/usr/lib/R/library/stats/DESCRIPTION", "r", "Package: stats\nVersion: 4.3.2\n"),
    found("/opt/conda/conda-meta/zlib-1.json", "conda", '{"name":"zlib","version":"1.2.13"}'),
    found("/var/lib/dpkg/status", "dpkg", "Package: bash\nStatus: install ok installed\nVersion: 5.2\n"),
    found("/x/site-packages/a.dist-info/METADATA", "python", "Name: a\nVersion: 1\n"),
  ]);
  assert.equal(scan.packages.map((p) => p.type), ["deb", "conda", "pypi", "cran"]);
});


test("a record no package URL can hold (a blank conda name, a lone surrogate, an apk name of a space) is a warning naming its file; the others are listed", () => {
  const scan = scanPackages([
    found("/opt/conda/conda-meta/blank-1.json", "conda", JSON.stringify({ name: " ", version: "1" })),
    found("/opt/conda/conda-meta/empty-1.json", "conda", JSON.stringify({ name: "", version: "1" })),
    found("/opt/conda/conda-meta/surrogate-1.json", "conda", '{"name":"surrogate","version":"1.0\\ud800"}'),
    found("/opt/conda/conda-meta/numpy-1.26.4.json", "conda", JSON.stringify({ name: "numpy", version: "1.26.4" })),
    found("/lib/apk/db/installed", "apk", "P: \nV:1.0\n\nP:musl\nV:1.2.4-r2\n"),
  ]);
  assert.equal(scan.packages.map((p) => `${p.type} ${p.name} ${p.version}`), ["apk musl 1.2.4-r2", "conda numpy 1.26.4"]);
  assert.equal(scan.warnings.slice(0, 2), ["/opt/conda/conda-meta/blank-1.json: no name or version", "/opt/conda/conda-meta/empty-1.json: no name or version"]);
  assert.match(scan.warnings[2], /^\/opt\/conda\/conda-meta\/surrogate-1\.json: package "surrogate" "1\.0\\ud800": not a valid package URL \(/);
  assert.is(scan.warnings[3], "/lib/apk/db/installed: a package without P: (name)");
  assert.is(scan.warnings.length, 4);
});

test("Python METADATA with CRLF line ends: the version whole (it lost a character per header line)", () => {
  const scan = scanPackages([found("/usr/lib/python3/site-packages/crlfpkg-1.26.4.dist-info/METADATA", "python", "Metadata-Version: 2.1\r\nName: crlfpkg\r\nVersion: 1.26.4\r\n\r\nbody\r\n")]);
  assert.equal(scan.packages.map((p) => `${p.name} ${p.version}`), ["crlfpkg 1.26.4"]);
});

test("control paragraphs read for some fields keep only those (a status file's descriptions are most of its text)", () => {
  const text = "Package: a\nDescription: x\n .\n more\nVersion: 1\n\nPackage: b\r\nVersion: 2\r\n";
  assert.equal(parseControlParagraphs(text, new Set(["Package", "Version"])), [{ Package: "a", Version: "1" }, { Package: "b", Version: "2" }]);
  assert.equal(parseControlParagraphs(text)[0], { Package: "a", Description: "x\n.\nmore", Version: "1" });
});

test("what is kept of a package database (reduceDatabaseFile) scans to the same packages and warnings as the whole file, in a fraction of its size", () => {
  const files: FoundFile[] = [
    found("/etc/os-release", "os-release", 'PRETTY_NAME="Debian"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\nHOME_URL="x"\n'),
    found("/var/lib/dpkg/status", "dpkg", `${DPKG_STATUS}\nDescription: orphan paragraph\n more\n\nPackage: nover\nStatus: install ok installed\n\nPackage: big\r\nStatus: install ok installed\r\nVersion: 1:2.0-1\r\nDescription: x\r\n${" .\r\n".repeat(1000)}`),
    found("/lib/apk/db/installed", "apk", "C:Q1abc\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\nF:lib\nR:libc.so\n\nP:nov\nF:x\n\nC:only-other\n\n\nP: \nV:1\n"),
    found("/opt/conda/conda-meta/numpy-1.26.4.json", "conda", JSON.stringify({ name: "numpy", version: "1.26.4", build: "py311_0", channel: "https://conda.anaconda.org/conda-forge/linux-64", subdir: "linux-64", license: "BSD", files: Array.from({ length: 2000 }, (_, i) => `lib/f${i}.so`) })),
    found("/opt/conda/conda-meta/bad.json", "conda", "{not json"),
    found("/opt/conda/conda-meta/arr.json", "conda", "[1]"),
    found("/opt/conda/conda-meta/nover.json", "conda", JSON.stringify({ name: "x", files: [] })),
    found("/opt/conda/conda-meta/surrogate.json", "conda", '{"name":"s","version":"1\\ud800"}'),
    found("/usr/lib/python3/site-packages/a-1.dist-info/METADATA", "python", "Metadata-Version: 2.1\r\nName: A_b\r\nVersion: 1.0\r\nLicense: line one\r\n        line two\r\n\r\nlong description\r\nName: not-this\r\n"),
    found("/usr/lib/python3/site-packages/b.egg-info", "python", "Name: b\n"),
    found("/usr/local/lib/R/site-library/gg/DESCRIPTION", "r", "Package: gg\nTitle: x\nVersion: 3.4\nLicense: GPL (>= 2) |\n    file LICENSE\n\nPackage: second\n"),
    found("/usr/local/lib/R/site-library/e/DESCRIPTION", "r", "Title: no package\n"),
  ];
  const reduced = files.map((f) => ({ ...f, content: reduceDatabaseFile(f.kind, f.content) }));
  assert.equal(scanPackages(reduced), scanPackages(files));
  assert.ok(scanPackages(files).warnings.length >= 6, "the warnings are part of what is compared");
  const size = (list: FoundFile[]) => list.reduce((n, f) => n + f.content.length, 0);
  assert.ok(size(reduced) * 10 < size(files), `${size(reduced)} of ${size(files)}`);
  // reduced again: the same
  assert.equal(reduced.map((f) => reduceDatabaseFile(f.kind, f.content)), reduced.map((f) => f.content));
});

test.run();
