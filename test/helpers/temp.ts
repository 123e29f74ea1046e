/// <reference lib="esnext.disposable" />
// Temporary things a test removes however it ends: `using dir = tempDir("ib-x-")` (explicit
// resource management, disposed when the block ends) instead of try … finally in every test.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempDir extends Disposable {
  path: string;
}

/** A new directory under the temporary directory, removed with its contents when disposed. */
export function tempDir(prefix = "ib-"): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, [Symbol.dispose]: () => removeTree(path) };
}

export function removeTree(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

/** Runs `undo` when the block ends: `using _ = deferred(() => …)` for clean-ups no helper owns. */
export function deferred(undo: () => void): Disposable {
  return { [Symbol.dispose]: undo };
}

/** Every file under `dir` (its path), at any depth. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? filesUnder(join(dir, f)) : [join(dir, f)]));
}

/** What a run left to read: `texts` and every file under `dirs`, one text, to look for what must not be there. */
export function everythingWritten(texts: string[], dirs: string[]): string {
  return [...texts, ...dirs.flatMap(filesUnder).map((f) => readFileSync(f, "utf8"))].join("\n");
}
