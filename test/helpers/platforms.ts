// Images of other platforms on the suite's engine: BuildKit builds through the Engine API with its
// `platform` parameter, and the arm64 busybox base made from Debian's busybox-static:arm64
// (test/engine/start.sh fetches it to IB_ARM64_ROOTFS).
import type Dockerode from "dockerode";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import tar from "tar-stream";
import * as assert from "uvu/assert";
import { messageError, readMessages } from "../../src/executors/docker/messages.js";
import { TEST_BUILDER } from "./engine.js";

/**
 * Whether the calling test (`test`: its name, as the line says it) is skipped, which it then says
 * on stderr: only where the kernel refuses the emulation it needs (IB_EMULATION_SKIP, set by
 * test/engine/start.sh: the one skip the suite allows, also under CI=true), or, for a test of
 * other platforms (`classic`), under IB_TEST_BUILDER=classic, which builds none (test/run.sh runs
 * these files under BuildKit). A test never returns early without this.
 */
export function skipped(test: string, options: { classic?: boolean } = {}): boolean {
  const why = process.env.IB_EMULATION_SKIP
    || (options.classic && TEST_BUILDER === "classic" ? "the classic builder (IB_TEST_BUILDER=classic) builds no other platform" : undefined);
  if (!why) return false;
  process.stderr.write(`skipped: ${test}: ${why}\n`);
  return true;
}

/** A context file: content, or a symbolic link (`linkname`), or a directory (`dir`). */
export type ContextEntry = { name: string; body?: string | Buffer; linkname?: string; dir?: boolean };

/** Builds `dockerfile` with `files` for `platform` (BuildKit, no network) as `tag`; fails the test on a build error. */
export async function buildForPlatform(docker: Dockerode, tag: string, platform: string, dockerfile: string, files: ContextEntry[] = []): Promise<void> {
  const pack = tar.pack();
  pack.entry({ name: "Dockerfile" }, dockerfile);
  for (const f of files) {
    if (f.dir) pack.entry({ name: f.name, type: "directory", mode: 0o755 });
    else if (f.linkname !== undefined) pack.entry({ name: f.name, type: "symlink", linkname: f.linkname });
    else pack.entry({ name: f.name, mode: 0o755 }, f.body ?? "");
  }
  pack.finalize();
  const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => docker.modem.dial({
    path: "/build?", method: "POST", file: pack, isStream: true, statusCodes: { 200: true, 500: "server error" },
    options: { version: "2", platform, t: tag, networkmode: "none" },
  } as unknown as Parameters<Dockerode["modem"]["dial"]>[0], (err, data) => (err ? reject(err) : resolve(data as NodeJS.ReadableStream))));
  let failure: string | undefined;
  await readMessages(stream, (m) => (failure ??= messageError(m)), new AbortController().signal);
  assert.is(failure, undefined, `${tag} (${platform}): ${failure}`);
}

/** `busybox:stable-arm64`: a FROM scratch BuildKit build for linux/arm64 of Debian's arm64 busybox (an import would say amd64). */
export async function makeArm64Base(docker: Dockerode): Promise<void> {
  const rootfs = process.env.IB_ARM64_ROOTFS!;
  const files: ContextEntry[] = [];
  for (const dir of ["bin", "tmp"]) {
    files.push({ name: `rootfs/${dir}/`, dir: true });
    for (const name of readdirSync(join(rootfs, dir))) {
      const file = join(rootfs, dir, name);
      files.push(lstatSync(file).isSymbolicLink() ? { name: `rootfs/${dir}/${name}`, linkname: readlinkSync(file) } : { name: `rootfs/${dir}/${name}`, body: readFileSync(file) });
    }
  }
  await buildForPlatform(docker, "busybox:stable-arm64", "linux/arm64", 'FROM scratch\nCOPY rootfs/ /\nCMD ["sh"]\n', files);
  // The amd64 one is the suite's busybox:stable, under the name the Dockerfiles give per platform.
  await docker.getImage("busybox:stable").tag({ repo: "busybox", tag: "stable-amd64" });
}
