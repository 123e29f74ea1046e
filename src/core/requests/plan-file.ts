// Reading a plan written by `image-builder plan --out`: checked against the plan's schema
// (core/formats/plan.ts), then what a schema can't say, so that `run` can trust its shape.
import { parseJsonFile } from "../parse/json-with-comments.js";
import { planSchema } from "../formats/plan.js";
import { validateFile } from "../formats/validate.js";
import { InputError, type Plan, type PlannedBuild } from "../model.js";
import { versionLabel } from "./inputs-digest.js";
import { requestTags } from "./build-requests.js";
import { parseBuildName } from "../execute/moving-tag.js";
import { withoutTrailingSlashes } from "../parse/repo-config.js";

/**
 * `readOnly`: the plan is only read (`report --plan`), never carried out: an earlier build's
 * missing commit (a plan made by an older image-builder) matters only to a run, whose provenance
 * would name it.
 */
export function parsePlanFile(text: string, file: string, options: { readOnly?: boolean } = {}): Plan {
  const value = parseJsonFile(text, file);
  upgradeOldNames(value);
  const plan = validateFile(planSchema, value, file, "an image-builder plan");
  const seen = new Set<string>();
  const under = `${withoutTrailingSlashes(plan.repo)}/`;
  plan.builds.forEach((b, i) => {
    const bad = (field: string, problem: string) => new InputError(`builds[${i}].${field}: ${problem}`, file);
    if (b.kind === "compat" && b.finalImages === undefined) throw bad("finalImages", "required for a compat build");
    if (seen.has(b.id)) throw bad("id", `${b.id} comes twice`);
    b.dependsOn.forEach((d, j) => {
      if (!seen.has(d)) throw bad(`dependsOn[${j}]`, `${d} does not come before ${b.id}`);
    });
    b.request.contexts.forEach((c, j) => {
      // Contexts are repository-relative; a plan must not make the executor read elsewhere.
      if (c.startsWith("/") || c.split("/").includes("..")) throw bad(`request.contexts[${j}]`, `${JSON.stringify(c)} is outside the repository`);
    });
    b.request.tags.forEach((t, j) => {
      // Pushed as written: a tag outside the plan's repo would land in another registry or project.
      if (!t.startsWith(under)) throw bad(`request.tags[${j}]`, `${t} is not under the plan's repo ${plan.repo}`);
    });
    checkNames(plan, b, bad, options.readOnly === true);
    seen.add(b.id);
  });
  checkWaves(plan, file);
  return plan;
}

/**
 * A build's tags are used by position (the moving tag first, the build tag last: tags.ts) and its
 * version label is its breadcrumb, so both must be the ones planning gives the build's own kind,
 * name, version and platform at the plan's commit: an edited plan that adds `latest`, names
 * another image's tag, or drops one would publish under the wrong names and say it succeeded.
 */
function checkNames(plan: Plan, b: PlannedBuild, bad: (field: string, problem: string) => InputError, readOnly: boolean): void {
  const label = versionLabel(b.kind, b.target);
  const value = b.request.labels[label];
  const own = b.kind === "science" ? `${b.version}-` : `${b.image}:${b.version}-`;
  const build = value?.startsWith(own) ? parseBuildName(value) : undefined;
  const suffix = build && `${build.buildNumber}-${build.hash}`;
  // --reconcile's earlier build (core/plan/earlier-builds.ts): a build of an earlier (or the same) number,
  // which the run only reuses: it is never built, so never published under a name of its own making.
  const named = build && value === `${own}${suffix}` && build.hash.length >= 4;
  const ours = named && build.buildNumber === plan.buildNumber && plan.commit.startsWith(build.hash);
  const earlier = named && b.earlierBuild === true && build.buildNumber <= plan.buildNumber;
  if (!ours && !earlier) {
    throw bad(`request.labels.${label}`, `${value === undefined ? "missing" : JSON.stringify(value)}: not ${own}${plan.buildNumber}-{the commit's short hash}, this build's at the plan's commit${b.earlierBuild ? `, nor an earlier build's` : ""}`);
  }
  // An earlier build's commit is the one its build name abbreviates (its provenance names it).
  if (b.commit !== undefined && (!earlier || ours || !b.commit.startsWith(build!.hash))) {
    throw bad("commit", `${b.commit}: not the commit of an earlier build ${value} (only an earlier build completed by --reconcile names its own)`);
  }
  if (earlier && !ours && b.commit === undefined && !readOnly) throw bad("commit", "missing: an earlier build completed by --reconcile names the commit it was made from (a plan made by an older image-builder, whose provenance named the checkout's commit: make the plan again with this one)");
  const name = `${withoutTrailingSlashes(plan.repo)}/${b.kind === "science" ? `sci/${b.target}` : `rel/${b.image}`}`;
  const expected = requestTags(name, b.version, { buildSuffix: suffix! }, b.request.platform);
  if (b.request.tags.length !== expected.length || b.request.tags.some((t, j) => t !== expected[j])) {
    throw bad("request.tags", `${JSON.stringify(b.request.tags)}: not this build's tags ${JSON.stringify(expected)} (its moving tag, then its build tag)`);
  }
}

/**
 * `waves` (what a Jenkins fan-out runs, `plan --waves`) name every build of the plan once, each
 * after the builds it depends on: a wave that names another id, or leaves a build out, would
 * build something else or nothing.
 */
function checkWaves(plan: Plan, file: string): void {
  const byId = new Map(plan.builds.map((b) => [b.id, b]));
  const waveOf = new Map<string, number>();
  plan.waves.forEach((wave, i) => wave.forEach((id, j) => {
    const bad = (problem: string) => new InputError(`waves[${i}][${j}]: ${problem}`, file);
    if (!byId.has(id)) throw bad(`${id} is not a build of the plan`);
    if (waveOf.has(id)) throw bad(`${id} comes twice`);
    waveOf.set(id, i);
  }));
  plan.builds.forEach((b, i) => {
    const wave = waveOf.get(b.id);
    if (wave === undefined) throw new InputError(`waves: builds[${i}] ${b.id} is in no wave`, file);
    const early = b.dependsOn.find((d) => waveOf.get(d)! >= wave);
    if (early !== undefined) throw new InputError(`waves[${wave}]: ${b.id} is not in a later wave than ${early}, which it depends on`, file);
  });
}

/**
 * Plan files written before the fields were renamed (`request.environment` -> `request.buildArgs`,
 * `finalImage` -> `finalImages`) still read (`report --plan`); `run` builds a request only when it
 * carries an inputs digest (core/requests/plan-inputs.ts).
 * (Their `request.command` is ignored: the command line is derived from the request now.)
 */
function upgradeOldNames(plan: unknown): void {
  const builds = (plan as { builds?: unknown } | null)?.builds;
  if (!Array.isArray(builds)) return;
  for (const b of builds) {
    if (!b || typeof b !== "object") continue;
    const old = b as { finalImage?: unknown; finalImages?: unknown; request?: { environment?: unknown; buildArgs?: unknown } };
    if (old.finalImages === undefined && old.finalImage !== undefined) {
      old.finalImages = old.finalImage;
      delete old.finalImage;
    }
    const r = old.request;
    if (r && typeof r === "object" && r.buildArgs === undefined && r.environment !== undefined) {
      r.buildArgs = r.environment;
      delete r.environment;
    }
  }
}
