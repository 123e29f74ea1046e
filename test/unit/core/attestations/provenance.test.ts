import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { provenanceStatementSchema } from "../../../../src/core/formats/provenance.js";
import { basesOfImage, dockerPurl, provenanceStatement, publicRepositoryUrl, type ProvenanceRun } from "../../../../src/core/attestations/provenance.js";
import type { PlannedBuild } from "../../../../src/core/model.js";

const REPO = "registry.example.org/ci";
const COMMIT = "3f2a9c1".padEnd(40, "0");
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const science: PlannedBuild = {
  id: "sci/essentials-2-5", kind: "science", image: "essentials", version: "2.5", target: "essentials-2-5", source: "science/essentials-2-5",
  reasons: [], dependsOn: ["sci/essentials-2-4"],
  request: {
    contexts: ["science/essentials-2-5"],
    dockerfile: `FROM ${REPO}/sci/essentials-2-4:2.4\nRUN --mount=type=secret,id=token make\n`,
    buildArgs: { PYTHON: "3.11", TOKEN: "s3cret-token-value", ZLIB: "1.3" },
    tags: [`${REPO}/sci/essentials-2-5:2.5`, `${REPO}/sci/essentials-2-5:2.5-7-3f2a9c1`],
    labels: { "org.sciserver.science.essentials-2-5.version": "2.5-7-3f2a9c1" },
    imageRewrites: {},
    inputsDigest: digest("b"),
    inputs: { context: digest("c"), parents: { "sci/essentials-2-4:2.4": digest("d") } },
  },
};
const run: ProvenanceRun = {
  image: { repository: `${REPO}/sci/essentials-2-5`, tag: "2.5-7-3f2a9c1", manifestDigest: digest("a") },
  git: { commit: COMMIT, repository: "https://ci-bot:ghp_0123456789abcdef@github.com/sciserver/compute-images.git" },
  bases: { [`${REPO}/sci/essentials-2-4:2.4`]: { digest: digest("e"), buildTag: `${REPO}/sci/essentials-2-4:2.4-7-3f2a9c1` }, "busybox:stable": { digest: digest("f") } },
  builder: { kind: "buildkit", engineVersion: "26.1.5", toolVersion: "0.1.0" },
  startedOn: "2026-12-03T08:00:00.123Z",
  finishedOn: "2026-12-03T08:01:30.999Z",
  secrets: ["s3cret-token-value", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIAbcdefghijklmnop\n-----END EC PRIVATE KEY-----"],
};

test("an earlier build completed by --reconcile names its own commit (its source and its fragments'), not the run's", () => {
  const earlier = "0c1d2e3".padEnd(40, "1");
  const s = provenanceStatement({ ...science, commit: earlier }, run);
  const uris = s.predicate.buildDefinition.resolvedDependencies.filter((d) => d.digest?.gitCommit !== undefined);
  assert.ok(uris.length > 0);
  for (const d of uris) {
    assert.is(d.digest?.gitCommit, earlier);
    assert.match(d.uri ?? "", new RegExp(`@${earlier}`));
  }
  assert.not.match(JSON.stringify(s), new RegExp(COMMIT));
});

test("an in-toto statement with SLSA provenance v1: subject the manifest digest; the build's parameters; what it was built from; who built it when", () => {
  const s = provenanceStatement(science, run);
  const checked = provenanceStatementSchema.safeParse(s);
  assert.ok(checked.success, JSON.stringify(checked.error?.issues));
  assert.is(s._type, "https://in-toto.io/Statement/v1");
  assert.is(s.predicateType, "https://slsa.dev/provenance/v1");
  assert.equal(s.subject, [{ name: "pkg:docker/registry.example.org/ci/sci/essentials-2-5@2.5-7-3f2a9c1", digest: { sha256: "a".repeat(64) } }]);
  const { buildDefinition, runDetails } = s.predicate;
  assert.match(buildDefinition.buildType, /^https:\/\/github\.com\/sciserver\/image-builder\//);
  assert.equal(buildDefinition.externalParameters, {
    build: "sci/essentials-2-5", source: "science/essentials-2-5", contexts: ["science/essentials-2-5"],
    dockerfile: { digest: `sha256:${createHash("sha256").update(science.request.dockerfile).digest("hex")}` },
    buildArgs: { PYTHON: "3.11", ZLIB: "1.3" },
    inputsDigest: digest("b"),
  });
  assert.equal(buildDefinition.resolvedDependencies, [
    { uri: `git+https://github.com/sciserver/compute-images.git@${COMMIT}`, digest: { gitCommit: COMMIT }, name: "source" },
    { uri: "pkg:docker/docker.io/library/busybox@stable", digest: { sha256: "f".repeat(64) }, name: "busybox:stable" },
    {
      uri: "pkg:docker/registry.example.org/ci/sci/essentials-2-4@2.4", digest: { sha256: "e".repeat(64) }, name: `${REPO}/sci/essentials-2-4:2.4`,
      annotations: { "org.sciserver.build-tag": `${REPO}/sci/essentials-2-4:2.4-7-3f2a9c1`, "org.sciserver.inputs": digest("d") },
    },
  ]);
  assert.equal(runDetails, {
    builder: { id: "https://github.com/sciserver/image-builder/builders/buildkit", version: { "image-builder": "0.1.0", "docker-engine": "26.1.5" } },
    metadata: { startedOn: "2026-12-03T08:00:00Z", finishedOn: "2026-12-03T08:01:30Z" },
  });
});

test("nothing secret: no --secret value, no line of a multi-line one, no credential of the repository URL, anywhere", () => {
  const withSecretsEverywhere: PlannedBuild = {
    ...science,
    request: {
      ...science.request,
      buildArgs: { ...science.request.buildArgs, KEY_LINE: "prefix MHcCAQEEIAbcdefghijklmnop", HARMLESS: "yes" },
    },
  };
  const text = JSON.stringify(provenanceStatement(withSecretsEverywhere, run));
  for (const secret of ["s3cret-token-value", "MHcCAQEEIAbcdefghijklmnop", "ghp_0123456789abcdef", "ci-bot"]) assert.not.ok(text.includes(secret), `${secret} in ${text}`);
  const args = provenanceStatement(withSecretsEverywhere, run).predicate.buildDefinition.externalParameters.buildArgs;
  assert.equal(args, { HARMLESS: "yes", PYTHON: "3.11", ZLIB: "1.3" });
  assert.is(publicRepositoryUrl("ssh://git@github.com/x/y.git"), "ssh://github.com/x/y.git");
  assert.is(publicRepositoryUrl("git@github.com:x/y.git"), "git@github.com:x/y.git");
  assert.is(publicRepositoryUrl("https://gitlab.example.org/x/y.git?private_token=glpat-123"), "https://gitlab.example.org/x/y.git");
  // A user name with an @ in it (an e-mail address) before the token: everything up to the last @ of the host part goes.
  assert.is(publicRepositoryUrl("https://me@corp.com:glpat-X@host/g/r.git"), "https://host/g/r.git");
  assert.is(publicRepositoryUrl("https://host/g/r@2.git"), "https://host/g/r@2.git");
});

test("a secret line that is part of image-builder's own names and values (the repo's path, a year, hex digits of a digest) leaves them whole; build arguments are still masked", () => {
  const parts = ["registry.example.org/ci".split("/")[1] + "-x", "2026", "aaaa", "essentials"];
  const own = provenanceStatement({ ...science, request: { ...science.request, buildArgs: { NOTE: "about essentials in 2026", PYTHON: "3.11" } } }, { ...run, secrets: ["ci/sc", ...parts] });
  const plain = provenanceStatement({ ...science, request: { ...science.request, buildArgs: { NOTE: "about essentials in 2026", PYTHON: "3.11" } } }, { ...run, secrets: [] });
  assert.equal(own.subject, plain.subject);
  assert.equal(own.predicate.runDetails, plain.predicate.runDetails);
  assert.equal(own.predicate.buildDefinition.resolvedDependencies, plain.predicate.buildDefinition.resolvedDependencies);
  assert.equal(own.predicate.buildDefinition.internalParameters, plain.predicate.buildDefinition.internalParameters);
  assert.is(own.predicate.buildDefinition.externalParameters.build, "sci/essentials-2-5");
  // A build argument holding a secret is left out; what it does not hold stays.
  assert.equal(own.predicate.buildDefinition.externalParameters.buildArgs, { PYTHON: "3.11" });
  assert.ok(provenanceStatementSchema.safeParse(own).success);
});

test("a compat build lists its fragments; the platform goes into the parameters and the image names; no repository URL: the commit alone", () => {
  const compat: PlannedBuild = {
    ...science, id: "rel/essentials:2.5", kind: "compat", source: "compat/jupyterlab",
    request: { ...science.request, contexts: ["compat/base", "compat/jupyter", "compat/jupyterlab"], buildArgs: {}, inputs: undefined, inputsDigest: undefined },
  };
  const s = provenanceStatement(compat, { ...run, platform: "linux/arm64", git: { commit: COMMIT }, image: { ...run.image, repository: `${REPO}/rel/essentials` } });
  assert.ok(provenanceStatementSchema.safeParse(s).success);
  const deps = s.predicate.buildDefinition.resolvedDependencies;
  assert.equal(deps[0], { digest: { gitCommit: COMMIT }, name: "source" });
  assert.equal(deps.filter((d) => d.annotations?.kind === "compat-fragment").map((d) => d.name), ["compat/base", "compat/jupyter", "compat/jupyterlab"]);
  assert.is(s.predicate.buildDefinition.externalParameters.platform, "linux/arm64");
  assert.not.ok("inputsDigest" in s.predicate.buildDefinition.externalParameters);
  assert.is(s.subject[0].name, "pkg:docker/registry.example.org/ci/rel/essentials@2.5-7-3f2a9c1?platform=linux%2Farm64");
  assert.is(dockerPurl("127.0.0.1:5755/t/sci/a@" + digest("1")), `pkg:docker/127.0.0.1:5755/t/sci/a@sha256:${"1".repeat(64)}`);
});

test("what else the run must hide (the docker config's credentials) is hidden too, and a build argument holding it left out", () => {
  const credential = "registry-password-42";
  const withCredential: PlannedBuild = { ...science, request: { ...science.request, buildArgs: { PIP_PASSWORD: credential, PYTHON: "3.11" } } };
  const s = provenanceStatement(withCredential, { ...run, redact: (t) => t.split(credential).join("***") });
  assert.not.ok(JSON.stringify(s).includes(credential));
  assert.equal(s.predicate.buildDefinition.externalParameters.buildArgs, { PYTHON: "3.11" });
});

test("a base without a registry digest (made locally) is named with its image id; a parent of this repository with its build tag", () => {
  const s = provenanceStatement(science, { ...run, bases: { "busybox:stable": { imageId: digest("9") }, [`${REPO}/sci/essentials-2-4:2.4`]: { buildTag: `${REPO}/sci/essentials-2-4:2.4-7-3f2a9c1` } } });
  assert.ok(provenanceStatementSchema.safeParse(s).success);
  const [, busybox, parent] = s.predicate.buildDefinition.resolvedDependencies;
  assert.equal(busybox, { uri: "pkg:docker/docker.io/library/busybox@stable", name: "busybox:stable", annotations: { "org.sciserver.image-id": digest("9") } });
  assert.equal(parent.annotations?.["org.sciserver.build-tag"], `${REPO}/sci/essentials-2-4:2.4-7-3f2a9c1`);
  assert.not.ok("digest" in parent);
});

test("basesOfImage: every image the Dockerfile names; a science layer with the build its image was built on, from the inherited version label", () => {
  const request = {
    dockerfile: `ARG BASE=busybox:stable\nFROM \${BASE} AS tools\nFROM ${REPO}/sci/essentials-2-4:2.4\nCOPY --from=tools /bin/x /bin/x\nCOPY --from=${REPO}/sci/data:1.0 /d /d\n`,
    buildArgs: {},
  };
  assert.equal(basesOfImage(request, { "org.sciserver.science.essentials-2-4.version": "2.4-7-3f2a9c1", "org.sciserver.science.other.version": "1.0-1-aaaaaaa" }), [
    { reference: "busybox:stable" },
    { reference: `${REPO}/sci/essentials-2-4:2.4`, buildTag: `${REPO}/sci/essentials-2-4:2.4-7-3f2a9c1` },
    // no label of it in the image: not one of this repository's builds the image can name
    { reference: `${REPO}/sci/data:1.0` },
  ]);
});

test("the labels are the image's own values of the request's labels: a run that reuses the image (another plan time) states the same as the run that built it", () => {
  const built = { ...science, request: { ...science.request, labels: { ...science.request.labels, "org.sciserver.science.essentials-2-5.buildtime": "1796314903" } } };
  const reusing = { ...science, request: { ...science.request, labels: { ...science.request.labels, "org.sciserver.science.essentials-2-5.buildtime": "1796315031" } } };
  const imageLabels = { "org.sciserver.science.essentials-2-5.version": "2.5-7-3f2a9c1", "org.sciserver.science.essentials-2-5.buildtime": "1796314908.325", "other": "x" };
  const a = provenanceStatement(built, { ...run, imageLabels });
  const b = provenanceStatement(reusing, { ...run, imageLabels });
  assert.equal(a, b);
  assert.equal(a.predicate.buildDefinition.internalParameters?.labels, {
    "org.sciserver.science.essentials-2-5.version": "2.5-7-3f2a9c1", "org.sciserver.science.essentials-2-5.buildtime": "1796314908.325",
  });
});

test.run();
