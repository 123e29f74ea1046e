// `contains --package` over many published images: read from their stored SBOM attestations
// (issue 19) against read from their layers.
//
//   source STATE_DIR/env.sh && node dist/bench/contains-package.js [--images 200] [--dirs /usr/lib/python3] [--runs 3]
//
// Publishes IMAGES images through the client's write path under two fresh paths of $IB_REGISTRY:
// each has one base layer made of real directories of this machine (shared by all, as a family's
// images share their base) and a small layer of its own (a Python distribution). Under one path
// each image is a one-platform index with its attestation manifest (the SBOM as a run makes it),
// under the other a plain image. Then `findPackageHolders` (what `contains --package` runs) over
// each path, RUNS times.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";
import pLimit from "p-limit";
import tar from "tar-stream";
import { attestationManifest, sbomStatement } from "../src/core/attestations/manifest.js";
import { dockerPurl } from "../src/core/attestations/provenance.js";
import { parseImageReference } from "../src/core/parse/image-reference.js";
import { parsePackageQuery } from "../src/core/sbom/package-query.js";
import { scanPackages } from "../src/core/sbom/packages.js";
import { spdxDocument } from "../src/core/sbom/spdx.js";
import { putAttestationManifest } from "../src/registry/attestations.js";
import { MEDIA_TYPES, RegistryClient } from "../src/registry/client.js";
import { sha256Digest as sha256 } from "../src/core/digest.js";
import { DockerCredentials } from "../src/registry/credentials.js";
import { readPackageFiles, SharedLayerChains } from "../src/registry/image-files.js";
import { findPackageHolders } from "../src/registry/package-search.js";
import { findRepositories } from "../src/registry/published.js";
import { stats, table } from "./report.js";

const { values: v } = parseArgs({ options: { images: { type: "string" }, dirs: { type: "string" }, runs: { type: "string" }, distinct: { type: "boolean", default: false } } });
/** `--distinct`: each image's own layer is a copy of the base's files too (its own digest): images that share no layer, as unrelated images or big own layers. */
const DISTINCT = v.distinct!;
const IMAGES = Number(v.images ?? 200);
const DIRS = (v.dirs ?? "/usr/lib/python3").split(",");
const RUNS = Number(v.runs ?? 3);
const registry = process.env.IB_REGISTRY;
if (!registry) throw new Error("IB_REGISTRY not set: source STATE_DIR/env.sh of a test engine");
const run = randomBytes(3).toString("hex");
const withSboms = `${registry}/bench-att-${run}`;
const without = `${registry}/bench-noatt-${run}`;
const publisher = new RegistryClient(await DockerCredentials.load());

/** A gzipped layer holding one Python distribution, own to image `i` (numpy at a version of its own). */
async function ownLayer(i: number, copyOf?: Buffer): Promise<{ gz: Buffer; diffId: string }> {
  const pack = tar.pack();
  pack.entry({ name: `usr/lib/python3/dist-packages/numpy-1.${i}.0.dist-info/METADATA` }, `Metadata-Version: 2.1\nName: numpy\nVersion: 1.${i}.0\n`);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  // A copy of the base's tar before this image's own file (its end-of-archive blocks dropped).
  const tarBytes = Buffer.concat(copyOf ? [copyOf.subarray(0, copyOf.length - 1024), ...chunks] : chunks);
  return { gz: gzipSync(tarBytes), diffId: sha256(tarBytes) };
}

async function publish(repo: string, name: string, layers: { gz: Buffer; diffId: string }[], attest: boolean): Promise<void> {
  const ref = parseImageReference(`${repo}/${name}`);
  for (const l of layers) await publisher.putBlob(ref, l.gz);
  // The label of the build the moving tag serves, as a compat build's image has it.
  const labels = { "org.sciserver.compat.version": `${name.split("/").pop()}:1.0-1-aaaaaaa` };
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", created: "2026-12-03T00:00:00Z", config: { Labels: labels }, rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) } }));
  await publisher.putBlob(ref, config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(l.gz), size: l.gz.length })),
  }));
  const digest = await publisher.putManifest({ ...ref, digest: sha256(manifest) }, manifest, MEDIA_TYPES.ociManifest);
  let top = manifest;
  let type: string = MEDIA_TYPES.ociManifest;
  if (attest) {
    // The SBOM as a run makes it: the image's layers read from the registry.
    const { files } = await readPackageFiles(publisher, { ref, layers: layers.map((l) => ({ digest: sha256(l.gz), mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" })) }, { chains: sharedBase });
    const doc = spdxDocument({ name: `${repo}/${name}:1.0-1-aaaaaaa`, manifestDigest: digest, platform: "linux/amd64" }, scanPackages(files).packages, "image-builder-bench");
    const att = attestationManifest(digest, [sbomStatement([{ name: dockerPurl(`${repo}/${name}:1.0-1-aaaaaaa`, "linux/amd64"), digest: { sha256: digest.slice(7) } }], doc)]);
    await putAttestationManifest(publisher, ref, att);
    top = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [
      { mediaType: MEDIA_TYPES.ociManifest, digest, size: manifest.length, platform: { architecture: "amd64", os: "linux" } }, att.manifest.descriptor,
    ] }));
    type = MEDIA_TYPES.ociIndex;
  }
  for (const tag of ["1.0-1-aaaaaaa", "1.0"]) await publisher.putManifest({ ...ref, tag }, top, type);
}

const sharedBase = new SharedLayerChains();

async function main(): Promise<void> {
  const base = execFileSync("tar", ["-czf", "-", "-C", "/", ...DIRS.map((d) => d.replace(/^\//, ""))], { maxBuffer: 4e9, stdio: ["ignore", "pipe", "ignore"] });
  const baseTar = gunzipSync(base);
  const baseLayer = { gz: base, diffId: sha256(baseTar) };
  const t0 = performance.now();
  const limit = pLimit(8);
  await Promise.all(Array.from({ length: IMAGES }, (_, i) => limit(async () => {
    const own = await ownLayer(i, DISTINCT ? baseTar : undefined);
    await publish(withSboms, `rel/img${i}`, [baseLayer, own], true);
    await publish(without, `rel/img${i}`, [baseLayer, own], false);
  })));
  process.stdout.write(`${IMAGES} images (base layer of ${DIRS.join(" ")}: ${(base.length / 1e6).toFixed(0)} MB gzipped${DISTINCT ? "; each image's own layer a copy of it" : ""}) published twice in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  const rows: string[][] = [];
  for (const [label, repo] of [["stored SBOM attestations", withSboms], ["layers (no attestations)", without]] as const) {
    const times: number[] = [];
    let requests = 0;
    let holders = 0;
    let read = 0;
    for (let r = 0; r < RUNS; r++) {
      const client = new RegistryClient(await DockerCredentials.load());
      const start = performance.now();
      const { repositories } = await findRepositories(client, repo, async () => []);
      const found = await findPackageHolders(client, repositories, parsePackageQuery("numpy<1.26"));
      times.push(performance.now() - start);
      requests = client.requests;
      holders = found.holders.length;
      read = found.imagesRead;
    }
    const t = stats(times);
    rows.push([label, String(read), `${t.median.toFixed(0)} ms`, `${(t.median / read).toFixed(1)} ms`, String(requests), String(holders)]);
  }
  process.stdout.write(`${table(["`contains --package 'numpy<1.26'` from", "images", "median", "per image", "requests", "matches"], "lrrrrr", rows).join("\n")}\n`);
}

await main();
