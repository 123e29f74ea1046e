// Multi-platform images (issue 17) on the suite's engine: a family of two platforms, linux/amd64
// natively and linux/arm64 under Debian's qemu-user-static (registered by test/engine/start.sh),
// on an arm64 base made here from Debian's arm64 busybox; published as OCI image indexes, read
// back over the registry's HTTP API and by Debian's skopeo (an independent client).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tempDir } from "../helpers/temp.js";
import { join } from "node:path";
import tar from "tar-stream";
import type Dockerode from "dockerode";
import { filesInImage, registryImage, registryIndex, registryTags, requireEngine, TEST_BUILDER, uniqueRepo } from "../helpers/engine.js";
import { happening, isManifestPut, startFaultProxy } from "../helpers/fault-proxy.js";
import { compat, makeRepo, science } from "../helpers/repo.js";
import { MAIN, runCli, runCliAsync, type CliResult } from "../helpers/cli.js";
import { readMessages, messageError } from "../../src/executors/docker/messages.js";
import { makeArm64Base, skipped } from "../helpers/platforms.js";
import { writeKeyPair } from "../helpers/keys.js";

const TWO = ["linux/amd64", "linux/arm64"];

test("a two-platform family: each layer built per platform, arm64 under emulation, parents pinned per platform", async () => {
  if (skipped("a two-platform family")) return;
  const { docker, registry } = requireEngine();
  await makeArm64Base(docker);
  // Every request to the registry passes a proxy that faults nothing: its log shows what a run sent
  // (runs are spawned without blocking, so that the proxy, in this process, answers them).
  await using proxy = await startFaultProxy(registry, () => undefined);
  const repo = uniqueRepo(proxy.address);
  using src = makeRepo({
    // FROM resolves per platform: TARGETARCH picks each platform's base.
    ...science("base", { image: "base", compat: "ui", platforms: TWO }, "FROM busybox:stable-${TARGETARCH}\nRUN uname -m > /arch\n"),
    // Inherits both platforms from base.
    ...science("top", { image: "top", compat: "ui" }, "FROM sci/base:1.0\nRUN cat /arch > /parent-arch && uname -m > /arch\n"),
    ...compat("ui", [], "RUN uname -m > /ui-arch\n"),
  });
  const dry = await runCliAsync(["--dryrun", "-v", "--all", "--repo", repo], { cwd: src.root });
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /change results in final image top => top:1\.0-\d+-[0-9a-f]+, top:1\.0 \(linux\/amd64, linux\/arm64\)/);
  assert.match(dry.stderr, /image index .*\/sci\/top:1\.0-\d+-[0-9a-f]+, .*\/sci\/top:1\.0 \(linux\/amd64, linux\/arm64\)/);

  const run = await runCliAsync(["--all", "--repo", repo, "--progress", "plain"], { cwd: src.root });
  if (TEST_BUILDER === "classic") {
    // IB_TEST_BUILDER=classic: the classic builder builds the engine's own platform only, and says so before building.
    assert.is(run.code, 2, run.stderr);
    assert.match(run.stderr, /the classic builder builds only the engine's own platform \(linux\/amd64\), not linux\/arm64/);
    return;
  }
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stderr, /8 built/);
  const suffix = /sci\/top:(1\.0-\d+-[0-9a-f]+)-linux-arm64/.exec(run.stderr)![1];
  for (const [platform, arch, machine] of [["linux-arm64", "arm64", "aarch64"], ["linux-amd64", "amd64", "x86_64"]]) {
    const top = `${repo}/sci/top:${suffix}-${platform}`;
    const info = await docker.getImage(top).inspect();
    assert.is(info.Architecture, arch, top);
    // RUN uname -m in the arm64 image records aarch64; its parent is the arm64 build of base.
    assert.is((await filesInImage(docker, top, "/arch"))["arch"]?.content.trim(), machine, `${top} /arch`);
    assert.is((await filesInImage(docker, top, "/parent-arch"))["parent-arch"]?.content.trim(), machine, `${top} /parent-arch`);
    const rel = `${repo}/rel/top:${suffix}-${platform}`;
    assert.is((await filesInImage(docker, rel, "/ui-arch"))["ui-arch"]?.content.trim(), machine, rel);
    assert.is((await docker.getImage(rel).inspect()).Config.Labels["org.sciserver.compat.version"], `top:${suffix}`);
  }
  // Each platform's image carries its own inputs digest.
  const label = "org.sciserver.science.top.inputs";
  const [arm, amd] = await Promise.all(["linux-arm64", "linux-amd64"].map((p) => docker.getImage(`${repo}/sci/top:${suffix}-${p}`).inspect()));
  assert.ok(arm.Config.Labels[label] && arm.Config.Labels[label] !== amd.Config.Labels[label]);

  // Nothing changed: every platform's image is reused.
  const again = await runCliAsync(["--all", "--repo", repo, "--progress", "plain"], { cwd: src.root });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /8 reused/);

  // A parent rebuilt for one platform: that platform's images built on the other build of it are
  // not reused (told apart by the parent's buildtime they inherited), the other platform's are.
  for (const tag of [`${repo}/sci/base:${suffix}-linux-arm64`, `${repo}/sci/base:1.0-linux-arm64`]) await docker.getImage(tag).remove();
  const rebuilt = await runCliAsync(["--all", "--repo", repo, "--progress", "plain"], { cwd: src.root });
  assert.is(rebuilt.code, 0, rebuilt.stderr);
  assert.match(rebuilt.stderr, /\n4 reused, 4 built\n/, rebuilt.stderr.slice(-1500));
  assert.match(rebuilt.stderr, /sci\/top@linux\/arm64 +built/);
  assert.match(rebuilt.stderr, /sci\/top@linux\/amd64 +reused/);

  // run PLAN --platform: one platform's part of a plan.
  const planned = await runCliAsync(["plan", "--all", "--repo", repo, "--out", "plan.json"], { cwd: src.root });
  assert.is(planned.code, 0, planned.stderr);
  const arm64 = await runCliAsync(["run", "plan.json", "--platform", "linux/arm64", "--progress", "plain"], { cwd: src.root });
  assert.is(arm64.code, 0, arm64.stderr);
  assert.match(arm64.stderr, /4 reused/);
  assert.not.match(arm64.stderr, /linux\/amd64/);

  await publishedAsIndexes(src, repo, suffix, proxy.forwarded);
});

