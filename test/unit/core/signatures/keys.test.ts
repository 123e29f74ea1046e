import { test } from "uvu";
import * as assert from "uvu/assert";
import { generateKeyPairSync, randomBytes, scryptSync, verify } from "node:crypto";
import nacl from "tweetnacl";
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

/**
 * A key encrypted as `cosign generate-key-pair` writes it (go-securesystemslib's format: scrypt,
 * then NaCl secretbox of the PKCS#8 DER key, as JSON in the PEM body). The decryption was also
 * checked against a key cosign wrote.
 */
function cosignEncrypted(pair: ReturnType<typeof p256>, password: string, label = "SIGSTORE"): string {
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const key = scryptSync(password, salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  const der = pair.privateKey.export({ type: "pkcs8", format: "der" });
  const sealed = {
    kdf: { name: "scrypt", params: { N: 32768, r: 8, p: 1 }, salt: salt.toString("base64") },
    cipher: { name: "nacl/secretbox", nonce: nonce.toString("base64") },
    ciphertext: Buffer.from(nacl.secretbox(der, nonce, key)).toString("base64"),
  };
  const body = Buffer.from(JSON.stringify(sealed)).toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN ENCRYPTED ${label} PRIVATE KEY-----\n${body}\n-----END ENCRYPTED ${label} PRIVATE KEY-----\n`;
}

test("white space around a key's lines (a leading blank, an indentation, CRLF line ends) is no damage; the key as given is masked", () => {
  const pair = p256();
  const pem = pkcs8(pair);
  for (const given of [` ${pem}`, `\n\n${pem}\n`, pem.split("\n").map((l) => `    ${l}`).join("\n"), pem.replace(/\n/g, "\r\n")]) {
    const key = parseSigningKey(given, "IMAGE_BUILDER_SIGN_KEY");
    assert.ok(verify("sha256", Buffer.from("p"), pair.publicKey, signPayload(key, Buffer.from("p"))), JSON.stringify(given.slice(0, 12)));
    assert.ok(key.secrets.includes(given), "the key as given is masked");
  }
});

test("encrypted keys (PKCS#8, SEC1, cosign's) are read with their password, which is masked like the key", () => {
  const pair = p256();
  const payload = Buffer.from("payload");
  const keys = [
    pair.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "pw-secret" }).toString(),
    pair.privateKey.export({ type: "sec1", format: "pem", cipher: "aes-256-cbc", passphrase: "pw-secret" }).toString(),
    cosignEncrypted(pair, "pw-secret"),
    cosignEncrypted(pair, "pw-secret", "COSIGN"),
  ];
  for (const pem of keys) {
    const key = parseSigningKey(pem, "k", "pw-secret");
    assert.ok(verify("sha256", payload, pair.publicKey, signPayload(key, payload)));
    assert.equal(key.secrets, [pem, "pw-secret"]);
  }
});

test("an encrypted key without its password, or with a wrong one, is refused in one line naming the source", () => {
  const pair = p256();
  const refusedWith = (pem: string, password?: string) => {
    try {
      parseSigningKey(pem, "--sign-key key.pem", password);
    } catch (e) {
      assert.instance(e, InputError);
      return (e as Error).message;
    }
    throw new Error("not refused");
  };
  const pkcs8Encrypted = pair.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "pw-secret" }).toString();
  const cosign = cosignEncrypted(pair, "pw-secret");
  for (const pem of [pkcs8Encrypted, cosign]) {
    assert.is(refusedWith(pem), "--sign-key key.pem: an encrypted key, and COSIGN_PASSWORD is not set: set it to the key's password (or give the key unencrypted, kept as a secret)");
  }
  assert.match(refusedWith(pkcs8Encrypted, "wrong"), /^--sign-key key\.pem: the PEM private key cannot be read \(a wrong password in COSIGN_PASSWORD, or damaged\)$/);
  assert.match(refusedWith(cosign, "wrong"), /^--sign-key key\.pem: the cosign-encrypted key cannot be read \(a wrong password in COSIGN_PASSWORD, or damaged\)$/);
  const damaged = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnsibmFtZSI6InNjcnlwdCJ9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
  assert.match(refusedWith(damaged, "pw"), /cannot be read \(not scrypt and nacl\/secretbox/);
});

test("a key of another kind or curve, a public key, or a damaged file is refused without quoting it", () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  assert.match(refusal(rsa), /an ECDSA P-256 private key is needed .*not an RSA key/);
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
  // Two keys in one file: refused, not the first taken.
  assert.throws(() => parsePublicKey(spki(p256()) + spki(p256()), "two.pub"), /two\.pub: holds 2 PEM blocks; give one public key per file/);
});

test.run();
