import { test } from "uvu";
import * as assert from "uvu/assert";
import { appendable, appendInstruction, dockerfileEnd, instructionsOf, parseDockerfile, parseDockerfileFragment, rewriteImageRefs } from "../../../../../src/core/parse/dockerfile/index.js";

/** Joins lines with "\n" so test Dockerfiles read top to bottom. */
const df = (...lines: string[]) => lines.join("\n") + "\n";
const images = (text: string, buildArgs?: Record<string, string>) =>
  parseDockerfile(text, buildArgs).imageRefs.map((r) => r.image);

// --- basics ----------------------------------------------------------------

test("single FROM: stage, image ref and line number", () => {
  const p = parseDockerfile(df("FROM registry.example.org/x/sci/base:2.4", "RUN true"));
  assert.equal(p.stages, [{ base: "registry.example.org/x/sci/base:2.4", line: 1 }]);
  assert.equal(p.imageRefs, [{ image: "registry.example.org/x/sci/base:2.4", line: 1, kind: "from" }]);
  assert.equal(p.globalArgs, {});
});

test("comments, blank lines and lower/mixed-case instructions", () => {
  const p = parseDockerfile(
    df(
      "# leading comment",
      "",
      "   # indented comment",
      "from alpine:3.19 as Build",
      "",
      "run echo hi # not a comment, part of the command",
      "From build AS final",
      "copy --from=build /a /b",
    ),
  );
  assert.equal(p.stages, [
    { name: "Build", base: "alpine:3.19", line: 4 },
    { name: "final", base: "build", line: 7 },
  ]);
  assert.equal(p.imageRefs, [{ image: "alpine:3.19", line: 4, kind: "from" }]);
});

test("line continuation, trailing whitespace after it, and comment lines inside it", () => {
  const p = parseDockerfile(
    df(
      "FROM \\   ",
      "# a comment inside the continuation is skipped",
      "    # so is an indented one",
      "",
      "  alpine:3.19 \\\t",
      "  AS base",
      "FROM base",
    ),
  );
  assert.equal(p.stages, [
    { name: "base", base: "alpine:3.19", line: 1 },
    { base: "base", line: 7 },
  ]);
  assert.equal(p.imageRefs, [{ image: "alpine:3.19", line: 1, kind: "from" }]);
});

test("an escaped escape character (\\\\) at end of line does not continue it", () => {
  const p = parseDockerfile(df("FROM a:1", "RUN echo foo\\\\", "FROM b:2"));
  assert.equal(images(df("FROM a:1", "RUN echo foo\\\\", "FROM b:2")), ["a:1", "b:2"]);
  assert.is(p.stages[1].line, 3);
  // ...while a single one does, swallowing the next line into the RUN.
  assert.equal(images(df("FROM a:1", "RUN echo foo\\", "FROM b:2")), ["a:1"]);
});

test("Windows line endings (CRLF)", () => {
  const text = [
    "# syntax=docker/dockerfile:1",
    "ARG BASE=alpine:3.19",
    "FROM ${BASE} AS build",
    "RUN apk add \\",
    "    curl",
    "FROM build",
    "COPY --from=busybox:1.36 /bin/busybox /bin/",
    "",
  ].join("\r\n");
  const p = parseDockerfile(text);
  assert.equal(p.stages, [
    { name: "build", base: "alpine:3.19", line: 3 },
    { base: "build", line: 6 },
  ]);
  assert.equal(p.imageRefs, [
    { image: "alpine:3.19", line: 3, kind: "from" },
    { image: "busybox:1.36", line: 7, kind: "copy-from" },
  ]);
  assert.equal(p.globalArgs, { BASE: "alpine:3.19" });
});

test("UTF-8 byte-order mark before the first line", () => {
  const p = parseDockerfile("\uFEFF# escape=`\nFROM a:1 `\n  AS x\n");
  assert.equal(p.stages, [{ name: "x", base: "a:1", line: 2 }]);
});

// --- parser directives -------------------------------------------------------

test("escape directive: backtick continues lines, backslash no longer does", () => {
  const text = df(
    "# escape=`",
    "FROM mcr.microsoft.com/windows/servercore:ltsc2022 `",
    "    AS build",
    "RUN dir c:\\",
    "FROM mcr.microsoft.com/windows/nanoserver:ltsc2022",
    "COPY --from=build C:\\app C:\\app",
  );
  const p = parseDockerfile(text);
  assert.equal(p.stages, [
    { name: "build", base: "mcr.microsoft.com/windows/servercore:ltsc2022", line: 2 },
    { base: "mcr.microsoft.com/windows/nanoserver:ltsc2022", line: 5 },
  ]);
  assert.equal(images(text), [
    "mcr.microsoft.com/windows/servercore:ltsc2022",
    "mcr.microsoft.com/windows/nanoserver:ltsc2022",
  ]);
});

test("escape directive after a syntax directive still counts", () => {
  const text = df("# syntax=docker/dockerfile:1.7", "#escape = `", "FROM a:1", "RUN dir c:\\", "FROM b:2");
  assert.equal(images(text), ["a:1", "b:2"]);
});

