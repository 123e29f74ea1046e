// Issue 19: every pushed image carries its provenance and SBOM as BuildKit stores them, in the
// image index under its tags; `sbom`, `contains --package` and `diff` read the stored SBOMs;
// checkAttestations (for `verify`) notices a tampered attestation and a re-tagged parent. A family
// whose science layers install a dpkg status file, a conda-meta record and Python distributions
// from its own files (no network), pushed to the registry with basic auth with a --secret: nothing
// secret lands in any attestation.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, runCliAsync } from "../helpers/cli.js";
import { registryImage, registryRequest, registryRequestsFromNow, registryWritesFromNow, requireEngine, TEST_BUILDER, uniqueRepo } from "../helpers/engine.js";
import { writeKeyPair } from "../helpers/keys.js";
import { condaRecord, SITE_PACKAGES } from "../helpers/packages.js";
import { authEntry, dockerConfigDir, publish } from "../helpers/registry.js";
import { makeRepo, science, compat, type TempRepo } from "../helpers/repo.js";
import { tempDir } from "../helpers/temp.js";
import { provenanceStatementSchema } from "../../src/core/formats/provenance.js";
import { spdxDocumentSchema } from "../../src/core/formats/spdx.js";
import { attestationManifest, sbomStatement, type InTotoStatement } from "../../src/core/attestations/manifest.js";
import { checkAttestations, putAttestationManifest } from "../../src/registry/attestations.js";
import { MEDIA_TYPES, RegistryClient } from "../../src/registry/client.js";
import { DockerCredentials } from "../../src/registry/credentials.js";
import { parseImageReference } from "../../src/core/parse/image-reference.js";
import { sha256Hex } from "../../src/core/digest.js";
import { platformTagSuffix } from "../../src/core/parse/platforms.js";

const STATUS = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u4\n";
const SECRET = `s3cret-${randomBytes(8).toString("hex")}`;
const withSecret = TEST_BUILDER === "buildkit";

/** science/base: a dpkg status, numpy 1.25.2 (conda), requests (dist-info); science/tools on it (final of `pk`): scipy, and with BuildKit a step reading a secret. */
function family(): TempRepo {
  return makeRepo({
    ...science("base", { image: "pk", target: "pk-base" }, [
      "FROM busybox:stable",
      "COPY status /var/lib/dpkg/status",
      "COPY numpy-1.25.2-py311_0.json /opt/conda/conda-meta/",
      `COPY requests-2.31.0.dist-info ${SITE_PACKAGES}/requests-2.31.0.dist-info/`,
      "",
    ].join("\n")),
    "science/base/status": STATUS,
    "science/base/numpy-1.25.2-py311_0.json": condaRecord("numpy", "1.25.2"),
    "science/base/requests-2.31.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n",
    ...science("tools", { image: "pk", target: "pk-tools", compat: "c" }, [
      "FROM sci/pk-base:1.0",
      `COPY scipy-1.11.4.dist-info ${SITE_PACKAGES}/scipy-1.11.4.dist-info/`,
      ...(withSecret ? ["RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /tok-length"] : []),
      "",
    ].join("\n")),
    "science/tools/scipy-1.11.4.dist-info/METADATA": "Metadata-Version: 2.1\nName: scipy\nVersion: 1.11.4\n",
    ...compat("c", [], "ENV C=1\n"),
  });
}

let src: TempRepo;
let repo = "";
let tag = "";
let env: NodeJS.ProcessEnv = {};
let auth: [string, string] = ["", ""];
const cleanups: (() => void)[] = [];
test.after(() => cleanups.reverse().forEach((c) => c()));

async function get(path: string, accept = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json") {
  const registry = repo.slice(0, repo.indexOf("/"));
  const res = await registryRequest(registry, path, { auth, accept });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return { digest: res.headers.get("docker-content-digest"), bytes: Buffer.from(await res.arrayBuffer()) };
}
const name = (image: string) => `${repo.slice(repo.indexOf("/") + 1)}/${image}`;
const json = (b: { bytes: Buffer }) => JSON.parse(b.bytes.toString());

/** The index under `image:tag`, its platform image and attestation manifest, and the statements. */
async function attestationsOf(image: string, t = tag) {
  const index = await get(`${name(image)}/manifests/${t}`);
  const entries = json(index).manifests as any[];
  const [platformImage, attestation] = entries;
  const manifest = json(await get(`${name(image)}/manifests/${attestation.digest}`));
  const blobs = await Promise.all([manifest.config, ...manifest.layers].map((d: any) => get(`${name(image)}/blobs/${d.digest}`)));
  return { index, entries, platformImage, attestation, manifest, config: json(blobs[0]), statements: blobs.slice(1).map(json), raw: blobs.map((b) => b.bytes.toString()) };
}

