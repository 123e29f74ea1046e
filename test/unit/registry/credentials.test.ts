import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DockerCredentials, normalizeRegistry, registryOf } from "../../../src/registry/credentials.js";

const dirs: string[] = [];
function configDir(config: unknown, raw?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "ib-auth-"));
  dirs.push(dir);
  writeFileSync(join(dir, "config.json"), raw ?? JSON.stringify(config));
  return dir;
}

/** A docker-credential-<name> in a fresh PATH dir; it answers from `answers` by server. */
function helperEnv(name: string, script: string): NodeJS.ProcessEnv {
  const bin = mkdtempSync(join(tmpdir(), "ib-bin-"));
  dirs.push(bin);
  writeFileSync(join(bin, `docker-credential-${name}`), `#!/bin/sh\n${script}\n`);
  chmodSync(join(bin, `docker-credential-${name}`), 0o755);
  return { ...process.env, PATH: `${bin}:${process.env.PATH}` };
}

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("registry names are normalized like the docker CLI's", () => {
  assert.is(normalizeRegistry("https://index.docker.io/v1/"), "index.docker.io");
  assert.is(normalizeRegistry("docker.io"), "index.docker.io");
  assert.is(normalizeRegistry("registry-1.docker.io"), "index.docker.io");
  assert.is(normalizeRegistry("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
  assert.is(normalizeRegistry("Registry.Example.org/"), "registry.example.org");
  assert.is(registryOf("busybox:stable"), "index.docker.io");
  assert.is(registryOf("library/busybox"), "index.docker.io");
  assert.is(registryOf("localhost/x:1"), "localhost");
  assert.is(registryOf("127.0.0.1:5055/t/sci/a:1.0"), "127.0.0.1:5055");
  assert.is(registryOf("containers.repo.sciserver.org/compute-images/sci/x:1"), "containers.repo.sciserver.org");
});

test("auths: base64 auth or username/password, matched by normalized host", async () => {
  const b64 = Buffer.from("alice:pa:ss").toString("base64");
  const creds = await DockerCredentials.load(configDir({
    auths: {
      "https://reg.example.org/v1/": { auth: b64 },
      "other.example.org": { username: "bob", password: "hunter22" },
      "https://index.docker.io/v1/": { auth: Buffer.from("hub:hubpass").toString("base64") },
      "empty.example.org": {},
    },
  }), {});
  assert.equal(await creds.forImage("reg.example.org/a/b:1"), { serveraddress: "reg.example.org", username: "alice", password: "pa:ss" });
  assert.equal(await creds.forImage("other.example.org/x"), { serveraddress: "other.example.org", username: "bob", password: "hunter22" });
  assert.equal(await creds.forImage("busybox"), { serveraddress: "https://index.docker.io/v1/", username: "hub", password: "hubpass" });
  assert.is(await creds.forImage("empty.example.org/x"), undefined);
  assert.is(await creds.forImage("nowhere.example.org/x"), undefined);
  // secrets are known for redaction before any lookup
  assert.is(creds.redact(`x ${b64} pa:ss hunter22 y`), "x *** *** *** y");
});

test("missing config means no credentials; a broken one is an error that doesn't quote it", async () => {
  const emptyDir = mkdtempSync(join(tmpdir(), "ib-auth-none-"));
  dirs.push(emptyDir);
  const none = await DockerCredentials.load(emptyDir, {});
  assert.is(await none.forImage("reg.example.org/x"), undefined);
  const secret = '{"auths": {"r": {"password": "topsecret"}} oops';
  try {
    await DockerCredentials.load(configDir(undefined, secret), {});
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /config\.json is not valid JSON/);
    assert.not.match((e as Error).message, /topsecret/);
  }
});

test("DOCKER_CONFIG is the default directory", async () => {
  const dir = configDir({ auths: { "r.example.org": { username: "u", password: "pw-from-env-dir" } } });
  const creds = await DockerCredentials.load(undefined, { DOCKER_CONFIG: dir });
  assert.is((await creds.forImage("r.example.org/x"))?.password, "pw-from-env-dir");
  assert.is(creds.file, join(dir, "config.json"));
});

test("credHelpers and credsStore run docker-credential-<name> get with the server on stdin", async () => {
  const env = helperEnv("fake", [
    'read server',
    'case "$server" in',
    '  helped.example.org) echo \'{"ServerURL":"helped.example.org","Username":"hu","Secret":"helper-secret"}\' ;;',
    '  https://index.docker.io/v1/) echo \'{"ServerURL":"x","Username":"<token>","Secret":"identity-tok"}\' ;;',
    '  *) echo "credentials not found in native keychain"; exit 1 ;;',
    'esac',
  ].join("\n"));
  const creds = await DockerCredentials.load(configDir({
    credHelpers: { "helped.example.org": "fake" },
    credsStore: "fake",
    auths: { "inline.example.org": { username: "i", password: "inline-pw" } },
  }), env);
  assert.equal(await creds.forImage("helped.example.org/x"), { serveraddress: "helped.example.org", username: "hu", password: "helper-secret" });
  assert.equal(await creds.forImage("ubuntu"), { serveraddress: "https://index.docker.io/v1/", identitytoken: "identity-tok" });
  // the store knows nothing of it: the inline entry is used
  assert.equal(await creds.forImage("inline.example.org/x"), { serveraddress: "inline.example.org", username: "i", password: "inline-pw" });
  assert.is(await creds.forImage("unknown.example.org/x"), undefined);
  // helper answers are redacted too
  assert.is(creds.redact("helper-secret identity-tok"), "*** ***");
});

test("a failing or missing helper is an error naming it, without its secrets", async () => {
  const env = helperEnv("broken", 'echo "keychain locked"; exit 2');
  const creds = await DockerCredentials.load(configDir({ credHelpers: { "a.example.org": "broken", "b.example.org": "absent" } }), env);
  try {
    await creds.forImage("a.example.org/x");
    assert.unreachable();
  } catch (e) {
    // Its exit code and how to see what it said; not what it said (helper-output test below).
    assert.match((e as Error).message, /docker-credential-broken failed for a\.example\.org \(exit code 2\); .*run `echo a\.example\.org \| docker-credential-broken get` to see it/);
  }
  try {
    await creds.forImage("b.example.org/x");
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /docker-credential-absent .*not found on PATH/);
  }
});

