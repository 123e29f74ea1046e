// Signing keys (`--sign-key FILE`, IMAGE_BUILDER_SIGN_KEY) and public keys (`verify --key`):
// ECDSA P-256 with SHA-256, the algorithm of `cosign generate-key-pair`, through node:crypto.
// A key that can't be used is bad input, said in one line that never quotes the key. Keys
// `cosign generate-key-pair` wrote (encrypted with a password) are read too.
import { createPrivateKey, createPublicKey, scryptSync, sign, verify, type KeyObject } from "node:crypto";
// XSalsa20-Poly1305 (NaCl's secretbox), which cosign encrypts its keys with, is not in node:crypto.
import nacl from "tweetnacl";
import { InputError } from "../model.js";

/** A private key ready to sign, with its public half (to find this key's signatures again). */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The PEM text as given, and its password: secrets, masked wherever the run shows or records text. */
  secrets: string[];
}

const COSIGN_ENCRYPTED = /-----BEGIN ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----([\s\S]*?)-----END ENCRYPTED \1 PRIVATE KEY-----/;
/** The environment variable of an encrypted key's password, as cosign reads it. */
export const PASSWORD_ENV = "COSIGN_PASSWORD";

/**
 * The signing key in `pem`, named `source` in errors (`--sign-key FILE`, `IMAGE_BUILDER_SIGN_KEY`):
 * PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`, or encrypted with `password` (undefined: none
 * given): PKCS#8 `ENCRYPTED PRIVATE KEY`, a SEC1 key with `Proc-Type: 4,ENCRYPTED`, or cosign's
 * `ENCRYPTED SIGSTORE PRIVATE KEY` (`ENCRYPTED COSIGN PRIVATE KEY` of older cosign versions).
 */
export function parseSigningKey(given: string, source: string, password?: string): SigningKey {
  // White space around the PEM's lines means nothing (a key pasted with a leading blank or an
  // indentation, a file with CRLF line ends), but Node's PEM reader refuses it.
  // (Blank lines inside stay: an RFC 1421 PEM's headers end with one.)
  const pem = `${given.trim().split(/\r?\n/).map((line) => line.trim()).join("\n")}\n`;
  const secrets = [given, ...(pem.trim() !== given.trim() ? [pem.trim()] : []), ...(password ? [password] : [])];
  const cosign = COSIGN_ENCRYPTED.exec(pem);
  const encrypted = cosign !== null || /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,\s*ENCRYPTED/.test(pem);
  if (encrypted && password === undefined) {
    throw new InputError(`${source}: an encrypted key, and ${PASSWORD_ENV} is not set: set it to the key's password (or give the key unencrypted, kept as a secret)`);
  }
  let privateKey: KeyObject;
  if (cosign) privateKey = decryptCosignKey(cosign[2], password!, source);
  else {
    if (!/-----BEGIN (EC |ENCRYPTED )?PRIVATE KEY-----/.test(pem)) throw new InputError(`${source}: not a PEM private key (expected -----BEGIN PRIVATE KEY-----, EC PRIVATE KEY, ENCRYPTED PRIVATE KEY, or cosign's ENCRYPTED SIGSTORE PRIVATE KEY)`);
    try {
      privateKey = createPrivateKey({ key: pem, format: "pem", ...(encrypted ? { passphrase: password } : {}) });
    } catch {
      // node's message can't quote the key, but says nothing useful either.
      throw new InputError(`${source}: the PEM private key cannot be read (${encrypted ? `a wrong password in ${PASSWORD_ENV}, or damaged` : "damaged or not a key"})`);
    }
  }
  requireP256(privateKey, source, "private");
  return { privateKey, publicKey: createPublicKey(privateKey), secrets };
}

/**
 * A key as `cosign generate-key-pair` encrypts it (go-securesystemslib's `encrypted` package): the
 * PEM body is JSON naming the scrypt parameters and salt, and the NaCl secretbox nonce and
 * ciphertext of the PKCS#8 DER key, all base64.
 */