test("a push publishes each image as an index: the image and its attestation manifest, as BuildKit stores them", async () => {
  const engine = requireEngine();
  auth = [engine.authUser, engine.authPass];
  src = family();
  cleanups.push(() => src.cleanup());
  const config = dockerConfigDir({ auths: { [engine.authRegistry]: authEntry(...auth) } });
  cleanups.push(config.cleanup);
  env = { DOCKER_CONFIG: config.dir };
  const secretFile = tempDir("ib-att-secret-");
  cleanups.push(secretFile[Symbol.dispose]);
  writeFileSync(join(secretFile.path, "tok"), SECRET);
  repo = uniqueRepo(engine.authRegistry);
  tag = `1.0-1-${src.git("rev-parse", "--short", "HEAD")}`;
  const r = await runCliAsync(["--all", "--push", "--repo", repo, "--progress", "plain", "--builder", TEST_BUILDER, "--results", "results.json", ...(withSecret ? ["--secret", `id=tok,src=${join(secretFile.path, "tok")}`] : [])], { cwd: src.root, env });
  assert.is(r.code, 0, r.stderr);
  const recorded = attestationResults("results.json");

  for (const image of ["sci/pk-base", "sci/pk-tools", "rel/pk"]) {
    const a = await attestationsOf(image);
    assert.is(json(a.index).mediaType, "application/vnd.oci.image.index.v1+json", image);
    assert.is(a.entries.length, 2, image);
    assert.equal(a.platformImage.platform, { architecture: "amd64", os: "linux" });
    // the platform image is the engine's push under the platform build tag
    assert.is(a.platformImage.digest, (await get(`${name(image)}/manifests/${tag}-linux-amd64`)).digest);
    assert.equal(a.attestation.platform, { architecture: "unknown", os: "unknown" });
    assert.equal(a.attestation.annotations, { "vnd.docker.reference.digest": a.platformImage.digest, "vnd.docker.reference.type": "attestation-manifest" });
    // --results names it: the manifest the index names, about the image
    assert.equal(recorded[image === "rel/pk" ? "rel/pk:1.0" : image], {
      status: "uploaded", subject: a.platformImage.digest, mediaType: a.attestation.mediaType, digest: a.attestation.digest, size: a.attestation.size,
    }, image);
    assert.is(a.manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
    assert.is(a.manifest.config.mediaType, "application/vnd.oci.image.config.v1+json");
    assert.equal(a.config, { architecture: "unknown", os: "unknown", config: {}, rootfs: { type: "layers", diff_ids: a.manifest.layers.map((l: any) => l.digest) } });
    assert.equal(a.manifest.layers.map((l: any) => [l.mediaType, l.annotations["in-toto.io/predicate-type"]]), [
      ["application/vnd.in-toto+json", "https://spdx.dev/Document"], ["application/vnd.in-toto+json", "https://slsa.dev/provenance/v1"],
    ]);
    for (const s of a.statements) {
      assert.is(s._type, "https://in-toto.io/Statement/v1");
      assert.equal(s.subject.map((x: any) => `sha256:${x.digest.sha256}`), [a.platformImage.digest]);
    }
    const [sbom, provenance] = a.statements;
    assert.ok(spdxDocumentSchema.safeParse(sbom.predicate).success, image);
    assert.ok(provenanceStatementSchema.safeParse(provenance).success, JSON.stringify(provenanceStatementSchema.safeParse(provenance).error?.issues));
    // nothing secret: not the --secret, not the registry's password
    for (const text of a.raw) {
      // (a --secret is given to the BuildKit builds only: the classic builder has no secret mounts)
      if (withSecret) assert.not.ok(text.includes(SECRET), `${image}: the --secret is in an attestation`);
      assert.not.ok(text.includes(engine.authPass), `${image}: the registry password is in an attestation`);
    }
  }
});

test("the provenance: the request, the commit, what it was built on as the registry holds it, the builder, the times", async () => {
  const { statements } = await attestationsOf("sci/pk-tools");
  const { buildDefinition, runDetails } = statements[1].predicate;
  assert.is(buildDefinition.externalParameters.build, "sci/pk-tools");
  assert.is(buildDefinition.externalParameters.source, "science/tools");
  const commit = src.git("rev-parse", "HEAD");
  assert.equal(buildDefinition.resolvedDependencies[0], { digest: { gitCommit: commit }, name: "source" });
  const parent = buildDefinition.resolvedDependencies.find((d: any) => d.annotations?.["org.sciserver.build-tag"]);
  assert.is(parent.annotations["org.sciserver.build-tag"], `${repo}/sci/pk-base:${tag}`);
  assert.is(`sha256:${parent.digest.sha256}`, (await get(`${name("sci/pk-base")}/manifests/${tag}-linux-amd64`)).digest);
  assert.match(runDetails.builder.id, new RegExp(`/builders/${TEST_BUILDER}$`));
  assert.ok(runDetails.builder.version["docker-engine"]);
  assert.ok(Date.parse(runDetails.metadata.startedOn) <= Date.parse(runDetails.metadata.finishedOn));
  // the compat build names its fragments
  const rel = (await attestationsOf("rel/pk")).statements[1].predicate.buildDefinition.resolvedDependencies;
  assert.equal(rel.filter((d: any) => d.annotations?.kind === "compat-fragment").map((d: any) => d.name), ["compat/c"]);
});

/** An ISO time without milliseconds, as the provenance writes its times. */
const isoSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

test("each provenance agrees with the registry: its subject, its parents' digests, its times and its labels are the registry's", async () => {
  /** The platform image under `image`'s platform build tag, and its config, as the registry serves them. */
  const platformImage = async (image: string) => {
    const m = await get(`${name(image)}/manifests/${tag}-linux-amd64`);
    const config = json(await get(`${name(image)}/blobs/${json(m).config.digest}`));
    return { digest: m.digest, labels: config.config.Labels as Record<string, string>, created: config.created as string };
  };
  const parents: Record<string, string[]> = { "sci/pk-base": [], "sci/pk-tools": ["sci/pk-base"], "rel/pk": ["sci/pk-tools"] };
  const buildtime: Record<string, string> = {
    "sci/pk-base": "org.sciserver.science.pk-base.buildtime", "sci/pk-tools": "org.sciserver.science.pk-tools.buildtime", "rel/pk": "org.sciserver.compat.buildtime",
  };
  for (const image of ["sci/pk-base", "sci/pk-tools", "rel/pk"]) {
    const { statements } = await attestationsOf(image);
    const provenance = statements.find((s: any) => s.predicateType === "https://slsa.dev/provenance/v1");
    const held = await platformImage(image);
    // about the image under its platform build tag
    assert.equal(provenance.subject.map((s: any) => `sha256:${s.digest.sha256}`), [held.digest], image);
    // each parent it names is the manifest under the parent's platform build tag
    const named = provenance.predicate.buildDefinition.resolvedDependencies.filter((d: any) => d.annotations?.["org.sciserver.build-tag"]);
    assert.equal(named.map((d: any) => d.annotations["org.sciserver.build-tag"]), parents[image].map((p) => `${repo}/${p}:${tag}`), image);
    for (const [i, parent] of parents[image].entries()) assert.is(`sha256:${named[i].digest.sha256}`, (await platformImage(parent)).digest, `${image}: parent ${parent}`);
    // its times: the build's start from the buildtime label, its end the config's `created` (the
    // start when `created` is earlier: an image whose layers all came from the build cache keeps
    // their time)
    const { startedOn, finishedOn } = provenance.predicate.runDetails.metadata;
    const started = Number(held.labels[buildtime[image]]) * 1000;
    assert.is(startedOn, isoSeconds(started), `${image}: startedOn`);
    assert.is(finishedOn, isoSeconds(Math.max(started, Date.parse(held.created))), `${image}: finishedOn`);
    // its labels are the image's own: the config's, less what it inherited from its parent
    const inherited = parents[image].length ? (await platformImage(parents[image][0])).labels : {};
    const own = Object.fromEntries(Object.entries(held.labels).filter(([k, v]) => inherited[k] !== v));
    assert.ok(Object.keys(own).length > 0, image);
    assert.equal(provenance.predicate.buildDefinition.internalParameters.labels, own, image);
  }
});

test("skopeo (Debian's) reads the index and its attestation manifest as the HTTP API serves them", async () => {
  const a = await attestationsOf("rel/pk");
  const skopeo = (ref: string) => execFileSync("skopeo", ["inspect", "--raw", "--tls-verify=false", "--creds", auth.join(":"), `docker://${ref}`], { encoding: "utf8" });
  assert.is(skopeo(`${repo}/rel/pk:${tag}`), a.index.bytes.toString());
  assert.equal(JSON.parse(skopeo(`${repo}/rel/pk@${a.attestation.digest}`)), a.manifest);
});

test("sbom, diff and contains --package answer from the stored SBOMs", () => {
  const sbom = runCli(["sbom", "rel/pk:1.0", "--repo", repo], { env });
  assert.is(sbom.code, 0, sbom.stderr);
  assert.is(sbom.stdout, [
    "TYPE   NAME      VERSION",
    "deb    libc6     2.36-9+deb12u4",
    "conda  numpy     1.25.2",
    "pypi   requests  2.31.0",
    "pypi   scipy     1.11.4",
    "",
  ].join("\n"));
  const diff = runCli(["diff", "sci/pk-base:1.0", "rel/pk:1.0", "--repo", repo], { env });
  assert.is(diff.stdout, ["CHANGE  TYPE  NAME   sci/pk-base:1.0  rel/pk:1.0", "added   pypi  scipy  -                1.11.4", ""].join("\n"));
  const contains = (spec: string) => {
    const r = runCli(["contains", "--package", spec, "--repo", repo, "--json"], { env });
    assert.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    for (const image of out.images) assert.is(image.sbom, "attestation", image.image);
    return out.images.map((i: any) => `${i.image} ${i.packages.map((p: any) => `${p.type}/${p.name}@${p.version}`).join(",")}`);
  };
  const all = ["rel/pk:1.0", "sci/pk-base:1.0", "sci/pk-tools:1.0"];
  assert.equal(contains("numpy<1.26"), all.map((i) => `${i} conda/numpy@1.25.2`));
  assert.equal(contains("numpy==1.25.2"), all.map((i) => `${i} conda/numpy@1.25.2`));
  assert.equal(contains("numpy>=1.26"), []);
  assert.equal(contains("scipy"), ["rel/pk:1.0 pypi/scipy@1.11.4", "sci/pk-tools:1.0 pypi/scipy@1.11.4"]);
});

/** Each build's attestation in a --results file of the run, by build id. */
function attestationResults(file: string): Record<string, unknown> {
  return Object.fromEntries((JSON.parse(readFileSync(join(src.root, file), "utf8")).results as { id: string; attestation?: unknown }[]).map((r) => [r.id, r.attestation]));
}

test("a rerun with nothing changed pushes nothing: every tag holds what it held, and the registry logs no write from image-builder or the engine", async () => {
  const before = await tagDigests();
  const first = attestationResults("results.json");
  const writes = registryWritesFromNow("registry-auth", repo.slice(repo.indexOf("/") + 1));
  const r = await runCliAsync(["--all", "--push", "--repo", repo, "--progress", "plain", "--builder", TEST_BUILDER, "--results", "again.json", ...(withSecret ? ["--secret", "id=tok,env=TOK"] : [])], { cwd: src.root, env: { ...env, TOK: SECRET } });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /\n3 reused/);
  assert.equal(writes(), [], "the rerun wrote to the registry");
  assert.equal(await tagDigests(), before);
  // the same attestations, found in the registry
  assert.equal(attestationResults("again.json"), Object.fromEntries(Object.entries(first).map(([id, a]) => [id, { ...a as object, status: "already there" }])));
});

