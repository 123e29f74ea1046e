// Dockerfile features that need BuildKit (or a newer frontend), found before anything is built.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkFeatures, dockerfileAt, featureRequirements, scanDockerfile } from "../../../../src/core/requests/builder-features.js";
import { planBuilds } from "../../../../src/core/plan/plan-builds.js";
import { readLayers } from "../../../../src/core/parse/layer-config.js";

test("BuildKit-only flags, heredocs and the syntax directive, each on its instruction's first line", () => {
  const text = [
    "# syntax=docker/dockerfile:1",
    "FROM x",
    "RUN --network=none --mount=type=cache,target=/c echo",
    "COPY --link --chmod=755 a /b",
    "ADD --checksum=sha256:00 --keep-git-dir=true u /d",
    "RUN echo \\",
    "  b",
    "COPY --parents --exclude=*.x a /",
    "run --security=insecure <<EOF",
    "true",
    "EOF",
    "",
  ].join("\n");
  assert.equal(scanDockerfile(text), {
    features: [
      { line: 3, what: "RUN --network", frontend: [1, 3] },
      { line: 3, what: "RUN --mount", frontend: [1, 2] },
      { line: 4, what: "COPY --link", frontend: [1, 4] },
      { line: 5, what: "ADD --checksum", frontend: [1, 6] },
      { line: 5, what: "ADD --keep-git-dir", frontend: [1, 5] },
      { line: 8, what: "COPY --parents", frontend: [1, 7] },
      { line: 8, what: "COPY --exclude", frontend: [1, 7] },
      { line: 9, what: "RUN --security", frontend: [1, 3] },
      { line: 9, what: "RUN with a heredoc", frontend: [1, 4] },
    ],
    syntax: { line: 1, image: "docker/dockerfile:1" },
  });
});

test("comment lines, continuation lines and words that only look like flags are no instructions", () => {
  const text = "# escape=`\nFROM x\n# RUN --mount=type=cache,target=/c\nRUN echo a `\n  --mount=x\nRUN true --link\n";
  assert.equal(scanDockerfile(text), { features: [] });
});

test("a heredoc's body is data: a RUN --mount line in it is no instruction (so the classic builder may build it)", () => {
  const text = "FROM x\nRUN <<EOF\nRUN --mount=type=cache,target=/c true\nEOF\n";
  assert.equal(scanDockerfile(text).features, [{ line: 2, what: "RUN with a heredoc", frontend: [1, 4] }]);
  const copy = "FROM x\nCOPY <<EOF /a\nRUN --mount=type=cache,target=/c true\nEOF\nRUN true\n";
  assert.equal(checkFeatures("f", copy, "classic", "24.0.0").problems, [
    "f:2: COPY with a heredoc needs BuildKit (--builder buildkit), the classic builder can't build it",
  ]);
});

test("messages: classic builder, an older engine's built-in frontend, a syntax directive", () => {
  const text = "FROM busybox:stable\nRUN --mount=type=cache,target=/c true\nCOPY --link a /\n";
  const { problems, builder } = checkFeatures("science/x/Dockerfile", text, "classic", "27.0.0");
  assert.equal({ problems, builder }, {
    problems: [
      "science/x/Dockerfile:2: RUN --mount needs BuildKit (--builder buildkit), the classic builder can't build it",
      "science/x/Dockerfile:3: COPY --link needs BuildKit (--builder buildkit), the classic builder can't build it",
    ],
    builder: "classic",
  });
  assert.equal(checkFeatures("f", text, "buildkit", "20.10.24").problems, [
    "f:3: COPY --link needs Dockerfile frontend 1.4; engine 20.10.24's BuildKit has 1.2 built in: add `# syntax=docker/dockerfile:1` (the engine pulls that frontend) or use engine 23 or later",
  ]);
  assert.equal(checkFeatures("f", text, "buildkit", "24.0.0").problems, []);
  assert.equal(checkFeatures("f", `# syntax=docker/dockerfile:1\n${text}`, "buildkit", "20.10.24").problems, []);
});

