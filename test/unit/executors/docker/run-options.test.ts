import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPairSync } from "node:crypto";
import { parseSigningKey } from "../../../../src/core/signatures/keys.js";
import { runSecrets } from "../../../../src/executors/docker/run-options.js";
import { DockerCredentials } from "../../../../src/registry/credentials.js";

test("runSecrets: the options' --secret values and the signing key's PEM and password join the docker config's credentials in one set, which the credentials' redact masks by too", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ib-run-secrets-"));
  try {
    writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: { "r.example": { auth: Buffer.from("ci:registry-pass-42").toString("base64") } } }));
    const creds = await DockerCredentials.load(dir, {});
    const pem = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "Hunter2-sekret" }).toString();
    const signKey = parseSigningKey(pem, "--sign-key k.pem", "Hunter2-sekret");
    const secrets = runSecrets({ secrets: new Map([["tok", Buffer.from("s3cret-value")]]), signKey }, creds);
    assert.is(secrets, creds.secrets);
    const keyLine = pem.split("\n")[1];
    const text = `TOKEN=registry-pass-42 SV=s3cret-value PW=Hunter2-sekret K=${keyLine}`;
    // what masks the credentials (pushes, pulls, the provenance) masks every other secret of the run too
    assert.is(creds.redact(text), "TOKEN=*** SV=*** PW=*** K=***");
    assert.ok(secrets.holds(`K=${keyLine}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
