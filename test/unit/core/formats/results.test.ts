// The results file's formats: digests and date-times are what they say, each wrong one named.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { resultsFileSchema } from "../../../../src/core/formats/results.js";
import { validateFile } from "../../../../src/core/formats/validate.js";
import { InputError } from "../../../../src/core/model.js";

const DIGEST = `sha256:${"d".repeat(64)}`;
const RESULTS = {
  repo: "r.example/x", commit: "c", buildNumber: 1,
  results: [{
    id: "sci/a", status: "built", durationMs: 5, pushed: true,
    startedAt: "2026-12-03T09:00:00.000Z", finishedAt: "2026-12-03T09:00:05+01:00", pushStartedAt: "2026-12-03T09:00:05Z", pushFinishedAt: "2026-12-03T09:00:06.5Z",
    tags: [{ tag: "r.example/x/sci/a:1.0-1-abc", pushed: true, digest: DIGEST }, { tag: "r.example/x/sci/a:1.0", pushed: false, registryDigest: DIGEST, reason: "not moved" }],
    outputs: { "docker-image-hash": DIGEST, "docker-image-repo-tag": ["r.example/x/sci/a:1.0"], "docker-image-timestamp": "t", "docker-image-digests": { "r.example/x/sci/a:1.0": DIGEST } },
  }],
};

test("results with the formats they imply read as written; each wrong field is named", () => {
  assert.is(validateFile(resultsFileSchema, RESULTS, "r.json", "results"), RESULTS);
  const bad = (change: (r: any) => void, message: string) => {
    const r: any = structuredClone(RESULTS);
    change(r);
    assert.throws(() => validateFile(resultsFileSchema, r, "r.json", "results"), (e: Error) => e instanceof InputError && e.message === message, message);
  };
  const time = "expected an ISO 8601 date-time such as 2026-12-03T09:00:00Z";
  bad((r) => (r.results[0].startedAt = "yesterday"), `r.json: results[0].startedAt: ${time}, got "yesterday"`);
  bad((r) => (r.results[0].finishedAt = "2026-12-03 09:00:05"), `r.json: results[0].finishedAt: ${time}, got "2026-12-03 09:00:05"`);
  bad((r) => (r.results[0].pushStartedAt = "2026-12-03T09:00:05"), `r.json: results[0].pushStartedAt: ${time}, got "2026-12-03T09:00:05"`);
  bad((r) => (r.results[0].pushFinishedAt = "2026-13-03T09:00:05Z"), `r.json: results[0].pushFinishedAt: ${time}, got "2026-13-03T09:00:05Z"`);
  const digest = "expected a digest (sha256: and 64 lowercase hex digits)";
  bad((r) => (r.results[0].tags[0].digest = "md5:abc"), `r.json: results[0].tags[0].digest: ${digest}, got "md5:abc"`);
  bad((r) => (r.results[0].tags[1].registryDigest = "sha256:1"), `r.json: results[0].tags[1].registryDigest: ${digest}, got "sha256:1"`);
  bad((r) => (r.results[0].outputs["docker-image-digests"]["r.example/x/sci/a:1.0"] = "x"), `r.json: results[0].outputs["docker-image-digests"]["r.example/x/sci/a:1.0"]: ${digest}, got "x"`);
  bad((r) => (r.results[0].id = "../../x"), 'r.json: results[0].id: expected a build id such as sci/{target} or rel/{image}:{version} (no "." or ".." parts, no leading "/"), got "../../x"');
});

test("results written before the times were recorded still read", () => {
  const { startedAt: _s, finishedAt: _f, pushStartedAt: _ps, pushFinishedAt: _pf, ...older } = RESULTS.results[0];
  const file = { ...RESULTS, results: [older] };
  assert.is(validateFile(resultsFileSchema, file, "r.json", "results"), file);
});

test.run();
