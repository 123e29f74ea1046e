// The names of a request's tags: `request.tags` is the moving tag first and the build tag last.
// A request for a named platform has tags of its own (`{version}-linux-arm64`, see build-requests.ts).
import { platformTagSuffix } from "../parse/platforms.js";
import type { BuildRequest } from "../model.js";

/** `{repo}/…:{version}`: the tag that moves to the newest build. */
export function movingTag(request: Pick<BuildRequest, "tags">): string {
  return request.tags[0];
}

/** `{repo}/…:{version}-{n}-{h}`: the build's own tag, never moved. */
export function buildTag(request: Pick<BuildRequest, "tags">): string {
  return request.tags[request.tags.length - 1];
}

/** `tag` with `platform` appended, `-` for `/`: `…:1.0-7-abc` -> `…:1.0-7-abc-linux-arm64`. */
export function withPlatformSuffix(tag: string, platform: string): string {
  return `${tag}-${platformTagSuffix(platform)}`;
}

/** The reverse of withPlatformSuffix: the layer's own tag, which holds the index of its platforms. */
export function stripPlatformSuffix(tag: string, platform: string): string {
  const suffix = `-${platformTagSuffix(platform)}`;
  return tag.endsWith(suffix) ? tag.slice(0, -suffix.length) : tag;
}

/**
 * A request's tags for `platform` (moving tag first, build tag last): the tags the engine pushes
 * a platform's image under, the layer's own being left for the image index of every platform.
 * Planned for a request with platforms (build-requests.ts); made at run time for a single-platform
 * request published as a one-platform index (its engine's platform: execute/image-index.ts).
 */
export function platformTags(request: Pick<BuildRequest, "tags">, platform: string): string[] {
  return request.tags.map((t) => withPlatformSuffix(t, platform));
}

/**
 * `{repo}/…:{version}`: the reference the Dockerfiles of the layers built on this one name it by,
 * whatever platform it is built for (the moving tag without a platform's suffix: versions are
 * dotted digits, so whatever follows a `-` in the moving tag is one). Children are pinned to the
 * image of their own platform under it.
 */
export function baseReference(request: Pick<BuildRequest, "tags">): string {
  const moving = movingTag(request);
  const colon = moving.lastIndexOf(":");
  const dash = moving.indexOf("-", colon);
  return dash < 0 ? moving : moving.slice(0, dash);
}
