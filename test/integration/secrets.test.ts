// Every secret a run knows is masked wherever the run shows or records text: the signing key's
// password and PEM (an encrypted key, COSIGN_PASSWORD), the registry's password from the docker
// config and a --secret value, each passed as a build argument too (which the README says never
// to do, and which a run must still not publish): not in the output at -vvv (the plan's command
// lines, warnings), the logs, the results or any blob of the pushed attestation manifests.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, runCliAsync } from "../helpers/cli.js";
import { registryRequest, registryTags, requireEngine, TEST_BUILDER, uniqueRepo } from "../helpers/engine.js";
import { authEntry, dockerConfigDir } from "../helpers/registry.js";
import { compat, makeRepo, science } from "../helpers/repo.js";
import { filesUnder, tempDir } from "../helpers/temp.js";
import { pemBodyLines, writeKeyPair } from "../helpers/keys.js";

const PASSWORD = `Hunter2-sekret-${randomBytes(6).toString("hex")}`;
const SECRET = `s3cret-${randomBytes(8).toString("hex")}`;
/** An encrypted PKCS#8 P-256 key, as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it. */
const PEM = generateKeyPairSync("ec", {
  namedCurve: "P-256",
  privateKeyEncoding: { type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: PASSWORD },
  publicKeyEncoding: { type: "spki", format: "pem" },
}).privateKey;
/** The key's lines that are its own (not the BEGIN and END lines every such key has). */
const PEM_LINES = pemBodyLines(PEM);

function family() {
  return makeRepo({
    ...science("base", { image: "sk", target: "sk-base", compat: "c" }, "FROM busybox:stable\nARG PW\nARG K\nARG TOKEN\nARG SV\nRUN echo built\n"),
    ...compat("c", [], "ENV C=1\n"),
  });
}

/** Which secret (named) `text` holds, if any. */
function secretsIn(text: string, registryPassword: string): string[] {
  const named: [string, string][] = [["the key's password", PASSWORD], ["the registry password", registryPassword], ["the --secret value", SECRET],
    ...PEM_LINES.map((l, i): [string, string] => [`line ${i + 2} of the key`, l])];
  return named.filter(([, s]) => text.includes(s)).map(([name]) => name);
}

