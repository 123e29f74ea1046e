// The I/O floor of a plan: what any planner has to do at the least, as a minimal program.
// `node dist/bench/io-floor.js <repository> [ref]` runs one `git diff --name-only <ref>` and, while
// git works, lists science/ and compat/ and reads every sciserver-image.json and Dockerfile into
// strings, the fastest way found in Node (synchronous reads into one reused buffer, see
// src/read/repository.ts). It prints {files, bytes, changed} as JSON.
//
// The benchmark runs it as a child process exactly like the CLI, so both include Node's start-up.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { readText } from "../src/read/repository.js";

const root = process.argv[2];
const ref = process.argv[3] ?? "HEAD^";
if (!root) throw new Error("usage: io-floor.js <repository> [ref]");

const diff = new Promise<number>((resolve, reject) => {
  const child = spawn("git", ["diff", "--name-only", "-z", ref, "--"], { cwd: root });
  const out: Buffer[] = [];
  child.stdout.on("data", (b: Buffer) => out.push(b));
  child.on("error", reject);
  child.on("close", (code) => {
    if (code !== 0) reject(new Error(`git diff exited with ${code}`));
    else resolve(Buffer.concat(out).toString("utf8").split("\0").filter(Boolean).length);
  });
});

/** The planner's own file reader; a missing file is undefined. */
function read(path: string): string | undefined {
  try {
    return readText(path);
  } catch {
    return undefined;
  }
}

let files = 0;
let bytes = 0;
let dirs = 0;
for (const kind of ["science", "compat"]) {
  for (const dir of readdirSync(join(root, kind))) {
    // Let git's output be read now and then, as the CLI does.
    if (++dirs % 500 === 0) await new Promise((r) => setImmediate(r));
    for (const file of ["sciserver-image.json", "Dockerfile"]) {
      const text = read(join(root, kind, dir, file));
      if (text === undefined) continue;
      files++;
      bytes += text.length;
    }
  }
}
const changed = await diff;
process.stdout.write(`${JSON.stringify({ files, bytes, changed })}\n`);
