// Registry cache sources of a BuildKit build: the published image of the same request (its
// moving `{version}` tag, whose inline cache metadata says which layers came from which steps)
// and the images of this repository it builds on. Pure: the request and the run's --repo in,
// image references out.
import { parseDockerfile } from "../parse/dockerfile/index.js";
import { movingTag } from "./tags.js";
import { platformArgs } from "../parse/platforms.js";
import type { BuildRequest } from "../model.js";

export function registryCacheSources(request: BuildRequest, repo: string, buildArgs: Record<string, string>): string[] {
  const ours = (ref: string) => ref.startsWith(`${repo}/`);
  // The build tag is new with this run: only the moving tag can be in the registry.
  const moving = [movingTag(request)].filter(ours);
  const parents = parseDockerfile(request.dockerfile, { ...request.buildArgs, ...buildArgs, ...platformArgs(request.platform) }).imageRefs
    .map((r) => r.image)
    .filter(ours);
  return [...new Set([...moving, ...parents])];
}
