// The IMAGE and LAYER arguments of the registry commands (inspect, contains, export): which
// reference an argument names, whether it names a file, which science layer `contains` asks about.
import { InputError } from "../../core/model.js";
import { namesRegistryHost, parseImageReference } from "../../core/parse/image-reference.js";
import { isMovingTag, parseBuildTag, type LayerQuery } from "../../core/report/published.js";

/** `contains LAYER`: `sci/{target}[:{version}[-{n}-{h}]]` (`sci/` may be left out). */
export function parseLayerQuery(arg: string): LayerQuery {
  const m = /^(?:sci\/)?([a-z0-9]+(?:(?:__?|-+)[a-z0-9]+)*)(?::(.+))?$/.exec(arg);
  if (!m) throw new InputError(`"${arg}" is not a science layer: expected sci/TARGET[:VERSION[-N-HASH]]`);
  const [, target, tag] = m;
  if (tag === undefined) return { target };
  const build = parseBuildTag(tag);
  if (build) return { target, version: build.version, build };
  if (!isMovingTag(tag)) throw new InputError(`"${arg}": "${tag}" is neither a version (2.4) nor a build (2.4-7-3f2a9c1)`);
  return { target, version: tag };
}

/**
 * Whether an `inspect` argument names a file rather than an image: an absolute or `./`, `../`
 * path, a Windows path, or a name ending in `.tar` that is not a `…:tag` reference (an image tag
 * may end in `.tar`, a file name then carries a path).
 */
export function looksLikeFile(arg: string): boolean {
  if (/^(\/|\.{1,2}\/|~\/)/.test(arg) || arg.includes("\\")) return true;
  return /\.tar$/i.test(arg) && !/:[^/]*$/.test(arg);
}

/**
 * The full reference an IMAGE argument names: `rel/essentials:2.5` and `sci/x:1.0-7-abc` are
 * under `repo`; a reference whose first component is a registry host is taken as it is.
 */
export function resolveImageArgument(arg: string, repo: string | undefined): string {
  const first = arg.split("/")[0];
  const isFull = arg.includes("/") && namesRegistryHost(first);
  if (isFull) {
    parseImageReference(arg);
    return arg;
  }
  if (!/^(sci|rel)\//.test(arg)) throw new InputError(`"${arg}" is neither sci/NAME:TAG, rel/NAME:TAG nor a full image reference (host/path:tag)`);
  if (!repo) throw new InputError(`no registry location for "${arg}": pass --repo or set "repo" in image-builder.json`);
  const full = `${repo}/${arg}`;
  parseImageReference(full);
  return full;
}