test("escape directive after a plain comment, a blank line or an instruction is just a comment", () => {
  const body = ["FROM a:1", "RUN dir c:\\", "FROM b:2"];
  // With "\" still the escape, the RUN line continues and swallows "FROM b:2".
  assert.equal(images(df("# hello", "# escape=`", ...body)), ["a:1"]);
  assert.equal(images(df("", "# escape=`", ...body)), ["a:1"]);
  assert.equal(images(df("# unknown=directive", "# escape=`", ...body)), ["a:1"]);
  assert.equal(images(df("FROM a:1", "# escape=`", "RUN dir c:\\", "FROM b:2")), ["a:1"]);
  // Control: at the very top it takes effect.
  assert.equal(images(df("# escape=`", ...body)), ["a:1", "b:2"]);
});

test("a parser directive after check is refused: the classic builder and Docker 20.10's BuildKit read check, and all after it, as comments (hunter22)", () => {
  const body = ["FROM a:1", "RUN dir c:\\", "FROM b:2"];
  assert.throws(() => parseDockerfile(df("# check=skip=all", "# escape=`", ...body)), /line 2: the escape parser directive follows the check directive, .* put check after escape/);
  assert.throws(() => parseDockerfile(df("# check=skip=all", "# syntax=docker/dockerfile:1", ...body)), /the syntax parser directive follows the check directive/);
  // After the others, or alone, it changes nothing any parser reads.
  assert.equal(images(df("# escape=`", "# check=skip=all", ...body)), ["a:1", "b:2"]);
  assert.equal(images(df("# check=skip=all", ...body)), ["a:1"]);
});

test("a line ending in the escape character and two carriage returns is refused: Docker 20.10 ends the instruction there, newer BuildKit continues it (hunter22)", () => {
  assert.throws(() => parseDockerfile("FROM a:1\nRUN echo hi \\\r\r\nFROM b:2\n"), /line 2: the line ends in the escape character \\ and then 2 carriage returns/);
  assert.throws(() => parseDockerfile("FROM a:1\nRUN echo hi \\\n  more \\\r\r\nFROM b:2\n"), /line 3: .* 2 carriage returns/);
  // One (a CRLF file), or two without a continuation: every parser reads them alike.
  assert.equal(images("FROM a:1\r\nRUN echo hi \\\r\n  more\r\nFROM b:2\r\n"), ["a:1", "b:2"]);
  assert.equal(images("FROM a:1\r\r\nRUN echo hi\r\r\nFROM b:2\r\n"), ["a:1", "b:2"]);
  // On the last line it continues into nothing either way.
  assert.equal(images("FROM a:1\nRUN echo hi \\\r\r\n"), ["a:1"]);
});

test("invalid escape directive is rejected like Docker does", () => {
  assert.throws(() => parseDockerfile(df("# escape=x", "FROM a:1")), /escape/);
});

// --- FROM --------------------------------------------------------------------

test("FROM with flags, digest and AS name", () => {
  const ref = "reg.example:5000/a/base:2.4@sha256:" + "a".repeat(64);
  const p = parseDockerfile(df(`FROM --platform=linux/amd64 --foo=bar ${ref} AS Build`));
  assert.equal(p.stages, [{ name: "Build", base: ref, line: 1 }]);
  assert.equal(p.imageRefs, [{ image: ref, line: 1, kind: "from" }]);
});

test("FROM --platform=$BUILDPLATFORM does not disturb the image", () => {
  const p = parseDockerfile(df("FROM --platform=$BUILDPLATFORM golang:1.22 AS build"));
  assert.equal(p.stages, [{ name: "build", base: "golang:1.22", line: 1 }]);
});

test("stage names are bases, case-insensitively, but only once defined", () => {
  const p = parseDockerfile(
    df(
      "FROM later AS early", // "later" is not defined yet: an image
      "FROM golang:1.22 AS Builder",
      "FROM builder AS test",
      "FROM BUILDER AS final",
      "FROM later AS later", // a stage cannot be its own base: still the image
      "FROM scratch",
    ),
  );
  assert.equal(
    p.stages.map((s) => s.base),
    ["later", "golang:1.22", "builder", "BUILDER", "later", "scratch"],
  );
  assert.equal(p.imageRefs, [
    { image: "later", line: 1, kind: "from" },
    { image: "golang:1.22", line: 2, kind: "from" },
  ]);
});

test("FROM needs one argument or `image AS name`", () => {
  assert.throws(() => parseDockerfile(df("FROM a:1 b:2")), /line 1.*FROM requires/);
  assert.throws(() => parseDockerfile(df("FROM a:1", "FROM")), /line 2/);
  assert.throws(() => parseDockerfile(df("FROM a:1 # trailing comments are arguments")), /FROM requires/);
});