test("nothing is left waiting after a failing or missing helper (it kept the CLI alive for the 30 s helper timeout)", () => {
  const env = helperEnv("broken", 'echo "keychain locked"; exit 2');
  const dir = configDir({ credHelpers: { "a.example.org": "broken", "b.example.org": "absent" } });
  // In a process of its own: this one's timers are other tests' too (simple-git leaves 50 ms
  // timers behind each git command), which made the count flaky on a busy machine.
  const module = fileURLToPath(new URL("../../../src/registry/credentials.js", import.meta.url));
  const script = `
    const { DockerCredentials } = await import(${JSON.stringify(module)});
    const creds = await DockerCredentials.load(${JSON.stringify(dir)});
    for (const image of ["a.example.org/x", "b.example.org/x"]) await creds.forImage(image).catch(() => undefined);
    console.log(JSON.stringify(process.getActiveResourcesInfo().filter((r) => r === "Timeout")));`;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { env, encoding: "utf8", timeout: 20_000 });
  assert.is(child.stdout.trim(), "[]", child.stderr);
});

test("what a failing helper printed is not shown (its answer, or a token of the store behind it): the exit code and how to see it", async () => {
  const env = helperEnv("leaky", `echo '{"ServerURL":"a.example.org","Username":"u","Secret":"leaked-secret-1"}'; echo "vault: token s.VAULTTOKEN-2" >&2; exit 1`);
  const creds = await DockerCredentials.load(configDir({ credHelpers: { "a.example.org": "leaky" } }), env);
  const e = await creds.forImage("a.example.org/x").then(() => undefined, (err: Error) => err);
  assert.is(e?.message, "credential helper docker-credential-leaky failed for a.example.org (exit code 1); what it printed is not shown, as it may hold credentials: run `echo a.example.org | docker-credential-leaky get` to see it");
});

test("a helper that does not answer in time is stopped, and the error says so (a child holding its output kept the CLI waiting for as long as it lived)", async () => {
  // A shell wrapper whose backend blocks (a locked keyring): its child keeps the pipes open.
  const marker = `ib-helper-child-${process.pid}-${Date.now()}`;
  const env = { ...helperEnv("blocked", `sh -c 'sleep 60; echo ${marker}' &\nwait`), IMAGE_BUILDER_CREDENTIAL_HELPER_TIMEOUT: "1" };
  const creds = await DockerCredentials.load(configDir({ credHelpers: { "a.example.org": "blocked" } }), env);
  const t0 = Date.now();
  const e = await creds.forImage("a.example.org/x").then(() => undefined, (err: Error) => err);
  spawnSync("pkill", ["-f", marker]);
  assert.ok(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`);
  assert.match(e?.message ?? "", /^credential helper docker-credential-blocked failed for a\.example\.org: did not answer within 1 s \(stopped; IMAGE_BUILDER_CREDENTIAL_HELPER_TIMEOUT\)$/);
});

test("a helper that answers and exits while a process it started keeps its output open (gpg-agent) is taken at its word within a moment", async () => {
  const env = helperEnv("daemon", `sleep 30 &\necho '{"Username":"u","Secret":"daemon-secret"}'`);
  const creds = await DockerCredentials.load(configDir({ credHelpers: { "a.example.org": "daemon" } }), env);
  const t0 = Date.now();
  assert.equal(await creds.forImage("a.example.org/x"), { serveraddress: "a.example.org", username: "u", password: "daemon-secret" });
  assert.ok(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`);
});

test("the base64 user:password of a Basic header is redacted too (a registry may echo the header in an error)", async () => {
  const env = helperEnv("fake", `echo '{"Username":"hu","Secret":"helper-pw"}'`);
  const creds = await DockerCredentials.load(configDir({ auths: { "a.example.org": { username: "alice", password: "Pw-Very$ecret!" } }, credHelpers: { "h.example.org": "fake" } }), env);
  await creds.forImage("h.example.org/x");
  const header = (user: string, pw: string) => Buffer.from(`${user}:${pw}`).toString("base64");
  assert.is(creds.redact(`rejected: Basic ${header("alice", "Pw-Very$ecret!")} and Basic ${header("hu", "helper-pw")}`), "rejected: Basic *** and Basic ***");
});

test("a multi-line credential is redacted line by line", async () => {
  const creds = await DockerCredentials.load(configDir({ auths: { "r.example": { username: "u", password: "first-line\nsecond-line" } } }), {});
  assert.is(creds.redact("a first-line b\nsecond-line c"), "a *** b\n*** c");
});

test.run();
