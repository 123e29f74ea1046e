// Which of this repository's science images a plan builds on without building them itself
// (unchanged parents, the final layer of a compat-only build, a layer a compat fragment copies from). The executor pulls them first, so
// a long-lived agent builds on the registry's image, not on whatever it has cached under the tag.
import { baseReference } from "../requests/tags.js";
import { parseDockerfile } from "../parse/dockerfile/index.js";
import { namesDockerHub, sciReference } from "../parse/image-reference.js";
import { platformArgs } from "../parse/platforms.js";
import { withoutTrailingSlashes } from "../parse/repo-config.js";
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

/**
 * The references to `sci/…` images without a registry that a plan's builds would build on, as
 * `id: sci/a:2.0 (line 1)`. `sci/` is the repository's own namespace: a reference that names none
 * of its layers (a typo, a deleted parent) and no registry would be pulled from Docker Hub's
 * `sci/`, which anyone can publish to; planning warns of it, a run refuses it before building.
 * The plan's own references (pointed at its repo, which may be on Docker Hub) are not such.
 */
export function dockerHubScienceBases(plan: Pick<Plan, "builds" | "repo">): string[] {
  const own = `${withoutTrailingSlashes(plan.repo)}/`;
  const found: string[] = [];
  for (const b of plan.builds) {
    let refs;
    try {
      refs = parseDockerfile(b.request.dockerfile, { ...b.request.buildArgs, ...platformArgs(b.request.platform) }).imageRefs;
    } catch {
      continue; // the build reports its own Dockerfile's error
    }
    // A compat build's Dockerfile is generated from its fragments: its line numbers are its own.
    const where = b.kind === "compat" ? "of its generated Dockerfile" : `of ${b.request.contexts[0]}/Dockerfile`;
    for (const ref of refs) {
      const sci = sciReference(ref.image);
      // A digest names one exact image: nobody can publish another under it.
      if (ref.image.startsWith(own) || !sci || sci.digest !== undefined || !namesDockerHub(ref.image)) continue;
      found.push(`${b.id}: ${ref.image} (line ${ref.line} ${where})`);
    }
  }
  return found;
}