test("duplicate image references are reported once, at first appearance", () => {
  const p = parseDockerfile(
    df("FROM alpine:3.19 AS a", "FROM alpine:3.19 AS b", "COPY --from=alpine:3.19 /x /x", "COPY --from=debian:12 /y /y"),
  );
  assert.equal(p.imageRefs, [
    { image: "alpine:3.19", line: 1, kind: "from" },
    { image: "debian:12", line: 4, kind: "copy-from" },
  ]);
});

// --- ARG -----------------------------------------------------------------------

test("global ARG defaults, plain and quoted, used as $X and ${X}", () => {
  const p = parseDockerfile(
    df(
      "ARG REGISTRY=registry.example.org",
      'ARG BASE="sci/base:2.4"',
      "ARG TAG='1.0'",
      "ARG NODEFAULT",
      "FROM $REGISTRY/${BASE} AS one",
      "FROM ${REGISTRY}/x/tool:$TAG",
    ),
  );
  assert.equal(p.globalArgs, {
    REGISTRY: "registry.example.org",
    BASE: "sci/base:2.4",
    TAG: "1.0",
    NODEFAULT: undefined,
  });
  assert.equal(images(df("ARG A=x/y:1", "FROM $A")), ["x/y:1"]);
  assert.equal(
    p.imageRefs.map((r) => r.image),
    ["registry.example.org/sci/base:2.4", "registry.example.org/x/tool:1.0"],
  );
});

test("several ARGs on one line, and a default that uses an earlier ARG", () => {
  const text = df("ARG REG=reg.example:5000 NAME=base", "ARG IMAGE=${REG}/sci/${NAME}:2", "FROM $IMAGE");
  const p = parseDockerfile(text);
  assert.equal(p.globalArgs, { REG: "reg.example:5000", NAME: "base", IMAGE: "reg.example:5000/sci/base:2" });
  assert.equal(images(text), ["reg.example:5000/sci/base:2"]);
  // The override of an earlier ARG flows into a later default.
  assert.equal(images(text, { NAME: "other" }), ["reg.example:5000/sci/other:2"]);
});

test("${X:-default} and ${X:+alt}", () => {
  const text = df(
    "ARG SET=set:1",
    "ARG EMPTY=",
    "ARG UNSET",
    "FROM ${UNSET:-fallback:1} AS a",
    "FROM ${EMPTY:-fallback:2} AS b",
    "FROM ${SET:-fallback:3} AS c",
    "FROM base${SET:+-alt}:4 AS d",
    "FROM base${UNSET:+-alt}:5 AS e",
    "FROM ${UNSET-dash:6} AS f",
    "FROM x${EMPTY-dash}:7 AS g",
    "FROM ${UNSET:-${SET}} AS h",
  );
  assert.equal(images(text), [
    "fallback:1",
    "fallback:2",
    "set:1",
    "base-alt:4",
    "base:5",
    "dash:6",
    "x:7",
  ]);
  assert.equal(parseDockerfile(text).stages[7].base, "set:1");
});

test("prefix/suffix removal in substitutions", () => {
  const text = df("ARG PY=3.12.4", "FROM python:${PY%.*}-slim AS a", "FROM python:${PY#*.} AS b");
  assert.equal(images(text), ["python:3.12-slim", "python:12.4"]);
});

test("buildArgs override declared ARGs only", () => {
  const text = df("ARG BASE=foo:1", "FROM $BASE", "FROM ${UNDECLARED:-bar:2}");
  assert.equal(images(text, { BASE: "override:9" }), ["override:9", "bar:2"]);
  assert.equal(images(text, { UNDECLARED: "nope:0" }), ["foo:1", "bar:2"]);
  // The reported globalArgs are still the declared defaults.
  assert.equal(parseDockerfile(text, { BASE: "override:9" }).globalArgs, { BASE: "foo:1" });
  // A declared ARG without default takes the build arg.
  assert.equal(images(df("ARG TAG", "FROM alpine:${TAG}"), { TAG: "3.20" }), ["alpine:3.20"]);
});

test("unresolvable variables expand to the empty string", () => {
  const p = parseDockerfile(df("ARG TAG", "FROM alpine${TAG:+:}${TAG}", "FROM ${NOPE}busybox:1${NOPE}"));
  assert.equal(p.stages.map((s) => s.base), ["alpine", "busybox:1"]);
});

test("ARGs after the first FROM are not global", () => {
  const text = df("ARG A=a:1", "FROM $A", "ARG B=b:2", "FROM ${B:-none:0}");
  const p = parseDockerfile(text);
  assert.equal(p.globalArgs, { A: "a:1" });
  assert.equal(p.imageRefs.map((r) => r.image), ["a:1", "none:0"]);
});

test("predefined platform args may be supplied without declaration", () => {
  assert.equal(images(df("FROM reg/tool:1-${TARGETARCH}"), { TARGETARCH: "arm64" }), ["reg/tool:1-arm64"]);
});

// --- COPY/ADD --from -----------------------------------------------------------------