/** The layer blobs image-builder read (its user agent) among `lines` of the registry's log: their digests. */
const layersRead = (lines: string[]) => new Set(lines.filter((l) => l.includes("image-builder/") && /"GET [^ ]*\/blobs\/sha256:/.test(l)).map((l) => /\/blobs\/(sha256:[0-9a-f]{64})/.exec(l)![1]));

test("the SBOM cache: a push of the same images reads none of the layers an earlier run read, its SBOMs the same; a damaged cache is read around and mended", async () => {
  const engine = requireEngine();
  const cache = tempDir("ib-att-cache-");
  cleanups.push(cache[Symbol.dispose]);
  const table = (r: string) => runCli(["sbom", "rel/pk:1.0", "--repo", r], { env }).stdout;
  const expected = table(repo);
  assert.match(expected, /scipy +1\.11\.4/);
  /** A push of the checkout to a new path with the cache: the layers it read, and the path. */
  const push = async () => {
    const to = uniqueRepo(engine.authRegistry);
    const requests = registryRequestsFromNow("registry-auth", to.slice(to.indexOf("/") + 1));
    const r = await runCliAsync(["--all", "--push", "--repo", to, "--progress", "plain", "--builder", TEST_BUILDER, ...(withSecret ? ["--secret", "id=tok,env=TOK"] : [])],
      { cwd: src.root, env: { ...env, TOK: SECRET, IMAGE_BUILDER_CACHE: cache.path } });
    assert.is(r.code, 0, r.stderr);
    assert.not.match(r.stderr, /SBOM cache/);
    assert.is(table(to), expected, `the SBOM of ${to}`);
    return { read: layersRead(requests()), to };
  };
  // An empty cache: the layers are read (the base's among them), and kept.
  const first = await push();
  assert.ok(first.read.size > 0, "the first push read no layer");
  const records = join(cache.path, "sbom-layers", "v2");
  const kept = readdirSync(records);
  assert.ok(kept.length > 0, "nothing kept");
  // Kept: none of those layers is read again.
  const second = await push();
  assert.equal([...second.read].filter((d) => first.read.has(d)), [], "layers read again");
  // Damaged: the records kept are not trusted; the layers are read again, and the records mended.
  // (still JSON, and of the right shape: only the digest each record starts with tells)
  for (const f of kept) writeFileSync(join(records, f), readFileSync(join(records, f), "utf8").replace('"layers":', '"layers" :'));
  const third = await push();
  assert.ok([...third.read].some((d) => first.read.has(d)), "a damaged cache was trusted");
  for (const f of kept) {
    const text = readFileSync(join(records, f), "utf8");
    assert.is(text.slice(0, text.indexOf("\n")), sha256Hex(text.slice(text.indexOf("\n") + 1)), `${f} not mended`);
  }
});

async function tagDigests(): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const image of ["sci/pk-base", "sci/pk-tools", "rel/pk"]) {
    for (const t of (json(await get(`${name(image)}/tags/list`)).tags as string[]).sort()) out[`${image}:${t}`] = (await get(`${name(image)}/manifests/${t}`)).digest;
  }
  return out;
}

