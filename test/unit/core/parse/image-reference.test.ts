import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatImageReference, isLoopbackRegistry, parseAuthChallenges, parseImageReference, sciReference, shownReference, splitTag, TAGGED_REFERENCE, taggedReferenceProblem } from "../../../../src/core/parse/image-reference.js";
import { InputError } from "../../../../src/core/model.js";
import { checkRepo } from "../../../../src/core/parse/repo-config.js";

test("references split into registry, repository, tag and digest", () => {
  assert.equal(parseImageReference("127.0.0.1:5055/compute/sci/essentials-2-4:2.4-7-3f2a9c1"),
    { registry: "127.0.0.1:5055", repository: "compute/sci/essentials-2-4", tag: "2.4-7-3f2a9c1", digest: undefined });
  const digest = `sha256:${"a".repeat(64)}`;
  assert.equal(parseImageReference(`registry.example.org/x/rel/astro@${digest}`),
    { registry: "registry.example.org", repository: "x/rel/astro", tag: undefined, digest });
  assert.equal(parseImageReference("localhost/a:1").registry, "localhost");
  assert.equal(parseImageReference("[::1]:5000/a/b:1").registry, "[::1]:5000");
  // Docker Hub, as the docker CLI reads it
  assert.equal(parseImageReference("busybox"), { registry: "docker.io", repository: "library/busybox", tag: undefined, digest: undefined });
  assert.equal(parseImageReference("index.docker.io/me/x:1").registry, "docker.io");
  assert.is(formatImageReference(parseImageReference(`h:1/a/b:t@${digest}`)), `h:1/a/b:t@${digest}`);
});

test("malformed references are bad input naming the reference", () => {
  for (const bad of ["h:1/A/b:1", "h:1/a/b:", "h:1/a//b", "h:1/a/b@sha256:xyz", "h:1/", "h:1/a/b:t t"]) {
    assert.throws(() => parseImageReference(bad), (e: unknown) => e instanceof InputError && e.message.includes(`"${bad}"`), bad);
  }
});

test("a password given in a reference (user:pass@host, as a URL carries one) is not in its error", () => {
  for (const ref of ["ibuser:ibpass-secret@127.0.0.1:5412/h10/x:1", "https://ibuser:ibpass-secret@host/x:1"]) {
    assert.throws(() => parseImageReference(ref), (e: Error) => e instanceof InputError && e.message.includes("ibuser:***@") && !e.message.includes("ibpass"));
  }
  assert.is(shownReference("busybox:stable@sha256:abc"), "busybox:stable@sha256:abc");
  assert.is(shownReference("host:5000/img@sha256:abc"), "host:5000/img@sha256:abc");
  assert.is(shownReference("user:pa/ss@host/img:1"), "user:***@host/img:1");
  assert.is(shownReference("user:p@ss@host/img:1"), "user:***@host/img:1");
  assert.is(shownReference("https://user:tok+/x=@host/img"), "https://user:***@host/img");
  assert.is(shownReference("user:pw@host/img:1@sha256:abc"), "user:***@host/img:1@sha256:abc");
  assert.is(shownReference("host:5000/x:1"), "host:5000/x:1");
  assert.throws(() => checkRepo("https://u:repo-pass@h/x", "--repo"), (e: Error) => e.message.includes("u:***@") && !e.message.includes("repo-pass"));
});