test("multi-stage: COPY --from a stage name, an index, scratch and external images", () => {
  const text = df(
    "FROM golang:1.22 AS build",
    "RUN go build -o /app",
    "FROM alpine:3.19",
    "COPY --from=build /app /app",
    "COPY --from=BUILD /app /app2",
    "COPY --from=0 /app /app3",
    "COPY --chown=1:1 --from=ghcr.io/astral-sh/uv:0.5.11 /uv /bin/",
    'ADD --from="reg.example:5000/x/data:7" /d /d',
    "COPY --from=scratch / /empty",
    "COPY --link --from=test /t /t",
    "COPY . /src",
    "FROM alpine:3.19 AS test",
  );
  const p = parseDockerfile(text);
  assert.equal(p.imageRefs, [
    { image: "golang:1.22", line: 1, kind: "from" },
    { image: "alpine:3.19", line: 3, kind: "from" },
    { image: "ghcr.io/astral-sh/uv:0.5.11", line: 7, kind: "copy-from" },
    { image: "reg.example:5000/x/data:7", line: 8, kind: "copy-from" },
  ]);
});

test("COPY --from values expand global ARGs", () => {
  const text = df("ARG UV=0.5.11", "FROM alpine:3.19", "COPY --from=ghcr.io/astral-sh/uv:${UV} /uv /bin/");
  assert.equal(images(text), ["alpine:3.19", "ghcr.io/astral-sh/uv:0.5.11"]);
  assert.equal(images(text, { UV: "0.6.0" }), ["alpine:3.19", "ghcr.io/astral-sh/uv:0.6.0"]);
});

test("a --from inside the arguments (not a flag) is not a reference", () => {
  assert.equal(images(df("FROM a:1", "COPY ./src --from=evil:1 /dst")), ["a:1"]);
  assert.equal(images(df("FROM a:1", "RUN tool --from=evil:1")), ["a:1"]);
});

// --- heredocs ----------------------------------------------------------------------

test("a FROM inside a RUN heredoc body is not an instruction", () => {
  const text = df(
    "FROM alpine:3.19",
    "RUN <<EOF",
    "FROM evil:1",
    "COPY --from=evil:2 / /",
    "EOF",
    "FROM debian:12",
  );
  const p = parseDockerfile(text);
  assert.equal(p.imageRefs, [
    { image: "alpine:3.19", line: 1, kind: "from" },
    { image: "debian:12", line: 6, kind: "from" },
  ]);
});

test("<<-EOF ends at a tab-indented terminator", () => {
  const text = df("FROM a:1", "RUN <<-EOF", "\tFROM evil:1", "\t\tEOF", "FROM b:2");
  assert.equal(images(text), ["a:1", "b:2"]);
  // Without "-" the indented terminator does not end the body.
  assert.throws(() => parseDockerfile(text.replace("<<-EOF", "<<EOF")), /unterminated heredoc/);
});

test("heredoc forms: quoted delimiters, COPY heredocs, several per line", () => {
  const text = df(
    "FROM a:1",
    "RUN python3 <<'PY' && sh <<\"SH\"",
    "FROM evil:2",
    "PY",
    "FROM evil:3",
    "SH",
    "COPY <<EOF /etc/config",
    "FROM evil:4",
    "EOF",
    "COPY --chmod=755 <<A <<B /dst/",
    "FROM evil:5",
    "A",
    "FROM evil:6",
    "B",
    "FROM b:2",
  );
  assert.equal(images(text), ["a:1", "b:2"]);
  assert.is(parseDockerfile(text).stages[1].line, 15);
});

test("<<EOF body ends only at an exact terminator; <<- strips leading tabs only", () => {
  const text = df("FROM a:1", "RUN <<EOF", "  EOF", "EOF ", "FROM evil:1", "EOF", "FROM b:2");
  assert.equal(images(text), ["a:1", "b:2"]);
});

test("heredocs with CRLF line endings", () => {
  const text = ["FROM a:1", "RUN <<EOF", "FROM evil:1", "EOF", "FROM b:2", ""].join("\r\n");
  assert.equal(images(text), ["a:1", "b:2"]);
});

test("no heredoc in JSON form, in quotes, or in other instructions", () => {
  assert.equal(images(df("FROM a:1", 'RUN ["sh", "-c", "cat <<EOF"]', "FROM b:2")), ["a:1", "b:2"]);
  assert.equal(images(df("FROM a:1", 'RUN echo "<<EOF"', "FROM b:2")), ["a:1", "b:2"]);
  assert.equal(images(df("FROM a:1", "LABEL x=<<EOF", "FROM b:2")), ["a:1", "b:2"]);
});

test("ONBUILD RUN heredoc bodies are skipped too", () => {
  assert.equal(images(df("FROM a:1", "ONBUILD RUN <<EOF", "FROM evil:1", "EOF", "FROM b:2")), ["a:1", "b:2"]);
});

test("an unterminated heredoc is an error", () => {
  assert.throws(() => parseDockerfile(df("FROM a:1", "RUN <<EOF", "echo hi")), /line 2.*unterminated heredoc/);
});

