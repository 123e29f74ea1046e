// The probe program: a static ELF executable per architecture that exits 0. It is run here, on
// this machine's processor and under Debian's qemu-user-static (a unit test: no engine).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { arch } from "node:os";
import { probeExecutable } from "../../../../src/core/execute/platform-probe.js";
import { tempDir } from "../../../helpers/temp.js";

/** Runs the program (through `emulator` when given) and returns its exit status. */
function exitStatus(program: Uint8Array, emulator?: string): number | null {
  using dir = tempDir("ib-probe-");
  const file = join(dir.path, "probe");
  writeFileSync(file, program);
  chmodSync(file, 0o755);
  const r = emulator ? spawnSync(emulator, [file]) : spawnSync(file);
  return r.status;
}

test("the probe of this machine's platform runs here and exits 0", () => {
  const native = arch() === "x64" ? "linux/amd64" : arch() === "arm64" ? "linux/arm64" : undefined;
  assert.ok(native, `no probe for this test machine's ${arch()}`);
  assert.is(exitStatus(probeExecutable(native!)!), 0);
});

test("each architecture's probe exits 0 under its emulator (qemu-user-static, which npm test installs)", () => {
  const emulators: [string, string][] = [
    ["linux/arm64", "qemu-aarch64-static"], ["linux/arm/v7", "qemu-arm-static"], ["linux/riscv64", "qemu-riscv64-static"],
    ["linux/386", "qemu-i386-static"], ["linux/amd64", "qemu-x86_64-static"],
  ];
  const missing = emulators.filter(([, e]) => !existsSync(`/usr/bin/${e}`)).map(([, e]) => e);
  // On CI the suite installs qemu-user-static (test/run.sh): there, a missing emulator is a failure.
  if (missing.length > 0 && process.env.CI !== "true") {
    console.warn(`skipped (install qemu-user-static): ${missing.join(", ")} missing`);
    return;
  }
  for (const [platform, emulator] of emulators) assert.is(exitStatus(probeExecutable(platform)!, `/usr/bin/${emulator}`), 0, platform);
});

test("a platform without a probe program is said so (undefined), not guessed", () => {
  assert.is(probeExecutable("linux/s390x"), undefined);
  assert.is(probeExecutable("windows/amd64"), undefined);
});

test.run();
