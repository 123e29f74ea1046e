// Which of this repository's science images a plan builds on without building them itself
// (unchanged parents, the final layer of a compat-only build, a layer a compat fragment copies from). The executor pulls them first, so
// a long-lived agent builds on the registry's image, not on whatever it has cached under the tag.
import { baseReference } from "../requests/tags.js";
import type { Plan } from "../model.js";

export function basesNotBuilt(plan: Plan): string[] {
  // A platform's build has tags of its own; its children name it by the reference without them.
  const built = new Set(plan.builds.flatMap((b) => [...b.request.tags, baseReference(b.request)]));
  const bases = new Set<string>();
  for (const b of plan.builds) for (const ref of imagesNamed(plan, b)) if (!built.has(ref)) bases.add(ref);
  return [...bases];
}

/** This repository's images a build names (its Dockerfile's rewritten references; a compat build, its final science layer). */
export function imagesNamed(plan: Pick<Plan, "repo">, b: Plan["builds"][number]): string[] {
  const named = Object.values(b.request.imageRewrites);
  if (b.kind === "compat") named.push(`${plan.repo}/sci/${b.target}:${b.version}`);
  return named;
}