test("an encrypted --sign-key, COSIGN_PASSWORD, the registry's password and a --secret, each also a --build-arg, at -vvv: in no output, log, result or attestation blob", async () => {
  const engine = requireEngine();
  const auth: [string, string] = [engine.authUser, engine.authPass];
  using src = family();
  using config = dockerConfigDir({ auths: { [engine.authRegistry]: authEntry(...auth) } });
  using dir = tempDir("ib-secrets-");
  const key = join(dir.path, "enc.pem");
  writeFileSync(key, PEM);
  const results = join(dir.path, "results.json");
  const logs = join(dir.path, "logs");
  const repo = uniqueRepo(engine.authRegistry);
  const args = ["--build-arg", `PW=${PASSWORD}`, "--build-arg", `K=${PEM_LINES[0]}`, "--build-arg", `TOKEN=${engine.authPass}`, "--build-arg", `SV=${SECRET}`];
  const r = await runCliAsync([
    "--all", "--push", "--repo", repo, "--sign-key", key, "-vvv", "--progress", "plain", "--builder", TEST_BUILDER, "--results", results, "--log-dir", logs,
    "--secret", "id=tok,env=TOK", ...args,
  ], { cwd: src.root, env: { DOCKER_CONFIG: config.dir, COSIGN_PASSWORD: PASSWORD, TOK: SECRET } });
  assert.is(r.code, 0, r.stderr);
  // the plan's command lines are there, masked
  assert.match(r.stderr, /command: .*--build-arg PW=\*\*\* --build-arg K=\*\*\* --build-arg TOKEN=\*\*\* --build-arg SV=\*\*\*/);
  assert.equal(secretsIn(r.stdout + r.stderr, engine.authPass), [], "output");
  assert.ok(readdirSync(logs).length > 0, "the run wrote its logs");
  for (const file of readdirSync(logs)) assert.equal(secretsIn(readFileSync(join(logs, file), "utf8"), engine.authPass), [], `log ${file}`);
  assert.equal(secretsIn(readFileSync(results, "utf8"), engine.authPass), [], "results");

  // every blob of every attestation manifest the registry holds, fetched over its HTTP API
  const registry = repo.slice(0, repo.indexOf("/"));
  const get = async (name: string, path: string) => {
    const res = await registryRequest(registry, `${name}/${path}`, { auth, accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json" });
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
    return res.text();
  };
  let provenances = 0;
  for (const image of ["sci/sk-base", "rel/sk"]) {
    const name = `${repo.slice(repo.indexOf("/") + 1)}/${image}`;
    for (const tag of await registryTags(`${registry}/${name}`, auth)) {
      const index = JSON.parse(await get(name, `manifests/${tag}`));
      for (const entry of index.manifests ?? []) {
        if (entry.annotations?.["vnd.docker.reference.type"] !== "attestation-manifest") continue;
        const manifest = JSON.parse(await get(name, `manifests/${entry.digest}`));
        for (const blob of [manifest.config, ...manifest.layers]) {
          const text = await get(name, `blobs/${blob.digest}`);
          assert.equal(secretsIn(text, engine.authPass), [], `${image}:${tag}: attestation blob ${blob.digest}`);
          if (text.includes("https://slsa.dev/provenance/v1")) {
            provenances++;
            // the build arguments holding a secret are left out; the statement is there
            assert.equal(JSON.parse(text).predicate.buildDefinition.externalParameters.buildArgs, {}, `${image}:${tag}`);
          }
        }
      }
    }
  }
  assert.ok(provenances > 0, "no provenance found");
});

test("--dryrun -vvv knows the secrets of the environment and the docker config: the plan's command lines and a warning mask them", () => {
  using src = family();
  using config = dockerConfigDir({ auths: { "registry.example.org": authEntry("ci", "registry-pass-0123") } });
  using dir = tempDir("ib-secrets-dry-");
  const key = join(dir.path, "enc.pem");
  writeFileSync(key, PEM);
  const env = { DOCKER_CONFIG: config.dir, COSIGN_PASSWORD: PASSWORD, IMAGE_BUILDER_SIGN_KEY: key, TOK: SECRET };
  // IMAGE_BUILDER_SIGN_KEY as a file's path (also with the line end a file written by `echo` leaves) and as the PEM itself (a Jenkins secret text credential)
  for (const signKey of [key, `${key}\n`, PEM]) {
    const r = runCli(["--all", "--dryrun", "-vvv", "--secret", "id=tok,env=TOK", "--build-arg", `PW=${PASSWORD}`, "--build-arg", `K=${PEM_LINES[1]}`,
      "--build-arg", "TOKEN=registry-pass-0123", "--build-arg", `SV=${SECRET}`], { cwd: src.root, env: { ...env, IMAGE_BUILDER_SIGN_KEY: signKey } });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /command: .*--build-arg PW=\*\*\* --build-arg K=\*\*\* --build-arg TOKEN=\*\*\* --build-arg SV=\*\*\*/);
    assert.equal(secretsIn(r.stderr, "registry-pass-0123"), [], r.stderr);
    // what masking can't reach is said
    assert.match(r.stderr, "warning: build arguments K, PW, SV, TOKEN hold a secret of this run: masked in its output, logs, results and provenance, but recorded as given in the plan file");
  }
  // `plan` knows the environment's and the docker config's secrets (it takes no --secret)
  const p = runCli(["plan", "--all", "-vvv", "--build-arg", `PW=${PASSWORD}`, "--build-arg", "TOKEN=registry-pass-0123"], { cwd: src.root, env });
  assert.is(p.code, 0, p.stderr);
  assert.match(p.stderr, /command: .*--build-arg PW=\*\*\* --build-arg TOKEN=\*\*\*/);
  assert.match(p.stderr, "warning: build arguments PW, TOKEN hold a secret of this run");
  assert.equal(secretsIn(p.stderr, "registry-pass-0123"), [], p.stderr);
  // a warning that quotes a build argument: the base image a secret makes
  using named = makeRepo({ ...science("base", { image: "sk", target: "sk-base", compat: "c" }, "ARG BASE\nFROM sci/${BASE}:1.0\n"), ...compat("c", [], "ENV C=1\n") });
  const w = runCli(["--all", "--dryrun", "--secret", "id=tok,env=TOK", "--build-arg", `BASE=${SECRET}`], { cwd: named.root, env });
  assert.is(w.code, 0, w.stderr);
  assert.match(w.stderr, "sci/***:1.0 names no science layer");
  assert.not.ok(w.stderr.includes(SECRET), w.stderr);
});

test("the PEM given as --sign-key itself (as IMAGE_BUILDER_SIGN_KEY may hold it) is refused without a line of it; so is merge-platforms'", () => {
  using src = family();
  for (const args of [["--all", "--push", "--sign-key", PEM], ["merge-platforms", "--sign-key", PEM, "plan.json", "results.json"]]) {
    const r = runCli(args, { cwd: src.root, env: { COSIGN_PASSWORD: PASSWORD } });
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /--sign-key: the value is a key \(or several lines\), not a file's path: give the key file's path, or put the PEM in IMAGE_BUILDER_SIGN_KEY/);
    assert.equal(secretsIn(r.stdout + r.stderr, "(no registry password here)"), [], r.stderr);
  }
});

