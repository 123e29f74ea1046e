// Which of this repository's science images a plan builds on without building them itself
// (unchanged parents, the final layer of a compat-only build, a layer a compat fragment copies from). The executor pulls them first, so
// a long-lived agent builds on the registry's image, not on whatever it has cached under the tag.
import { baseReference } from "../requests/tags.js";
import type { Plan } from "../model.js";

export function basesNotBuilt(plan: Plan): string[] {
  // A platform's build has tags of its own; its children name it by the reference without them.
  const built = new Set(plan.builds.flatMap((b) => [...b.request.tags, baseReference(b.request)]));
  const bases = new Set<string>();
  for (const b of plan.builds) {
    const named = Object.values(b.request.imageRewrites);
    if (b.kind === "compat") named.push(`${plan.repo}/sci/${b.target}:${b.version}`);
    for (const ref of named) if (!built.has(ref)) bases.add(ref);
  }
  return [...bases];
}
