// `contains` over a registry with many published tags: time and HTTP requests.
//
//   source STATE_DIR/env.sh && node dist/bench/registry.js [--targets 20] [--builds 5] [--runs 5]
//
// Publishes straight through the Registry API (one shared layer; a config and a manifest per
// build) under a fresh path of $IB_REGISTRY: `targets` science layers and as many final images,
// each with `builds` builds plus its moving tag; every final image carries every science layer,
// at a build that is stale for half of them. Then runs `contains sci/t0` with concurrency 1 and 8.
import { createHash, randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { parseArgs } from "node:util";
import { DockerCredentials } from "../src/registry/credentials.js";
import { parseLayerQuery } from "../src/cli/commands/image-arguments.js";
import { RegistryClient } from "../src/registry/client.js";
import { findAffected, findRepositories } from "../src/registry/published.js";
import { stats, table } from "./report.js";

const { values: v } = parseArgs({ options: { targets: { type: "string" }, builds: { type: "string" }, runs: { type: "string" } } });
const TARGETS = Number(v.targets ?? 20);
const BUILDS = Number(v.builds ?? 5);
const RUNS = Number(v.runs ?? 5);
const registry = process.env.IB_REGISTRY;
if (!registry) throw new Error("IB_REGISTRY not set: source STATE_DIR/env.sh of a test engine");
const repo = `${registry}/bench-${randomBytes(3).toString("hex")}`;
const path = repo.slice(registry.length + 1);
const digestOf = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

async function put(url: string, init: RequestInit, expect: number): Promise<void> {
  const res = await fetch(`http://${registry}${url}`, init);
  if (res.status !== expect) throw new Error(`${init.method} ${url}: HTTP ${res.status} ${await res.text()}`);
}

async function uploadBlob(name: string, body: Buffer): Promise<string> {
  const digest = digestOf(body);
  const start = await fetch(`http://${registry}/v2/${name}/blobs/uploads/`, { method: "POST" });
  const location = new URL(start.headers.get("location")!, `http://${registry}`);
  location.searchParams.set("digest", digest);
  await put(`${location.pathname}${location.search}`, { method: "PUT", body: new Uint8Array(body), headers: { "content-type": "application/octet-stream" } }, 201);
  return digest;
}

// A valid (empty) tar, gzipped: 1024 zero bytes.
const layer = gzipSync(Buffer.alloc(1024));
const layerDiff = digestOf(Buffer.alloc(1024));

async function publishImage(name: string, tags: string[], labels: Record<string, string>): Promise<void> {
  const layerDigest = await uploadBlob(name, layer);
  const config = Buffer.from(JSON.stringify({
    architecture: "amd64", os: "linux", created: new Date().toISOString(), config: { Labels: labels },
    rootfs: { type: "layers", diff_ids: [layerDiff] }, history: [{ created_by: `LABEL ${Object.keys(labels).join(" ")}` }],
  }));
  const configDigest = await uploadBlob(name, config);
  const manifest = JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: configDigest, size: config.length },
    layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", digest: layerDigest, size: layer.length }],
  });
  for (const tag of tags) {
    await put(`/v2/${name}/manifests/${tag}`, { method: "PUT", body: manifest, headers: { "content-type": "application/vnd.docker.distribution.manifest.v2+json" } }, 201);
  }
}

async function main(): Promise<void> {
  let tags = 0;
  const jobs: Promise<void>[] = [];
  for (let t = 0; t < TARGETS; t++) {
    for (let n = 1; n <= BUILDS; n++) {
      const build = `1.0-${n}-${n.toString(16).padStart(7, "a")}`;
      const label = { [`org.sciserver.science.t${t}.version`]: build };
      jobs.push(publishImage(`${path}/sci/t${t}`, n === BUILDS ? [build, "1.0"] : [build], label));
      // final image i carries every layer; odd images an older build of t0 (stale)
      const crumbs: Record<string, string> = { "org.sciserver.compat.version": `img${t}:${build}` };
      for (let s = 0; s < TARGETS; s++) crumbs[`org.sciserver.science.t${s}.version`] = `1.0-${s === 0 && t % 2 ? n - 1 || 1 : n}-${(s === 0 && t % 2 ? n - 1 || 1 : n).toString(16).padStart(7, "a")}`;
      jobs.push(publishImage(`${path}/rel/img${t}`, n === BUILDS ? [build, "1.0"] : [build], crumbs));
      tags += 2 * (n === BUILDS ? 2 : 1);
    }
    await Promise.all(jobs.splice(0));
  }
  const creds = await DockerCredentials.load();
  process.stdout.write(`registry ${repo}: ${2 * TARGETS} repositories, ${tags} tags, ${2 * TARGETS} image versions\n`);
  const rows: (string | number)[][] = [];
  for (const concurrency of [1, 8]) {
    const times: number[] = [];
    let requests = 0;
    let affected = 0;
    let stale = 0;
    for (let r = 0; r < RUNS; r++) {
      const client = new RegistryClient(creds, { concurrency });
      const start = performance.now();
      const { repositories } = await findRepositories(client, repo, async () => []);
      const result = await findAffected(client, repositories, parseLayerQuery("sci/t0"));
      times.push(performance.now() - start);
      requests = client.requests;
      affected = result.affected.length;
      stale = result.affected.filter((a) => a.match.state === "stale").length;
    }
    const t = stats(times);
    rows.push([concurrency === 8 ? "8 (default)" : concurrency, ...[t.median, t.min, t.max].map((x) => `${x.toFixed(0)} ms`), requests, `${affected} (${stale})`]);
  }
  process.stdout.write(`${table(["concurrency", "median", "min", "max", "requests", "images found (stale)"], "llllll", rows).join("\n")}\n`);
}

await main();
