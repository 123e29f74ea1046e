// Reading a plan written by `image-builder plan --out`: enough checks that `run` can trust it.
import { parseJsonFile } from "../parse/json-with-comments.js";
import { InputError, type Plan } from "../model.js";

export function parsePlanFile(text: string, file: string): Plan {
  const value = parseJsonFile(text, file);
  const plan = value as Plan;
  const bad = (what: string) => new InputError(`not an image-builder plan: ${what}`, file);
  if (!plan || typeof plan !== "object") throw bad("expected an object");
  if (typeof plan.repo !== "string" || typeof plan.commit !== "string" || typeof plan.buildNumber !== "number") {
    throw bad("expected repo, commit and buildNumber");
  }
  if (!Array.isArray(plan.builds)) throw bad("expected builds");
  const seen = new Set<string>();
  for (const b of plan.builds) {
    upgradeOldNames(b);
    const strings = (v: unknown, min: number) => Array.isArray(v) && v.length >= min && v.every((x) => typeof x === "string");
    if (!b || typeof b.id !== "string" || (b.kind !== "science" && b.kind !== "compat") || !strings(b.dependsOn, 0)
      || !strings(b.reasons, 0) || !b.request || !strings(b.request.tags, 1) || typeof b.request.dockerfile !== "string"
      || !strings(b.request.contexts, 1) || typeof b.request.labels !== "object" || typeof b.request.buildArgs !== "object"
      || (b.kind === "compat" && !strings(b.finalImages, 2))) {
      throw bad(`malformed build ${JSON.stringify(b?.id ?? null)}`);
    }
    for (const d of b.dependsOn) {
      if (!seen.has(d)) throw bad(`build ${b.id} depends on ${d}, which does not come before it`);
    }
    for (const c of b.request.contexts) {
      // Contexts are repository-relative; a plan must not make the executor read elsewhere.
      if (typeof c !== "string" || c.startsWith("/") || c.split("/").includes("..")) throw bad(`build ${b.id} has context ${JSON.stringify(c)} outside the repository`);
    }
    seen.add(b.id);
  }
  return plan;
}

/**
 * Plan files written before the fields were renamed (`request.environment` -> `request.buildArgs`,
 * `finalImage` -> `finalImages`) still read: a plan made by an older image-builder runs unchanged.
 */
function upgradeOldNames(b: unknown): void {
  if (!b || typeof b !== "object") return;
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
