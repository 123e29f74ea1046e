import { createServer } from "node:net";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DockerCredentials } from "../../../src/registry/credentials.js";
import { RegistryClient } from "../../../src/registry/client.js";

/** A WHATWG bad port (one fetch refuses) that nothing listens on. */
async function closedBadPort(): Promise<number> {
  for (const port of [6665, 6666, 6667, 6668, 6669, 10080, 6000]) {
    const server = createServer();
    const bound = await new Promise<boolean>((ok) => server.once("error", () => ok(false)).listen(port, "127.0.0.1", () => ok(true)));
    if (bound) {
      await new Promise((ok) => server.close(ok));
      return port;
    }
  }
  throw new Error("every bad port tried is in use");
}

test("a registry on a port Node's fetch refuses (WHATWG bad ports) is still connected to: closed, it says ECONNREFUSED", async () => {
  const port = await closedBadPort();
  const client = new RegistryClient(await DockerCredentials.load("/nonexistent-docker-config", {}));
  const e = await client.getImage(`127.0.0.1:${port}/x/rel/a:1`).then(() => undefined, (err: Error) => err);
  assert.is(e?.name, "RegistryError");
  assert.is(e?.message, `registry 127.0.0.1:${port} cannot be reached (http://127.0.0.1:${port}): ECONNREFUSED`);
});

test.run();
