// Issue 9, rule 2: a build request's inputs digest. It covers everything that determines the
// image apart from the run's own names and times (registry location, build number, commit,
// buildtime): the Dockerfile as built, the context's files after `.dockerignore` and the compat
// overlay, the build arguments, and the inputs digests of its parents in this repository, so a
// change propagates down the graph by value. External bases enter by reference (the Dockerfile
// names them). Equal digests mean an image can be reused instead of rebuilt.
import { overlayContexts } from "./context-overlay.js";
import { sciReference } from "../parse/image-reference.js";
import { parseDockerfile, type ImageRef } from "../parse/dockerfile/index.js";
import { dockerfileName } from "./builder-features.js";
import type { BuildKind, BuildRequest, ContextFile, Plan, PlannedBuild, RequestInputs } from "../model.js";
import { sha256Digest } from "../digest.js";


/** Digest of the merged context of `dirs` (overlay order). A directory without a listing is an error. */
export function contextDigest(dirs: string[], listings: { get(dir: string): ContextFile[] | undefined }): string {
  return mergedContextDigest(overlayContexts(dirs.map((d) => {
    const listing = listings.get(d);
    if (!listing) throw new Error(`internal: no context listing for ${d}`);
    return listing;
  })));
}

/**
 * Digest of a merged context (overlayContexts' order): what the planner digests and what the
 * executor computes of the tar it streams, so the two are compared as equals.
 */
export function mergedContextDigest(merged: readonly ContextFile[]): string {
  // One line per entry; names can't hold a newline in a form that would collide (JSON-quoted).
  return sha256Digest(merged.map((e) => JSON.stringify([e.name, e.type, e.mode, entryContent(e)])).join("\n"));
}

const entryContent = (e: ContextFile) => e.sha256 ?? e.linkname ?? "";

/**
 * A context directory's entries as the plan lists them (`contextListings`): name -> a short
 * fingerprint of type, mode and contents, enough to name the files a checkout has changed (the
 * inputs digest, not this, decides whether it has). 16 hex digits keep a 10,000-layer plan small.
 */
export function contextFingerprints(listing: readonly ContextFile[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of listing) out[e.name] = sha256Digest(JSON.stringify([e.type, e.mode, entryContent(e)])).slice(7, 23);
  return out;
}

/**
 * The Dockerfile as the digest sees it: references to this repository's layers without the
 * registry location, and a compat build's generated `SCISERVER_IMAGE` without the build number.
 */
export function dockerfileForInputs(build: Pick<PlannedBuild, "kind" | "image" | "version" | "finalImages"> & { request: { dockerfile: string } }, repo: string): string {
  let text = build.request.dockerfile.split(`${repo}/sci/`).join("sci/");
  if (build.kind === "compat" && build.finalImages?.[0]) {
    text = text.split(`SCISERVER_IMAGE=${build.finalImages[0]}`).join(`SCISERVER_IMAGE=${build.image}:${build.version}`);
  }
  return text;
}

/** `platform`: the request's, when it names one (a request without keeps the digest it always had). */
export function inputsDigest(
  kind: BuildKind, dockerfile: string, buildArgs: Record<string, string>, inputs: RequestInputs, platform?: string,
): string {
  const sorted = (r: Record<string, string>) => Object.keys(r).sort().map((k) => [k, r[k]]);
  return sha256Digest(JSON.stringify({
    v: 1,
    kind,
    dockerfile,
    buildArgs: sorted(buildArgs),
    context: inputs.context,
    parents: sorted(inputs.parents),
    ...(platform === undefined ? {} : { platform }),
  }));
}

/** Which of a plan's science builds a request's `inputs.parents` key means: the same platform's. */
export function parentKey(ref: string, platform: string | undefined): string {
  return platform === undefined ? ref : `${ref}@${platform}`;
}

/** The label that records a layer's `{version}-{n}-{h}` (science) or `image:{version}-{n}-{h}` (compat). */
export function versionLabel(kind: BuildKind, target: string): string {
  return kind === "science" ? `org.sciserver.science.${target}.version` : "org.sciserver.compat.version";
}

/** The label that says when an image was built (epoch seconds); the executor sets it as it builds. */
export function buildtimeLabel(kind: BuildKind, target: string): string {
  return kind === "science" ? `org.sciserver.science.${target}.buildtime` : "org.sciserver.compat.buildtime";
}

/** The label that carries a build's inputs digest: per science layer, so a final image lists all. */
export function inputsLabel(kind: BuildKind, target: string): string {
  return kind === "science" ? `org.sciserver.science.${target}.inputs` : "org.sciserver.compat.inputs";
}