const LAYERS = ["sci/base", "sci/top", "rel/base", "rel/top"];

/** --push of the family: per-platform images under platform tags, each layer's own tags an index of both; a rerun sends nothing; a failed platform moves no index tag. */
async function publishedAsIndexes(src: ReturnType<typeof makeRepo>, repo: string, suffix: string, forwarded: string[]): Promise<void> {
  const pushed = await runCliAsync(["--all", "--repo", repo, "--push", "--progress", "plain", "--results", "results.json"], { cwd: src.root });
  assert.is(pushed.code, 0, pushed.stderr);
  assert.match(pushed.stderr, /8 reused, 4 indexes pushed\n/, pushed.stderr.slice(-2000));
  const results = JSON.parse(readFileSync(join(src.root, "results.json"), "utf8"));
  assert.equal(results.indexes.map((i: { id: string }) => i.id).sort(), ["rel/base:1.0", "rel/top:1.0", "sci/base", "sci/top"]);
  for (const layer of LAYERS) {
    const [moving, build] = [`${repo}/${layer}:1.0`, `${repo}/${layer}:${suffix}`];
    const index = await registryIndex(build);
    assert.is(index.mediaType, "application/vnd.oci.image.index.v1+json", build);
    // Both platform images, then (issue 19) the attestation manifest of each, in the same order.
    assert.equal(index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`), [...TWO, "unknown/unknown", "unknown/unknown"], build);
    assert.equal(index.manifests.slice(2).map((m) => m.annotations?.["vnd.docker.reference.digest"]), index.manifests.slice(0, 2).map((m) => m.digest), build);
    assert.is((await registryIndex(moving)).digest, index.digest, `${moving} holds the index of ${build}`);
    const recorded = results.indexes.find((i: { id: string }) => i.id.startsWith(layer));
    assert.equal(recorded.tags.map((t: { tag: string; pushed: boolean; digest: string }) => [t.tag, t.pushed, t.digest]), [[build, true, index.digest], [moving, true, index.digest]]);
    // Each entry is the platform's own image, as pushed under its platform build tag, with its own breadcrumbs and inputs.
    const inputs = new Set<string>();
    for (const [i, platform] of ["linux-amd64", "linux-arm64"].entries()) {
      const image = await registryImage(`${build}-${platform}`);
      assert.is(index.manifests[i].digest, image.digest, `${build}-${platform}`);
      const kind = layer.startsWith("sci/") ? `science.${layer.slice(4)}` : "compat";
      assert.is(image.labels[`org.sciserver.${kind}.version`], layer.startsWith("sci/") ? suffix : `${layer.slice(4)}:${suffix}`);
      inputs.add(image.labels[`org.sciserver.${kind}.inputs`]);
    }
    assert.is(inputs.size, 2, `${layer}: each platform has its own inputs digest`);
  }

  // Debian's skopeo reads the index and picks a platform's image from it.
  // Not blocking: the registry is behind the proxy in this process.
  const skopeo = async (...args: string[]) => (await promisify(execFile)("skopeo", args, { encoding: "utf8" })).stdout;
  const top = `docker://${repo}/rel/top:1.0`;
  const raw = JSON.parse(await skopeo("inspect", "--raw", "--tls-verify=false", top));
  assert.equal(raw.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture), ["amd64", "arm64", "unknown", "unknown"]);
  const arm = JSON.parse(await skopeo("inspect", "--override-arch", "arm64", "--override-os", "linux", "--tls-verify=false", top));
  assert.is(arm.Architecture, "arm64");
  assert.is(arm.Labels["org.sciserver.compat.version"], `top:${suffix}`);

  // Nothing changed: nothing is sent but reads (no blob, no manifest, no upload).
  const before = forwarded.length;
  const again = await runCliAsync(["--all", "--repo", repo, "--push", "--progress", "plain"], { cwd: src.root });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /8 reused, 4 indexes already there\n/);
  assert.match(again.stderr, /^sci\/base \(index\) +index already there /m, again.stderr.slice(-3000));
  const writes = forwarded.slice(before).filter((r) => !/^(GET|HEAD) /.test(r));
  assert.equal(writes, [], "a rerun with nothing changed wrote to the registry");

  // --reconcile: sci/base:1.0 replaced by its amd64 image alone (no index): planned for the index, written without building.
  const [host, ...path] = repo.split("/");
  const manifestUrl = (tag: string) => `http://${host}/v2/${path.join("/")}/sci/base/manifests/${tag}`;
  const amd64 = await fetch(manifestUrl(`${suffix}-linux-amd64`), { headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" } });
  const put = await fetch(manifestUrl("1.0"), { method: "PUT", headers: { "content-type": amd64.headers.get("content-type")! }, body: Buffer.from(await amd64.arrayBuffer()) });
  assert.is(put.status, 201);
  const plan = await runCliAsync(["--reconcile", "--dryrun", "-vv", "--repo", repo], { cwd: src.root });
  assert.is(plan.code, 0, plan.stderr);
  for (const platform of TWO) assert.match(plan.stderr, new RegExp(`build sci/base@${platform}: no index of its platforms under ${repo}/sci/base:1\\.0\n`));
  assert.match(plan.stderr, /sci\/top@linux\/amd64: current/);
  const reconciled = await runCliAsync(["--reconcile", "--push", "--repo", repo, "--progress", "plain"], { cwd: src.root });
  assert.is(reconciled.code, 0, reconciled.stderr);
  assert.match(reconciled.stderr, /\n2 reused, 1 index pushed\n/);
  assert.is((await registryIndex(`${repo}/sci/base:1.0`)).digest, (await registryIndex(`${repo}/sci/base:${suffix}`)).digest);

  // --reconcile: sci/base:1.0 replaced by an index of its current platform images without their
  // attestation manifests: the layer is planned, its images reused, the attestations put back.
  const full = await registryIndex(`${repo}/sci/base:${suffix}`);
  const bare = { schemaVersion: 2, mediaType: full.mediaType, manifests: full.manifests.filter((m) => m.annotations?.["vnd.docker.reference.type"] !== "attestation-manifest") };
  assert.is(bare.manifests.length, 2);
  const putBare = await fetch(manifestUrl("1.0"), { method: "PUT", headers: { "content-type": full.mediaType }, body: JSON.stringify(bare) });
  assert.is(putBare.status, 201);
  const unattested = await runCliAsync(["--reconcile", "--dryrun", "-vv", "--repo", repo], { cwd: src.root });
  assert.is(unattested.code, 0, unattested.stderr);
  for (const platform of TWO) {
    assert.match(unattested.stderr, new RegExp(`build sci/base@${platform}: its ${platform} image in the index ${repo}/sci/base:1\\.0: .*of this checkout's inputs, without its attestations`));
  }
  assert.match(unattested.stderr, /sci\/top@linux\/arm64: current/);
  const attested = await runCliAsync(["--reconcile", "--push", "--repo", repo, "--progress", "plain"], { cwd: src.root });
  assert.is(attested.code, 0, attested.stderr);
  assert.match(attested.stderr, /\n2 reused, 1 index pushed\n/);
  assert.is((await registryIndex(`${repo}/sci/base:1.0`)).digest, full.digest, "the index with the attestations is back under sci/base:1.0");
  // With --no-attestations the bare index is what it asks for: current.
  assert.is((await fetch(manifestUrl("1.0"), { method: "PUT", headers: { "content-type": full.mediaType }, body: JSON.stringify(bare) })).status, 201);
  const without = await runCliAsync(["--reconcile", "--no-attestations", "--dryrun", "-vv", "--repo", repo], { cwd: src.root });
  assert.is(without.code, 0, without.stderr);
  assert.match(without.stderr, /sci\/base@linux\/arm64: current/);

  // The same for a layer built on another (sci/top on sci/base): its run builds for both platforms
  // on a layer it does not build, whose image it pulls for each platform by its platform tag.
  assert.is((await fetch(manifestUrl("1.0"), { method: "PUT", headers: { "content-type": full.mediaType }, body: JSON.stringify({ schemaVersion: 2, mediaType: full.mediaType, manifests: full.manifests }) })).status, 201);
  const topUrl = (tag: string) => manifestUrl(tag).replace("/sci/base/", "/sci/top/");
  const topFull = await registryIndex(`${repo}/sci/top:${suffix}`);
  const topBare = { schemaVersion: 2, mediaType: topFull.mediaType, manifests: topFull.manifests.filter((m) => m.annotations?.["vnd.docker.reference.type"] !== "attestation-manifest") };
  assert.is((await fetch(topUrl("1.0"), { method: "PUT", headers: { "content-type": topFull.mediaType }, body: JSON.stringify(topBare) })).status, 201);
  const child = await runCliAsync(["--reconcile", "--push", "--repo", repo, "--progress", "plain"], { cwd: src.root });
  assert.is(child.code, 0, child.stderr);
  for (const platform of ["linux-amd64", "linux-arm64"]) assert.match(child.stderr, new RegExp(`\\[base\\] pulled ${repo}/sci/base:1\\.0-${platform}\n`));
  assert.match(child.stderr, /\n2 reused, 1 index pushed\n/);
  assert.is((await registryIndex(`${repo}/sci/top:1.0`)).digest, topFull.digest, "sci/top:1.0 holds its index with the attestations again");

  // A new commit whose arm64 build of top fails: top's and rel/top's index tags stay where they were, base's move forward.
  const old = Object.fromEntries(await Promise.all(LAYERS.map(async (l) => [l, (await registryIndex(`${repo}/${l}:1.0`)).digest])));
  src.write({ "science/top/Dockerfile": 'FROM sci/base:1.0\nRUN cat /arch > /parent-arch && uname -m > /arch && test "$(uname -m)" = x86_64\n' });
  src.commit("top fails on arm64");
  const failed = await runCliAsync(["--all", "--repo", repo, "--push", "--progress", "plain", "--results", "failed.json"], { cwd: src.root });
  assert.is(failed.code, 1, failed.stderr);
  const next = /sci\/top:(1\.0-\d+-[0-9a-f]+)-linux-amd64/.exec(failed.stderr)![1];
  assert.match(failed.stderr, new RegExp(`index not written: the linux/arm64 image \\(sci/top@linux/arm64\\) is failed`));
  for (const layer of ["sci/top", "rel/top"]) {
    assert.is((await registryIndex(`${repo}/${layer}:1.0`)).digest, old[layer], `${layer}:1.0 moved`);
    assert.not.ok((await registryTags(`${repo}/${layer}`)).includes(next), `${layer}:${next} written`);
  }
  assert.ok((await registryTags(`${repo}/sci/top`)).includes(`${next}-linux-amd64`), "the amd64 image of top is pushed");
  const base = await registryIndex(`${repo}/sci/base:1.0`);
  assert.is.not(base.digest, old["sci/base"]);
  assert.is((await registryIndex(`${repo}/sci/base:${next}`)).digest, base.digest);
  const recorded = JSON.parse(readFileSync(join(src.root, "failed.json"), "utf8")).indexes.find((i: { id: string }) => i.id === "sci/top");
  assert.is(recorded.status, "not pushed");
  assert.equal(recorded.tags.map((t: { pushed: boolean }) => t.pushed), [false, false]);
}

test("split agents: each platform built and pushed by a run of its own with its attestations, then merge-platforms writes the indexes with them", async () => {
  if (skipped("split agents", { classic: true })) return;
  const { docker, registry } = requireEngine();
  await makeArm64Base(docker);
  // Every request passes a proxy that faults nothing: its log shows what each command wrote.
  await using proxy = await startFaultProxy(registry, () => undefined);
  const repo = uniqueRepo(proxy.address);
  const writesOf = async (command: Promise<CliResult>) => {
    const before = proxy.forwarded.length;
    const result = await command;
    return { ...result, writes: proxy.forwarded.slice(before).filter((r) => !/^(GET|HEAD) /.test(r)) };
  };
  using src = makeRepo({
    ...science("a", { image: "a", compat: "ui", platforms: TWO }, "FROM busybox:stable-${TARGETARCH}\nRUN uname -m > /arch\n"),
    ...compat("ui", [], "RUN true\n"),
  });
  assert.is(runCli(["plan", "--all", "--repo", repo, "--out", "plan.json"], { cwd: src.root }).code, 0);
  // Signed as the Jenkinsfile signs: the key file's path in IMAGE_BUILDER_SIGN_KEY for every command that pushes.
  using keys = tempDir("ib-split-keys-");
  const { key, pub } = writeKeyPair(keys.path);
  const env = { IMAGE_BUILDER_SIGN_KEY: key };
  const cli = (args: string[]) => runCliAsync(args, { cwd: src.root, env });
  const runAmd64 = () => cli(["run", "plan.json", "--only", "sci/a@linux/amd64", "rel/a:1.0@linux/amd64", "--platform", "linux/amd64", "--push", "--progress", "plain", "--results", "amd64.json"]);
  // The arm64 agent has no key: the merge signs its images, so the index serves none unsigned.
  const runArm64 = (results: string) => runCliAsync(["run", "plan.json", "--platform", "linux/arm64", "--push", "--progress", "plain", "--results", results], { cwd: src.root });
  const amd64 = await runAmd64();
  assert.is(amd64.code, 0, amd64.stderr);
  assert.match(amd64.stderr, /note: this run builds only some platforms of sci\/a, rel\/a:1\.0: their image indexes are left to merge-platforms/);
  const suffix = /sci\/a:(1\.0-\d+-[0-9a-f]+)-linux-amd64/.exec(amd64.stderr)![1];
  const platformTags = [`1.0-${"linux-amd64"}`, `${suffix}-linux-amd64`].sort();
  assert.equal((await registryTags(`${repo}/sci/a`)).filter((t) => !t.endsWith(".sig")), platformTags);

  // Each agent's results name the attestation manifest of each image it pushed, which the registry
  // holds by digest in the image's repository, about that image: though the run wrote no index.
  const [host, ...path] = repo.split("/");
  const manifestOf = async (layer: string, reference: string) => {
    const res = await fetch(`http://${host}/v2/${path.join("/")}/${layer}/manifests/${reference}`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" } });
    return res.ok ? { digest: res.headers.get("docker-content-digest"), manifest: await res.json() as { layers: { digest: string }[] } } : undefined;
  };
  const statementSubjects = async (layer: string, attestation: string) => {
    const held = await manifestOf(layer, attestation);
    assert.ok(held, `${layer}@${attestation}: the registry does not hold it`);
    return Promise.all(held.manifest.layers.map(async (l) => {
      const statement = await (await fetch(`http://${host}/v2/${path.join("/")}/${layer}/blobs/${l.digest}`)).json() as { subject: { digest: { sha256: string } }[] };
      return statement.subject.map((x) => `sha256:${x.digest.sha256}`).join(",");
    }));
  };
  type Attestation = { status: string; subject: string; mediaType: string; digest: string; size: number };
  const attestationsIn = (file: string): Record<string, Attestation> =>
    Object.fromEntries((JSON.parse(readFileSync(join(src.root, file), "utf8")).results as { id: string; attestation: Attestation }[]).map((r) => [r.id, r.attestation]));
  const recorded: Record<string, Attestation> = {};
  for (const [file, platform] of [["amd64.json", "linux/amd64"]]) {
    for (const [id, attestation] of Object.entries(attestationsIn(file))) {
      const layer = id.startsWith("sci/") ? "sci/a" : "rel/a";
      const image = (await manifestOf(layer, `${suffix}-${platform.replace("/", "-")}`))!.digest;
      assert.equal({ ...attestation, digest: "" }, { status: "uploaded", subject: image, mediaType: "application/vnd.oci.image.manifest.v1+json", digest: "", size: attestation.size }, id);
      assert.equal(await statementSubjects(layer, attestation.digest), [image, image], `${id}: its SBOM and provenance are about its image`);
      recorded[id] = attestation;
    }
  }
  assert.equal(Object.keys(recorded).sort(), ["rel/a:1.0@linux/amd64", "sci/a@linux/amd64"]);

  // One platform missing: named, nothing written.
  const early = await cli(["merge-platforms", "plan.json", "amd64.json"]);
  assert.is(early.code, 1, early.stderr);
  assert.match(early.stderr, new RegExp(`\\[sci/a\\] index not written: linux/arm64 \\(sci/a@linux/arm64\\) is missing: the registry does not hold ${repo}/sci/a:${suffix}-linux-arm64; no results file has it`));
  assert.equal((await registryTags(`${repo}/sci/a`)).filter((t) => !t.endsWith(".sig")), platformTags);

  const arm64 = await runArm64("arm64.json");
  assert.is(arm64.code, 0, arm64.stderr);
  for (const [id, attestation] of Object.entries(attestationsIn("arm64.json"))) {
    const layer = id.startsWith("sci/") ? "sci/a" : "rel/a";
    const image = (await manifestOf(layer, `${suffix}-linux-arm64`))!.digest;
    assert.equal([attestation.status, attestation.subject], ["uploaded", image], id);
    assert.equal(await statementSubjects(layer, attestation.digest), [image, image], id);
    recorded[id] = attestation;
  }
  // An agent's rerun before the merge (no index names its attestations yet) makes the same ones and writes nothing.
  const arm64Again = await writesOf(runArm64("arm64-again.json"));
  assert.is(arm64Again.code, 0, arm64Again.stderr);
  assert.match(arm64Again.stderr, /\n2 reused\n/);
  assert.equal(arm64Again.writes, [], "an agent's rerun with nothing changed wrote to the registry");
  for (const [id, attestation] of Object.entries(attestationsIn("arm64-again.json"))) assert.equal(attestation, { ...recorded[id], status: "already there" }, id);

  const merge = await cli(["merge-platforms", "plan.json", "amd64.json", "arm64.json", "--results", "merged.json", "-v"]);
  assert.is(merge.code, 0, merge.stderr);
  assert.match(merge.stderr, /\n2 indexes pushed\n/);
  const merged = { index: (await registryIndex(`${repo}/sci/a:${suffix}`)).digest };
  for (const layer of ["sci/a", "rel/a"]) {
    const index = await registryIndex(`${repo}/${layer}:${suffix}`);
    const id = (platform: string) => layer === "sci/a" ? `sci/a@${platform}` : `rel/a:1.0@${platform}`;
    // Both platform images, then the attestation manifest of each, as the agents' results name them.
    assert.equal(index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`), [...TWO, "unknown/unknown", "unknown/unknown"], layer);
    assert.is(index.manifests[1].digest, (await registryImage(`${repo}/${layer}:${suffix}-linux-arm64`)).digest);
    for (const [i, platform] of TWO.entries()) {
      const attestation = index.manifests[2 + i];
      assert.equal(attestation.annotations, { "vnd.docker.reference.digest": index.manifests[i].digest, "vnd.docker.reference.type": "attestation-manifest" }, `${layer} ${platform}`);
      assert.equal([attestation.digest, attestation.size, attestation.mediaType], [recorded[id(platform)].digest, recorded[id(platform)].size, recorded[id(platform)].mediaType]);
    }
    assert.is((await registryIndex(`${repo}/${layer}:1.0`)).digest, index.digest);
  }
  const results = JSON.parse(readFileSync(join(src.root, "merged.json"), "utf8"));
  assert.equal(results.results.map((r: { id: string }) => r.id).sort(), ["rel/a:1.0@linux/amd64", "rel/a:1.0@linux/arm64", "sci/a@linux/amd64", "sci/a@linux/arm64"]);
  assert.equal(Object.fromEntries(results.results.map((r: { id: string; attestation: Attestation }) => [r.id, r.attestation])), recorded, "merge-platforms --results keeps each build's attestation");
  assert.equal(results.indexes.map((i: { id: string; status: string }) => [i.id, i.status]), [["sci/a", "pushed"], ["rel/a:1.0", "pushed"]]);
  // Each index signed by the merge, the amd64 images by their run, the arm64 ones (an agent without
  // the key) by the merge: verify checks them all, and the attestations.
  assert.match(merge.stderr, /\[sci\/a@linux\/arm64\] signed: /);
  assert.equal(results.indexes.map((i: { digest: string; signature?: { digest: string } }) => i.signature?.digest), results.indexes.map((i: { digest: string }) => i.digest));
  for (const layer of ["sci/a", "rel/a"]) {
    const verified = await cli(["verify", `${repo}/${layer}:1.0`, "--key", pub]);
    assert.is(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /^ok +attestations /m);
  }

  // Again: everything is there already, nothing written; bad input is refused as by the other commands.
  const again = await writesOf(cli(["merge-platforms", "plan.json", "amd64.json", "arm64.json", "-v"]));
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /\[sci\/a\] already signed by this key: /);
  assert.match(again.stderr, /\[sci\/a\] index .*sci\/a:1\.0-\d+-[0-9a-f]+ and .*sci\/a:1\.0 already in the registry/);
  assert.equal(again.writes, [], "a repeat merge wrote to the registry");
  // An agent's rerun after the merge finds its attestations in the merged index: nothing written.
  const amd64Again = await writesOf(runAmd64());
  assert.is(amd64Again.code, 0, amd64Again.stderr);
  assert.equal(amd64Again.writes, [], "an agent's rerun after the merge wrote to the registry");
  for (const [id, attestation] of Object.entries(attestationsIn("amd64.json"))) assert.equal(attestation, { ...recorded[id], status: "already there" }, id);
  const bad = await cli(["merge-platforms", "plan.json", "nope.json"]);
  assert.is(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^image-builder: error: nope\.json: cannot read file \(ENOENT\)\n$/);

  // Results naming an attestation the registry doesn't hold, or one about another image: named, nothing written for that layer (the merged index stays).
  const edited = (file: string, edit: (results: Record<string, { attestation?: Attestation }>) => void) => {
    const results = JSON.parse(readFileSync(join(src.root, "amd64.json"), "utf8"));
    edit(Object.fromEntries(results.results.map((r: { id: string }) => [r.id, r])));
    writeFileSync(join(src.root, file), JSON.stringify(results));
  };
  const missing = `sha256:${"0".repeat(64)}`;
  edited("gone.json", (r) => { r["sci/a@linux/amd64"].attestation!.digest = missing; });
  edited("other.json", (r) => { Object.assign(r["sci/a@linux/amd64"].attestation!, { digest: recorded["sci/a@linux/arm64"].digest, size: recorded["sci/a@linux/arm64"].size }); });
  for (const [file, problem] of [
    ["gone.json", `the registry does not hold attestation manifest ${repo}/sci/a@${missing}`],
    ["other.json", `linux/amd64 \\(sha256:[0-9a-f]{64}\\): attestation layer sha256:[0-9a-f]{64}: subject \\S+ is ${recorded["sci/a@linux/arm64"].subject}, not the image's ${recorded["sci/a@linux/amd64"].subject}`],
  ]) {
    const refused = await writesOf(cli(["merge-platforms", "plan.json", file, "arm64.json"]));
    assert.is(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, new RegExp(`\\[sci/a\\] index not written: linux/amd64 \\(sci/a@linux/amd64\\): its results name attestation manifest sha256:[0-9a-f]{64}, which can't be attached: ${problem}`));
    assert.equal(refused.writes, [], file);
    assert.is((await registryIndex(`${repo}/sci/a:${suffix}`)).digest, merged.index, `${file}: sci/a's index changed`);
  }

  // An agent run with --no-attestations (or an older results file): the merged index's sound
  // attestation of that image is kept (nothing written); where the index has none, that platform's
  // entry goes without, saying so.
  edited("plain.json", (r) => { delete r["sci/a@linux/amd64"].attestation; });
  const kept = await writesOf(cli(["merge-platforms", "plan.json", "plain.json", "arm64.json"]));
  assert.is(kept.code, 0, kept.stderr);
  assert.equal(kept.writes, [], "a merge of a results file without attestations rewrote an index that has them");
  assert.not.match(kept.stderr, /note: /);
  // No results file given for a platform at all: the index's own attestation of its image is kept too.
  const unnamed = await writesOf(cli(["merge-platforms", "plan.json", "arm64.json"]));
  assert.is(unnamed.code, 0, unnamed.stderr);
  assert.equal(unnamed.writes, [], "a merge without the amd64 results rewrote an index that has its attestation");
  const merged1 = await registryIndex(`${repo}/sci/a:${suffix}`);
  const bareIndex = { schemaVersion: 2, mediaType: merged1.mediaType, manifests: merged1.manifests.filter((m) => m.annotations?.["vnd.docker.reference.type"] !== "attestation-manifest") };
  const putBare = await fetch(`http://${host}/v2/${path.join("/")}/sci/a/manifests/${suffix}`, { method: "PUT", headers: { "content-type": merged1.mediaType }, body: JSON.stringify(bareIndex) });
  assert.is(putBare.status, 201);
  const plain = await cli(["merge-platforms", "plan.json", "plain.json", "arm64.json"]);
  assert.is(plain.code, 0, plain.stderr);
  assert.match(plain.stderr, /note: linux\/amd64 \(sci\/a@linux\/amd64\): its results name no attestation manifest \(a run with --no-attestations, or by an older image-builder\): the index has none for linux\/amd64/);
  const partial = await registryIndex(`${repo}/sci/a:${suffix}`);
  assert.equal(partial.manifests.map((m) => m.annotations?.["vnd.docker.reference.digest"] ?? m.platform?.architecture), ["amd64", "arm64", partial.manifests[1].digest]);
  // Where the index has none, a merge given no results file for that platform writes nothing for the
  // layer: its run may have uploaded one, which only its results name (it published the index
  // without it, exit 0, blaming --no-attestations: hunter21 F1).
  const unknown = await writesOf(cli(["merge-platforms", "plan.json", "arm64.json"]));
  assert.is(unknown.code, 1, unknown.stderr);
  assert.match(unknown.stderr, /\[sci\/a\] index not written: linux\/amd64 \(sci\/a@linux\/amd64\): no results file given has it, so the attestation manifest its run uploaded is not known \(give that run's --results file too\)/);
  assert.not.match(unknown.stderr, /its results name no attestation manifest/);
  // Its last line counts each index as its result says it (it said "not pushed" for a push failed: hunter23).
  assert.match(unknown.stderr, /\n1 index push failed, 1 index not pushed\n/, unknown.stderr);
  assert.equal(unknown.writes, [], "a merge without the amd64 results wrote");
  assert.is((await registryIndex(`${repo}/sci/a:${suffix}`)).digest, partial.digest);
});

test("an agent whose attestations can't be uploaded: named with the registry's error, recorded as failed, exit 1; its rerun uploads them", async () => {
  const { docker, registry } = requireEngine();
  // The engine's own platform only (no emulation): its base under the name the Dockerfile gives it.
  await docker.getImage("busybox:stable").tag({ repo: "busybox", tag: "stable-amd64" });
  // Attestation manifests are the only manifests written by digest: refused while `refusing`.
  let refusing = true;
  await using proxy = await startFaultProxy(registry, (req) => (refusing && isManifestPut(req, /^sha256:/) ? 500 : undefined));
  const repo = uniqueRepo(proxy.address);
  using src = makeRepo({
    ...science("a", { image: "a", compat: "ui", platforms: TWO }, "FROM busybox:stable-${TARGETARCH}\nRUN true\n"),
    ...compat("ui", [], "RUN true\n"),
  });
  assert.is(runCli(["plan", "--all", "--repo", repo, "--out", "plan.json"], { cwd: src.root }).code, 0);
  // The engine's platform only: no emulation needed; the indexes are left to merge-platforms.
  const agent = () => runCliAsync(["run", "plan.json", "--platform", "linux/amd64", "--push", "--progress", "plain", "--results", "amd64.json"], { cwd: src.root });
  const failed = await agent();
  assert.is(failed.code, 1, failed.stderr);
  const suffix = /sci\/a:(1\.0-\d+-[0-9a-f]+)-linux-amd64/.exec(failed.stderr)![1];
  assert.match(failed.stderr, new RegExp(`\\[sci/a@linux/amd64\\] NOT FULLY PUBLISHED: attestations of ${repo}/sci/a:${suffix}-linux-amd64 \\(sha256:[0-9a-f]{64}\\) not uploaded: .*500`));
  assert.match(failed.stderr, /\n2 built, 2 without their attestations\n/);
  const results = JSON.parse(readFileSync(join(src.root, "amd64.json"), "utf8")).results as { id: string; pushed: boolean; attestation: { status: string; reason: string } }[];
  for (const r of results) {
    assert.equal([r.pushed, r.attestation.status], [true, "failed"], r.id);
    assert.match(r.attestation.reason, /500/);
  }

  refusing = false;
  const rerun = await agent();
  assert.is(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stderr, /\n2 reused\n/);
  const again = JSON.parse(readFileSync(join(src.root, "amd64.json"), "utf8")).results as { id: string; attestation: { status: string; subject: string } }[];
  for (const r of again) assert.is(r.attestation.status, "uploaded", r.id);
  assert.is(again.find((r) => r.id === "sci/a@linux/amd64")!.attestation.subject, (await registryImage(`${repo}/sci/a:${suffix}-linux-amd64`)).digest);
});

test("an agent interrupted while its attestations upload waits for them; a second interrupt ends the wait, and its results say so", async () => {
  const { docker, registry } = requireEngine();
  // The engine's own platform only (no emulation): its base under the name the Dockerfile gives it.
  await docker.getImage("busybox:stable").tag({ repo: "busybox", tag: "stable-amd64" });
  // The first attestation manifest's upload is held until the test lets it go.
  const arrived = happening("an attestation manifest's upload");
  const release = happening("the run's end");
  await using proxy = await startFaultProxy(registry, (req) => {
    if (!isManifestPut(req, /^sha256:/)) return undefined;
    arrived.then();
    return { hold: release.promise };
  });
  const repo = uniqueRepo(proxy.address);
  using src = makeRepo({
    ...science("a", { image: "a", compat: "ui", platforms: TWO }, "FROM busybox:stable-${TARGETARCH}\nRUN true\n"),
    ...compat("ui", [], "RUN true\n"),
  });
  assert.is(runCli(["plan", "--all", "--repo", repo, "--out", "plan.json"], { cwd: src.root }).code, 0);
  const child = spawn(process.execPath, [MAIN, "run", "plan.json", "--only", "sci/a@linux/amd64", "--platform", "linux/amd64", "--push", "--progress", "plain", "--results", "r.json"], { cwd: src.root, env: process.env });
  let stderr = "";
  const waiting = happening("the note that the run waits for the attestations");
  const summary = happening("the run's summary");
  child.stderr.on("data", (d) => {
    stderr += d;
    if (/interrupted: waiting up to \d+ s for the attestations of 1 image\(s\) in flight to end \(interrupt again to stop them now\)/.test(stderr)) waiting.then();
    if (/\n1 built, 1 without its attestations\n/.test(stderr)) summary.then();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await Promise.race([arrived.promise, exited]);
  child.kill("SIGINT");
  await Promise.race([waiting.promise, exited]);
  child.kill("SIGINT");
  // The run ends without the upload (its request lingers until let go, as a push stopped by a second interrupt may).
  await Promise.race([summary.promise, exited]);
  release.then();
  assert.is(await exited, 130, stderr);
  assert.match(stderr, /\[sci\/a@linux\/amd64\] NOT FULLY PUBLISHED: the run was stopped before its attestations were uploaded/);
  const [result] = JSON.parse(readFileSync(join(src.root, "r.json"), "utf8")).results as { id: string; pushed: boolean; attestation: { status: string; subject: string; reason: string } }[];
  assert.equal([result.id, result.pushed, result.attestation.status, result.attestation.reason], ["sci/a@linux/amd64", true, "failed", "the run was stopped before its attestations were uploaded"]);
  assert.match(result.attestation.subject, /^sha256:[0-9a-f]{64}$/);
});

test("merge-platforms interrupted: no more indexes are written, the summary and --results say which were left, exit 130", async () => {
  const { registry } = requireEngine();
  // Once armed, the registry's answers to manifest reads are held until the test lets them go.
  let armed = false;
  const arrived = happening("merge-platforms' first manifest read");
  const release = happening("the interrupt's note");
  await using proxy = await startFaultProxy(registry, (req) => {
    if (!armed || req.method !== "GET" || !/\/manifests\//.test(req.url ?? "")) return undefined;
    arrived.then();
    return { hold: release.promise };
  });
  const repo = uniqueRepo(proxy.address);
  using src = makeRepo({
    ...science("a", { image: "a", compat: "ui", platforms: ["linux/amd64"] }, "FROM busybox:stable\nRUN true\n"),
    ...science("b", { image: "b", compat: "ui" }, "FROM sci/a:1.0\nRUN true\n"),
    ...compat("ui", [], "RUN true\n"),
  });
  assert.is(runCli(["plan", "--all", "--repo", repo, "--out", "plan.json"], { cwd: src.root }).code, 0);
  const run = await runCliAsync(["run", "plan.json", "--push", "--no-attestations", "--progress", "plain", "--results", "r.json"], { cwd: src.root });
  assert.is(run.code, 0, run.stderr);
  const written = JSON.parse(readFileSync(join(src.root, "r.json"), "utf8")).indexes as { id: string; digest: string; tags: { tag: string }[] }[];
  assert.is(written.length, 4);
  // The indexes taken off the registry (their manifests deleted by digest: both tags go), so the merge has them to write.
  const at = (tag: string) => { const [, host, name] = /^([^/]+)\/(.*):[^:]+$/.exec(tag)!; return { host, name }; };
  for (const i of written) {
    const { name } = at(i.tags[0].tag);
    const res = await fetch(`http://${registry}/v2/${name}/manifests/${i.digest}`, { method: "DELETE" });
    assert.is(res.status, 202, `DELETE ${name}@${i.digest}`);
  }

  armed = true;
  const before = proxy.forwarded.length;
  const child = spawn(process.execPath, [MAIN, "merge-platforms", "plan.json", "r.json", "--results", "m.json"], { cwd: src.root, env: process.env });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
    if (/interrupted: no more indexes are written \(interrupt again to stop now\)/.test(stderr)) release.then();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await Promise.race([arrived.promise, exited]);
  child.kill("SIGINT");
  assert.is(await exited, 130, stderr);
  assert.match(stderr, /\n4 indexes not pushed\n/);
  const merged = JSON.parse(readFileSync(join(src.root, "m.json"), "utf8")).indexes as { id: string; status: string; reason: string }[];
  assert.equal(merged.map((i) => i.status), ["not pushed", "not pushed", "not pushed", "not pushed"]);
  for (const i of merged) assert.match(i.reason, /^not pushed: interrupted/, i.id);
  // Nothing was written: no request but reads, and no index tag is back.
  assert.equal(proxy.forwarded.slice(before).filter((r) => !r.startsWith("GET ") && !r.startsWith("HEAD ")), []);
  armed = false;
  for (const i of written) {
    for (const { tag } of i.tags) {
      const res = await fetch(`http://${registry}/v2/${at(tag).name}/manifests/${tag.slice(tag.lastIndexOf(":") + 1)}`, { method: "HEAD" });
      assert.is(res.status, 404, tag);
    }
  }
  // A merge let run writes them all.
  const again = await runCliAsync(["merge-platforms", "plan.json", "r.json"], { cwd: src.root });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /\n4 indexes pushed\n/);
});

test("a platform the engine can't run is refused before anything is built, naming what to install", async () => {
  if (skipped("a platform the engine can't run is refused")) return;
  const { docker, registry } = requireEngine();
  const repo = uniqueRepo(registry);
  using src = makeRepo({ ...science("a", { image: "a", compat: "ui" }, "FROM busybox:stable\n"), ...compat("ui", [], "RUN true\n") });
  // riscv64 is emulated only where qemu-riscv64 is registered: refused where not, built where so.
  const registered = existsSync("/proc/sys/fs/binfmt_misc/qemu-riscv64");
  const r = runCli(["--include", "science/a", "--repo", repo, "--platform", "linux/riscv64", "--progress", "plain"], { cwd: src.root });
  if (TEST_BUILDER === "classic") {
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /the classic builder builds only the engine's own platform \(linux\/amd64\), not linux\/riscv64/);
  } else if (registered) {
    assert.not.match(r.stderr, /can't run linux\/riscv64/);
    return;
  } else {
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /the engine \(linux\/amd64\) can't run linux\/riscv64 .*apt-get install qemu-user-static binfmt-support/);
  }
  assert.is((await docker.listImages({ filters: { reference: [`${repo}/*`] } })).length, 0, "an image was built");
});

test.run();
