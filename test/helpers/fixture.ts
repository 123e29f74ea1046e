// A git repository holding a copy of the project's example images (science/, compat/,
// image-builder.json), so tests can plan, build and change them without touching the project.
import { cpSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "./cli.js";
import { makeRepo, type TempRepo } from "./repo.js";

export function examplesRepo(extra: Record<string, string> = {}): TempRepo {
  const repo = makeRepo({}, false);
  for (const dir of ["science", "compat", "image-builder.json"]) {
    cpSync(join(PROJECT_ROOT, dir), join(repo.root, dir), { recursive: true });
  }
  repo.write(extra);
  repo.commit("examples");
  return repo;
}