/**
 * `run PLAN --build-arg K=V`: the plan's requests with the arguments added to their build
 * arguments, and their inputs digests (and labels) recomputed, parents before children, so that a
 * build with other arguments is never taken for the plan's own.
 */
export function withBuildArgs(plan: Plan, buildArgs: Record<string, string>): Plan {
  if (Object.keys(buildArgs).length === 0) return plan;
  const digestOf = new Map<string, string>();
  const builds = plan.builds.map((b) => {
    const r = b.request;
    if (!r.inputs) return b;
    const args = { ...r.buildArgs, ...buildArgs };
    const parents = Object.fromEntries(Object.entries(r.inputs.parents).map(([ref, d]) => [ref, digestOf.get(parentKey(ref, r.platform)) ?? d]));
    const inputs = { ...r.inputs, parents };
    const digest = inputsDigest(b.kind, dockerfileForInputs(b, plan.repo), args, inputs, r.platform);
    if (b.kind === "science") digestOf.set(parentKey(`sci/${b.target}:${b.version}`, r.platform), digest);
    const label = inputsLabel(b.kind, b.target);
    return {
      ...b,
      request: {
        ...r,
        buildArgs: args,
        inputs,
        inputsDigest: digest,
        labels: { ...r.labels, [label]: digest },
      },
    };
  });
  return { ...plan, builds };
}

/**
 * `run PLAN --build-arg K=V`: the requests whose Dockerfile would name other images with the
 * arguments than the plan resolved (`FROM ${BASE}`, a `--from=$X`), one line each. The plan's
 * order, rewrites, pins and inputs come from what it resolved, so such a run would build on an
 * image the plan never named (unordered, unpinned, not in its inputs): it is made again with
 * `plan --build-arg`, where they are resolved.
 */
export function buildArgsChangingReferences(plan: Plan, buildArgs: Record<string, string>): string[] {
  if (Object.keys(buildArgs).length === 0) return [];
  const given = Object.keys(buildArgs).join(", ");
  const out: string[] = [];
  const refsOf = (text: string, args: Record<string, string>) => {
    const parsed = parseDockerfile(text, args);
    return [...parsed.imageRefs, ...parsed.onbuildRefs];
  };
  for (const b of plan.builds) {
    const file = dockerfileName(b);
    let before: ImageRef[];
    try {
      before = refsOf(b.request.dockerfile, b.request.buildArgs);
    } catch {
      continue; // the plan's own reading fails: its build says why
    }
    let after: ImageRef[];
    try {
      after = refsOf(b.request.dockerfile, { ...b.request.buildArgs, ...buildArgs });
    } catch (e) {
      out.push(`${file}: with --build-arg ${given}: ${(e as Error).message.replace(/^Dockerfile /, "")}`);
      continue;
    }
    const changed = after.find((r, i) => before[i]?.image !== r.image) ?? before[after.length];
    if (changed === undefined) continue;
    const was = before.find((r) => r.line === changed.line)?.image;
    const now = after.find((r) => r.line === changed.line)?.image;
    out.push(`${file}: --build-arg ${given} changes what line ${changed.line} names (${was ?? "nothing"} -> ${now ?? "nothing"}), which the plan resolved without it: make the plan with it (plan --build-arg …)`);
  }
  return out;
}

/**
 * Whether an image's labels say it was made from `inputs`: its own inputs label, and the inputs
 * labels it inherited from its parents in this repository (a child built on another commit's
 * parent carries that parent's label). A parent label the image lacks (a `COPY --from` source, or
 * an image from before inputs digests) can't be checked and is not held against it.
 * Returns why not, or undefined when it matches.
 */
export function inputsMismatch(
  labels: Record<string, string>, build: { kind: BuildKind; target: string; request: Pick<BuildRequest, "inputsDigest" | "inputs"> },
): string | undefined {
  const own = labels[inputsLabel(build.kind, build.target)];
  if (own !== build.request.inputsDigest) return `inputs ${own ?? "(none recorded)"}`;
  for (const [ref, digest] of Object.entries(build.request.inputs?.parents ?? {})) {
    // keys are `sci/{target}:{version}`, as the planner writes them
    const found = labels[inputsLabel("science", sciReference(ref)!.target)];
    if (found !== undefined && found !== digest) return `inputs ${own}, but built on a ${ref} with inputs ${found} (this checkout's: ${digest})`;
  }
  return undefined;
}
