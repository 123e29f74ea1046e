// `--reconcile` (issue 19, item 6): an image that is right but lacks its attestations, its
// signature or its platform moving tag is completed, not rebuilt. When `{version}` holds an
// earlier commit's build of it (the usual case: a layer no commit changed since is not rebuilt),
// this checkout's build tag holds nothing, so a run of the build as planned would build a new
// image and move `{version}` to it, leaving the earlier build as it was. Instead the build is
// planned as that earlier build: its tags, version label and generated names are the earlier
// build's (the same inputs), so the run finds it under its own build tag, reuses it and writes what
// it lacks there and under `{version}`. Such a build is never built (build-step refuses it).
import { parseBuildName } from "../execute/moving-tag.js";
import { versionLabel } from "../requests/inputs-digest.js";
import type { PlannedBuild } from "../model.js";

/** The build name (`1.0-7-3f2a9c1`) a build's version label gives it; undefined when it gives none. */
function buildNameOf(b: Pick<PlannedBuild, "kind" | "target" | "request">): string | undefined {
  return parseBuildName(b.request.labels[versionLabel(b.kind, b.target)])?.name;
}

/**
 * `b` planned as its earlier build `held` (a build name of the same version: `1.0-5-0c1d2e3`), made
 * from `commit` (the full hash of held's short one: its provenance names it, so attestations made
 * again are the bytes the earlier run made): every name that carries this checkout's build name
 * carries `held` instead. `b` itself when its version label names no build, or `held` is its own.
 */
export function asEarlierBuild(b: PlannedBuild, held: string, commit: string): PlannedBuild {
  const own = buildNameOf(b);
  if (own === undefined || own === held || !held.startsWith(`${b.version}-`)) return b;
  const swap = (text: string) => text.split(own).join(held);
  const label = versionLabel(b.kind, b.target);
  // The build tag (last) holds the build name; the moving tag (`{version}`, first) does not.
  const tags = b.request.tags.map((t, i) => (i === b.request.tags.length - 1 ? swap(t) : t));
  return {
    ...b,
    earlierBuild: true,
    commit,
    ...(b.finalImages ? { finalImages: b.finalImages.map((f, i) => (i === 0 ? swap(f) : f)) } : {}),
    request: {
      ...b.request,
      tags,
      labels: { ...b.request.labels, [label]: swap(b.request.labels[label]) },
      // A compat build's generated SCISERVER_IMAGE: what the earlier build's Dockerfile said.
      dockerfile: b.kind === "compat" ? b.request.dockerfile.split(`SCISERVER_IMAGE=${b.image}:${own}`).join(`SCISERVER_IMAGE=${b.image}:${held}`) : b.request.dockerfile,
    },
  };
}
