// Lists every module a Node process loads, for "the dry run must not load what it does not use".
// `IB_TRACE_MODULES=<file> node --import <dist/bench/trace-modules.js> <program>` appends one URL
// or path per line to <file>: ES modules as the loader loads them (through a module hook, which
// runs on the loader's thread), CommonJS modules from the require cache when the process exits.
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import { isMainThread } from "node:worker_threads";

const file = process.env.IB_TRACE_MODULES;

interface LoadContext { format?: string | null }
type NextLoad = (url: string, context: LoadContext) => Promise<unknown>;

/** Module hook (runs in the loader thread): records each loaded URL. */
export async function load(url: string, context: LoadContext, next: NextLoad): Promise<unknown> {
  const out = (globalThis as { traceFile?: string }).traceFile;
  if (out) appendFileSync(out, `${url}\n`);
  return next(url, context);
}

export function initialize(data: { file: string }): void {
  (globalThis as { traceFile?: string }).traceFile = data.file;
}

// On the main thread (as the --import preload): register this same file as the hook module.
if (file && isMainThread) {
  register(import.meta.url, { data: { file } });
  const require = createRequire(import.meta.url);
  process.on("exit", () => {
    appendFileSync(file, Object.keys(require.cache).map((p) => `${p}\n`).join(""));
  });
}
