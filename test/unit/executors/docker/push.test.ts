import type Dockerode from "dockerode";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DockerCredentials } from "../../../../src/registry/credentials.js";
import { isTransient, pushTags } from "../../../../src/executors/docker/push.js";
import { isNotFound } from "../../../../src/executors/docker/bases.js";

test("transient errors: 5xx, resets, timeouts, a layer another push is committing; never auth", () => {
  for (const m of [
    "received unexpected HTTP status: 503 Service Unavailable",
    "(HTTP code 500) server error - something broke",
    "Put http://r/v2/x/blobs/uploads/1: read tcp 1.2.3.4:5->6.7.8.9:80: read: connection reset by peer",
    "net/http: TLS handshake timeout",
    "Get https://r/v2/: dial tcp: i/o timeout",
    "502 Bad Gateway",
    // another push of the same layer to the repository committing it at that moment
    "digest invalid; manifest blob unknown: blob unknown to registry",
  ]) assert.ok(isTransient(m), m);
  for (const m of [
    "no basic auth credentials",
    "unauthorized: authentication required",
    "denied: requested access to the resource is denied",
    "received unexpected HTTP status: 401 Unauthorized",
    "An image does not exist locally with the tag: x",
    "manifest invalid",
  ]) assert.not.ok(isTransient(m), m);
});

/** An engine whose push streams play back `attempts` in order, one per call. */
function fakeDocker(attempts: object[][]) {
  const calls: { name: string; tag: string; auth: unknown }[] = [];
  const docker = {
    getImage: (name: string) => ({
      push: async (opts: { tag: string; authconfig: unknown }) => {
        calls.push({ name, tag: opts.tag, auth: opts.authconfig });
        const messages = attempts.shift() ?? [];
        const s = new PassThrough();
        setImmediate(() => s.end(messages.map((m) => `${JSON.stringify(m)}\r\n`).join("")));
        return s;
      },
    }),
  } as unknown as Dockerode;
  return { docker, calls };
}

// an empty config directory: no credentials for any registry
const emptyConfigDir = mkdtempSync(join(tmpdir(), "ib-push-"));
test.after(() => rmSync(emptyConfigDir, { recursive: true, force: true }));
const noCreds = () => DockerCredentials.load(emptyConfigDir, {});

test("a transient failure inside the stream is retried; the digest comes from aux", async () => {
  const { docker, calls } = fakeDocker([
    [{ status: "Preparing", id: "abc" }, { errorDetail: { message: "received unexpected HTTP status: 502 Bad Gateway" }, error: "x" }],
    [{ status: "1.0: digest: sha256:feed size: 1" }, { aux: { Tag: "1.0", Digest: "sha256:feed", Size: 1 } }],
  ]);
  const lines: string[] = [];
  const digests = await pushTags(docker, ["r.example.org/a:1.0"], {
    creds: await noCreds(), signal: new AbortController().signal, line: (l) => lines.push(l), backoffMs: 1,
  });
  assert.equal(digests, { "r.example.org/a:1.0": "sha256:feed" });
  assert.is(calls.length, 2);
  assert.equal(calls[0], { name: "r.example.org/a", tag: "1.0", auth: {} });
  assert.ok(lines.some((l) => /retry 1\/3/.test(l)), lines.join("\n"));
});

test("auth errors are not retried and say where credentials were looked for", async () => {
  const { docker, calls } = fakeDocker([[{ errorDetail: { message: "no basic auth credentials" }, error: "no basic auth credentials" }]]);
  const creds = await noCreds();
  try {
    await pushTags(docker, ["r.example.org/a:1.0"], { creds, signal: new AbortController().signal, line: () => undefined, backoffMs: 1 });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /push r\.example\.org\/a:1\.0: no basic auth credentials \(no credentials for r\.example\.org in .*config\.json\)/);
  }
  assert.is(calls.length, 1);
});

