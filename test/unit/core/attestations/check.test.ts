import { test } from "uvu";
import * as assert from "uvu/assert";
import { attestationProblems, parentBuildTags, parentKey, provenanceProblems, subjectProblems, type AttestedImage } from "../../../../src/core/attestations/check.js";

const d = (c: string) => `sha256:${c.repeat(64)}`;
const hex = (c: string) => c.repeat(64);
const PARENT = "r.example/x/sci/base:1.0-7-abc";
const layer = (type: string) => ({ mediaType: "application/vnd.in-toto+json", digest: d("9"), size: 1, annotations: { "in-toto.io/predicate-type": type } });
const provenance = (subjectDigest: string, parentDigest = hex("p")) => ({
  _type: "https://in-toto.io/Statement/v1", predicateType: "https://slsa.dev/provenance/v1",
  subject: [{ name: "pkg:docker/r.example/x/sci/a@1.0", digest: { sha256: subjectDigest } }],
  predicate: { buildDefinition: { resolvedDependencies: [
    { name: "source", digest: { gitCommit: "c".repeat(40) } },
    { name: "r.example/x/sci/base:1.0", digest: { sha256: parentDigest }, annotations: { "org.sciserver.build-tag": PARENT } },
    { name: "busybox:stable", digest: { sha256: hex("b") } },
  ] } },
});
const sbom = (subjectDigest: string) => ({ _type: "https://in-toto.io/Statement/v1", predicateType: "https://spdx.dev/Document", subject: [{ name: "x", digest: { sha256: subjectDigest } }], predicate: {} });
const image = (over: Partial<AttestedImage> = {}): AttestedImage => ({
  platform: "linux/amd64", digest: d("a"),
  attestation: { digest: d("m"), layers: [{ descriptor: layer("https://spdx.dev/Document"), statement: sbom(hex("a")) }, { descriptor: layer("https://slsa.dev/provenance/v1"), statement: provenance(hex("a")) }] },
  ...over,
});
const parents = new Map([[parentKey("linux/amd64", PARENT), d("p")]]);

test("right attestations: no problem; the parents to read are the provenance's build tags", () => {
  assert.equal(attestationProblems([image()], parents), []);
  assert.equal(parentBuildTags([image()]), [{ platform: "linux/amd64", buildTag: PARENT }]);
});

test("a subject that is not the image's digest (an attestation of another image put in its place)", () => {
  const wrong = image({ attestation: { digest: d("m"), layers: [{ descriptor: layer("https://spdx.dev/Document"), statement: sbom(hex("e")) }, { descriptor: layer("https://slsa.dev/provenance/v1"), statement: provenance(hex("a")) }] } });
  assert.equal(attestationProblems([wrong], parents), [`linux/amd64 (${d("a")}): attestation layer ${d("9")}: subject x is ${d("e")}, not the image's ${d("a")}`]);
});

test("a parent re-tagged in the registry, or gone, is named", () => {
  assert.equal(attestationProblems([image()], new Map([[parentKey("linux/amd64", PARENT), d("q")]])),
    [`linux/amd64 (${d("a")}): parent ${PARENT} holds ${d("q")}, but the provenance says it was built on ${d("p")}`]);
  assert.equal(attestationProblems([image()], new Map()), [`linux/amd64 (${d("a")}): parent ${PARENT} is not in the registry (the provenance says ${d("p")})`]);
});

test("without the parents (merge-platforms' check of an agent's attestation): everything but the parents is judged", () => {
  assert.equal(attestationProblems([image()]), []);
  const wrong = image({ attestation: { digest: d("m"), layers: [{ descriptor: layer("https://spdx.dev/Document"), statement: sbom(hex("a")) }, { descriptor: layer("https://slsa.dev/provenance/v1"), statement: provenance(hex("e")) }] } });
  assert.equal(attestationProblems([wrong]), [`linux/amd64 (${d("a")}): attestation layer ${d("9")}: subject pkg:docker/r.example/x/sci/a@1.0 is ${d("e")}, not the image's ${d("a")}`]);
});

