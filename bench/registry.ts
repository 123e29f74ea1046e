// `contains` over a registry with many published tags: time and HTTP requests.
//
//   source STATE_DIR/env.sh && node dist/bench/registry.js [--targets 20] [--builds 5] [--runs 5]
//
// Publishes through the client's write path, no engine (one shared layer; a config and a manifest per
// build) under a fresh path of $IB_REGISTRY: `targets` science layers and as many final images,
// each with `builds` builds plus its moving tag; every final image carries every science layer,
// at a build that is stale for half of them. Then runs `contains sci/t0` with concurrency 1 and 8.
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { parseArgs } from "node:util";
import { DockerCredentials } from "../src/registry/credentials.js";
import { parseLayerQuery } from "../src/cli/commands/image-arguments.js";
import { MEDIA_TYPES, RegistryClient } from "../src/registry/client.js";
import { sha256Digest as sha256 } from "../src/core/digest.js";
import { parseImageReference } from "../src/core/parse/image-reference.js";
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

/** Publishes through the client's write path (a client of its own: the measured ones count their requests). */
const publisher = new RegistryClient(await DockerCredentials.load());

// A valid (empty) tar, gzipped: 1024 zero bytes.
const layer = gzipSync(Buffer.alloc(1024));
const layerDiff = sha256(Buffer.alloc(1024));

async function publishImage(name: string, tags: string[], labels: Record<string, string>): Promise<void> {
  const ref = parseImageReference(`${registry}/${name}`);
  await publisher.putBlob(ref, layer);
  const config = Buffer.from(JSON.stringify({
    architecture: "amd64", os: "linux", created: new Date().toISOString(), config: { Labels: labels },
    rootfs: { type: "layers", diff_ids: [layerDiff] }, history: [{ created_by: `LABEL ${Object.keys(labels).join(" ")}` }],
  }));
  await publisher.putBlob(ref, config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest,
    config: { mediaType: MEDIA_TYPES.dockerConfig, digest: sha256(config), size: config.length },
    layers: [{ mediaType: MEDIA_TYPES.dockerLayer, digest: sha256(layer), size: layer.length }],
  }));
  for (const tag of tags) await publisher.putManifest({ ...ref, tag }, manifest, MEDIA_TYPES.dockerManifest);
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