test("checkAttestations: right as pushed; a tampered attestation and a re-tagged parent are named; sbom and contains --package don't trust an SBOM about another image", async () => {
  const client = new RegistryClient(await DockerCredentials.load(env.DOCKER_CONFIG));
  assert.equal(await checkAttestations(client, `${repo}/rel/pk:${tag}`), []);
  assert.equal(await checkAttestations(client, `${repo}/sci/pk-tools:${tag}`), []);
  // `verify` judges them the same way (its signature checks fail here: nothing was signed).
  using keys = tempDir("ib-attest-verify-");
  const { pub } = writeKeyPair(keys.path);
  const attestationChecks = () => {
    const r = runCli(["verify", `${repo}/rel/pk:${tag}`, "--key", pub, "--json"], { env });
    assert.is(r.code, 1, r.stderr);
    return (JSON.parse(r.stdout) as { checks: { check: string; ok: boolean; detail: string }[] }).checks.filter((c) => c.check === "attestations").map((c) => [c.ok, c.detail]);
  };
  assert.equal(attestationChecks().map(([ok]) => ok), [true]);

  // An attestation of another image put in rel/pk's index: an SBOM with a package the image lacks.
  const a = await attestationsOf("rel/pk");
  const other = `sha256:${"e".repeat(64)}`;
  const doc = { ...a.statements[0].predicate, packages: [...a.statements[0].predicate.packages, {
    SPDXID: "SPDXRef-Package-pypi-evil", name: "evil", versionInfo: "6.6.6", downloadLocation: "NOASSERTION",
    externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: "pkg:pypi/evil@6.6.6" }],
  }] };
  const forged = attestationManifest(a.platformImage.digest, [
    sbomStatement([{ name: "forged", digest: { sha256: other.slice(7) } }], doc), a.statements[1] as InTotoStatement,
  ]);
  const relRef = parseImageReference(`${repo}/rel/pk`);
  await putAttestationManifest(client, relRef, forged);
  const index = Buffer.from(JSON.stringify({ ...json(a.index), manifests: [a.platformImage, forged.manifest.descriptor] }));
  await client.putManifest({ ...relRef, tag }, index, MEDIA_TYPES.ociIndex);
  const problems = await checkAttestations(client, `${repo}/rel/pk:${tag}`);
  assert.equal(problems, [`linux/amd64 (${a.platformImage.digest}): attestation layer ${forged.blobs[1].descriptor.digest}: subject forged is ${other}, not the image's ${a.platformImage.digest}`]);
  assert.equal(attestationChecks(), [[false, problems[0]]]);
  // sbom, and contains --package, read the image's own layers instead, and say why.
  const sbom = runCli(["sbom", `${repo}/rel/pk:${tag}`], { env });
  assert.is(sbom.code, 0, sbom.stderr);
  assert.not.match(sbom.stdout, /evil/);
  assert.match(sbom.stdout, /^pypi\s+scipy\s+1\.11\.4$/m);
  assert.match(sbom.stderr, new RegExp(`^image-builder: warning: .*/rel/pk:${tag}: its SBOM attestation sha256:[0-9a-f]{64} is not about it: subject forged is ${other}, not the image's ${a.platformImage.digest}; its packages are read from its layers instead$`, "m"));
  const evil = runCli(["contains", "--package", "evil", "--repo", repo, "--all-tags", "--json"], { env });
  assert.is(evil.code, 0, evil.stderr);
  assert.equal(JSON.parse(evil.stdout).images, []);
  const scipy = runCli(["contains", "--package", "scipy", "--repo", repo, "--all-tags", "--json"], { env });
  assert.equal(JSON.parse(scipy.stdout).images.filter((i: any) => i.image === `rel/pk:${tag}`).map((i: any) => i.sbom), ["layers"]);

  // sci/pk-base's build tag re-tagged to another image: sci/pk-tools' provenance no longer holds.
  const { docker } = requireEngine();
  await publish(docker, [`${repo}/sci/pk-base:${tag}`], "FROM busybox:stable\nRUN echo other > /other\n", { username: auth[0], password: auth[1] });
  const now = (await get(`${name("sci/pk-base")}/manifests/${tag}`)).digest;
  const parentProblems = await checkAttestations(client, `${repo}/sci/pk-tools:${tag}`);
  assert.is(parentProblems.length, 1, parentProblems.join("\n"));
  assert.match(parentProblems[0], new RegExp(`^linux/amd64 \\(sha256:[0-9a-f]{64}\\): parent ${repo.replace(/[.]/g, "\\.")}/sci/pk-base:${tag} holds ${now}, but the provenance says it was built on sha256:[0-9a-f]{64}$`));
});