test("an instruction Docker does not have is an error naming its line, in a Dockerfile and a fragment; not under another frontend's # syntax", () => {
  assert.throws(() => parseDockerfile(df("FROM a:1", "RUNN echo b > /b")), /^Dockerfile line 2: unknown instruction RUNN$/);
  assert.throws(() => parseDockerfile(df("FRM busybox:stable")), /line 1: unknown instruction FRM/);
  assert.throws(() => parseDockerfileFragment(df("ENV X=1", "CPY x /x")), /line 2: unknown instruction CPY/);
  // A continuation's next line and a heredoc's body are not instructions; every keyword of Docker's is one, any case.
  assert.equal(images(df("from a:1", "RUN echo \\", "  RUNN", "COPY <<EOF /x", "CPY", "EOF", "healthcheck NONE", "stopsignal 9", "onbuild run x", "shell [\"sh\"]", "maintainer m")), ["a:1"]);
  assert.throws(() => parseDockerfile(df("# syntax=docker/dockerfile:1.4", "FROM a:1", "RUNN x")), /unknown instruction RUNN/);
  assert.throws(() => parseDockerfile(df("# syntax=docker.io/docker/dockerfile-upstream@sha256:abc", "FROM a:1", "RUNN x")), /unknown instruction RUNN/);
  assert.equal(images(df("# syntax=example.com/other-language:1", "FROM a:1", "BUILDPACK x")), ["a:1"]);
  assert.equal(parseDockerfile(df("FROM a:1", "BUILDPACK x"), { BUILDKIT_SYNTAX: "example.com/other-language:1" }).imageRefs.map((r) => r.image), ["a:1"]);
});

test("a FROM whose base expands to nothing is an error naming its line (BuildKit's 'should not be blank', found before the build)", () => {
  assert.throws(() => parseDockerfile(df("ARG BASE", "FROM ${BASE}")), /^Dockerfile line 2: FROM \$\{BASE\}: the base image name is empty/);
  assert.equal(parseDockerfile(df("ARG BASE", "FROM ${BASE}"), { BASE: "busybox:stable" }).imageRefs.map((r) => r.image), ["busybox:stable"]);
  assert.equal(images(df("ARG BASE=a:1", "FROM ${BASE}")), ["a:1"]);
});

// --- RUN --mount from= --------------------------------------------------------------

test("RUN --mount=...,from= names an image unless it is a stage; it is rewritten like COPY --from", () => {
  const text = df(
    "FROM reg/x/base:1 AS build",
    "RUN --mount=type=bind,from=reg/x/tools:3,source=/t,target=/t true",
    "RUN --mount=type=cache,target=/c,FROM=reg/x/cache:1 --mount=from=build,target=/b --mount=type=bind,from=0,target=/z true",
    "RUN --mount=type=secret,id=s --network=none true",
    'RUN --mount="type=bind,from=reg/x/quoted:1,target=/q" true',
  );
  assert.equal(parseDockerfile(text).imageRefs, [
    { image: "reg/x/base:1", line: 1, kind: "from" },
    { image: "reg/x/tools:3", line: 2, kind: "mount-from" },
    { image: "reg/x/cache:1", line: 3, kind: "mount-from" },
    { image: "reg/x/quoted:1", line: 5, kind: "mount-from" },
  ]);
  const out = rewriteImageRefs(text, { "reg/x/tools:3": "m/tools:3", "reg/x/cache:1": "m/cache:1", build: "nope" });
  assert.match(out, /^RUN --mount=type=bind,from=m\/tools:3,source=\/t,target=\/t true$/m);
  assert.match(out, /^RUN --mount=type=cache,target=\/c,FROM=m\/cache:1 --mount=from=build,target=\/b /m);
});

test("RUN --mount quoted (the whole flag, or its from= value) is found and rewritten where it is written; a from= it can't find is marked unrewritable", () => {
  const text = df(
    "FROM busybox",
    'RUN --mount="type=bind,from=reg/x/sci/b:1.0,target=/m" cat /m/b',
    'RUN --mount=type=bind,from="reg/x/sci/c:1.0",target=/m cat /m/c',
    'RUN --mount="type=bind,from=reg/x/sci/d:1.0,target=/from=reg/x/sci/d:1.0" true',
    'RUN --mount=type=bind,fr"om"=reg/x/sci/e:1.0,target=/m true',
  );
  const refs = parseDockerfile(text).imageRefs;
  assert.equal(refs.map((r) => [r.image, r.unrewritable === true]), [
    ["busybox", false], ["reg/x/sci/b:1.0", false], ["reg/x/sci/c:1.0", false], ["reg/x/sci/d:1.0", false], ["reg/x/sci/e:1.0", true],
  ]);
  const out = rewriteImageRefs(text, { "reg/x/sci/b:1.0": "m/sci/b:1.0-5", "reg/x/sci/c:1.0": "m/sci/c:1.0-5", "reg/x/sci/d:1.0": "m/sci/d:1.0-5" });
  assert.match(out, /^RUN --mount="type=bind,from=m\/sci\/b:1\.0-5,target=\/m" cat \/m\/b$/m);
  assert.match(out, /^RUN --mount=type=bind,from="m\/sci\/c:1\.0-5",target=\/m cat \/m\/c$/m);
  assert.match(out, /^RUN --mount="type=bind,from=m\/sci\/d:1\.0-5,target=\/from=reg\/x\/sci\/d:1\.0" true$/m, "the from= field only, not a path that reads like it");
  // Written plainly, a from= found where mountFrom read it, whatever else the flag holds.
  const plain = df("FROM busybox", "RUN --mount=type=bind,from=reg/x/sci/b:1.0,id=from=reg/x/sci/b:1.0,target=/m true");
  assert.not.ok(parseDockerfile(plain).imageRefs[1].unrewritable);
  assert.match(rewriteImageRefs(plain, { "reg/x/sci/b:1.0": "m/sci/b:1.0-5" }), /from=m\/sci\/b:1\.0-5,id=from=reg\/x\/sci\/b:1\.0,/);
  // The same image spelled once plainly, once where no rewrite reaches: unrewritable.
  const twice = df("FROM busybox", "COPY --from=reg/x/sci/e:1.0 /a /a", 'RUN --mount=type=bind,fr"om"=reg/x/sci/e:1.0,target=/m true');
  assert.ok(parseDockerfile(twice).imageRefs.find((r) => r.image === "reg/x/sci/e:1.0")!.unrewritable);
});