test("a push refused with credentials says so on one line: the registry's errors joined, and that these credentials may not push there", async () => {
  const { docker, calls } = fakeDocker([[{ errorDetail: { message: "errors:\ndenied: requested access to the resource is denied\nunauthorized: authentication required\n" }, error: "x" }]]);
  const dir = mkdtempSync(join(tmpdir(), "ib-push-creds-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: { "r.example.org": { auth: Buffer.from("reader:pw").toString("base64") } } }));
  const creds = await DockerCredentials.load(dir, {});
  rmSync(dir, { recursive: true });
  const e = await pushTags(docker, ["r.example.org/rel/a:1.0"], { creds, signal: new AbortController().signal, line: () => undefined, backoffMs: 1 }).then(() => undefined, (err: Error) => err);
  assert.match(e?.message ?? "", /^push r\.example\.org\/rel\/a:1\.0: denied: requested access to the resource is denied; unauthorized: authentication required \(the credentials for r\.example\.org in \S+config\.json were refused, or may not push to this repository\)$/);
  assert.is(calls.length, 1);
});

test("gives up after 3 retries", async () => {
  const fail = [{ error: "received unexpected HTTP status: 500 Internal Server Error" }];
  const { docker, calls } = fakeDocker([fail, fail, fail, fail, fail]);
  try {
    await pushTags(docker, ["r.example.org/a:1.0"], { creds: await noCreds(), signal: new AbortController().signal, line: () => undefined, backoffMs: 1 });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /500 Internal Server Error/);
  }
  assert.is(calls.length, 4);
});

test("no second round when the engine has already retried the upload itself", async () => {
  const engineRetried = [
    { status: "Retrying in 5 seconds", id: "abc" },
    { status: "Retrying in 10 seconds", id: "abc" },
    { errorDetail: { message: "received unexpected HTTP status: 503 Service Unavailable" }, error: "x" },
  ];
  const { docker, calls } = fakeDocker([engineRetried, engineRetried]);
  try {
    await pushTags(docker, ["r.example.org/a:1.0"], { creds: await noCreds(), signal: new AbortController().signal, line: () => undefined, backoffMs: 1 });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /503 Service Unavailable \(after the engine's own retries\)$/);
  }
  assert.is(calls.length, 1);
});

test("a layer the engine retried and then got across does not stop a retry of a later failure", async () => {
  const manifestFailed = [
    { status: "Retrying in 5 seconds", id: "abc" },
    { status: "Pushed", id: "abc" },
    { errorDetail: { message: "received unexpected HTTP status: 502 Bad Gateway" }, error: "x" },
  ];
  const ok = [{ aux: { Tag: "1.0", Digest: "sha256:feed", Size: 1 } }];
  const { docker, calls } = fakeDocker([manifestFailed, ok]);
  const digests = await pushTags(docker, ["r.example.org/a:1.0"], { creds: await noCreds(), signal: new AbortController().signal, line: () => undefined, backoffMs: 1 });
  assert.equal(digests, { "r.example.org/a:1.0": "sha256:feed" });
  assert.is(calls.length, 2);
});

test("a pull answered 404 means absent, unless it is a refusal in disguise", () => {
  assert.ok(isNotFound(404, "manifest for r/a:1.0 not found: manifest unknown: manifest unknown"));
  assert.not.ok(isNotFound(404, "pull access denied for r/a, repository does not exist or may require 'docker login': denied: Your authorization token has expired"));
  assert.not.ok(isNotFound(500, "unauthorized: authentication required"));
  assert.not.ok(isNotFound(500, "Get \"http://127.0.0.1:9/v2/\": dial tcp 127.0.0.1:9: connect: connection refused"));
  assert.not.ok(isNotFound(undefined, "manifest unknown"));
});

test("a stream that ends without a digest is a failure", async () => {
  const { docker } = fakeDocker([[{ status: "Pushed", id: "abc" }]]);
  try {
    await pushTags(docker, ["r.example.org/a:1.0"], { creds: await noCreds(), signal: new AbortController().signal, line: () => undefined });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /reported no digest/);
  }
});

test.run();