test("verify exits 1 naming the parent whose build tag was re-tagged to another image, one with the same labels: only the provenance's digest tells", async () => {
  const { docker, authRegistry } = requireEngine();
  const signed = uniqueRepo(authRegistry);
  using keys = tempDir("ib-attest-parent-");
  const { key, pub } = writeKeyPair(keys.path);
  const secret = withSecret ? ["--secret", "id=tok,env=TOK"] : [];
  const r = await runCliAsync(["--all", "--push", "--repo", signed, "--sign-key", key, "--progress", "plain", "--builder", TEST_BUILDER, ...secret], { cwd: src.root, env: { ...env, TOK: SECRET } });
  assert.is(r.code, 0, r.stderr);
  const verify = () => runCli(["verify", `${signed}/sci/pk-tools:${tag}`, "--key", pub], { env });
  const before = verify();
  assert.is(before.code, 0, `${before.stdout}${before.stderr}`);

  // sci/pk-base's build tag re-pushed with another image that carries its labels, so that the
  // parent check (which reads labels) is satisfied; its platform build tag keeps the original.
  const parentTag = `${signed}/sci/pk-base:${tag}`;
  const { labels } = await registryImage(parentTag, auth);
  const relabelled = Object.entries(labels).map(([k, v]) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`).join("\n");
  await publish(docker, [parentTag], `FROM busybox:stable\nRUN echo other > /other\n${relabelled}\n`, { username: auth[0], password: auth[1] });
  const now = (await registryImage(parentTag, auth)).digest;
  const original = (await registryImage(`${parentTag}-linux-amd64`, auth)).digest;
  assert.is.not(now, original);

  const after = verify();
  assert.is(after.code, 1, `${after.stdout}${after.stderr}`);
  const parent = `${signed}/sci/pk-base:${tag}`.replace(/[.]/g, "\\.");
  assert.match(after.stderr, new RegExp(`^image-builder: verify failed: attestations of index sha256:[0-9a-f]{64}: linux/amd64 \\(sha256:[0-9a-f]{64}\\): parent ${parent} holds ${now}, but the provenance says it was built on ${original}\n$`));
  assert.match(after.stdout, new RegExp(`^FAILED\\s+attestations\\s+index sha256:[0-9a-f]{64}\\s+.*parent ${parent} holds ${now}`, "m"));
  // the checks that read labels and signatures still pass: it is the provenance that tells
  assert.match(after.stdout, /^ok\s+parent\s+sci\/pk-base:/m);
  assert.match(after.stdout, /^ok\s+signature\s/m);
});

test("--no-attestations: the images alone, each a plain image under its build tag", async () => {
  const plain = uniqueRepo(requireEngine().authRegistry);
  const r = await runCliAsync(["--all", "--push", "--no-attestations", "--repo", plain, "--progress", "plain", "--builder", TEST_BUILDER], { cwd: src.root, env });
  assert.is(r.code, 0, r.stderr);
  const saved = repo;
  repo = plain;
  try {
    const top = json(await get(`${name("rel/pk")}/manifests/${tag}`));
    assert.is(top.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
    assert.equal(json(await get(`${name("rel/pk")}/tags/list`)).tags.sort(), ["1.0", tag]);
    // sbom falls back on the layers
    const sbom = runCli(["contains", "--package", "scipy", "--repo", plain, "--json"], { env });
    assert.equal(JSON.parse(sbom.stdout).images.map((i: any) => [i.image, i.sbom]), [["rel/pk:1.0", "layers"], ["sci/pk-tools:1.0", "layers"]]);
  } finally {
    repo = saved;
  }
});

test("--reconcile adds the attestations an image of this checkout was published without, without rebuilding it", async () => {
  const plain = uniqueRepo(requireEngine().authRegistry);
  const first = await runCliAsync(["--all", "--push", "--no-attestations", "--repo", plain, "--progress", "plain", "--builder", TEST_BUILDER], { cwd: src.root, env });
  assert.is(first.code, 0, first.stderr);
  const saved = repo;
  repo = plain;
  try {
    const before = await get(`${name("rel/pk")}/manifests/${tag}`);
    const planned = runCli(["--reconcile", "--dryrun", "-vv", "--repo", plain], { cwd: src.root, env });
    assert.match(planned.stderr, new RegExp(`build rel/pk:1\\.0 \\(after sci/pk-tools\\): .*rel/pk:1\\.0 holds pk:${tag}, of this checkout's inputs, without its attestations \\(provenance, SBOM\\)`), planned.stderr);
    const r = await runCliAsync(["--reconcile", "--push", "--repo", plain, "--progress", "plain", "--builder", TEST_BUILDER, ...(withSecret ? ["--secret", "id=tok,env=TOK"] : [])], { cwd: src.root, env: { ...env, TOK: SECRET } });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /3 reused/);
    assert.not.match(r.stderr, /\bbuilt\b/);
    // The same image, now in an index with its attestations, under both of its tags.
    const a = await attestationsOf("rel/pk");
    assert.is(a.platformImage.digest, before.digest);
    assert.is((await get(`${name("rel/pk")}/manifests/1.0`)).digest, a.index.digest);
    const client = new RegistryClient(await DockerCredentials.load(env.DOCKER_CONFIG));
    for (const image of ["sci/pk-base", "sci/pk-tools", "rel/pk"]) assert.equal(await checkAttestations(client, `${plain}/${image}:${tag}`), [], image);
    const done = runCli(["--reconcile", "--dryrun", "-v", "--repo", plain], { cwd: src.root, env });
    assert.match(done.stderr, /nothing to build: nothing missing from or stale in the registry/);
  } finally {
    repo = saved;
  }
});

