// Reading a plan written by `image-builder plan --out`: checked against the plan's schema
// (core/formats/plan.ts), then what a schema can't say, so that `run` can trust its shape.
import { parseJsonFile } from "../parse/json-with-comments.js";
import { planSchema } from "../formats/plan.js";
import { validateFile } from "../formats/validate.js";
import { InputError, type Plan } from "../model.js";

export function parsePlanFile(text: string, file: string): Plan {
  const value = parseJsonFile(text, file);
  upgradeOldNames(value);
  const plan = validateFile(planSchema, value, file, "an image-builder plan");
  const seen = new Set<string>();
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
    seen.add(b.id);
  });
  return plan;
}

/**
 * Plan files written before the fields were renamed (`request.environment` -> `request.buildArgs`,
 * `finalImage` -> `finalImages`) still read: a plan made by an older image-builder runs unchanged.
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
