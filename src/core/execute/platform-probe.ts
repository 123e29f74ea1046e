// The probe a run builds for each platform the engine does not run natively, before building
// anything: `FROM scratch`, a tiny static program of that platform that exits 0, and a `RUN` of it.
// It runs only where the engine can execute the platform's programs (natively or under emulation
// such as qemu-user-static with binfmt_misc), and it needs no image from any registry, so it works
// on an offline or remote engine (a look at /proc/sys/fs/binfmt_misc would only see this machine).
// Pure: the program's bytes are made here.

/** The probe's Dockerfile: the program is `probe` in the context. */
export const PROBE_DOCKERFILE = 'FROM scratch\nCOPY probe /probe\nRUN ["/probe"]\n';

interface Machine {
  bits: 32 | 64;
  /** ELF e_machine. */
  machine: number;
  flags: number;
  /** exit(0) in the machine's code, little-endian. */
  code: number[];
}

const words = (...ws: number[]) => ws.flatMap((w) => [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, (w >>> 24) & 0xff]);

// exit(0) by system call: the number in the register the Linux ABI names, then the trap.
const MACHINES: Record<string, Machine> = {
  // mov eax, 60; xor edi, edi; syscall
  amd64: { bits: 64, machine: 62, flags: 0, code: [0xb8, 60, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05] },
  // mov x0, #0; mov x8, #93; svc #0
  arm64: { bits: 64, machine: 183, flags: 0, code: words(0xd2800000, 0xd2800ba8, 0xd4000001) },
  // li a0, 0; li a7, 93; ecall
  riscv64: { bits: 64, machine: 243, flags: 0, code: words(0x00000513, 0x05d00893, 0x00000073) },
  // mov eax, 1; xor ebx, ebx; int 0x80
  "386": { bits: 32, machine: 3, flags: 0, code: [0xb8, 1, 0, 0, 0, 0x31, 0xdb, 0xcd, 0x80] },
  // mov r0, #0; mov r7, #1; svc #0 (EABI 5)
  arm: { bits: 32, machine: 40, flags: 0x05000000, code: words(0xe3a00000, 0xe3a07001, 0xef000000) },
};

const LOAD_ADDRESS = 0x400000;

/**
 * A static Linux ELF executable of `platform`'s architecture that exits 0; undefined for an
 * architecture without one here (its emulation can't be checked before building).
 */
export function probeExecutable(platform: string): Uint8Array | undefined {
  const [os, arch] = platform.split("/");
  const m = MACHINES[arch];
  if (os !== "linux" || !m) return undefined;
  const [ehsize, phsize] = m.bits === 64 ? [64, 56] : [52, 32];
  const size = ehsize + phsize + m.code.length;
  const out = Buffer.alloc(size);
  const entry = LOAD_ADDRESS + ehsize + phsize;
  out.set([0x7f, 0x45, 0x4c, 0x46, m.bits === 64 ? 2 : 1, 1, 1, 0], 0); // ELF, class, little-endian, version 1, System V
  const eh = ehsize;
  // [offset, width in bytes, value]: the ELF header (ET_EXEC, machine, version, entry, program
  // headers right after it, flags, sizes), then one PT_LOAD segment, read + execute, mapping the whole file.
  const fields: [number, number, number][] = m.bits === 64
    ? [[24, 8, entry], [32, 8, eh], [48, 4, m.flags], [52, 2, eh], [54, 2, phsize], [56, 2, 1], [58, 2, 64],
      [eh, 4, 1], [eh + 4, 4, 5], [eh + 16, 8, LOAD_ADDRESS], [eh + 24, 8, LOAD_ADDRESS], [eh + 32, 8, size], [eh + 40, 8, size], [eh + 48, 8, 0x1000]]
    : [[24, 4, entry], [28, 4, eh], [36, 4, m.flags], [40, 2, eh], [42, 2, phsize], [44, 2, 1], [46, 2, 40],
      [eh, 4, 1], [eh + 8, 4, LOAD_ADDRESS], [eh + 12, 4, LOAD_ADDRESS], [eh + 16, 4, size], [eh + 20, 4, size], [eh + 24, 4, 5], [eh + 28, 4, 0x1000]];
  for (const [at, width, value] of [[16, 2, 2], [18, 2, m.machine], [20, 4, 1], ...fields]) {
    if (width === 8) out.writeBigUInt64LE(BigInt(value), at);
    else if (width === 4) out.writeUInt32LE(value, at);
    else out.writeUInt16LE(value, at);
  }
  out.set(m.code, ehsize + phsize);
  return out;
}