test("ONBUILD COPY --from and RUN --mount from=: reported as the triggers' references, not the file's own, and never rewritten", () => {
  const text = df(
    "FROM busybox AS build",
    "ONBUILD COPY --from=sci/b:1.0 /b /b",
    "onbuild run --mount=type=bind,from=reg/x/sci/c:1.0,target=/m true",
    "ONBUILD COPY --from=build /x /x",
    "ONBUILD COPY --from=0 /y /y",
    "ONBUILD RUN echo FROM sci/d:1.0",
  );
  const parsed = parseDockerfile(text);
  assert.equal(parsed.imageRefs.map((r) => r.image), ["busybox"]);
  assert.equal(parsed.onbuildRefs, [
    { image: "sci/b:1.0", line: 2, kind: "copy-from" },
    { image: "reg/x/sci/c:1.0", line: 3, kind: "mount-from" },
    { image: "build", line: 4, kind: "copy-from" },
  ]);
  assert.is(rewriteImageRefs(text, { "sci/b:1.0": "m/sci/b:1.0-5", "reg/x/sci/c:1.0": "m/sci/c:1.0-5" }), text);
});

test("a global ARG declared again without a value, used by a reference, is refused: Docker 20.10's builders empty it, newer BuildKit keeps its value", () => {
  for (const [text, line] of [
    [df("ARG B=busybox:stable", "ARG B", "FROM ${B:-reg/x/sci/b:1.0}"), 3],
    [df("ARG B=busybox:stable", "ARG B", "FROM busybox", "COPY --from=$B /a /a"), 4],
    [df("ARG B=busybox:stable", "ARG B", "FROM busybox", "RUN --mount=from=${B},target=/m true"), 4],
  ] as const) {
    assert.throws(() => parseDockerfile(text), new RegExp(`^Dockerfile line ${line}: \\S+ uses ARG B, declared again without a value on line 2: Docker 20\\.10's builders then take it as empty, newer BuildKit as its earlier value`), text);
  }
  // Given a value again, given by --build-arg, or used by no reference: one meaning in every builder.
  assert.equal(images(df("ARG B=busybox:stable", "ARG B", "ARG B=alpine:3", "FROM $B")), ["alpine:3"]);
  assert.equal(parseDockerfile(df("ARG B=busybox:stable", "ARG B", "FROM $B"), { B: "alpine:3" }).imageRefs.map((r) => r.image), ["alpine:3"]);
  assert.equal(images(df("ARG B=busybox:stable", "ARG B", "FROM busybox", "RUN echo $B")), ["busybox"]);
  assert.equal(images(df("ARG BB=x", "ARG B=busybox:stable", "ARG BB", "FROM $B")), ["busybox:stable"]);
});

// --- dockerfileEnd -----------------------------------------------------------------

test("dockerfileEnd: an instruction continued past the end, however the continuation is hidden", () => {
  const cases: [string, number][] = [
    [df("RUN echo x \\"), 1],
    [df("RUN echo x \\", "# done"), 1],
    [df("RUN echo x \\", "", "   ", "  # done", ""), 1],
    ["COPY a /a\r\nRUN a \\\r\n  b \\ \t\r\n# c\r\n", 3],
    [df("# escape=`", "RUN dir c:\\ `", "# done"), 2],
    [df("RUN a \\", "# c", "  && b \\"), 3],
    [df("ONBUILD RUN a \\", "", "# c \\"), 1],
    ["\uFEFFRUN a \\", 1],
  ];
  for (const [text, line] of cases) {
    assert.equal(dockerfileEnd(text).open, { kind: "continuation", line }, JSON.stringify(text));
  }
});

