import { test } from "uvu";
import * as assert from "uvu/assert";
import { Writable } from "node:stream";
import { generateKeyPairSync } from "node:crypto";
import { parseSigningKey } from "../../../../src/core/signatures/keys.js";
import type { PlannedBuild } from "../../../../src/core/model.js";
import { RunReport } from "../../../../src/executors/docker/run-report.js";
import { DockerCredentials } from "../../../../src/registry/credentials.js";

const build = (id: string): PlannedBuild => ({
  id, kind: "science", image: `r.example/t/sci/${id}`, version: "1.0", target: id, source: `sci/${id}`, reasons: [], dependsOn: [],
  request: { tags: [`r.example/t/sci/${id}:1.0`, `r.example/t/sci/${id}:1.0-1-abc`], contexts: [`sci/${id}`] } as PlannedBuild["request"],
});

async function report(secrets?: ReadonlyMap<string, Buffer>) {
  let text = "";
  const out = new Writable({ write: (chunk, _enc, done) => ((text += String(chunk)), done()) });
  const r = new RunReport({ out, progress: "plain", secrets }, await DockerCredentials.load("/nonexistent-docker-config", {}));
  return { r, text: () => text };
}

test("outcomes in plan order, with the summary and footer", async () => {
  const { r, text } = await report();
  const [a, b, c] = [build("a"), build("b"), build("c")];
  r.started(a);
  r.image(a, { imageId: "sha256:aaa", created: "2026-01-01T00:00:00Z" }, 1500);
  r.started(b);
  r.failed("b", new Error("RUN false: exit 1"), 200);
  r.settled("c", "skipped", "parent b failed");
  const run = r.finish([a, b, c], false, false, () => undefined);
  await r.close();
  assert.equal(run.outcomes.map((o) => [o.id, o.status, o.reason]), [["a", "built", undefined], ["b", "failed", "RUN false: exit 1"], ["c", "skipped", "parent b failed"]]);
  assert.is(run.ok, false);
  assert.equal(run.outcomes[0].outputs?.["docker-image-hash"], "sha256:aaa");
  assert.match(text(), "[c] skipped: parent b failed");
  assert.match(text(), "FAILED after");
  assert.match(text(), "1 built, 1 failed, 1 skipped");
});

test("pushes: tags and digests recorded, a reused build the registry has is already published", async () => {
  const { r, text } = await report();
  const [a, b] = [build("a"), build("b")];
  r.image(a, { imageId: "sha256:aaa", created: "t" }, 10);
  r.pushing("a", [{ tag: a.request.tags[1], pushed: false }, { tag: a.request.tags[0], pushed: false }]);
  r.digests("a", [{ tag: a.request.tags[1], pushed: true, digest: "sha256:d1" }]);
  r.pushed("a", 2);
  r.image(b, { imageId: "sha256:bbb", created: "t" }, 10, b.request.tags[1]);
  const held = [{ tag: b.request.tags[1], pushed: true, digest: "sha256:d2" }, { tag: b.request.tags[0], pushed: true, digest: "sha256:d2" }];
  r.pushing("b", held);
  r.digests("b", held);
  r.alreadyPublished("b");
  const run = r.finish([a, b], true, false, () => "pushed");
  await r.close();
  assert.is(run.ok, true);
  assert.equal(run.outcomes[0].outputs?.["docker-image-digests"], { [a.request.tags[1]]: "sha256:d1" });
  assert.equal(run.outcomes[1].status, "reused");
  assert.equal(run.outcomes[1].tags?.map((t) => t.digest), ["sha256:d2", "sha256:d2"]);
  assert.match(text(), "already in the registry");
});

test("--secret values never reach a failure's reason", async () => {
  const { r } = await report(new Map([["token", Buffer.from("s3cret-value\n")]]));
  const a = build("a");
  r.failed("a", new Error("curl -H s3cret-value failed"), 1);
  const run = r.finish([a], false, false, () => undefined);
  await r.close();
  assert.not.match(run.outcomes[0].reason ?? "", "s3cret-value");
});

test("a multi-line --secret: none of its lines in the output, the log tail or a failure's reason, even split across output chunks", async () => {
  const pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\nAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n";
  const { r, text } = await report(new Map([["key", Buffer.from(pem)]]));
  const a = build("a");
  r.started(a);
  // `cat /run/secrets/key` as the engine streams it: lines cut anywhere
  r.progress.output("a", "#5 -----BEGIN OPENSSH PRI");
  r.progress.output("a", "VATE KEY-----\n#5 b3BlbnNzaC1rZXktdjEAAA");
  r.progress.output("a", "AABG5vbmU\n#5 AAAAAAABAAAAMwAAAAtzc2gtZW\n#5 -----END OPENSSH PRIVATE KEY-----\n");
  r.failed("a", new Error(`step failed: ${pem}`), 1);
  const run = r.finish([a], false, false, () => undefined);
  await r.close();
  const recorded = [text(), JSON.stringify(run.outcomes)].join("\n");
  for (const line of pem.trim().split("\n")) assert.not.ok(recorded.includes(line), `${line} is shown`);
  assert.match(text(), "[a] #5 ***\n[a] #5 ***\n");
});

test("the --sign-key key is masked like a secret: none of its lines in the output or a failure's reason", async () => {
  const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const pem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const signKey = parseSigningKey(pem, "--sign-key k.pem");
  let text = "";
  const out = new Writable({ write: (chunk, _enc, done) => ((text += String(chunk)), done()) });
  const r = new RunReport({ out, progress: "plain", signKey }, await DockerCredentials.load("/nonexistent-docker-config", {}));
  const a = build("a");
  r.started(a);
  r.progress.output("a", `${pem}\n`);
  r.failed("a", new Error(`signing failed: ${pem}`), 1);
  const run = r.finish([a], false, false, () => undefined);
  await r.close();
  const recorded = [text, JSON.stringify(run.outcomes)].join("\n");
  for (const line of pem.trim().split("\n").filter((l) => !l.startsWith("-----"))) assert.not.ok(recorded.includes(line), `${line} is shown`);
});

test("an interrupted run did not succeed, and says so", async () => {
  const { r, text } = await report();
  const a = build("a");
  r.cancelled("a", "interrupted", 5);
  const run = r.finish([a], false, true, () => undefined);
  await r.close();
  assert.equal([run.ok, run.interrupted, run.outcomes[0].status], [false, true, "cancelled"]);
  assert.match(text(), "Interrupted:");
});

test.run();
