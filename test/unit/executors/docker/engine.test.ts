import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkEngine, connectEngine } from "../../../../src/executors/docker/engine.js";

test("DOCKER_HOST forms", () => {
  assert.is(connectEngine({}).address, "unix:///var/run/docker.sock");
  assert.is(connectEngine({ DOCKER_HOST: "unix:///tmp/d.sock" }).address, "unix:///tmp/d.sock");
  assert.is(connectEngine({ DOCKER_HOST: "tcp://10.0.0.1:2375" }).address, "tcp://10.0.0.1:2375");
  assert.is(connectEngine({ DOCKER_HOST: "10.0.0.1" }).address, "tcp://10.0.0.1:2375");
  assert.is(connectEngine({ DOCKER_HOST: "ssh://me@build-host" }).address, "ssh://me@build-host:22");
  const modem = (connectEngine({ DOCKER_HOST: "unix:///tmp/d.sock" }).docker as unknown as { modem: { socketPath: string; host?: string } }).modem;
  assert.is(modem.socketPath, "/tmp/d.sock");
  assert.is(modem.host, undefined);
});

test("TLS needs the certificates and says where it looked", () => {
  assert.throws(() => connectEngine({ DOCKER_HOST: "tcp://h:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/nonexistent" }),
    /TLS for DOCKER_HOST=tcp:\/\/h:2376 needs \/nonexistent\/ca\.pem/);
});

test("unsupported schemes and passwords in DOCKER_HOST", () => {
  assert.throws(() => connectEngine({ DOCKER_HOST: "npipe:////./pipe/docker" }), /unsupported scheme npipe:/);
  assert.throws(
    () => connectEngine({ DOCKER_HOST: "ftp://me:hunter2@h" }),
    (e: Error) => /unsupported scheme ftp:/.test(e.message) && !/hunter2/.test(e.message),
  );
});

test("an unreachable engine: one line with the address and DOCKER_HOST", async () => {
  const env = { DOCKER_HOST: "unix:///nonexistent/docker.sock" };
  try {
    await checkEngine(connectEngine(env), env);
    assert.unreachable();
  } catch (e) {
    const msg = (e as Error).message;
    assert.is(msg.split("\n").length, 1);
    assert.match(msg, /^cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker\.sock \(DOCKER_HOST=unix:\/\/\/nonexistent\/docker\.sock\): /);
  }
  try {
    await checkEngine(connectEngine(env), {});
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /DOCKER_HOST is not set/);
  }
});

test.run();
