import { test } from "uvu";
import * as assert from "uvu/assert";
import { spdxDocumentSchema } from "../../../../src/core/formats/spdx.js";
import { scanPackages } from "../../../../src/core/sbom/packages.js";
import { notReadOfSpdx, packagesOfSpdx, spdxDocument } from "../../../../src/core/sbom/spdx.js";

const subject = {
  name: "127.0.0.1:5755/t/rel/essentials:2.5", manifestDigest: `sha256:${"a".repeat(64)}`,
  created: "2026-12-02T03:49:22.576214781Z", platform: "linux/amd64",
};
const { packages } = scanPackages([
  { path: "/var/lib/dpkg/status", kind: "dpkg", layer: 1, content: "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n" },
  { path: "/opt/conda/conda-meta/numpy-1.json", kind: "conda", layer: 2, content: '{"name":"numpy","version":"1.26.4"}' },
  { path: "/x/site-packages/numpy-1.26.4.dist-info/METADATA", kind: "python", layer: 2, content: "Name: numpy\nVersion: 1.26.4\n" },
]);

test("an SPDX 2.3 document: the image described, containing every package with its purl and where it was found", () => {
  const doc = spdxDocument(subject, packages, "image-builder-0.1.0");
  assert.ok(spdxDocumentSchema.safeParse(doc).success, JSON.stringify(spdxDocumentSchema.safeParse(doc).error?.issues));
  assert.is(doc.spdxVersion, "SPDX-2.3");
  assert.is(doc.creationInfo.created, "2026-12-02T03:49:22Z");
  assert.equal(doc.creationInfo.creators, ["Tool: image-builder-0.1.0"]);
  const [image, ...rest] = doc.packages;
  assert.is(image.name, subject.name);
  assert.is(image.versionInfo, subject.manifestDigest);
  assert.is(image.externalRefs![0].referenceLocator, `pkg:oci/essentials@sha256:${"a".repeat(64)}?arch=amd64&repository_url=127.0.0.1%3A5755%2Ft%2Frel%2Fessentials`);
  assert.equal(rest.map((p) => [p.name, p.versionInfo, p.externalRefs![0].referenceLocator, p.sourceInfo]), [
    ["libc6", "2.36-9", "pkg:deb/debian/libc6@2.36-9?arch=amd64", "found in /var/lib/dpkg/status"],
    ["numpy", "1.26.4", "pkg:conda/numpy@1.26.4", "found in /opt/conda/conda-meta/numpy-1.json"],
    ["numpy", "1.26.4", "pkg:pypi/numpy@1.26.4", "found in /x/site-packages/numpy-1.26.4.dist-info/METADATA"],
  ]);
  // ids unique (two numpy), every package contained by the image
  assert.is(new Set(doc.packages.map((p) => p.SPDXID)).size, doc.packages.length);
  assert.equal(doc.relationships[0], { spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: image.SPDXID });
  assert.equal(doc.relationships.slice(1).map((r) => r.relatedSpdxElement), rest.map((p) => p.SPDXID));
});

test("the same image gives the same document; another image another namespace", () => {
  assert.equal(spdxDocument(subject, packages, "t"), spdxDocument(subject, packages, "t"));
  const other = spdxDocument({ ...subject, manifestDigest: `sha256:${"b".repeat(64)}` }, packages, "t");
  assert.is.not(other.documentNamespace, spdxDocument(subject, packages, "t").documentNamespace);
  // no creation time in the image: a fixed one, still valid
  const noTime = spdxDocument({ ...subject, created: undefined }, [], "t");
  assert.is(noTime.creationInfo.created, "1970-01-01T00:00:00Z");
  assert.ok(spdxDocumentSchema.safeParse(noTime).success);
});

test("the schema refuses what SPDX 2.3 does not allow", () => {
  const doc = spdxDocument(subject, packages, "t");
  assert.not.ok(spdxDocumentSchema.safeParse({ ...doc, spdxVersion: "SPDX-2.2" }).success);
  assert.not.ok(spdxDocumentSchema.safeParse({ ...doc, packages: [{ ...doc.packages[0], SPDXID: "Package 1" }] }).success);
});

test("packagesOfSpdx: a stored document gives back the packages it was made from; other tools' package types and the image itself left out", () => {
  const doc = spdxDocument(subject, packages, "image-builder-0.1.0");
  assert.equal(packagesOfSpdx(doc), packages.map(({ license: _license, ...p }) => p));
  const withGo = { ...doc, packages: [...doc.packages, { SPDXID: "SPDXRef-go", name: "golang.org/x/net", versionInfo: "0.1.0", downloadLocation: "NOASSERTION",
    externalRefs: [{ referenceCategory: "PACKAGE-MANAGER" as const, referenceType: "purl", referenceLocator: "pkg:golang/golang.org/x/net@0.1.0" }] }] };
  assert.is(packagesOfSpdx(withGo).length, packages.length);
});

test("an SBOM made without every package file says so in its comment, which a reader of it gets back; one made with all of them has none", () => {
  const whole = spdxDocument(subject, packages, "image-builder-0.1.0");
  assert.is(whole.comment, undefined);
  assert.equal(notReadOfSpdx(whole), []);
  const notRead = ["/var/lib/dpkg/status: 70000079 bytes, more than 67108864: not read", "/opt/x: a hard link to /tmp/x, which was not read"];
  const partial = spdxDocument(subject, packages, "image-builder-0.1.0", notRead);
  assert.ok(spdxDocumentSchema.safeParse(partial).success);
  const stored = spdxDocumentSchema.parse(JSON.parse(JSON.stringify(partial)));
  assert.equal(notReadOfSpdx(stored), [notRead.join("; ")]);
  assert.equal(packagesOfSpdx(stored), packagesOfSpdx(whole));
  // another tool's comment is no such statement
  assert.equal(notReadOfSpdx({ comment: "made by syft" }), []);
});

test.run();