test("the signing key, from --sign-key FILE or IMAGE_BUILDER_SIGN_KEY, is in no plan file, --dryrun -v output, results or report: not one line of its PEM body", async () => {
  const { registry } = requireEngine();
  using src = family();
  using keys = tempDir("ib-secrets-key-");
  const { key, pem } = writeKeyPair(keys.path);
  /** Everything the runs write goes here (the key files are elsewhere). */
  using dir = tempDir("ib-secrets-out-");
  const lines = pemBodyLines(pem);
  assert.ok(lines.length >= 3, pem);
  const repo = uniqueRepo(registry);
  const out = (name: string) => join(dir.path, name);
  /** What each command printed, by command. */
  const printed: [string, string][] = [];
  const run = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = await runCliAsync(args, { cwd: src.root, env });
    assert.is(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    printed.push([`the output of ${args.slice(0, 3).join(" ")} …${env.IMAGE_BUILDER_SIGN_KEY ? " (IMAGE_BUILDER_SIGN_KEY)" : ""}`, `${r.stdout}\n${r.stderr}`]);
    return r;
  };
  // pushed and signed, with the key's file, then (a rerun that finds its signatures) the PEM itself, then its file's path
  await run(["--all", "--push", "--repo", repo, "--sign-key", key, "-v", "--progress", "plain", "--results", out("r1.json"), "--report", out("report1"), "--log-dir", out("logs1")]);
  await run(["--all", "--push", "--repo", repo, "-v", "--progress", "plain", "--results", out("r2.json"), "--report", out("report2")], { IMAGE_BUILDER_SIGN_KEY: pem });
  await run(["--all", "--push", "--repo", repo, "-v", "--progress", "plain", "--results", out("r3.json")], { IMAGE_BUILDER_SIGN_KEY: key });
  for (const results of ["r1.json", "r2.json", "r3.json"]) {
    const signed = (JSON.parse(readFileSync(out(results), "utf8")).results as { signature?: { status: string } }[]).map((r) => r.signature?.status);
    assert.equal(signed, results === "r1.json" ? ["signed", "signed"] : ["already signed", "already signed"], `${results}: the key signed`);
  }
  // planned with the key deciding what --reconcile plans: plan files, -v output, the JSON plan on stdout
  await run(["plan", "--reconcile", "--repo", repo, "-v", "--out", out("plan-env.json")], { IMAGE_BUILDER_SIGN_KEY: pem });
  await run(["plan", "--reconcile", "--repo", repo, "-v", "--out", out("plan-path.json")], { IMAGE_BUILDER_SIGN_KEY: key });
  await run(["plan", "--all", "--repo", repo, "-v", "--out", out("plan-all.json")], { IMAGE_BUILDER_SIGN_KEY: pem });
  await run(["--reconcile", "--dryrun", "-v", "--json", "--repo", repo, "--sign-key", key]);
  await run(["--all", "--dryrun", "-v", "--json", "--repo", repo], { IMAGE_BUILDER_SIGN_KEY: pem });
  await run(["--reconcile", "--dryrun", "-v", "--repo", repo], { IMAGE_BUILDER_SIGN_KEY: key });
  // the report of a plan and its results, written by `report`
  await run(["report", "--plan", out("plan-all.json"), "--results", out("r1.json"), "-o", out("report3")]);

  const listed = filesUnder(dir.path).map((f) => f.slice(dir.path.length + 1));
  for (const f of ["plan-env.json", "plan-path.json", "plan-all.json", "r1.json", "r2.json", "r3.json", "report1/index.html", "report2/index.html", "report3/index.html"]) assert.ok(listed.includes(f), `${f} not written: ${listed.join(", ")}`);
  assert.ok(printed.some(([, text]) => text.includes("already signed by this key")), "the runs' output is read");
  const places: [string, string][] = [...printed, ...listed.map((f): [string, string] => [f, readFileSync(out(f), "utf8")])];
  const found = places.flatMap(([where, text]) => lines.flatMap((l, i) => (text.includes(l) ? [`${where}: line ${i + 2} of the key`] : [])));
  assert.equal(found, [], "the signing key's PEM body is in what the runs wrote");
});

