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

test("results files are checked entry by entry", () => {
  const file = (results: unknown[]) => JSON.stringify({ repo: "r", commit: "c", buildNumber: 1, results });
  const bad = (text: string, re: RegExp) => assert.throws(() => parseResultsFile(text, "r.json"), (e: Error) => e instanceof InputError && re.test(e.message));
  bad(file([null]), /^r\.json: results\[0\]: not an object$/);
  bad(file([{ status: "built", pushed: true }]), /^r\.json: results\[0\]: no build id$/);
  bad(file([{ id: "sci/a", status: "built", pushed: true }, { id: "sci/b", status: "weird", pushed: false }]), /^r\.json: results\[1\]: sci\/b: unknown status "weird"/);
  bad(JSON.stringify({ repo: "r", commit: "c", results: [] }), /^r\.json: not an image-builder results file/);
  assert.is(parseResultsFile(file([{ id: "sci/a", status: "skipped", reason: "x", durationMs: 0, pushed: false }]), "r.json").results.length, 1);
});

test.run();
