import { test } from "uvu";
import * as assert from "uvu/assert";
import { maskedTexts, redact } from "../../../../src/core/report/redaction.js";

const PEM = "-----BEGIN PRIVATE KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\r\n  BKcwggSjAgEAAoIBAQC7\r\n\r\n=\r\n-----END PRIVATE KEY-----\r\n";

test("every line of a multi-line secret is masked on its own (CRLF, indented lines); blank and short lines are not", () => {
  assert.equal(maskedTexts([PEM]), [
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "BKcwggSjAgEAAoIBAQC7",
  ]);
  const masked = maskedTexts([PEM]);
  // as a build step prints it: one line at a time, and all in one line
  for (const line of PEM.split("\r\n")) assert.not.ok(/[A-Za-z]{4}/.test(redact(`#5 ${line}`, masked).replace("***", "")), line);
  assert.is(redact("key: MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7 = end", masked), "key: ****** = end");
});

test("a single-line secret is masked whole; values under 4 characters are left alone", () => {
  assert.equal(maskedTexts(["s3cret-value\n", "a", "bc", "def", "ghij", "", "   \n  "]), ["s3cret-value", "ghij"]);
  assert.is(redact("a bc def ghij", maskedTexts(["a", "bc", "def", "ghij"])), "a bc def ***");
});

test("longest first: a line that contains another secret line is masked whole, not left half visible", () => {
  const masked = maskedTexts(["abcd", "abcdefgh"]);
  assert.equal(masked, ["abcdefgh", "abcd"]);
  assert.is(redact("x abcdefgh y abcd", masked), "x *** y ***");
  // the same text from two secrets is one masked text
  assert.equal(maskedTexts(["same-line\nother", "same-line"]), ["same-line", "other"]);
});

test.run();