test("FROM --platform with BuildKit's automatic platform args needs BuildKit: the classic builder leaves them empty and fails on the FROM", () => {
  const text = "FROM --platform=$BUILDPLATFORM busybox:stable AS build\nRUN true\nFROM --platform=${TARGETPLATFORM} busybox:stable\nFROM --platform=linux/amd64 busybox:stable\n";
  assert.equal(checkFeatures("science/x/Dockerfile", text, "classic", "20.10.24").problems, [
    "science/x/Dockerfile:1: FROM --platform=$BUILDPLATFORM (BuildKit's automatic $BUILDPLATFORM) needs BuildKit (--builder buildkit), the classic builder can't build it",
    "science/x/Dockerfile:3: FROM --platform=${TARGETPLATFORM} (BuildKit's automatic $TARGETPLATFORM) needs BuildKit (--builder buildkit), the classic builder can't build it",
  ]);
  assert.equal(checkFeatures("f", text, "buildkit", "20.10.24").problems, []);
  // Declared with a default before the first FROM, it has a value under the classic builder too.
  assert.equal(checkFeatures("f", `ARG BUILDPLATFORM=linux/amd64\n${text}`, "classic", "20.10.24").problems, [
    "f:4: FROM --platform=${TARGETPLATFORM} (BuildKit's automatic $TARGETPLATFORM) needs BuildKit (--builder buildkit), the classic builder can't build it",
  ]);
});

test("a flag named like an Object property is no feature", () => {
  assert.equal(scanDockerfile("FROM x\nRUN --constructor true\n").features, []);
});

test("a heredoc after ONBUILD is a heredoc too: refused where the engine's frontend has none, whose parser would read its body as instructions (hunter22)", () => {
  const text = "FROM x\nONBUILD RUN <<EOF\nFROM y\nEOF\nRUN true\n";
  assert.equal(scanDockerfile(text).features, [{ line: 2, what: "ONBUILD with a heredoc", frontend: [1, 4] }]);
  assert.equal(checkFeatures("f", text, "buildkit", "20.10.24").problems, [
    "f:2: ONBUILD with a heredoc needs Dockerfile frontend 1.4; engine 20.10.24's BuildKit has 1.2 built in: add `# syntax=docker/dockerfile:1` (the engine pulls that frontend) or use engine 23 or later",
  ]);
});

test("a compat build's feature is named at its fragment's own line, not the generated Dockerfile's (hunter23)", () => {
  const plan = planBuilds(readLayers([
    { kind: "science", dir: "x", config: JSON.stringify({ image: "x", compat: "c" }), dockerfile: "FROM busybox:stable\nRUN <<EOF\ntrue\nEOF\n" },
    { kind: "compat", dir: "base", config: "{}", dockerfile: "ENV A=1\n" },
    { kind: "compat", dir: "c", config: JSON.stringify({ includes: ["base"] }), dockerfile: "ENV B=2\nONBUILD RUN <<EOF\ntrue\nEOF\n" },
  ]), { repo: "reg.example/ci", git: { commit: "f".repeat(40), shortCommit: "fffffff", buildNumber: 1 }, buildTime: 1, buildArgs: {}, changes: { all: true, science: [], compat: [], why: "--all" } });
  const rel = plan.builds.find((b) => b.kind === "compat")!;
  const sci = plan.builds.find((b) => b.kind === "science")!;
  assert.equal(checkFeatures(dockerfileAt(rel), rel.request.dockerfile, "buildkit", "20.10.24").problems, [
    "compat/c/Dockerfile:2: ONBUILD with a heredoc needs Dockerfile frontend 1.4; engine 20.10.24's BuildKit has 1.2 built in: add `# syntax=docker/dockerfile:1` (the engine pulls that frontend) or use engine 23 or later",
  ]);
  assert.equal(featureRequirements([sci, rel]), [
    "science/x/Dockerfile:2: RUN with a heredoc needs BuildKit with Dockerfile frontend 1.4 (built into engine 23 and later)",
    "compat/c/Dockerfile:2: ONBUILD with a heredoc needs BuildKit with Dockerfile frontend 1.4 (built into engine 23 and later)",
  ]);
});

test.run();
