// Issue 16, item 1: an image carries its request's inputs digest as a label, and reuse trusts that
// label, so the digest must describe what is sent to the engine. A plan is made on one checkout and
// run on another (`run plan.json --only ID` on each agent): before anything is built, the digest is
// computed again from what this run would send (the checkout's context files, the request's
// Dockerfile and build arguments, its parents' digests) and a request whose digest differs is
// refused, naming the files that differ.
import { listNames } from "../plan/list-names.js";
import { contextDigest, contextFingerprints, dockerfileForInputs, inputsDigest, inputsLabel, parentKey } from "./inputs-digest.js";
import type { ContextListings, Plan, PlannedBuild } from "../model.js";

/** Files named per request at most; the rest are counted. */
const MAX_FILES = 8;

/**
 * Why the request, as it stands, does not make the inputs digest it carries (and labels its image
 * with): a Dockerfile, build argument or parent digest changed in the plan file, or build
 * arguments given to the run that the request does not hold. Undefined when it does, and for
 * requests without an inputs label (from before inputs digests): they claim nothing.
 */
export function requestDigestProblem(build: PlannedBuild, repo: string, buildArgs = build.request.buildArgs): string | undefined {
  const r = build.request;
  if (r.inputsDigest === undefined || r.inputs === undefined) return undefined;
  const label = r.labels[inputsLabel(build.kind, build.target)];
  // Without the label the image claims no inputs (and is never reused): nothing to disagree with.
  if (label === undefined) return undefined;
  if (label !== r.inputsDigest) return `its inputs label (${label}) is not its inputs digest (${r.inputsDigest})`;
  const digest = inputsDigest(build.kind, dockerfileForInputs(build, repo), buildArgs, r.inputs, r.platform);
  if (digest !== r.inputsDigest) return `its Dockerfile, build arguments and parents make inputs ${digest}, not the ${r.inputsDigest} it carries`;
  return undefined;
}

/**
 * The requests of `selected` that `run` cannot check against the checkout, as `id: why`. A request
 * is checked through its inputs digest (issue 16, item 1); one without it, or whose label, digest
 * and parents don't hang together, would be built unchecked and its image labelled (or not) with
 * inputs nobody verified, so `run` builds none of them. `plan`: the whole plan as read, before
 * `--only` and `--build-arg` (its dependsOn names every parent it builds).
 */
export function unverifiableRequests(plan: Pick<Plan, "builds" | "repo">, selected: readonly PlannedBuild[] = plan.builds): string[] {
  const byId = new Map(plan.builds.map((b) => [b.id, b]));
  const problems: string[] = [];
  for (const b of selected) {
    const problem = unverifiableRequest(byId.get(b.id) ?? b, plan.repo, byId);
    if (problem) problems.push(`${b.id}: ${problem}`);
  }
  return problems;
}

function unverifiableRequest(build: PlannedBuild, repo: string, byId: ReadonlyMap<string, PlannedBuild>): string | undefined {
  const r = build.request;
  if (r.inputsDigest === undefined || r.inputs === undefined) {
    return "made by an older image-builder or edited: it has no inputs digest, so what it builds can't be checked against the checkout; make the plan again";
  }
  const label = r.labels[inputsLabel(build.kind, build.target)];
  const again = "; the plan was edited: make it again";
  if (label === undefined) return `its inputs label ${inputsLabel(build.kind, build.target)} is missing, so its image would claim no inputs${again}`;
  if (label !== r.inputsDigest) return `its inputs label (${label}) is not its inputs digest (${r.inputsDigest})${again}`;
  const missing = expectedParents(build, repo, byId).filter((ref) => r.inputs!.parents[ref] === undefined);
  if (missing.length > 0) return `its inputs name no digest of its parent${missing.length === 1 ? "" : "s"} ${listNames(missing, MAX_FILES)}${again}`;
  return undefined;
}

/**
 * The parents (`sci/{target}:{version}`) a request builds on, as the plan says it elsewhere: the
 * builds of the plan it depends on, the science images its Dockerfile's references were pointed
 * at, and a compat build's own science layer.
 */
function expectedParents(build: PlannedBuild, repo: string, byId: ReadonlyMap<string, PlannedBuild>): string[] {
  const parents = new Set<string>();
  for (const id of build.dependsOn) {
    const parent = byId.get(id);
    if (parent?.kind === "science") parents.add(`sci/${parent.target}:${parent.version}`);
  }
  const prefix = `${repo}/sci/`;
  for (const to of Object.values(build.request.imageRewrites)) if (to.startsWith(prefix)) parents.add(`sci/${to.slice(prefix.length)}`);
  if (build.kind === "compat") parents.add(`sci/${build.target}:${build.version}`);
  return [...parents].sort();
}

/**
 * The files of `dirs` that differ between the plan's listings and the checkout's, as
 * `dir/name changed|added|removed`; undefined when the plan lists none for a directory (a plan
 * from before listings).
 */
export function changedFiles(dirs: readonly string[], planned: Plan["contextListings"], checkout: ContextListings): string[] | undefined {
  const changed: string[] = [];
  for (const dir of dirs) {
    const before = planned?.[dir];
    if (before === undefined) return undefined;
    const now = contextFingerprints(checkout.get(dir) ?? []);
    for (const [name, print] of Object.entries(now)) {
      if (before[name] === undefined) changed.push(`${dir}/${name} added`);
      else if (before[name] !== print) changed.push(`${dir}/${name} changed`);
    }
    for (const name of Object.keys(before)) if (now[name] === undefined) changed.push(`${dir}/${name} removed`);
  }
  return changed.sort();
}

/**
 * Per build of `plan` (the builds a run carries out), why its image would not be what its inputs
 * label says: one phrase each, `sci/a: science/a/Dockerfile changed`. `checkout`: the listings of
 * every directory the builds send, read from the checkout. Empty when everything matches.
 */
export function checkoutMismatches(plan: Plan, checkout: ContextListings): string[] {
  const problems: string[] = [];
  const planned = new Map(plan.builds.filter((b) => b.kind === "science").map((b) => [parentKey(`sci/${b.target}:${b.version}`, b.request.platform), b.request.inputsDigest]));
  for (const b of plan.builds) {
    const r = b.request;
    if (r.inputsDigest === undefined || r.inputs === undefined) continue;
    const request = requestDigestProblem(b, plan.repo);
    if (request) {
      problems.push(`${b.id}: ${request}`);
      continue;
    }
    const key = (ref: string) => parentKey(ref, r.platform);
    const parent = Object.entries(r.inputs.parents).find(([ref, digest]) => planned.has(key(ref)) && planned.get(key(ref)) !== digest);
    if (parent) {
      problems.push(`${b.id}: it expects ${key(parent[0])} with inputs ${parent[1]}, but the plan builds it with ${planned.get(key(parent[0]))}`);
      continue;
    }
    if (contextDigest(r.contexts, checkout) === r.inputs.context) continue;
    const files = changedFiles(r.contexts, plan.contextListings, checkout);
    if (files === undefined || files.length === 0) {
      // An older plan without listings (or a difference the short fingerprints can't show).
      problems.push(`${b.id}: the files of ${r.contexts.join(", ")} differ from the plan's`);
    } else {
      problems.push(`${b.id}: ${listNames(files, MAX_FILES)}`);
    }
  }
  return problems;
}
