// `run PLAN` on a checkout (issue 16, item 1): a request is built only when what would be sent
// makes the inputs digest its image is labelled with; otherwise the files that differ are named.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { withBuildArgs } from "../../../../src/core/requests/inputs-digest.js";
import { changedFiles, checkoutMismatches, requestDigestProblem, unverifiableRequests } from "../../../../src/core/requests/plan-inputs.js";
import type { ContextFile } from "../../../../src/core/model.js";
import { CONTEXTS, file, plan } from "../../../helpers/inputs-fixture.js";

/** The checkout's listings: the plan's, with `dir` changed. */
function checkout(dir: string, listing: ContextFile[]): Map<string, ContextFile[]> {
  return new Map([...CONTEXTS, [dir, listing]]);
}

test("the plan lists each context directory once, by entry, with a short fingerprint", () => {
  const listings = plan().contextListings!;
  assert.equal(Object.keys(listings), ["compat/base", "compat/top", "science/a", "science/b"]);
  assert.equal(Object.keys(listings["science/a"]), ["Dockerfile", "data.txt"]);
  for (const print of Object.values(listings["science/a"])) assert.match(print, /^[0-9a-f]{16}$/);
});

test("an unchanged checkout matches; a changed, added or removed file is named, for every build that sends it", () => {
  const p = plan();
  assert.equal(checkoutMismatches(p, CONTEXTS), []);
  assert.equal(checkoutMismatches(p, checkout("science/a", [file("Dockerfile", "1"), file("data.txt", "tampered")])),
    ["sci/a: science/a/data.txt changed"]);
  assert.equal(checkoutMismatches(p, checkout("compat/base", [...CONTEXTS.get("compat/base")!, file("new.txt", "9")])),
    ["rel/a:1.0: compat/base/new.txt added", "rel/b:1.0: compat/base/new.txt added"]);
  assert.equal(checkoutMismatches(p, checkout("science/a", [file("Dockerfile", "1")])), ["sci/a: science/a/data.txt removed"]);
  // A mode is part of what is sent.
  assert.equal(checkoutMismatches(p, checkout("science/b", [file("Dockerfile", "3", 0o755)])), ["sci/b: science/b/Dockerfile changed"]);
});

test("a plan without listings (older) still refuses, naming the directories", () => {
  const p = { ...plan(), contextListings: undefined };
  assert.equal(checkoutMismatches(p, checkout("science/b", [file("Dockerfile", "x")])), ["sci/b: the files of science/b differ from the plan's"]);
  assert.is(changedFiles(["science/b"], undefined, CONTEXTS), undefined);
});

test("a request edited in the plan file, or built with other arguments than it holds, does not make its digest", () => {
  const p = plan();
  const a = p.builds[0];
  assert.is(requestDigestProblem(a, p.repo), undefined);
  const edited = { ...a, request: { ...a.request, dockerfile: "FROM busybox:stable\nRUN evil\n" } };
  assert.match(requestDigestProblem(edited, p.repo)!, /^its Dockerfile, build arguments and parents make inputs sha256:\w+, not the sha256:\w+ it carries$/);
  assert.match(requestDigestProblem(a, p.repo, { EXTRA: "1" })!, /make inputs/);
  const relabelled = { ...a, request: { ...a.request, labels: { ...a.request.labels, "org.sciserver.science.a.inputs": "sha256:0" } } };
  assert.match(requestDigestProblem(relabelled, p.repo)!, /^its inputs label \(sha256:0\) is not its inputs digest/);
  assert.equal(checkoutMismatches({ ...p, builds: [edited] }, CONTEXTS), [`sci/a: ${requestDigestProblem(edited, p.repo)}`]);
  // `run --build-arg`: the requests are recomputed with the arguments, and match again.
  const withArgs = withBuildArgs(p, { EXTRA: "1" });
  assert.equal(checkoutMismatches(withArgs, CONTEXTS), []);
  assert.is(requestDigestProblem(withArgs.builds[0], p.repo, { EXTRA: "1" }), undefined);
  // A request without an inputs label claims nothing about its image.
  const { ["org.sciserver.science.a.inputs"]: _, ...unlabelled } = a.request.labels;
  assert.is(requestDigestProblem({ ...a, request: { ...a.request, labels: unlabelled, dockerfile: "FROM x\n" } }, p.repo), undefined);
});

