// The plan file's format (`plan --out`, `--json`, `run PLAN`), defined once: the TypeScript types
// (core/model.ts) are inferred from it, schema/plan.schema.json is generated from it, and every plan
// file is validated by it.
//
// zod rather than ajv or valibot (measured on a 16,000-request plan of the 10,000-layer bench, 52 MB):
// zod validates it in ~180 ms (JSON.parse alone takes ~260 ms), valibot in ~200 ms, ajv in ~25 ms but
// with ~90 ms of import and schema compilation on every run (more than zod's whole cost on an ordinary
// plan), and with ajv the schema is JSON from which the types would need another tool. zod gives the
// types (z.infer) and the JSON Schema (z.toJSONSchema) from one definition with no second package, and
// its issues carry the path and the expected type ("builds.3.request.dockerfile: expected string,
// received undefined"); ajv's "must have required property 'dockerfile'" names the parent's path only.
import { z } from "zod";
import { PLATFORM_PATTERN } from "../parse/platforms.js";
import { buildId, digest, registryLocation, taggedReference } from "./string-formats.js";

const strings = z.array(z.string());
const stringMap = z.record(z.string(), z.string());

export const buildKindSchema = z.enum(["science", "compat"]);

/** What a request's inputs digest is made of, beyond the request's Dockerfile and build arguments. */
export const requestInputsSchema = z.object({
  context: digest.describe("Digest of the (merged) build context: the files as they are sent to the engine"),
  parents: z.record(taggedReference, digest).describe("The request's parents in this repository, as the Dockerfile names them without the registry location (sci/{target}:{version}), -> their inputs digest"),
});

/**
 * A self-contained, serializable request for one `docker build` (seed 000: the "builtin" docker
 * build request). An executor needs nothing else. The `docker build` command line people read is
 * derived from it (core/requests/build-requests.ts, dockerBuildCommand); plans written before
 * that carry it as `command`, which is ignored.
 */
export const buildRequestSchema = z.object({
  contexts: strings.min(1).describe("Build context directories, repository-relative, in overlay order: a file in a later directory replaces the same path from an earlier one"),
  dockerfile: z.string().describe("The full Dockerfile text to build"),
  buildArgs: stringMap.describe("Build arguments"),
  tags: z.array(taggedReference).min(1).describe("Image references, each under the plan's repo: the moving tag, then the build tag"),
  labels: stringMap,
  imageRewrites: stringMap.describe("Images of this repository's science layers that the original Dockerfile names -> the image of this run's --repo; dockerfile already has them rewritten"),
  inputsDigest: digest.optional().describe("Digest of everything that determines the image apart from the run's own names and times; also the …inputs label. Absent in plans made before inputs digests, which still read (report --plan) but which run refuses to build: a run rule (core/requests/plan-inputs.ts), not a schema one"),
  inputs: requestInputsSchema.optional().describe("What inputsDigest is made of besides dockerfile and buildArgs, so it can be recomputed"),
  platform: z.string().regex(PLATFORM_PATTERN).optional()
    .describe("The platform (os/arch[/variant]) the image is built for; part of inputsDigest. Absent: the engine's own (a plan without platforms)"),
});

export const plannedBuildSchema = z.object({
  id: buildId,
  kind: buildKindSchema,
  image: z.string(),
  version: z.string(),
  target: z.string(),
  source: z.string().describe("Directory (repository-relative) the build comes from"),
  reasons: strings,
  dependsOn: z.array(buildId).describe("Ids of builds in this plan that must finish first (they come earlier in builds)"),
  finalImages: z.array(taggedReference).min(2).optional().describe("Compat builds: final image names, image:{version}-{n}-{h} and image:{version}"),
  request: buildRequestSchema,
  earlierBuild: z.literal(true).optional()
    .describe("--reconcile: planned as the earlier build of the same inputs that {version} holds (its tags and version label are that build's), to add what it lacks; reused, never built"),
  commit: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/).optional()
    .describe("With earlierBuild: the commit that build was made from (its short hash is its version label's), which its provenance names, not the plan's"),
});

export const planSchema = z.object({
  repo: registryLocation.describe("The registry location every tag is under"),
  commit: z.string().min(1),
  buildNumber: z.number().int().nonnegative(),
  builds: z.array(plannedBuildSchema).describe("In build order: parents before children"),
  waves: z.array(z.array(buildId)).describe("The plan's build ids, each once, grouped so that each build depends only on builds of earlier waves"),
  contextListings: z.record(z.string(), stringMap).optional()
    .describe("Each build context directory (repository-relative) -> its entries (after .dockerignore) -> a fingerprint of type, mode and contents: names the files a checkout changed since the plan was made. Absent in older plans"),
}).describe("An image-builder plan (image-builder plan --out)");
