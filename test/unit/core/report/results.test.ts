// Results files: merging several runs' results, checking them entry by entry.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mergeResults, parseResultsFile, type ResultsFile } from "../../../../src/core/report/results.js";
import { InputError } from "../../../../src/core/model.js";

test("results of several runs merge; results of another plan are refused", () => {
  const base = { repo: "r", commit: "c", buildNumber: 1 };
  const a: ResultsFile = { ...base, results: [
    { id: "sci/a", status: "built", durationMs: 5, pushed: true, outputs: { "docker-image-hash": "sha256:1", "docker-image-repo-tag": ["r/sci/a:1.0"], "docker-image-timestamp": "t" } },
    { id: "sci/b", status: "skipped", reason: "parent sci/x failed", durationMs: 0, pushed: false },
  ] };
  const b: ResultsFile = { ...base, results: [{ id: "sci/b", status: "built", durationMs: 7, pushed: true }] };
  const merged = mergeResults([{ file: "a.json", results: a }, { file: "b.json", results: b }]);
  assert.equal(merged.results.map((r) => [r.id, r.status]), [["sci/a", "built"], ["sci/b", "built"]]);
  assert.throws(() => mergeResults([{ file: "a.json", results: a }, { file: "z.json", results: { ...b, commit: "other" } }]), /z\.json: results of another plan/);
  assert.throws(() => mergeResults([{ file: "a.json", results: a }, { file: "n.json", results: { ...b, buildNumber: 2 } }]), /n\.json: results of another plan .*build 2/);
});

test("two runs of one commit merge to the run the registry has, whatever the order of the files", () => {
  const base = { repo: "r", commit: "c", buildNumber: 1 };
  const tags = (pushed: boolean, digest: string) => [{ tag: "r/sci/a:1.0-1-h", pushed, ...(pushed ? { digest } : { registryDigest: "sha256:b" }) }];
  // A built sci/a too, but B's image is the one the registry holds; only B pushed sci/b.
  const a: ResultsFile = { ...base, results: [
    { id: "sci/a", status: "built", durationMs: 5, pushed: false, reason: "not published: another run…", tags: tags(false, "sha256:a") },
    { id: "sci/b", status: "built", durationMs: 5, pushed: false, reason: "not pushed: parent sci/a was not pushed" },
  ] };
  const b: ResultsFile = { ...base, results: [
    { id: "sci/a", status: "built", durationMs: 6, pushed: true, tags: tags(true, "sha256:b") },
    { id: "sci/b", status: "reused", durationMs: 1, pushed: true },
  ] };
  const byId = (f: ResultsFile) => Object.fromEntries(f.results.map((r) => [r.id, r]));
  const ab = mergeResults([{ file: "a.json", results: a }, { file: "b.json", results: b }]);
  const ba = mergeResults([{ file: "b.json", results: b }, { file: "a.json", results: a }]);
  assert.equal(byId(ab), byId(ba));
  assert.equal(ab.results.map((r) => [r.id, r.status, r.pushed]).sort(), [["sci/a", "built", true], ["sci/b", "reused", true]]);
  assert.is(byId(ab)["sci/a"].tags?.[0].digest, "sha256:b");
  // Equal in everything that ranks them: still the same pick in either order.
  const c: ResultsFile = { ...base, results: [{ ...b.results[0], durationMs: 9 }] };
  assert.equal(mergeResults([{ file: "b.json", results: b }, { file: "c.json", results: c }]).results[0],
    mergeResults([{ file: "c.json", results: c }, { file: "b.json", results: b }]).results[0]);
});

