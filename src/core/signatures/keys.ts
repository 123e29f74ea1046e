// Signing keys (`--sign-key FILE`, IMAGE_BUILDER_SIGN_KEY) and public keys (`verify --key`):
// ECDSA P-256 with SHA-256, the algorithm of `cosign generate-key-pair`, through node:crypto.
// A key that can't be used is bad input, said in one line that never quotes the key.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { InputError } from "../model.js";

/** A private key ready to sign, with its public half (to find this key's signatures again). */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The PEM text as given: a secret, masked wherever the run shows or records text. */
  secretText: string;
}

/** PEM labels of encrypted keys, and what to do about them. */
const ENCRYPTED: [RegExp, string][] = [
  [/-----BEGIN ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----/, "a cosign-encrypted key, which image-builder does not decrypt"],
  [/-----BEGIN ENCRYPTED PRIVATE KEY-----/, "an encrypted PKCS#8 key"],
  [/Proc-Type:\s*4,\s*ENCRYPTED/, "an encrypted EC key"],
];

/**
 * The signing key in `pem` (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`, unencrypted), named
 * `source` in errors (`--sign-key FILE`, `IMAGE_BUILDER_SIGN_KEY`).
 */
export function parseSigningKey(pem: string, source: string): SigningKey {
  for (const [label, what] of ENCRYPTED) {
    if (label.test(pem)) {
      throw new InputError(`${source}: ${what}; give the key unencrypted (\`openssl ec -in KEY -out PLAIN.pem\`), kept as a secret (a Jenkins credential)`);
    }
  }
  if (!/-----BEGIN (EC )?PRIVATE KEY-----/.test(pem)) throw new InputError(`${source}: not a PEM private key (expected -----BEGIN PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY-----)`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    // node's message can't quote the key, but says nothing useful either.
    throw new InputError(`${source}: the PEM private key cannot be read (damaged or not a key)`);
  }
  requireP256(privateKey, source, "private");
  return { privateKey, publicKey: createPublicKey(privateKey), secretText: pem };
}

/** The public key in `pem` (`-----BEGIN PUBLIC KEY-----`, as `cosign generate-key-pair` writes cosign.pub). */
export function parsePublicKey(pem: string, source: string): KeyObject {
  if (!/-----BEGIN PUBLIC KEY-----/.test(pem)) throw new InputError(`${source}: not a PEM public key (expected -----BEGIN PUBLIC KEY-----)`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch {
    throw new InputError(`${source}: the PEM public key cannot be read (damaged or not a key)`);
  }
  requireP256(key, source, "public");
  return key;
}

function requireP256(key: KeyObject, source: string, kind: string): void {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== "ec" || curve !== "prime256v1") {
    const is = key.asymmetricKeyType === "ec" ? `an EC key on curve ${curve}` : `a ${key.asymmetricKeyType ?? "unknown"} key`;
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
