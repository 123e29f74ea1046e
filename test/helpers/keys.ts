// Signing keys for tests: an ECDSA P-256 key pair (what --sign-key and `verify --key` take)
// written as PEM files, and the lines of a private key's PEM body, which no output may show.
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface KeyPairFiles {
  /** The private key file (PKCS#8 PEM), for --sign-key. */
  key: string;
  /** The public key file (SPKI PEM), for verify --key. */
  pub: string;
  /** The private key's PEM text. */
  pem: string;
}

/** A new ECDSA P-256 key pair written to `dir` as `NAME.pem` and `NAME.pub`. */
export function writeKeyPair(dir: string, name = "key"): KeyPairFiles {
  const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const [key, pub] = [join(dir, `${name}.pem`), join(dir, `${name}.pub`)];
  writeFileSync(key, pem);
  writeFileSync(pub, pair.publicKey.export({ type: "spki", format: "pem" }));
  return { key, pub, pem };
}

/** The lines of a PEM's base64 body (not its BEGIN and END lines, which every such key has). */
export function pemBodyLines(pem: string): string[] {
  return pem.split("\n").map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith("-----"));
}
