// Rule 2: a science layer depends on another when any FROM or COPY --from of any stage names the
// other, and a compat fragment's COPY --from does the same for compat builds. A reference names a
// science layer only by its path: `sci/{target}` with tag `{version}`, whatever registry prefix
// is spelled (or none). One that looks like it (`…/sci/x:v`) but names no layer, or pins a digest,
// is used as written: a warning says so, since it is then pulled from wherever it points.
import { closestMatch } from "leven";
import { parseDockerfile, parseDockerfileFragment, type ImageRef, type ParsedDockerfile } from "../parse/dockerfile/index.js";
import { namesDockerHub, sciReference } from "../parse/image-reference.js";
import { buildPlatformArgs, ENGINE_PLATFORMS, platformArgs } from "../parse/platforms.js";
import { InputError, type CompatLayer, type ScienceLayer } from "../model.js";
import { checkReservedLabels } from "./reserved-labels.js";

/** Any platform: what matters is whether a reference reads the same with a platform's args as without. */
const PROBE_PLATFORM = "linux/probe/probe";

export interface LayerDependencies {
  /** Targets this layer builds on (or, for a compat layer, copies from), in order of first reference. */
  parents: string[];
  /** Image references as resolved from the Dockerfile -> the parent's `{target}:{version}`. */
  refs: Record<string, string>;
  /**
   * References that name a layer only once the platform args are set (`sci/base-${TARGETARCH}:1.0`),
   * left to each platform's analysis: a layer built for no named platform can't have any (its
   * engine sets those args to its own platform, which the plan does not know).
   */
  platformDependent?: { image: string; line: number; platform: string; layer: string }[];
}

export interface Dependencies {
  /** Keyed by science target. */
  science: Map<string, LayerDependencies>;
  /** Keyed by compat directory: the science layers its fragment copies from. */
  compat: Map<string, LayerDependencies>;
  /** References that look like science layers but are used as written, one line each. */
  warnings: string[];
}

/** Linear in the total size of the Dockerfiles (a reference that names no layer also costs a search for the closest one). */
export function determineDependencies(
  layers: ScienceLayer[],
  buildArgs: Record<string, string> = {},
  compat: CompatLayer[] = [],
): Dependencies {
  const resolve = scienceLayerResolver(layers);
  const platformGiven = Object.hasOwn(buildArgs, "TARGETPLATFORM") || Object.hasOwn(buildArgs, "TARGETARCH");
  // The references a Dockerfile makes whatever the platform: those read the same with a platform's
  // args (parsed again only for a file with a look-alike reference, and only once).
  const probe = (text: string, parse: typeof parseDockerfile) => {
    let same: ReadonlySet<string> | undefined;
    const readWith = new Map<string, ImageRef[]>();
    return {
      same: () => (same ??= new Set(parse(text, { ...buildArgs, ...platformArgs(PROBE_PLATFORM) }).imageRefs.map((r) => r.image))),
      /** `ref` (of `all`, the file's references) read with `args` added (`key` names them): the n-th reference of its line and kind. */
      at: (key: string, args: Record<string, string>, ref: ImageRef, all: readonly ImageRef[]) => {
        let refs = readWith.get(key);
        if (!refs) readWith.set(key, (refs = parse(text, { ...buildArgs, ...args }).imageRefs));
        const place = (r: ImageRef) => r.line === ref.line && r.kind === ref.kind;
        return refs.filter(place)[all.filter(place).indexOf(ref)];
      },
    };
  };
  const warnings: string[] = [];
  const dependencies = (refs: ImageRef[], file: string, platforms: ReturnType<typeof probe>): LayerDependencies => {
    const deps: LayerDependencies = { parents: [], refs: {} };
    // The layer `ref` names with `args` of some platform an engine may be, if any.
    const layerOnSomePlatform = (ref: ImageRef, key: string, args: (platform: string) => Record<string, string>) => {
      for (const platform of ENGINE_PLATFORMS) {
        const named = platforms.at(`${key}:${platform}`, args(platform), ref, refs);
        const layer = named && resolve(named.image);
        if (layer && !("warning" in layer)) return { image: named.image, line: ref.line, platform, layer: layer.tag };
      }
      return undefined;
    };
    for (const ref of refs) {
      const found = resolve(ref.image);
      if (found === undefined) continue;
      // The BUILD* args are the platform of the engine that builds, whatever the layer's: one that
      // names a layer only with them set can't be planned (reviewer12: BuildKit built on the other
      // registry's sci/base-amd64, where the plan said it pulls sci/base-:1.0 as written).
      if ("warning" in found && platforms.at("build-probe", buildPlatformArgs(PROBE_PLATFORM), ref, refs)?.image !== ref.image) {
        const named = layerOnSomePlatform(ref, "build", buildPlatformArgs);
        if (named) {
          throw new InputError(`line ${ref.line}: with the build platform args (BUILDARCH …) of ${named.platform} this reference is ${named.image}, layer sci/${named.layer}; BuildKit sets them to the platform of the engine that builds, which the plan can't know: name the layer with the TARGET* args and declare the layer's platforms`, file);
        }
      }
      // Read without the platform's args (the platform-less analysis), a reference spelled with
      // them (`sci/base-${TARGETARCH}:1.0`) names nothing yet: each platform's analysis resolves it.
      if ("warning" in found && !platformGiven && !platforms.same().has(ref.image)) {
        // One that names a layer of this repository for some platform: a layer built for the
        // engine's own platform can't have it (see LayerDependencies.platformDependent).
        const named = layerOnSomePlatform(ref, "target", (platform) => ({ ...platformArgs(platform), ...buildPlatformArgs(platform) }));
        if (named) (deps.platformDependent ??= []).push(named);
        continue;
      }
      if ("warning" in found) {
        warnings.push(`${file}: line ${ref.line}: ${ref.image} ${found.warning}`);
        continue;
      }
      // A layer is built on this run's build of its parent by rewriting the reference: one the
      // rewrite can't find would build on whatever the spelled registry holds, while the plan,
      // the inputs and the provenance named this run's.
      if (ref.unrewritable) {
        const how = ref.kind === "mount-from" ? `inside a --mount value written so that image-builder can't point it at this run's build: write its from= plainly (--mount=type=bind,from=${ref.image},…)` : `in a --from written so that image-builder can't point it at this run's build: write it plainly (--from=${ref.image})`;
        throw new InputError(`line ${ref.line}: ${ref.image} names layer sci/${found.tag} ${how}`, file);
      }
      deps.refs[ref.image] = found.tag;
      if (!deps.parents.includes(found.target)) deps.parents.push(found.target);
    }
    return deps;
  };
  // A trigger naming a layer runs in the builds of the images built on this one: there nothing
  // points it at this run's build, orders those builds after it or rebuilds them when it changes.
  const refuseTriggers = (refs: ImageRef[], file: string): void => {
    for (const ref of refs) {
      const found = resolve(ref.image);
      if (found === undefined || ("warning" in found && !namesDockerHub(ref.image))) continue;
      const what = "warning" in found ? `would be pulled from Docker Hub (docker.io/${ref.image})` : `names layer sci/${found.tag}`;
      throw new InputError(`line ${ref.line}: an ONBUILD trigger's ${ref.kind === "mount-from" ? "--mount from=" : "--from="}${ref.image} ${what}, in the builds of the images built on this one, where image-builder can't point it at this run's build nor rebuild them when it changes: copy from it in those Dockerfiles instead`, file);
    }
  };

  const science = new Map<string, LayerDependencies>();
  for (const layer of layers) {
    const file = `${layer.path}/Dockerfile`;
    const parsed = parseDockerfileOf(layer.dockerfile, file, buildArgs);
    if (parsed.stages.length === 0) throw new InputError("no FROM instruction", file);
    checkReservedLabels(parsed, file);
    refuseTriggers(parsed.onbuildRefs, file);
    science.set(layer.target, dependencies(parsed.imageRefs, file, probe(layer.dockerfile, parseDockerfile)));
  }
  const compatDeps = new Map<string, LayerDependencies>();
  for (const c of compat) {
    const file = `${c.path}/Dockerfile`;
    const parsed = parseDockerfileOf(c.dockerfile, file, buildArgs, parseDockerfileFragment);
    checkReservedLabels(parsed, file);
    refuseTriggers(parsed.onbuildRefs, file);
    compatDeps.set(c.dir, dependencies(parsed.imageRefs, file, probe(c.dockerfile, parseDockerfileFragment)));
  }
  return { science, compat: compatDeps, warnings };
}

