import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { collectContext, ContextChangedError, DOCKERFILE_NAME, packContext } from "../../../../src/executors/docker/context.js";
import { contextDigest } from "../../../../src/core/requests/inputs-digest.js";
import { readContextListings } from "../../../../src/read/context-files.js";
import { readTar } from "../../../helpers/tar.js";
import { tempDir, type TempDir } from "../../../helpers/temp.js";

async function rejects(run: () => Promise<unknown>, re?: RegExp): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (re) assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable("expected a rejection");
}

/** A directory holding `files`, removed when disposed. */
function tree(files: Record<string, string>): TempDir {
  const root = tempDir("ib-ctx-");
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root.path, p)), { recursive: true });
    writeFileSync(join(root.path, p), content);
  }
  return root;
}


test("later contexts win; each context's .dockerignore applies to that context only", async () => {
  using root = tree({
    "a/shared.txt": "a", "a/only-a.txt": "a", "a/secret": "s", "a/.dockerignore": "secret\n",
    "b/shared.txt": "b", "b/secret": "b keeps it", "b/x.tmp": "t", "b/.dockerignore": "# comment\n*.tmp\n",
  });
  const names = (await collectContext(root.path, ["a", "b"])).map((e) => e.name);
  assert.equal(names, ["only-a.txt", "secret", "shared.txt"]);
  const files = await readTar(packContext(await collectContext(root.path, ["a", "b"]), "FROM x\n"));
  assert.is(files.get("shared.txt")!.content, "b");
  assert.is(files.get("secret")!.content, "b keeps it");
  assert.is(files.get(DOCKERFILE_NAME)!.content, "FROM x\n");
  // the generated .dockerignore makes the engine drop the Dockerfile and itself after reading
  assert.is(files.get(".dockerignore")!.content, `${DOCKERFILE_NAME}\n.dockerignore\n`);
});

test("ignored directories, exceptions inside them, nested paths", async () => {
  using root = tree({
    "c/docs/keep.md": "k", "c/docs/drop.md": "d", "c/build/out.o": "o", "c/src/deep/x.c": "x", "c/src/deep/x.o": "o",
    "c/.dockerignore": "docs\n!docs/keep.md\nbuild/\n**/*.o\n",
  });
  const names = (await collectContext(root.path, ["c"])).map((e) => `${e.type[0]}:${e.name}`);
  assert.equal(names, ["f:docs/keep.md", "d:src", "d:src/deep", "f:src/deep/x.c"]);
});

test("modes are git's (a file 0755 or 0644, a directory 0755: the same from every checkout, whatever its umask); symlinks are kept; owner is root", async () => {
  using root = tree({ "d/run.sh": "#!/bin/sh\n", "d/data.txt": "data", "d/private.txt": "p", "d/sub/x": "x" });
  chmodSync(join(root.path, "d/run.sh"), 0o750);
  chmodSync(join(root.path, "d/data.txt"), 0o664);
  chmodSync(join(root.path, "d/private.txt"), 0o600);
  chmodSync(join(root.path, "d/sub"), 0o775);
  symlinkSync("data.txt", join(root.path, "d/link"));
  symlinkSync("/etc/passwd", join(root.path, "d/abs-link"));
  const files = await readTar(packContext(await collectContext(root.path, ["d"]), ""));
  assert.is(files.get("run.sh")!.mode, 0o755);
  assert.is(files.get("data.txt")!.mode, 0o644);
  assert.is(files.get("private.txt")!.mode, 0o644);
  assert.is(files.get("sub")!.mode, 0o755);
  assert.is(files.get("link")!.type, "symlink");
  assert.is(files.get("link")!.linkname, "data.txt");
  assert.is(files.get("abs-link")!.linkname, "/etc/passwd");
});

test("a file replacing a directory of an earlier context takes the directory's contents along", async () => {
  using root = tree({ "a/x/inner.txt": "i", "a/y": "file in a", "b/x": "now a file", "b/y/inner.txt": "now a dir" });
  const names = (await collectContext(root.path, ["a", "b"])).map((e) => `${e.type[0]}:${e.name}`);
  assert.equal(names, ["f:x", "d:y", "f:y/inner.txt"]);
});

test("context files can't shadow the generated Dockerfile or .dockerignore", async () => {
  using root = tree({ [`e/${DOCKERFILE_NAME}`]: "FROM evil\n", "e/sub/.dockerignore": "nested is an ordinary file" });
  const files = await readTar(packContext(await collectContext(root.path, ["e"]), "FROM good\n"));
  assert.is(files.get(DOCKERFILE_NAME)!.content, "FROM good\n");
  assert.is(files.get("sub/.dockerignore")!.content, "nested is an ordinary file");
});

test("a large file is streamed intact", async () => {
  const big = "0123456789abcdef".repeat(1 << 16); // 1 MiB
  using root = tree({ "f/big.bin": big });
  const files = await readTar(packContext(await collectContext(root.path, ["f"]), ""));
  assert.is(files.get("big.bin")!.content.length, big.length);
  assert.ok(files.get("big.bin")!.content === big);
});

test("missing and escaping contexts are errors", async () => {
  using root = tree({ "a/f": "x" });
  await rejects(() => collectContext(root.path, ["nope"]), /build context nope is not a directory/);
  await rejects(() => collectContext(root.path, ["../etc"]), /outside the repository/);
  await rejects(() => collectContext(root.path, ["a/f"]), /is not a directory/);
});

test("a file that changes size while being sent fails the stream", async () => {
  using root = tree({ "g/f": "short" });
  const entries = await collectContext(root.path, ["g"]);
  writeFileSync(join(root.path, "g/f"), "much longer than before");
  await rejects(() => readTar(packContext(entries, "")));
});

test("the context as streamed must make the request's context digest: a file changed after planning stops the tar before the Dockerfile", async () => {
  using root = tree({ "s/Dockerfile": "FROM busybox:stable\n", "s/data.txt": "planned", "c/extra": "x" });
  // What the planner digests.
  const planned = contextDigest(["s", "c"], readContextListings(root.path, ["s", "c"]));
  const files = await readTar(packContext(await collectContext(root.path, ["s", "c"]), "FROM x\n", { dockerignore: false, expectDigest: planned }));
  assert.equal([...files.keys()].sort(), [DOCKERFILE_NAME, "Dockerfile", "data.txt", "extra"]);
  // Same size, other contents: only the bytes sent show it.
  const entries = await collectContext(root.path, ["s", "c"]);
  writeFileSync(join(root.path, "s/data.txt"), "changed");
  let failure: unknown;
  const received: string[] = [];
  try {
    await readTar(packContext(entries, "FROM x\n", { dockerignore: false, expectDigest: planned }), (name) => received.push(name));
  } catch (e) {
    failure = e;
  }
  assert.ok(failure instanceof ContextChangedError, String(failure));
  assert.match((failure as Error).message, /the build context's files changed since the plan was made/);
  assert.not.ok(received.includes(DOCKERFILE_NAME), "the engine never gets a Dockerfile to build");
});

test.run();
