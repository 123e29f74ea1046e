import { test } from "uvu";
import * as assert from "uvu/assert";
import { generateKeyPairSync, verify } from "node:crypto";
import { parsePublicKey, parseSigningKey, signPayload, verifyPayload } from "../../../../src/core/signatures/keys.js";
import { InputError } from "../../../../src/core/model.js";

const p256 = () => generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const pkcs8 = (k = p256()) => k.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const sec1 = (k = p256()) => k.privateKey.export({ type: "sec1", format: "pem" }).toString();
const spki = (k: ReturnType<typeof p256>) => k.publicKey.export({ type: "spki", format: "pem" }).toString();

/** The one line of a refusal; it must never quote the key. */
function refusal(pem: string): string {
  try {
    parseSigningKey(pem, "--sign-key key.pem");
  } catch (e) {
    assert.instance(e, InputError);
    const message = (e as Error).message;
    assert.not.match(message, /\n/);
    for (const line of pem.split("\n").filter((l) => l.length > 8 && !l.startsWith("-----"))) assert.not.ok(message.includes(line), "the message quotes the key");
    return message;
  }
  throw new Error("not refused");
}

test("PKCS#8 and SEC1 P-256 keys sign: the DER ECDSA signature of SHA-256 of the payload, which the public key verifies", () => {
  for (const make of [pkcs8, sec1]) {
    const pair = p256();
    const key = parseSigningKey(make(pair), "--sign-key k");
    const payload = Buffer.from("payload");
    const sig = signPayload(key, payload);
    assert.is(sig[0], 0x30, "DER SEQUENCE");
    assert.ok(verify("sha256", payload, pair.publicKey, sig));
    assert.ok(verifyPayload(parsePublicKey(spki(pair), "k.pub"), payload, sig.toString("base64")));
    assert.not.ok(verifyPayload(parsePublicKey(spki(p256()), "other.pub"), payload, sig.toString("base64")));
    assert.not.ok(verifyPayload(key.publicKey, Buffer.from("another payload"), sig.toString("base64")));
  }
});

test("encrypted keys are refused in one line saying what to do, naming the source", () => {
  const pair = p256();
  const encrypted = pair.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "pw-secret" }).toString();
  assert.match(refusal(encrypted), /^--sign-key key\.pem: an encrypted PKCS#8 key; give the key unencrypted/);
  const encryptedSec1 = pair.privateKey.export({ type: "sec1", format: "pem", cipher: "aes-256-cbc", passphrase: "pw-secret" }).toString();
  assert.match(refusal(encryptedSec1), /an encrypted EC key/);
  const cosign = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnsibmFtZSI6InNjcnlwdCJ9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
  assert.match(refusal(cosign), /a cosign-encrypted key, which image-builder does not decrypt/);
});

test("a key of another kind or curve, a public key, or a damaged file is refused without quoting it", () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  assert.match(refusal(rsa), /an ECDSA P-256 private key is needed .*not a rsa key/);
  const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  assert.match(refusal(p384), /not an EC key on curve secp384r1/);
  assert.match(refusal(spki(p256())), /not a PEM private key/);
  const damaged = pkcs8().replace(/\n[A-Za-z0-9+/]{20}/, "\nAAAAAAAAAAAAAAAAAAAA!");
  assert.match(refusal(damaged), /cannot be read/);
  assert.match(refusal(""), /not a PEM private key/);
});

test("a public key for verify is a P-256 SPKI PEM", () => {
  assert.throws(() => parsePublicKey(pkcs8(), "k.pub"), /k\.pub: not a PEM public key/);
  assert.throws(() => parsePublicKey(spki(generateKeyPairSync("ec", { namedCurve: "secp384r1" })), "k.pub"), /ECDSA P-256 public key is needed/);
});

test.run();