test("of two pushed results of a build, the one whose attestations were uploaded; the attestation is kept, and an old file without one still merges", () => {
  const base = { repo: "r", commit: "c", buildNumber: 1 };
  const d = (c: string) => `sha256:${c.repeat(64)}`;
  const uploaded = { status: "uploaded" as const, subject: d("a"), mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d("e"), size: 842 };
  const failed: ResultsFile = { ...base, results: [{ id: "sci/a", status: "built", durationMs: 5, pushed: true, attestation: { status: "failed", subject: d("a"), reason: "HTTP 500" } }] };
  const rerun: ResultsFile = { ...base, results: [{ id: "sci/a", status: "reused", durationMs: 1, pushed: true, attestation: uploaded }] };
  const old: ResultsFile = { ...base, results: [{ id: "sci/b", status: "built", durationMs: 1, pushed: true }] };
  for (const files of [[failed, rerun, old], [old, rerun, failed]]) {
    const merged = mergeResults(files.map((results, i) => ({ file: `${i}.json`, results })));
    assert.equal(merged.results.map((r) => [r.id, r.attestation]).sort(), [["sci/a", uploaded], ["sci/b", undefined]]);
  }
  assert.equal(parseResultsFile(JSON.stringify(rerun), "r.json").results[0].attestation, uploaded);
  assert.throws(() => parseResultsFile(JSON.stringify({ ...base, results: [{ ...rerun.results[0], attestation: { ...uploaded, digest: "md5:x" } }] }), "r.json"), /attestation\.digest/);
});

test("image indexes merge like builds: the pushed record of a layer's index, whatever the order of the files", () => {
  const base = { repo: "r", commit: "c", buildNumber: 1, results: [] };
  const index = (status: "pushed" | "not pushed") => ({
    id: "sci/a", platforms: { "linux/amd64": "sci/a@linux/amd64" }, status,
    tags: [{ tag: "r/sci/a:1.0-1-h", pushed: status === "pushed" }, { tag: "r/sci/a:1.0", pushed: status === "pushed" }],
  });
  const a: ResultsFile = { ...base, indexes: [index("not pushed")] };
  const b: ResultsFile = { ...base, indexes: [index("pushed")] };
  assert.equal(mergeResults([{ file: "a.json", results: a }, { file: "b.json", results: b }]).indexes, [index("pushed")]);
  assert.equal(mergeResults([{ file: "b.json", results: b }, { file: "a.json", results: a }]).indexes, [index("pushed")]);
  assert.is(mergeResults([{ file: "a.json", results: { ...base } }]).indexes, undefined, "no indexes, no field");
  assert.equal(parseResultsFile(JSON.stringify(b), "b.json").indexes, [index("pushed")]);
});

test("results files are checked entry by entry", () => {
  const file = (results: unknown[]) => JSON.stringify({ repo: "r", commit: "c", buildNumber: 1, results });
  const bad = (text: string, re: RegExp) => assert.throws(() => parseResultsFile(text, "r.json"), (e: Error) => e instanceof InputError && re.test(e.message));
  bad(file([null]), /^r\.json: results\[0\]: expected an object, got null$/);
  bad(file([{ status: "built", durationMs: 1, pushed: true }]), /^r\.json: results\[0\]\.id: required$/);
  bad(file([{ id: "sci/a", status: "built", durationMs: 1, pushed: true }, { id: "sci/b", status: "weird", durationMs: 1, pushed: false }]),
    /^r\.json: results\[1\]\.status: expected "built" or "reused" or "failed" or "skipped" or "cancelled", got "weird"$/);
  bad(file([{ id: "sci/a", status: "built", durationMs: 1, pushed: "yes" }]), /^r\.json: results\[0\]\.pushed: expected true or false, got string "yes"$/);
  bad(file([{ id: "sci/a", status: "built", durationMs: 1, pushed: true, tags: [{ tag: "t", pushed: true, digest: 7 }] }]),
    /^r\.json: results\[0\]\.tags\[0\]\.digest: expected a string, got number 7$/);
  bad(JSON.stringify({ repo: "r", commit: "c", results: [] }), /^r\.json: not an image-builder results file: buildNumber: required$/);
  bad("[]", /^r\.json: not an image-builder results file: expected an object, got an array$/);
  assert.is(parseResultsFile(file([{ id: "sci/a", status: "skipped", reason: "x", durationMs: 0, pushed: false }]), "r.json").results.length, 1);
});

test("fields a newer image-builder writes are kept, and merged", () => {
  const newer = { repo: "r", commit: "c", buildNumber: 1, producer: "image-builder 9", results: [
    { id: "sci/a", status: "reused", durationMs: 0, pushed: true, notMoved: "{version} is newer", tags: [{ tag: "t", pushed: false, registryDigest: `sha256:${"1".repeat(64)}` }] },
  ] };
  const read = parseResultsFile(JSON.stringify(newer), "new.json");
  assert.equal(read, newer);
  assert.equal(mergeResults([{ file: "new.json", results: read }]), newer);
});

test.run();
