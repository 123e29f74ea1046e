// Rule 2: a science layer depends on another when any FROM or COPY --from of any stage names an
// image whose last path component is the other's `{target}:{version}`, whatever registry prefix
// is spelled (the original tool's rule).
import { lastPathComponent, parseDockerfile, type ParsedDockerfile } from "./dockerfile.js";
import { InputError, type ScienceLayer } from "./types.js";

export interface LayerDependencies {
  /** Targets this layer builds on, in order of first reference. */
  parents: string[];
  /** Image references as resolved from the Dockerfile -> the parent's `{target}:{version}`. */
  refs: Record<string, string>;
}

/** Keyed by target. Linear in the total size of the Dockerfiles. */
export function determineDependencies(
  layers: ScienceLayer[],
  buildArgs: Record<string, string> = {},
): Map<string, LayerDependencies> {
  const byTag = new Map<string, ScienceLayer>();
  for (const l of layers) byTag.set(`${l.target}:${l.version}`, l);

  const deps = new Map<string, LayerDependencies>();
  for (const layer of layers) {
    const parsed = parseDockerfileOf(layer.dockerfile, `${layer.path}/Dockerfile`, buildArgs);
    if (parsed.stages.length === 0) throw new InputError("no FROM instruction", `${layer.path}/Dockerfile`);
    const parents: string[] = [];
    const refs: Record<string, string> = {};
    for (const ref of parsed.imageRefs) {
      const tag = lastPathComponent(ref.image);
      const parent = byTag.get(tag);
      if (!parent) continue;
      refs[ref.image] = tag;
      if (!parents.includes(parent.target)) parents.push(parent.target);
    }
    deps.set(layer.target, { parents, refs });
  }
  return deps;
}

/** The parser's syntax errors ("line 3: ...") become input errors naming the file. */
export function parseDockerfileOf(text: string, file: string, buildArgs: Record<string, string> = {}): ParsedDockerfile {
  try {
    return parseDockerfile(text, buildArgs);
  } catch (e) {
    throw new InputError((e as Error).message.replace(/^Dockerfile /, ""), file);
  }
}