/**
 * image reference -> the science layer it names (`tag`: `{target}:{version}`); `{ warning }` when
 * it looks like one but is used as written; undefined for any other image.
 */
function scienceLayerResolver(
  layers: ScienceLayer[],
): (image: string) => { target: string; tag: string } | { warning: string } | undefined {
  const byTag = new Set(layers.map((l) => `${l.target}:${l.version}`));
  const versionsOf = new Map<string, string[]>();
  for (const l of layers) {
    const versions = versionsOf.get(l.target);
    if (versions) versions.push(`${l.target}:${l.version}`);
    else versionsOf.set(l.target, [`${l.target}:${l.version}`]);
  }
  // The search over every layer runs once per distinct unknown reference.
  const suggestions = new Map<string, string | undefined>();
  const closest = (target: string, tag: string): string | undefined => {
    if (!suggestions.has(tag)) {
      // Another version of the same target first; otherwise a near spelling of target:version.
      const sameTarget = versionsOf.get(target);
      suggestions.set(tag, sameTarget
        ? closestMatch(tag, sameTarget)
        : closestMatch(tag, [...byTag], { maxDistance: Math.max(3, Math.ceil(tag.length / 3)) }));
    }
    return suggestions.get(tag);
  };
  return (image) => {
    const ref = sciReference(image);
    if (!ref) return undefined;
    const tag = `${ref.target}:${ref.version}`;
    if (byTag.has(tag) && ref.digest !== undefined) {
      // A digest pins one exact image: honoured, so neither this run's build nor a dependency.
      return { warning: `is pinned by digest, so it is pulled as written: not this run's sci/${tag}, and not rebuilt with it` };
    }
    if (byTag.has(tag)) return { target: ref.target, tag };
    const suggestion = closest(ref.target, tag);
    const hint = suggestion ? ` (did you mean sci/${suggestion}?)` : "";
    // Without a registry it would come from Docker Hub's sci/, which is anyone's: runs refuse it (bases-not-built.ts).
    if (namesDockerHub(image)) return { warning: `names no science layer of this repository, and without a registry it would be pulled from Docker Hub (docker.io/${image}), so a build refuses it${hint}` };
    return { warning: `names no science layer of this repository, so it is pulled as written${hint}` };
  };
}

/** The parser's syntax errors ("line 3: ...") become input errors naming the file. */
export function parseDockerfileOf(
  text: string,
  file: string,
  buildArgs: Record<string, string> = {},
  parse: (text: string, buildArgs: Record<string, string>) => ParsedDockerfile = parseDockerfile,
): ParsedDockerfile {
  try {
    return parse(text, buildArgs);
  } catch (e) {
    throw new InputError((e as Error).message.replace(/^Dockerfile /, ""), file);
  }
}
