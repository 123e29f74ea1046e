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

/**
 * `{repo}/…:{version}`: the reference the Dockerfiles of the layers built on this one name it by,
 * whatever platform it is built for (the moving tag without the platform's suffix). Children are
 * pinned to the image of their own platform under it.
 */
export function baseReference(request: Pick<BuildRequest, "tags" | "platform">): string {
  const moving = movingTag(request);
  return request.platform === undefined ? moving : moving.slice(0, -(platformTagSuffix(request.platform).length + 1));
}
