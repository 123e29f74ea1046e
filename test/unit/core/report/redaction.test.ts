import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildArgsHoldingSecrets, maskedDocument, maskedFreeText, maskedTexts, redactor, SecretSet } from "../../../../src/core/report/redaction.js";
import { RESULTS_FREE_TEXT } from "../../../../src/core/formats/results.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../../helpers/cli.js";

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

test("a document others read has its free-text fields masked, keys and all, at any depth; its names and values (repo, tags, times, digests) stay whole", () => {
  const redact = new SecretSet(["teamrepo", "2026", "beef"]).redact;
  const doc = {
    repo: "127.0.0.1:5000/teamrepo", results: [{ id: "sci/a", startedAt: "2026-12-04T00:00:00Z", digest: `sha256:${"beef".repeat(16)}`, reason: "push to teamrepo failed in 2026", tags: [{ tag: "127.0.0.1:5000/teamrepo/sci/a:1.0", reason: "beef", pushed: false }] }],
    failedStep: { "teamrepo": "x teamrepo" },
  };
  assert.equal(maskedFreeText(doc, redact, new Set(["reason", "failedStep"])), {
    ...doc, results: [{ ...doc.results[0], reason: "push to *** failed in ***", tags: [{ ...doc.results[0].tags[0], reason: "***" }] }], failedStep: { "***": "x ***" },
  });
});

test("every text field of a results file is either free text (masked) or one of image-builder's own names and values (kept whole): a new field must be sorted into one", () => {
  const own = new Set(["repo", "commit", "id", "tag", "digest", "registryDigest", "manifestDigest", "mediaType", "status", "subject", "platforms", "startedAt", "finishedAt", "pushStartedAt", "pushFinishedAt",
    "docker-image-hash", "docker-image-repo-tag", "docker-image-timestamp", "docker-image-digests"]);
  const schema = JSON.parse(readFileSync(join(PROJECT_ROOT, "schema/results.schema.json"), "utf8"));
  const texts = new Set<string>();
  const walk = (node: unknown, key?: string): void => {
    if (!node || typeof node !== "object") return;
    const n = node as Record<string, any>;
    const stringy = (x: any): boolean => !!x && (x.type === "string" || "enum" in x || "const" in x || (x.type === "array" && stringy(x.items)) || (x.additionalProperties && stringy(x.additionalProperties)));
    if (key && stringy(n)) texts.add(key);
    for (const [k, v] of Object.entries(n.properties ?? {})) walk(v, k);
    for (const k of ["items", "additionalProperties"]) if (n[k] && typeof n[k] === "object") walk(n[k], key);
    for (const k of ["anyOf", "oneOf", "allOf"]) for (const x of n[k] ?? []) walk(x, key);
    for (const v of Object.values(n.definitions ?? {})) walk(v);
    for (const v of Object.values(n.$defs ?? {})) walk(v);
  };
  walk(schema);
  assert.ok(texts.has("reason") && texts.has("tag"), [...texts].join(", "));
  const unsorted = [...texts].filter((t) => !RESULTS_FREE_TEXT.has(t) && !own.has(t));
  assert.equal(unsorted, [], "results fields neither masked nor known as image-builder's own");
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