function decryptCosignKey(body: string, password: string, source: string): KeyObject {
  const bad = (why: string) => new InputError(`${source}: the cosign-encrypted key cannot be read (${why})`);
  let sealed: { kdf?: { name?: string; params?: { N?: number; r?: number; p?: number }; salt?: string }; cipher?: { name?: string; nonce?: string }; ciphertext?: string };
  try {
    sealed = JSON.parse(Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8"));
  } catch {
    throw bad("damaged");
  }
  const { kdf, cipher, ciphertext } = sealed;
  const { N, r, p } = kdf?.params ?? {};
  if (kdf?.name !== "scrypt" || cipher?.name !== "nacl/secretbox" || !N || !r || !p || !kdf.salt || !cipher.nonce || !ciphertext) {
    throw bad(`not scrypt and nacl/secretbox: ${kdf?.name ?? "?"}, ${cipher?.name ?? "?"}`);
  }
  let key: Buffer;
  try {
    key = scryptSync(password, Buffer.from(kdf.salt, "base64"), 32, { N, r, p, maxmem: 256 * N * r });
  } catch {
    throw bad("its scrypt parameters are out of range");
  }
  let opened: Uint8Array | null;
  try {
    opened = nacl.secretbox.open(Buffer.from(ciphertext, "base64"), Buffer.from(cipher.nonce, "base64"), key);
  } catch {
    throw bad("damaged: a nonce of the wrong size");
  }
  if (!opened) throw bad(`a wrong password in ${PASSWORD_ENV}, or damaged`);
  try {
    return createPrivateKey({ key: Buffer.from(opened), format: "der", type: "pkcs8" });
  } catch {
    throw bad("it holds no PKCS#8 key");
  }
}

/** The public key in `pem` (`-----BEGIN PUBLIC KEY-----`, as `cosign generate-key-pair` writes cosign.pub). */
export function parsePublicKey(pem: string, source: string): KeyObject {
  if (!/-----BEGIN PUBLIC KEY-----/.test(pem)) throw new InputError(`${source}: not a PEM public key (expected -----BEGIN PUBLIC KEY-----)`);
  // Which one would be meant is not ours to guess: verifying with the first alone would pass or fail by the file's order.
  const count = pem.match(/-----BEGIN [A-Z ]+-----/g)?.length ?? 0;
  if (count > 1) throw new InputError(`${source}: holds ${count} PEM blocks; give one public key per file`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch {
    throw new InputError(`${source}: the PEM public key cannot be read (damaged or not a key)`);
  }
  requireP256(key, source, "public");
  return key;
}

/** Node's key types as people write them. */
const KEY_TYPES: Record<string, string> = {
  rsa: "an RSA key", "rsa-pss": "an RSA-PSS key", dsa: "a DSA key", dh: "a DH key",
  ed25519: "an Ed25519 key", ed448: "an Ed448 key", x25519: "an X25519 key", x448: "an X448 key",
};

function requireP256(key: KeyObject, source: string, kind: string): void {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== "ec" || curve !== "prime256v1") {
    const is = key.asymmetricKeyType === "ec" ? `an EC key on curve ${curve}` : KEY_TYPES[key.asymmetricKeyType ?? ""] ?? `a key of type ${key.asymmetricKeyType ?? "unknown"}`;
    throw new InputError(`${source}: an ECDSA P-256 ${kind} key is needed (as cosign generate-key-pair makes), not ${is}`);
  }
}

/** The DER ECDSA signature of SHA-256(`payload`), as cosign signs. */
export function signPayload(key: SigningKey, payload: Buffer): Buffer {
  return sign("sha256", payload, key.privateKey);
}

/** Whether `signature` (base64 of DER) is `key`'s signature of `payload`. */
export function verifyPayload(key: KeyObject, payload: Buffer, signature: string): boolean {
  try {
    return verify("sha256", payload, key, Buffer.from(signature, "base64"));
  } catch {
    return false;
  }
}
