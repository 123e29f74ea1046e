// The layering of src/ (README: the architecture): src/core is pure and imports only from core;
// src/read never imports the CLI or the executors; the executors never import the CLI.
// Checked on the TypeScript sources' import lines, so a misplaced import fails here, not in review.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// dist/test/unit/architecture.test.js -> the repository root
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const src = join(root, "src");

/** Relative specifiers of static imports, re-exports and dynamic `import("…")`. */
function importedPaths(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gm)) found.push(m[1]);
  for (const m of text.matchAll(/\bimport\(\s*"(\.[^"]+)"\s*\)/g)) found.push(m[1]);
  return found;
}

/** `core`, `read`, `registry`, `executors`, `cli`, or the file name of a module directly in src/. */
const layerOf = (srcRelative: string) => srcRelative.split("/")[0];

/** Layers each layer must not import. */
const FORBIDDEN: Record<string, (target: string) => boolean> = {
  core: (target) => target !== "core",
  read: (target) => target === "cli" || target === "executors",
  executors: (target) => target === "cli",
};

/** `file -> imported file` for every import against the layering; files are src-relative. */
function violations(files: { path: string; text: string }[]): string[] {
  const found: string[] = [];
  for (const { path, text } of files) {
    const forbidden = FORBIDDEN[layerOf(path)];
    if (!forbidden) continue;
    for (const spec of importedPaths(text)) {
      const target = relative(src, resolve(src, dirname(path), spec)).split("\\").join("/");
      if (forbidden(layerOf(target))) found.push(`${path} -> ${target}`);
    }
  }
  return found;
}

function sources(dir: string): { path: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    if (!e.name.endsWith(".ts")) return [];
    return [{ path: relative(src, p).split("\\").join("/"), text: readFileSync(p, "utf8") }];
  });
}

test("core imports only core; read/ imports neither cli/ nor executors/; executors/ don't import cli/", () => {
  const files = sources(src);
  assert.ok(files.some((f) => f.path.startsWith("core/")), `no sources under ${src}`);
  assert.equal(violations(files), []);
});

test("only the registry client's transport speaks HTTP (authentication, retries, timeouts and limits apply to every request)", () => {
  const speaksHttp = sources(src).filter((f) => /\bfetch\(|\banyPortFetch\b|"node:https?"/.test(f.text)).map((f) => f.path);
  assert.equal(speaksHttp.sort(), ["registry/any-port-fetch.ts", "registry/transport.ts"]);
});

test("the check finds imports against the layering", () => {
  const files = [
    { path: "core/plan/x.ts", text: 'import { a } from "../../read/git.js";\nimport type { B } from "../model.js";\n' },
    { path: "core/model.ts", text: 'export { c } from "../files.js";\n' },
    { path: "read/y.ts", text: 'import {\n  d,\n} from "../cli/program.js";\nimport { e } from "../core/model.js";\n' },
    { path: "executors/docker/z.ts", text: 'const { f } = await import("../../cli/output-paths.js");\nimport { g } from "../../registry/client.js";\n' },
    { path: "cli/w.ts", text: 'import { h } from "../executors/dry-run.js";\n' },
  ];
  assert.equal(violations(files), [
    "core/plan/x.ts -> read/git.js",
    "core/model.ts -> files.js",
    "read/y.ts -> cli/program.js",
    "executors/docker/z.ts -> cli/output-paths.js",
  ]);
});

test.run();
