// Reading packages from image layers (`sbom`, `contains --package`): time, throughput and memory.
//
//   source STATE_DIR/env.sh && node dist/bench/sbom.js [--dirs /usr/lib/python3,/usr/share] [--images 8] [--runs 3]
//
// Makes one layer from real directories of this machine (tar + gzip: a realistic mix of files,
// with the Python distributions' METADATA of the system's Python), publishes it through the
// client's write path as the base layer of `images` images (each with a small layer of its own on
// top, as a family's images share their base) under a fresh path of $IB_REGISTRY, then reads one
// image's packages (`sbom`), and all images' (`contains --package`, IMAGES_AT_ONCE at a time, the
// shared base read once).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";
import { DockerCredentials } from "../src/registry/credentials.js";
import { MEDIA_TYPES, RegistryClient } from "../src/registry/client.js";
import { sha256Digest as sha256 } from "../src/core/digest.js";
import { readPackageFiles } from "../src/registry/image-files.js";
import { findPackageHolders, IMAGES_AT_ONCE } from "../src/registry/package-search.js";
import { findRepositories } from "../src/registry/published.js";
import { scanPackages } from "../src/core/sbom/packages.js";
import { parsePackageQuery } from "../src/core/sbom/package-query.js";
import { parseImageReference } from "../src/core/parse/image-reference.js";
import { stats, table } from "./report.js";
import { rawTarEntry } from "../test/helpers/tar.js";

const { values: v } = parseArgs({ options: { dirs: { type: "string" }, images: { type: "string" }, runs: { type: "string" } } });
const DIRS = (v.dirs ?? "/usr/lib/python3,/usr/share").split(",");
const IMAGES = Number(v.images ?? 8);
const RUNS = Number(v.runs ?? 3);
const registry = process.env.IB_REGISTRY;
if (!registry) throw new Error("IB_REGISTRY not set: source STATE_DIR/env.sh of a test engine");
const repo = `${registry}/bench-${randomBytes(3).toString("hex")}`;
const path = repo.slice(registry.length + 1);
/** Publishes through the client's write path (a client of its own, apart from the measured one). */
const publisher = new RegistryClient(await DockerCredentials.load());

/** A gzipped tar of one small file, its own to each image. */
function ownLayer(i: number): { gz: Buffer; diffId: string } {
  const body = Buffer.from(`Metadata-Version: 2.1\nName: own${i}\nVersion: 1.0\n`);
  const tarBytes = Buffer.concat([rawTarEntry(`usr/lib/python3/dist-packages/own${i}-1.0.dist-info/METADATA`, "0", body), Buffer.alloc(1024)]);
  return { gz: gzipSync(tarBytes), diffId: sha256(tarBytes) };
}

async function publish(name: string, layers: { gz: Buffer; diffId: string }[]): Promise<void> {
  const ref = parseImageReference(`${registry}/${name}`);
  for (const l of layers) await publisher.putBlob(ref, l.gz);
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", created: new Date().toISOString(), config: {}, rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) } }));
  await publisher.putBlob(ref, config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest,
    config: { mediaType: MEDIA_TYPES.dockerConfig, digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: MEDIA_TYPES.dockerLayer, digest: sha256(l.gz), size: l.gz.length })),
  }));
  for (const tag of ["1.0-1-aaaaaaa", "1.0"]) await publisher.putManifest({ ...ref, tag }, manifest, MEDIA_TYPES.dockerManifest);
}

const mb = (bytes: number) => bytes / 1e6;

async function main(): Promise<void> {
  const layer = execFileSync("tar", ["-czf", "-", "-C", "/", ...DIRS.map((d) => d.replace(/^\//, ""))], { maxBuffer: 4e9, stdio: ["ignore", "pipe", "ignore"] });
  const tarBytes = gunzipSync(layer).length;
  const diffId = sha256(gunzipSync(layer));
  for (let i = 0; i < IMAGES; i++) await publish(`${path}/rel/img${i}`, [{ gz: layer, diffId }, ownLayer(i)]);
  process.stdout.write(`layer of ${DIRS.join(" ")}: ${mb(layer.length).toFixed(0)} MB gzipped, ${mb(tarBytes).toFixed(0)} MB tar; ${IMAGES} images under ${repo}\n`);
  const client = new RegistryClient(await DockerCredentials.load());
  const rows: (string | number)[][] = [];
  const one: number[] = [];
  let packages = 0;
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    const { files } = await readPackageFiles(client, { ref: parseImageReference(`${repo}/rel/img0:1.0`), layers: [{ digest: sha256(layer), mediaType: MEDIA_TYPES.dockerLayer }] });
    packages = scanPackages(files).packages.length;
    one.push(performance.now() - start);
  }
  const t1 = stats(one);
  rows.push(["sbom (1 image)", `${t1.median.toFixed(0)} ms`, `${(mb(layer.length) / (t1.median / 1000)).toFixed(0)} MB/s gzipped, ${(mb(tarBytes) / (t1.median / 1000)).toFixed(0)} MB/s tar`, packages]);
  const all: number[] = [];
  let found = 0;
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    const { repositories } = await findRepositories(client, repo, async () => []);
    found = (await findPackageHolders(client, repositories, parsePackageQuery("pip"))).imagesRead;
    all.push(performance.now() - start);
  }
  const tn = stats(all);
  rows.push([`contains --package (${found} images sharing the base, ${IMAGES_AT_ONCE} at once)`, `${tn.median.toFixed(0)} ms`, `${(tn.median / found).toFixed(0)} ms per image`, "-"]);
  process.stdout.write(`${table(["what", "median", "rate", "packages"], "llll", rows).join("\n")}\n`);
  process.stdout.write(`peak memory (max RSS): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (the layer itself is held by this benchmark: ${mb(layer.length).toFixed(0)} MB)\n`);
}

await main();