test("a secret with lines that are part of the repo's path and of the run's times: a warning says so; --results, merge-results and the pushed provenance keep their names and times whole, and verify reads them without the secret", async () => {
  const engine = requireEngine();
  using src = family();
  using dir = tempDir("ib-secret-names-");
  const repo = uniqueRepo(engine.registry);
  const pathPart = repo.slice(repo.indexOf("/") + 1);
  const year = String(new Date().getUTCFullYear());
  const { key, pub } = writeKeyPair(dir.path);
  const results = join(dir.path, "results.json");
  const r = await runCliAsync(["--all", "--push", "--repo", repo, "--sign-key", key, "--progress", "plain", "--builder", TEST_BUILDER, "--results", results, "--secret", "id=tok,env=TOK"],
    { cwd: src.root, env: { TOK: `user: deploy\n${pathPart}\n${year}\n` } });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: a line of a secret of this run is part of the registry location or an image name: output lines mask it there, but --results and the provenance/);
  assert.not.match(r.stderr + r.stdout, new RegExp(pathPart), "output lines still mask it");
  const file = JSON.parse(readFileSync(results, "utf8"));
  assert.is(file.repo, repo);
  assert.ok(file.results.every((b: { startedAt: string; tags: { tag: string }[] }) => b.startedAt.startsWith(`${year}-`) && b.tags.every((t) => t.tag.startsWith(`${repo}/`))), JSON.stringify(file.results[0]));
  const merged = runCli(["merge-results", results, "-o", join(dir.path, "merged.json")], { cwd: src.root });
  assert.is(merged.code, 0, merged.stderr);
  // Read back with no secret set: the provenance names the image and its parent as the registry does.
  const verified = runCli(["verify", `${repo}/rel/sk:1.0`, "--key", pub], { cwd: src.root });
  assert.is(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, /ok +attestations/);
});

test.run();
