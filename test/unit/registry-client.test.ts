import { test } from "uvu";
import * as assert from "uvu/assert";
import { DockerCredentials } from "../../src/executors/docker/auth.js";
import { RegistryClient } from "../../src/registry/client.js";

test("a registry on a port Node's fetch refuses (WHATWG bad ports) is named as such, not as 'bad port'", async () => {
  // fetch refuses these ports before connecting: nothing needs to listen there.
  const client = new RegistryClient(await DockerCredentials.load("/nonexistent-docker-config", {}));
  for (const port of [6667, 10080]) {
    const e = await client.getImage(`127.0.0.1:${port}/x/rel/a:1`).then(() => undefined, (err: Error) => err);
    assert.is(e?.name, "RegistryError");
    assert.is(e?.message, `registry 127.0.0.1:${port} cannot be reached (http://127.0.0.1:${port}): port ${port} is one that Node's fetch refuses (WHATWG bad ports); use another port`);
  }
});

test.run();