test("missing attestations, a missing statement, an annotation that is not the statement's type", () => {
  assert.equal(attestationProblems([image({ attestation: undefined })], parents), [`linux/amd64 (${d("a")}): no attestation manifest in the index`]);
  const onlySbom = image({ attestation: { digest: d("m"), layers: [{ descriptor: layer("https://spdx.dev/Document"), statement: sbom(hex("a")) }] } });
  assert.equal(attestationProblems([onlySbom], parents), [`linux/amd64 (${d("a")}): no https://slsa.dev/provenance/v1 statement`]);
  const mislabelled = image({ attestation: { digest: d("m"), layers: [{ descriptor: layer("https://slsa.dev/provenance/v1"), statement: sbom(hex("a")) }, { descriptor: layer("https://slsa.dev/provenance/v1"), statement: provenance(hex("a")) }] } });
  assert.equal(attestationProblems([mislabelled], parents), [`linux/amd64 (${d("a")}): attestation layer ${d("9")}: annotated https://slsa.dev/provenance/v1, but its statement is https://spdx.dev/Document`]);
});

test("a statement of any shape read from the registry is judged, never crashes the check: a subject that is no list, items that are no objects", () => {
  const digest = `sha256:${"a".repeat(64)}`;
  assert.equal(subjectProblems({ subject: digest }, digest), ["the statement's subject is not a list"]);
  assert.equal(subjectProblems({}, digest), ["the statement has no subject"]);
  assert.equal(subjectProblems(null, digest), ["the statement has no subject"]);
  assert.equal(subjectProblems({ subject: ["x", 3] }, digest), [`subject (unnamed) is (no sha256), not the image's ${digest}`, `subject (unnamed) is (no sha256), not the image's ${digest}`]);
  assert.equal(subjectProblems({ subject: [{ name: "i", digest: { sha256: "a".repeat(64) } }] }, digest), []);
});

test("what older image-builders wrote wrong in a provenance is a problem of the attestation, for a run, --reconcile and verify alike: a masked parent reference, another commit than the build's, a URL with a token", () => {
  const made = (over: { tags?: unknown; source?: Record<string, unknown>; parent?: string } = {}) => ({
    predicateType: "https://slsa.dev/provenance/v1",
    predicate: { buildDefinition: {
      internalParameters: { tags: over.tags ?? ["r.example/x/sci/a:1.0", "r.example/x/sci/a:1.0-7-cccccccc-linux-amd64"] },
      resolvedDependencies: [
        { name: "source", uri: `git+https://git.example/g/images.git@${"c".repeat(40)}`, digest: { gitCommit: "c".repeat(40) }, ...over.source },
        { name: "r.example/x/sci/base:1.0", digest: { sha256: hex("p") }, annotations: { "org.sciserver.build-tag": over.parent ?? PARENT } },
      ],
    } },
  });
  assert.equal(provenanceProblems(made()), []);
  assert.equal(provenanceProblems(made({ parent: "r.example/***/sci/base:1.0-7-abc" })), ['the provenance names parent "r.example/***/sci/base:1.0-7-abc", which is no image reference (a part masked by an older image-builder?)']);
  assert.equal(provenanceProblems(made({ source: { digest: { gitCommit: "d".repeat(40) } } })), [`the provenance names source commit ${"d".repeat(40)}, not its build's (1.0-7-cccccccc-linux-amd64)`]);
  for (const uri of ["git+https://git.example/g/images.git?private_token=glpat-X@c", "git+https://oauth2:glpat-X@git.example/g/images.git@c", "git+https://me@corp.com:glpat-X@git.example/g/images.git@c"]) {
    const problems = provenanceProblems(made({ source: { uri } }));
    assert.equal(problems, ["the provenance names the repository by a URL with a user, a token or a query in it (not shown here)"]);
  }
  // A build tag without a build name (none known) or an ssh remote without credentials: nothing to say.
  assert.equal(provenanceProblems(made({ tags: ["r.example/x/sci/a:latest"], source: { uri: "git+git@git.example:g/images.git@c" } })), []);
  // In attestationProblems, with or without the parents; the masked parent is not read.
  const masked = image({ attestation: { digest: d("m"), layers: [{ descriptor: layer("https://spdx.dev/Document"), statement: sbom(hex("a")) }, { descriptor: layer("https://slsa.dev/provenance/v1"), statement: { ...provenance(hex("a")), predicate: { buildDefinition: { resolvedDependencies: [{ name: "b", annotations: { "org.sciserver.build-tag": "r/***/sci/b:1.0-1-abc" } }] } } } }] } });
  assert.equal(attestationProblems([masked]), [`linux/amd64 (${d("a")}): the provenance names parent "r/***/sci/b:1.0-1-abc", which is no image reference (a part masked by an older image-builder?)`]);
  assert.equal(attestationProblems([masked], parents), attestationProblems([masked]));
  assert.equal(parentBuildTags([masked]), []);
});

test.run();
