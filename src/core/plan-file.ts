// Reading a plan written by `image-builder plan --out`: enough checks that `run` can trust it.
import { InputError, type Plan } from "./types.js";

export function parsePlanFile(text: string, file: string): Plan {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InputError(`invalid JSON: ${(e as Error).message}`, file);
  }
  const plan = value as Plan;
  const bad = (what: string) => new InputError(`not an image-builder plan: ${what}`, file);
  if (!plan || typeof plan !== "object") throw bad("expected an object");
  if (typeof plan.repo !== "string" || typeof plan.commit !== "string" || typeof plan.buildNumber !== "number") {
    throw bad("expected repo, commit and buildNumber");
  }
  if (!Array.isArray(plan.builds)) throw bad("expected builds");
  const seen = new Set<string>();
  for (const b of plan.builds) {
    if (!b || typeof b.id !== "string" || !Array.isArray(b.dependsOn) || !b.request || !Array.isArray(b.request.tags)
      || typeof b.request.dockerfile !== "string" || !Array.isArray(b.request.contexts)) {
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
