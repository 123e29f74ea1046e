// Builds real git repositories in temporary directories for tests.
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { removeTree } from "./temp.js";

/** Removed when disposed: `using repo = makeRepo(…)`. */
export interface TempRepo extends Disposable {
  root: string;
  /** Writes files (path -> content) relative to the root, creating directories. */
  write(files: Record<string, string>): void;
  remove(path: string): void;
  git(...args: string[]): string;
  /** `git add -A && git commit`; returns the short hash. */
  commit(message?: string): string;
  cleanup(): void;
}

export function makeRepo(files: Record<string, string> = {}, commit = true): TempRepo {
  const root = mkdtempSync(join(tmpdir(), "ib-repo-"));
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: root,
      encoding: "utf8",
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com",
        GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com",
      },
    }).trim();
  git("init", "-q", "-b", "main");
  git("config", "commit.gpgsign", "false");
  const repo: TempRepo = {
    root,
    write(f) {
      for (const [p, content] of Object.entries(f)) {
        mkdirSync(dirname(join(root, p)), { recursive: true });
        writeFileSync(join(root, p), content);
      }
    },
    remove(p) { rmSync(join(root, p), { recursive: true, force: true }); },
    git,
    commit(message = "change") {
      git("add", "-A");
      git("commit", "-q", "--allow-empty", "-m", message);
      return git("rev-parse", "--short", "HEAD");
    },
    cleanup() { removeTree(root); },
    [Symbol.dispose]() { removeTree(root); },
  };
  repo.write(f(files));
  if (commit) repo.commit("initial");
  return repo;
}

function f(x: Record<string, string>) { return x; }

/** A science layer's two files. */
export function science(dir: string, meta: Record<string, unknown>, dockerfile: string): Record<string, string> {
  return {
    [`science/${dir}/sciserver-image.json`]: JSON.stringify(meta, null, 2),
    [`science/${dir}/Dockerfile`]: dockerfile,
  };
}

/** A compat layer's two files. */
/**
 * `science/base` (`sci/{image}-base`) and `science/tools` on it (`sci/{image}-tools`, final image
 * `{image}` 1.0 with compat `c`): the smallest family with a parent, a child and a final image.
 */
export function baseAndTools(image: string): Record<string, string> {
  return {
    ...science("base", { image, target: `${image}-base` }, "FROM busybox:stable\nRUN echo base > /base.txt\n"),
    ...science("tools", { image, target: `${image}-tools`, compat: "c" }, `FROM sci/${image}-base:1.0\nRUN echo tools > /tools.txt\n`),
    ...compat("c", [], "ENV C=1\n"),
  };
}

export function compat(dir: string, includes: string[], dockerfile: string, extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {
    [`compat/${dir}/sciserver-image.json`]: JSON.stringify({ includes }),
    [`compat/${dir}/Dockerfile`]: dockerfile,
  };
  for (const [p, c] of Object.entries(extra)) out[`compat/${dir}/${p}`] = c;
  return out;
}