test("verify of a platform tag judges its parents on their platform build tags: a parent whose index was not written (or is gone) leaves the child's platform image verifiable, not its index", async () => {
  const fresh = uniqueRepo(requireEngine().authRegistry);
  using keys = tempDir("ib-attest-platform-parent-");
  const { key, pub } = writeKeyPair(keys.path);
  const r = await runCliAsync(["--all", "--push", "--repo", fresh, "--sign-key", key, "--progress", "plain", "--builder", TEST_BUILDER, ...(withSecret ? ["--secret", "id=tok,env=TOK"] : [])], { cwd: src.root, env: { ...env, TOK: SECRET } });
  assert.is(r.code, 0, r.stderr);
  const saved = repo;
  repo = fresh;
  try {
    // sci/pk-base's index gone (its build tag and {version}); its platform tags stay.
    const index = await get(`${name("sci/pk-base")}/manifests/${tag}`);
    const registry = repo.slice(0, repo.indexOf("/"));
    assert.is((await registryRequest(registry, `${name("sci/pk-base")}/manifests/${index.digest}`, { auth, method: "DELETE" })).status, 202);
    for (const platformTag of [`1.0-linux-amd64`, `${tag}-linux-amd64`]) {
      const v = runCli(["verify", `${fresh}/sci/pk-tools:${platformTag}`, "--no-attestations", "--key", pub], { env });
      assert.is(v.code, 0, `${platformTag}: ${v.stdout}${v.stderr}`);
      assert.match(v.stdout, new RegExp(`ok +parent +sci/pk-base:${tag} .*the registry holds the build this image was built on`));
    }
    const ofIndex = runCli(["verify", `${fresh}/sci/pk-tools:1.0`, "--key", pub], { env });
    assert.is(ofIndex.code, 1, ofIndex.stdout);
    assert.match(ofIndex.stdout, new RegExp(`FAILED +parent +sci/pk-base:${tag}`));
  } finally {
    repo = saved;
  }
});

