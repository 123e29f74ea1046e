import { test } from "uvu";
import * as assert from "uvu/assert";
import { generateKeyPairSync, sign } from "node:crypto";
import { simpleSigningPayload } from "../../../../src/core/signatures/cosign.js";
import { judgeSignatures } from "../../../../src/core/signatures/verify.js";

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const REPO = "127.0.0.1:5167/t/sci/a";
const mine = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const signed = (key: typeof mine, repository: string, d: string) => {
  const payload = simpleSigningPayload(repository, d);
  return { payload, signature: sign("sha256", payload, key.privateKey).toString("base64") };
};
const subject = { repository: REPO, digest: digest("a") };

test("signed by the key, naming the digest and repository: verified", () => {
  const v = judgeSignatures(subject, [signed(other, REPO, digest("a")), signed(mine, REPO, digest("a"))], mine.publicKey);
  assert.equal(v, { ok: true, detail: `signed by this key (sha256-${"a".repeat(64)}.sig)` });
});

test("no .sig tag, an empty one, or only other keys' signatures: not signed by this key", () => {
  assert.equal(judgeSignatures(subject, undefined, mine.publicKey), { ok: false, detail: `not signed: the registry has no sha256-${"a".repeat(64)}.sig` });
  assert.match(judgeSignatures(subject, [], mine.publicKey).detail, /holds no signature/);
  assert.match(judgeSignatures(subject, [signed(other, REPO, digest("a"))], mine.publicKey).detail, /holds 1 signature\(s\), none by this key/);
});

test("signatures whose payload can't be read count as none, are named when no signature by the key is found, and don't hide one that is", () => {
  const lost = [{ layer: digest("c"), reason: "HTTP 404" }];
  assert.equal(judgeSignatures(subject, [], mine.publicKey, lost), { ok: false, detail: `not signed: sha256-${"a".repeat(64)}.sig holds no signature that can be read; 1 more whose payload can't be read (layer ${digest("c")}: HTTP 404)` });
  assert.match(judgeSignatures(subject, [signed(other, REPO, digest("a"))], mine.publicKey, lost).detail, /none by this key; 1 more whose payload can't be read/);
  assert.is(judgeSignatures(subject, [signed(mine, REPO, digest("a"))], mine.publicKey, lost).ok, true);
});

test("a signature by the key of another digest or repository (copied under this tag) does not count, and says what it names", () => {
  const v = judgeSignatures(subject, [signed(mine, REPO, digest("b"))], mine.publicKey);
  assert.equal(v, { ok: false, detail: `the signature by this key in sha256-${"a".repeat(64)}.sig names another image: ${digest("b")}` });
  assert.match(judgeSignatures(subject, [signed(mine, "127.0.0.1:5167/t/sci/b", digest("a"))], mine.publicKey).detail, /names another repository: 127\.0\.0\.1:5167\/t\/sci\/b/);
});

test("a payload changed after signing does not verify", () => {
  const s = signed(mine, REPO, digest("b"));
  const tampered = { payload: simpleSigningPayload(REPO, digest("a")), signature: s.signature };
  assert.match(judgeSignatures(subject, [tampered], mine.publicKey).detail, /none by this key/);
});

test.run();
