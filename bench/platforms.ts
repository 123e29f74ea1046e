// Platforms benchmark (issue 17): the example family built for linux/arm64 under emulation
// (qemu-user-static in binfmt_misc) against linux/amd64 natively, and a two-platform family
// published as image indexes, then rerun with nothing changed: time and registry requests.
//
//   npx tsc -p tsconfig.json && node dist/bench/platforms.js --registry 127.0.0.1:5161 [--rounds 2]
//
// DOCKER_HOST names the engine (BuildKit, qemu-aarch64 registered: test/engine/start.sh does it);
// IB_ARM64_ROOTFS the arm64 busybox rootfs start.sh fetched. The examples are copied with
// `busybox:stable` made `busybox:stable-${TARGETARCH}` (one base per platform: the engine holds one
// image per tag) and without their `# syntax=` line (nothing to pull here). Every request to the
// registry goes through a counting proxy. Prints markdown.
import { cpSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import tar from "tar-stream";
import type Dockerode from "dockerode";
import { connectEngine } from "../src/executors/docker/engine.js";
import { messageError, readMessages } from "../src/executors/docker/messages.js";
import { runCli } from "./jobs.js";
import { CLI, PROJECT_ROOT, commitAll } from "./report.js";

const log = (line: string) => process.stderr.write(`${line}\n`);
const s1 = (ms: number) => (ms / 1000).toFixed(1);

/** The examples, one base per platform. */
function examplesRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), "ib-platforms-bench-"));
  for (const part of ["science", "compat"]) cpSync(join(PROJECT_ROOT, part), join(dir, part), { recursive: true });
  for (const layer of readdirSync(join(dir, "science"))) {
    const file = join(dir, "science", layer, "Dockerfile");
    const text = readFileSync(file, "utf8").replace(/^# syntax=.*\n/m, "").replaceAll("busybox:stable", "busybox:stable-${TARGETARCH}");
    writeFileSync(file, text);
  }
  commitAll(dir, "examples, one base per platform");
  return dir;
}

/** `busybox:stable-arm64` (a FROM scratch build for linux/arm64 of Debian's arm64 busybox) and `busybox:stable-amd64`. */
async function bases(docker: Dockerode): Promise<void> {
  const rootfs = process.env.IB_ARM64_ROOTFS;
  if (!rootfs) throw new Error("IB_ARM64_ROOTFS is not set (source the test engine's env.sh)");
  const pack = tar.pack();
  pack.entry({ name: "Dockerfile" }, 'FROM scratch\nCOPY rootfs/ /\nCMD ["sh"]\n');
  for (const dir of ["bin", "tmp"]) {
    pack.entry({ name: `rootfs/${dir}/`, type: "directory", mode: 0o755 });
    for (const name of readdirSync(join(rootfs, dir))) {
      const file = join(rootfs, dir, name);
      if (lstatSync(file).isSymbolicLink()) pack.entry({ name: `rootfs/${dir}/${name}`, type: "symlink", linkname: readlinkSync(file) });
      else pack.entry({ name: `rootfs/${dir}/${name}`, mode: 0o755 }, readFileSync(file));
    }
  }
  pack.finalize();
  const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => docker.modem.dial({
    path: "/build?", method: "POST", file: pack, isStream: true, statusCodes: { 200: true, 500: "server error" },
    options: { version: "2", platform: "linux/arm64", t: "busybox:stable-arm64", networkmode: "none" },
  } as unknown as Parameters<Dockerode["modem"]["dial"]>[0], (err, data) => (err ? reject(err) : resolve(data as NodeJS.ReadableStream))));
  let failure: string | undefined;
  await readMessages(stream, (m) => (failure ??= messageError(m)), new AbortController().signal);
  if (failure) throw new Error(`arm64 base: ${failure}`);
  await docker.getImage("busybox:stable").tag({ repo: "busybox", tag: "stable-amd64" });
}

/** Removes every image of the bench's repositories and the build cache: a cold build. */
async function cold(docker: Dockerode): Promise<void> {
  for (const image of await docker.listImages()) {
    if ((image.RepoTags ?? []).some((t) => t.startsWith("busybox:"))) continue;
    await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
  }
  await docker.pruneBuilder({ all: true } as object);
}

/** A loopback proxy in front of the registry that counts what passes (`METHOD` -> n). */
async function countingProxy(target: string) {
  const [host, port] = target.split(":");
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    counts.set(req.method!, (counts.get(req.method!) ?? 0) + 1);
    const up = request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    take: () => { const c = Object.fromEntries(counts); counts.clear(); return c; },
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { registry: { type: "string" }, rounds: { type: "string", default: "2" } } });
  if (!values.registry) throw new Error("--registry HOST:PORT is required");
  const rounds = Number(values.rounds);
  const engine = connectEngine();
  await bases(engine.docker);
  const dir = examplesRepo();
  const proxy = await countingProxy(values.registry);
  const env = { ...process.env };
  let n = 0;
  const run = async (args: string[]) => {
    const repo = `${proxy.address}/ib-platforms-bench-${process.pid}-${++n}/x`;
    const r = await runCli(CLI, ["--all", "--repo", repo, "--progress", "plain", ...args], dir, env, dir);
    if (r.code !== 0) throw new Error(`${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-5).join(" | ")}`);
    return { ...r, repo };
  };
  try {
    const lines: string[] = [];
    // (a) cold builds of the examples: native amd64 against emulated arm64.
    const times: Record<string, number[]> = { "linux/amd64": [], "linux/arm64": [] };
    for (let round = 0; round < rounds; round++) {
      for (const platform of Object.keys(times)) {
        await cold(engine.docker);
        const load = loadavg()[0];
        const r = await run(["--platform", platform]);
        times[platform].push(r.wallMs);
        log(`  ${platform}: ${s1(r.wallMs)} s (load ${load.toFixed(1)})`);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    const [amd, arm] = [median(times["linux/amd64"]), median(times["linux/arm64"])];
    lines.push("| examples, cold, 7 builds | wall (median of " + rounds + ") | runs |", "| --- | --- | --- |");
    for (const [p, xs] of Object.entries(times)) lines.push(`| ${p}${p === "linux/arm64" ? " (emulated)" : " (native)"} | ${s1(median(xs))} s | ${xs.map(s1).join(", ")} s |`);
    lines.push("", `arm64 / amd64: **${(arm / amd).toFixed(2)}×**`, "");

    // (b) both platforms, pushed: the indexes written; then the same again with nothing changed.
    await cold(engine.docker);
    proxy.take();
    const first = await run(["--platform", "linux/amd64,linux/arm64", "--push"]);
    const firstCounts = proxy.take();
    const again = await runCli(CLI, ["--all", "--repo", first.repo, "--progress", "plain", "--platform", "linux/amd64,linux/arm64", "--push"], dir, env, dir);
    if (again.code !== 0) throw new Error(`rerun failed: ${again.stderr.slice(-500)}`);
    const againCounts = proxy.take();
    const footer = (text: string) => text.trim().split("\n").at(-1);
    const fmt = (c: Record<string, number>) => Object.entries(c).sort().map(([m, k]) => `${k} ${m}`).join(", ");
    lines.push("| two platforms, --push | wall | registry requests (engine and image-builder) | last line |", "| --- | --- | --- | --- |");
    lines.push(`| first run (cold) | ${s1(first.wallMs)} s | ${fmt(firstCounts)} | \`${footer(first.stderr)}\` |`);
    lines.push(`| rerun, nothing changed | ${s1(again.wallMs)} s | ${fmt(againCounts)} | \`${footer(again.stderr)}\` |`);
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await proxy.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`platforms bench: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