test("dockerfileEnd: a doubled escape character at the end, which older parsers read as a continuation", () => {
  assert.equal(dockerfileEnd(df("RUN echo a\\\\", "# c")).open, { kind: "doubled-escape", line: 1 });
  assert.equal(dockerfileEnd(df("# escape=`", "RUN echo ``")).open, { kind: "doubled-escape", line: 2 });
});

test("dockerfileEnd: a heredoc left open", () => {
  assert.equal(dockerfileEnd(df("FROM a:1", "RUN <<EOF", "echo hi")).open, { kind: "heredoc", line: 2, heredoc: "EOF" });
  assert.equal(dockerfileEnd(df("COPY <<a <<b /x/", "1", "a", "2")).open, { kind: "heredoc", line: 1, heredoc: "b" });
});

test("dockerfileEnd: a complete last instruction, and the escape character", () => {
  for (const text of [
    "", "\n\n", df("RUN true"), "RUN true", df("RUN true", "", "# the end \\"), df("RUN a \\", "  && b", "# done \\"),
    df("# escape=`", "RUN dir c:\\"), df("RUN <<EOF", "x \\", "EOF"), df("RUN <<EOF \\", "  && true", "x \\", "EOF", "# c"),
  ]) {
    assert.is(dockerfileEnd(text).open, undefined, JSON.stringify(text));
  }
  assert.is(dockerfileEnd(df("RUN true")).escape, "\\");
  assert.is(dockerfileEnd(df("# escape=`", "RUN true")).escape, "`");
  assert.throws(() => dockerfileEnd(df("# escape=x", "RUN true")), /invalid escape token/);
});

// --- rewriteImageRefs --------------------------------------------------------------

test("rewriteImageRefs replaces FROM and COPY --from images, nothing else", () => {
  const text = df(
    "# syntax=docker/dockerfile:1",
    "FROM reg/x/base:1 AS build",
    "RUN echo reg/x/base:1",
    "FROM reg/x/runtime:2",
    "COPY --from=build /app /app",
    "COPY --from=reg/x/tools:3 /bin/t /bin/t",
    "LABEL from=reg/x/base:1",
  );
  const out = rewriteImageRefs(text, {
    "reg/x/base:1": "mirror.example/x/base:1.1",
    "reg/x/tools:3": "mirror.example/x/tools:3.1",
  });
  assert.is(
    out,
    df(
      "# syntax=docker/dockerfile:1",
      "FROM mirror.example/x/base:1.1 AS build",
      "RUN echo reg/x/base:1",
      "FROM reg/x/runtime:2",
      "COPY --from=build /app /app",
      "COPY --from=mirror.example/x/tools:3.1 /bin/t /bin/t",
      "LABEL from=reg/x/base:1",
    ),
  );
});

test("rewriteImageRefs keeps continuations, comments and flags intact", () => {
  const text = df(
    "FROM --platform=$BUILDPLATFORM \\",
    "  # the base image",
    "  reg/x/base:1 \\",
    "  AS build",
    "COPY \\",
    "    --from=reg/x/tools:3 \\",
    "    /t /t",
  );
  const out = rewriteImageRefs(text, { "reg/x/base:1": "new/base:2", "reg/x/tools:3": "new/tools:4" });
  assert.is(
    out,
    df(
      "FROM --platform=$BUILDPLATFORM \\",
      "  # the base image",
      "  new/base:2 \\",
      "  AS build",
      "COPY \\",
      "    --from=new/tools:4 \\",
      "    /t /t",
    ),
  );
});

test("rewriteImageRefs replaces an ARG-based FROM with the literal, leaving the ARG alone", () => {
  const text = df(
    'ARG BASE="reg/x/base:1"',
    "ARG TAG=2",
    "FROM ${BASE} AS a",
    "FROM reg/x/other:${TAG:-0}",
    "FROM $BASE",
  );
  const out = rewriteImageRefs(text, { "reg/x/base:1": "new/base:1", "reg/x/other:2": "new/other:2" });
  assert.is(
    out,
    df('ARG BASE="reg/x/base:1"', "ARG TAG=2", "FROM new/base:1 AS a", "FROM new/other:2", "FROM new/base:1"),
  );
});

test("rewriteImageRefs resolves with buildArgs", () => {
  const text = df("ARG BASE=reg/x/base:1", "FROM $BASE");
  assert.is(rewriteImageRefs(text, { "reg/x/base:1": "x:1" }, { BASE: "reg/x/base:9" }), text);
  assert.is(
    rewriteImageRefs(text, { "reg/x/base:9": "x:9" }, { BASE: "reg/x/base:9" }),
    df("ARG BASE=reg/x/base:1", "FROM x:9"),
  );
});

test("rewriteImageRefs leaves heredoc bodies, stage references and quoted spans right", () => {
  const text = df(
    "FROM reg/x/base:1 AS base",
    "RUN <<EOF",
    "FROM reg/x/base:1",
    "EOF",
    "FROM base",
    'COPY --from="reg/x/base:1" /a /a',
  );
  const out = rewriteImageRefs(text, { "reg/x/base:1": "new/base:1", base: "evil:1" });
  assert.is(
    out,
    df("FROM new/base:1 AS base", "RUN <<EOF", "FROM reg/x/base:1", "EOF", "FROM base", "COPY --from=new/base:1 /a /a"),
  );
});