test("a tagged reference in one pattern (a plan's tags): the parser's grammar, with a tag and no digest; what is wrong is said", () => {
  for (const ok of ["sci/a:1.0", "a:1.0-7-3f2a9c1", "127.0.0.1:5055/compute/sci/essentials-2-4:2.4-7-3f2a9c1", "localhost/a:1", "localhost:5000/a:latest",
    "[::1]:5000/a/b:1", "Reg.Example.org/x__y/a-b.c:_T.1-x", "my-host:5000/a:1", `a:${"x".repeat(128)}`]) {
    assert.ok(TAGGED_REFERENCE.test(ok), ok);
    assert.is(taggedReferenceProblem(ok), undefined, ok);
    assert.not.throws(() => parseImageReference(ok), ok);
  }
  const problems: Record<string, string> = {
    "UPPER/x:y z": '"y z" is not a valid tag',
    "UPPER/x:1": '"UPPER" is not a valid name component (lowercase letters, digits, separators)',
    "a/b": "no tag",
    [`a/b:1@sha256:${"a".repeat(64)}`]: "a digest where a tag is expected",
    " a/b:1": "spaces around it",
    "h_x.org/a:1": '"h_x.org" is not a registry host',
    [`a:${"x".repeat(129)}`]: `"${"x".repeat(129)}" is not a valid tag`,
    "a/.b:1": '".b" is not a valid name component (lowercase letters, digits, separators)',
  };
  for (const [ref, why] of Object.entries(problems)) {
    assert.not.ok(TAGGED_REFERENCE.test(ref), ref);
    assert.is(taggedReferenceProblem(ref), `invalid image reference ${JSON.stringify(ref)}: ${why}`, ref);
  }
});

test("loopback registries are plain HTTP, like the engine's default insecure registries", () => {
  for (const r of ["127.0.0.1:5055", "127.1.2.3", "localhost:5000", "localhost", "[::1]:5000"]) assert.ok(isLoopbackRegistry(r), r);
  for (const r of ["registry.example.org", "10.0.0.1:5000", "127.0.0.1.example.org", "localhost.example.org:5000"]) assert.not.ok(isLoopbackRegistry(r), r);
});

test("WWW-Authenticate challenges: Bearer with quoted parameters, Basic, several at once", () => {
  assert.equal(parseAuthChallenges('Bearer realm="https://auth.example.org/token",service="registry.example.org",scope="repository:a/b:pull,push"'), [
    { scheme: "bearer", params: { realm: "https://auth.example.org/token", service: "registry.example.org", scope: "repository:a/b:pull,push" } },
  ]);
  assert.equal(parseAuthChallenges('Basic realm="Registry Realm"'), [{ scheme: "basic", params: { realm: "Registry Realm" } }]);
  assert.equal(parseAuthChallenges('Basic realm="x", Bearer realm="https://t/\\"q\\"", service=svc'), [
    { scheme: "basic", params: { realm: "x" } },
    { scheme: "bearer", params: { realm: 'https://t/"q"', service: "svc" } },
  ]);
  assert.equal(parseAuthChallenges(""), []);
});

// --- sciReference ------------------------------------------------------------------

test("sciReference: a path ending in sci/{target}, with any registry prefix or none", () => {
  const digest = "sha256:" + "0".repeat(64);
  assert.equal(sciReference("sci/base:2.4"), { target: "base", version: "2.4" });
  assert.equal(sciReference("reg.example:5000/a/sci/base:2.4"), { target: "base", version: "2.4" });
  assert.equal(sciReference("reg.example:5000/a/sci/base"), { target: "base", version: "latest" });
  assert.equal(sciReference(`localhost:5000/sci/base:2.4@${digest}`), { target: "base", version: "2.4", digest });
  assert.equal(sciReference(`sci/base@${digest}`), { target: "base", version: "latest", digest });
  // Not a science layer's path: the last component alone, another directory, a registry host named sci.
  for (const image of ["python:3.11", "base:2.4", "reg/x/rel/base:2.4", "reg/x/notsci/base:2.4", "sci:5000/base:2.4",
    "docker.io/library/ubuntu:22.04", "reg/sci/", "scratch"]) {
    assert.is(sciReference(image), undefined, image);
  }
});

test("splitTag keeps registry ports in the name, and the name as written", () => {
  assert.equal(splitTag("127.0.0.1:5055/t/sci/a:1.0-7-abc"), { name: "127.0.0.1:5055/t/sci/a", tag: "1.0-7-abc" });
  assert.equal(splitTag("127.0.0.1:5055/t/sci/a"), { name: "127.0.0.1:5055/t/sci/a", tag: "latest" });
  assert.equal(splitTag("busybox:stable"), { name: "busybox", tag: "stable" });
});

test.run();