test("--reconcile plans what verify would reject, and its run repairs it: an attestation manifest deleted, a platform image's signature deleted, an index naming a deleted image", async () => {
  const fresh = uniqueRepo(requireEngine().authRegistry);
  using keys = tempDir("ib-attest-reconcile-");
  const { key, pub } = writeKeyPair(keys.path);
  const secret = withSecret ? ["--secret", "id=tok,env=TOK"] : [];
  const push = (...flags: string[]) => runCliAsync([...flags, "--push", "--repo", fresh, "--sign-key", key, "--progress", "plain", "--builder", TEST_BUILDER, ...secret], { cwd: src.root, env: { ...env, TOK: SECRET } });
  const first = await push("--all");
  assert.is(first.code, 0, first.stderr);
  const saved = repo;
  repo = fresh;
  try {
    const del = async (image: string, digest: string) => {
      const registry = repo.slice(0, repo.indexOf("/"));
      const res = await registryRequest(registry, `${name(image)}/manifests/${digest}`, { auth, method: "DELETE" });
      assert.is(res.status, 202, `DELETE ${image}@${digest}`);
    };
    const planned = () => runCli(["--reconcile", "--dryrun", "-vv", "--repo", fresh, "--sign-key", key], { cwd: src.root, env });
    const verifies = (image: string) => runCli(["verify", `${fresh}/${image}:1.0`, "--key", pub], { env });
    assert.match(planned().stderr, /nothing to build/);
    // sci/pk-base's attestation manifest deleted (its index still names it); rel/pk's platform image's signature deleted.
    const base = await attestationsOf("sci/pk-base");
    await del("sci/pk-base", base.attestation.digest);
    const rel = await attestationsOf("rel/pk");
    await del("rel/pk", (await get(`${name("rel/pk")}/manifests/${rel.platformImage.digest.replace(":", "-")}.sig`)).digest!);
    // sci/pk-tools' index (both tags) given an attestation manifest naming its image whose SBOM statement is about another image.
    const client = new RegistryClient(await DockerCredentials.load(env.DOCKER_CONFIG));
    const t = await attestationsOf("sci/pk-tools");
    const forged = attestationManifest(t.platformImage.digest, [
      sbomStatement([{ name: "forged", digest: { sha256: "f".repeat(64) } }], t.statements[0].predicate), t.statements[1] as InTotoStatement,
    ]);
    const toolsRef = parseImageReference(`${fresh}/sci/pk-tools`);
    await putAttestationManifest(client, toolsRef, forged);
    const forgedIndex = Buffer.from(JSON.stringify({ ...json(t.index), manifests: [t.platformImage, { ...t.attestation, digest: forged.manifest.descriptor.digest, size: forged.manifest.descriptor.size }] }));
    for (const at of [tag, "1.0"]) await client.putManifest({ ...toolsRef, tag: at }, forgedIndex, MEDIA_TYPES.ociIndex);
    for (const image of ["sci/pk-base", "rel/pk", "sci/pk-tools"]) assert.is(verifies(image).code, 1, `verify ${image} before`);
    const plan = planned();
    assert.match(plan.stderr, new RegExp(`build sci/pk-base: .*sci/pk-base:1\\.0 holds ${tag}, of this checkout's inputs, with attestations that are not its own or not whole \\(the registry does not hold attestation manifest .*@${base.attestation.digest}\\)`), plan.stderr);
    assert.match(plan.stderr, new RegExp(`build rel/pk:1\\.0.*: .*rel/pk:1\\.0 holds pk:${tag}, of this checkout's inputs, not signed by the signing key`), plan.stderr);
    assert.match(plan.stderr, new RegExp(`build sci/pk-tools.*: .*with attestations that are not its own or not whole \\(.*subject forged is sha256:f{64}, not the image's ${t.platformImage.digest}`), plan.stderr);
    const repaired = await push("--reconcile");
    assert.is(repaired.code, 0, repaired.stderr);
    assert.match(repaired.stderr, /\n3 reused, /);
    assert.is.not((await attestationsOf("sci/pk-tools")).attestation.digest, forged.manifest.descriptor.digest, "the forged attestation is replaced");
    for (const image of ["sci/pk-base", "rel/pk", "sci/pk-tools"]) {
      const v = verifies(image);
      assert.is(v.code, 0, `verify ${image} after: ${v.stdout}${v.stderr}`);
    }
    assert.match(planned().stderr, /nothing to build/);

    // sci/pk-base's platform moving tag (of its one-platform index: the bare image, for clients
    // that want no index) made to hold another manifest: the image is right, that tag is not.
    const pkBase = await attestationsOf("sci/pk-base");
    const platformTag = `1.0-${platformTagSuffix(`${pkBase.platformImage.platform.os}/${pkBase.platformImage.platform.architecture}`)}`;
    const baseRef = parseImageReference(`${fresh}/sci/pk-base`);
    await client.putManifest({ ...baseRef, tag: platformTag }, Buffer.from(JSON.stringify(pkBase.manifest)), pkBase.attestation.mediaType);
    const lagging = planned();
    assert.match(lagging.stderr, new RegExp(`build sci/pk-base: .*sci/pk-base:1\\.0 holds ${tag}, of this checkout's inputs, but \\S+/sci/pk-base:${platformTag} holds sha256:[0-9a-f]{64}, not its image ${pkBase.platformImage.digest}`), lagging.stderr);
    assert.not.match(lagging.stderr, /build sci\/pk-tools/, "nothing built on it is planned");
    const retagged = await push("--reconcile");
    assert.is(retagged.code, 0, retagged.stderr);
    assert.is((await get(`${name("sci/pk-base")}/manifests/${platformTag}`)).digest, pkBase.platformImage.digest);
    assert.match(planned().stderr, /nothing to build/);
    // The same image in a manifest of other bytes (the run would find it there, and push nothing): current.
    const sameImage = Buffer.from(JSON.stringify(json(await get(`${name("sci/pk-base")}/manifests/${pkBase.platformImage.digest}`)), null, 2));
    await client.putManifest({ ...baseRef, tag: platformTag }, sameImage, pkBase.platformImage.mediaType);
    assert.is.not((await get(`${name("sci/pk-base")}/manifests/${platformTag}`)).digest, pkBase.platformImage.digest);
    assert.match(planned().stderr, /nothing to build/);

    // sci/pk-tools' platform image deleted: its index names a manifest the registry no longer has.
    const tools = await attestationsOf("sci/pk-tools");
    await del("sci/pk-tools", tools.platformImage.digest);
    const broken = planned();
    assert.is(broken.code, 0, broken.stderr);
    assert.match(broken.stderr, new RegExp(`build sci/pk-tools.*sci/pk-tools:1\\.0 is broken: .*the index names manifest ${tools.platformImage.digest}, which the registry does not have`), broken.stderr);
    assert.match(broken.stderr, /build rel\/pk:1\.0.*: .*built on sci\/pk-tools, which is rebuilt/);
    // verify of what is built on it: failed checks in its table (and its --json), not an error of verify's.
    const parentLost = verifies("rel/pk");
    assert.is(parentLost.code, 1, parentLost.stdout + parentLost.stderr);
    assert.match(parentLost.stdout, /FAILED +attestations +.*parent \S+\/sci\/pk-tools:\S+ can't be read/, parentLost.stdout + parentLost.stderr);
    const asJson = runCli(["verify", `${fresh}/rel/pk:1.0`, "--key", pub, "--json"], { env });
    assert.is(asJson.code, 1, asJson.stderr);
    assert.ok((JSON.parse(asJson.stdout) as { checks: unknown[] }).checks.length > 0, asJson.stdout);
    const rebuilt = await push("--reconcile");
    assert.is(rebuilt.code, 0, rebuilt.stderr);
    for (const image of ["sci/pk-tools", "rel/pk"]) {
      const v = verifies(image);
      assert.is(v.code, 0, `verify ${image} after the rebuild: ${v.stdout}${v.stderr}`);
    }

    // rel/pk's SBOM statement damaged on the registry's disk: a registry keeps a blob it has, so
    // the run can't repair it by uploading it again, and says so rather than "already there".
    const statement = (await attestationsOf("rel/pk")).manifest.layers[0].digest as string;
    const data = join(process.env.IB_ENGINE_STATE!, "registry-auth", "data", "docker", "registry", "v2", "blobs", "sha256", statement.slice(7, 9), statement.slice(7), "data");
    writeFileSync(data, readFileSync(data).toString().replace('"_type"', '"_typf"'));
    assert.match(planned().stderr, /build rel\/pk:1\.0.*with attestations that are not its own or not whole \(.*content has digest/);
    using out = tempDir("ib-attest-damaged-");
    const damaged = await push("--reconcile", "--results", join(out.path, "r.json"));
    assert.is(damaged.code, 1, damaged.stderr);
    assert.match(damaged.stderr, /the registry holds this attestation damaged \(.*content has digest .*\), and uploading it again does not replace what a registry has/);
    const relResult = (JSON.parse(readFileSync(join(out.path, "r.json"), "utf8")) as { results: { id: string; attestation?: { status: string } }[] }).results.find((r) => r.id === "rel/pk:1.0");
    assert.is(relResult?.attestation?.status, "failed", JSON.stringify(relResult));
  } finally {
    repo = saved;
  }
});

test.run();
