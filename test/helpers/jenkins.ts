// Reads the image-builder command lines out of the Jenkinsfile, so tests run exactly what the
// pipeline runs.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "./cli.js";

export const JENKINSFILE = join(PROJECT_ROOT, "Jenkinsfile");

/** The shell commands of `sh '...'` steps that call ./image-builder, as written. */
export function jenkinsImageBuilderCommands(): string[] {
  const text = readFileSync(JENKINSFILE, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/\bsh\s+'([^'\n]*\.\/image-builder[^'\n]*)'/g)) out.push(m[1]);
  return out;
}
