// The names of a request's tags: `request.tags` is the moving tag first and the build tag last.
import type { BuildRequest } from "../model.js";

/** `{repo}/…:{version}`: the tag that moves to the newest build. */
export function movingTag(request: Pick<BuildRequest, "tags">): string {
  return request.tags[0];
}

/** `{repo}/…:{version}-{n}-{h}`: the build's own tag, never moved. */
export function buildTag(request: Pick<BuildRequest, "tags">): string {
  return request.tags[request.tags.length - 1];
}