test("rewriteImageRefs keeps CRLF line endings and the escape directive", () => {
  const text = ["# escape=`", "FROM reg/x/base:1 `", "  AS build", "RUN dir c:\\", "FROM build", ""].join("\r\n");
  const out = rewriteImageRefs(text, { "reg/x/base:1": "new/base:1" });
  assert.is(out, ["# escape=`", "FROM new/base:1 `", "  AS build", "RUN dir c:\\", "FROM build", ""].join("\r\n"));
});

test("rewriteImageRefs with no matching keys returns the text unchanged", () => {
  const text = df("FROM a:1", "COPY --from=b:2 / /");
  assert.is(rewriteImageRefs(text, { "c:3": "d:4", constructor: "x" }), text);
});

// --- parseDockerfileFragment, appendInstruction --------------------------------------

test("parseDockerfileFragment: a parser directive at the top (after blank lines too) is an error", () => {
  assert.throws(() => parseDockerfileFragment("# escape=`\nRUN true\n"), /^Dockerfile line 1: parser directive "escape" has no effect/);
  assert.throws(() => parseDockerfileFragment("\n\n# Syntax=x\n"), /^Dockerfile line 3: parser directive "Syntax" has no effect/);
  assert.equal(parseDockerfileFragment("# a comment\n# escape=`\nCOPY --from=reg/x/a:1 / /\n").imageRefs, [
    { image: "reg/x/a:1", line: 3, kind: "copy-from" },
  ]);
});

test("appendInstruction: quoted for the escape character, after the text's last line ending", () => {
  const label = (q: (s: string) => string) => `LABEL ${q("k")}=${q('a"$b\\c`')}`;
  assert.is(appendInstruction("FROM a", label), 'FROM a\nLABEL "k"="a\\"\\$b\\\\c`"\n');
  assert.is(appendInstruction("# escape=`\r\nFROM a\r\n", label), '# escape=`\r\nFROM a\r\nLABEL "k"="a`"`$b\\c``"\r\n');
  assert.is(appendInstruction("FROM a \\\n", label), undefined);
  assert.is(appendInstruction("# escape=x\nFROM a\n", label), undefined);
});

// --- instructionsOf, appendable -------------------------------------------------------

test("instructionsOf: keywords, flags and heredocs of instructions only; parser directives", () => {
  const text = df("# syntax=docker/dockerfile:1", "# escape=`", "FROM a:1", "RUN --mount=type=cache,target=/c `", "  --network=none <<EOF", "RUN --mount=x", "EOF", "# RUN --mount=y", "copy --from=\"b\" <<-A <<B /x/", "\tA", "B");
  assert.equal(instructionsOf(text), {
    escape: "`",
    directives: [{ name: "syntax", value: "docker/dockerfile:1", line: 1 }, { name: "escape", value: "`", line: 2 }],
    instructions: [
      { keyword: "FROM", line: 3, flags: [], heredocs: [] },
      { keyword: "RUN", line: 4, flags: ["--mount=type=cache,target=/c", "--network=none"], heredocs: ["EOF"] },
      { keyword: "COPY", line: 9, flags: ["--from=b"], heredocs: ["A", "B"] },
    ],
  });
  assert.throws(() => instructionsOf(df("# escape=x", "FROM a")), /invalid escape token/);
});

test("appendable: ok with the escape character, or the line and why not", () => {
  assert.equal(appendable(df("# escape=`", "RUN true")), { ok: true, escape: "`" });
  assert.equal(appendable(df("RUN a \\", "# c")), { ok: false, line: 1, reason: "ends in a line continuation (comment and blank lines after it do not end it)" });
  assert.equal(appendable(df("RUN a\\\\")), { ok: false, line: 1, reason: "ends in a doubled escape character (a line continuation for older builders)" });
  assert.equal(appendable(df("FROM a", "RUN <<EOF", "x")), { ok: false, line: 2, reason: "has an unterminated heredoc <<EOF" });
});

test("labels: the keys LABEL sets as written (quotes removed), in both forms, continuations included, with their stage; keys spelled with a variable are left out", () => {
  const text = df("ARG NS=org.example", "FROM a AS build", "LABEL in=build", "FROM b", 'LABEL "${NS}.a"=1 "quoted.key"="two words" \\', "  c=3", "LABEL legacy value with spaces", "label lower=x");
  assert.equal(parseDockerfile(text).labels, [
    { key: "in", line: 3, stage: 0 }, { key: "quoted.key", line: 5, stage: 1 }, { key: "c", line: 5, stage: 1 }, { key: "legacy", line: 7, stage: 1 }, { key: "lower", line: 8, stage: 1 },
  ]);
  assert.equal(parseDockerfileFragment(df("LABEL k=v")).labels, [{ key: "k", line: 1, stage: -1 }]);
});

test.run();
