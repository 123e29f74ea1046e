import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildArgsHoldingSecrets, maskedDocument, maskedTexts, redactor, SecretSet } from "../../../../src/core/report/redaction.js";

const PEM = "-----BEGIN PRIVATE KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\r\n  BKcwggSjAgEAAoIBAQC7\r\n\r\n=\r\n-----END PRIVATE KEY-----\r\n";

test("every line of a multi-line secret is masked on its own (CRLF, indented lines); blank and short lines are not", () => {
  assert.equal(maskedTexts([PEM]), [
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "BKcwggSjAgEAAoIBAQC7",
  ]);
  const redact = redactor([PEM]);
  // as a build step prints it: one line at a time, and all in one line
  for (const line of PEM.split("\r\n")) assert.not.ok(/[A-Za-z]{4}/.test(redact(`#5 ${line}`).replace("***", "")), line);
  assert.is(redact("key: MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7 = end"), "key: ****** = end");
});

test("a single-line secret is masked whole; values under 4 characters are left alone", () => {
  assert.equal(maskedTexts(["s3cret-value\n", "a", "bc", "def", "ghij", "", "   \n  "]), ["s3cret-value", "ghij"]);
  assert.is(redactor(["a", "bc", "def", "ghij"])("a bc def ghij"), "a bc def ***");
  assert.is(redactor([])("nothing to hide"), "nothing to hide");
});

test("longest first: a line that contains another secret line is masked whole, not left half visible", () => {
  assert.equal(maskedTexts(["abcd", "abcdefgh"]), ["abcdefgh", "abcd"]);
  assert.is(redactor(["abcd", "abcdefgh"])("x abcdefgh y abcd"), "x *** y ***");
  // characters that mean something in a pattern are plain text in a secret
  assert.is(redactor(["a.b*c(d)[e]$"])("x a.b*c(d)[e]$ y aXbbc"), "x *** y aXbbc");
  // the same text from two secrets is one masked text
  assert.equal(maskedTexts(["same-line\nother", "same-line"]), ["same-line", "other"]);
});

test("a run's SecretSet: one set from every source, a secret added later (a credential helper's answer) masked from then on", () => {
  const secrets = new SecretSet(["--secret-value", undefined, ""]);
  const redact = secrets.redact;
  assert.is(redact("arg SV=--secret-value PW=Hunter2-sekret"), "arg SV=*** PW=Hunter2-sekret");
  assert.ok(secrets.holds("SV=--secret-value"));
  assert.not.ok(secrets.holds("PW=Hunter2-sekret"));
  // the signing key's password and PEM join: the same redact function masks them now, every line of the PEM
  secrets.add("Hunter2-sekret", PEM);
  assert.is(redact("arg SV=--secret-value PW=Hunter2-sekret"), "arg SV=*** PW=***");
  assert.is(redact("K=MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), "K=***");
  assert.ok(secrets.holds("K=BKcwggSjAgEAAoIBAQC7"));
  // each value once, as given
  secrets.add("Hunter2-sekret");
  assert.equal(secrets.all(), ["--secret-value", "Hunter2-sekret", PEM]);
});

test("a document (results, a provenance statement) has every key and string masked; numbers, booleans and its shape stay", () => {
  const redact = new SecretSet(["s3cret-value"]).redact;
  assert.equal(maskedDocument({ reason: "push failed: s3cret-value", "s3cret-value": 1, list: ["a s3cret-value b", 2, true, null] }, redact),
    { reason: "push failed: ***", "***": 1, list: ["a *** b", 2, true, null] });
});

test("the build arguments that hold a secret, by name or value (a line of a PEM inside a longer value too), each once", () => {
  const secrets = new SecretSet(["registry-pass-42", PEM]);
  const builds: { request: { buildArgs: Record<string, string> } }[] = [
    { request: { buildArgs: { TOKEN: "registry-pass-42", PYTHON: "3.11", K: "x MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" } } },
    { request: { buildArgs: { TOKEN: "registry-pass-42", "registry-pass-42": "1", abc: "abc" } } },
  ];
  assert.equal(buildArgsHoldingSecrets(builds, secrets), ["K", "TOKEN", "registry-pass-42"]);
  assert.equal(buildArgsHoldingSecrets(builds, new SecretSet()), []);
});

test.run();