test("a child that expects another digest of a parent the plan builds is refused", () => {
  const p = plan();
  const b = p.builds.find((x) => x.id === "sci/b")!;
  const a = p.builds.find((x) => x.id === "sci/a")!;
  const moved = { ...p, builds: p.builds.map((x) => (x === a ? { ...a, request: { ...a.request, inputsDigest: "sha256:other" } } : x)) };
  // sci/a's own label now disagrees too; sci/b names the parent.
  assert.ok(checkoutMismatches(moved, CONTEXTS).includes(`sci/b: it expects sci/a:1.0 with inputs ${b.request.inputs!.parents["sci/a:1.0"]}, but the plan builds it with sha256:other`));
});

test("a plan of two platforms matches its checkout: each request is checked against its own platform's parents", () => {
  const p = plan({ platforms: ["linux/amd64", "linux/arm64"] });
  assert.equal(checkoutMismatches(p, CONTEXTS), []);
  const arm = p.builds.find((b) => b.id.endsWith("@linux/arm64") && b.kind === "science" && Object.keys(b.request.inputs!.parents).length > 0)!;
  assert.is(requestDigestProblem(arm, p.repo), undefined);
  // The platform is part of what the digest is made of: a request moved to another platform is caught.
  assert.match(requestDigestProblem({ ...arm, request: { ...arm.request, platform: "linux/amd64" } }, p.repo) ?? "", /make inputs sha256:/);
});

test("run builds no request it can't check: without an inputs digest, with a missing or other inputs label, or without its parents' digests", () => {
  const p = plan();
  assert.equal(unverifiableRequests(p), []);
  const edit = (id: string, change: (r: any) => void) => ({
    ...p, builds: p.builds.map((b) => (b.id === id ? { ...b, request: (() => { const r = structuredClone(b.request); change(r); return r; })() } : b)),
  });
  // A plan from before inputs digests, or one stripped of them: every selected request is named.
  const stripped = { ...p, builds: p.builds.map((b) => ({ ...b, request: { ...b.request, inputsDigest: undefined, inputs: undefined } })) };
  const old = "made by an older image-builder or edited: it has no inputs digest, so what it builds can't be checked against the checkout; make the plan again";
  assert.equal(unverifiableRequests(stripped, stripped.builds.filter((b) => b.id === "sci/a")), [`sci/a: ${old}`]);
  assert.equal(unverifiableRequests(stripped).length, p.builds.length);
  assert.equal(unverifiableRequests(edit("sci/a", (r) => delete r.inputs)), [`sci/a: ${old}`]);
  assert.equal(unverifiableRequests(edit("sci/a", (r) => delete r.labels["org.sciserver.science.a.inputs"])),
    ["sci/a: its inputs label org.sciserver.science.a.inputs is missing, so its image would claim no inputs; the plan was edited: make it again"]);
  assert.match(unverifiableRequests(edit("sci/a", (r) => (r.labels["org.sciserver.science.a.inputs"] = `sha256:${"0".repeat(64)}`))).join(),
    /^sci\/a: its inputs label \(sha256:0{64}\) is not its inputs digest \(sha256:\w+\); the plan was edited: make it again$/);
  // A child whose inputs leave out its parent (sci/b is FROM sci/a; rel/a:1.0 is sci/a plus compat).
  assert.equal(unverifiableRequests(edit("sci/b", (r) => (r.inputs.parents = {}))),
    ["sci/b: its inputs name no digest of its parent sci/a:1.0; the plan was edited: make it again"]);
  assert.equal(unverifiableRequests(edit("rel/a:1.0", (r) => (r.inputs.parents = {}))),
    ["rel/a:1.0: its inputs name no digest of its parent sci/a:1.0; the plan was edited: make it again"]);
  // --only a child: its parent outside the selection still counts (the whole plan says it has one).
  const child = edit("sci/b", (r) => (r.inputs.parents = {}));
  assert.equal(unverifiableRequests(child, [{ ...child.builds.find((b) => b.id === "sci/b")!, dependsOn: [] }]).length, 1);
});

test.run();
