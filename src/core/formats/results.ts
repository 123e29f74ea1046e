// The results file's format (`--results`, `merge-results`), defined once like the plan's (see
// formats/plan.ts for why zod): types inferred, schema/results.schema.json generated, files validated.
//
// Fields this image-builder does not know are allowed and kept (core/formats/validate.ts returns
// the file as read): results written by a newer image-builder still merge, with their fields.
import { z } from "zod";
import { buildId, dateTime, digest } from "./string-formats.js";

/** `reused`: an image of the same inputs was already under the build tag, so nothing was built. */
export const buildStatusSchema = z.enum(["built", "reused", "failed", "skipped", "cancelled"]);

export const buildOutputsSchema = z.object({
  "docker-image-hash": z.string(),
  "docker-image-repo-tag": z.array(z.string()),
  "docker-image-timestamp": z.string(),
  "docker-image-digests": z.record(z.string(), digest).optional().describe("tag -> registry digest, after a push"),
});

/** One tag of a build and what the registry holds under it after the run (with --push). */
export const tagResultSchema = z.object({
  tag: z.string(),
  pushed: z.boolean(),
  digest: digest.optional().describe("The registry's digest under the tag, when pushed (or already there, for a reused build)"),
  registryDigest: digest.optional().describe("Not pushed: what the registry holds under the tag instead (another build's image), as read back"),
  reason: z.string().optional().describe("Not pushed: why (`not moved: … is at …, newer`, another run's image, a failed or interrupted push)"),
});

/** A cosign signature of a digest published under a build tag (with --push --sign-key). */
export const signedResultSchema = z.object({
  digest: digest.describe("What is signed: the manifest (or index) digest under the build tag"),
  tag: z.string().describe("Where the signatures of that digest are: `host/path:sha256-HEX.sig`, cosign's tag"),
  manifestDigest: digest.describe("The registry's digest of the signature manifest under that tag"),
  status: z.enum(["signed", "already signed"]).describe("`already signed`: the tag held this key's signature of the digest, and nothing was written"),
});

/**
 * A signature that could not be read or written: the image (or index) is not published as the run
 * was asked to, whatever its tags hold (the read back at the end of the run leaves this failure).
 */
export const signingFailedSchema = z.object({
  status: z.literal("failed"),
  digest: digest.describe("What was to be signed"),
  reason: z.string().describe("What failed, with the registry's error"),
});

export const signatureResultSchema = z.union([signedResultSchema, signingFailedSchema]);

/**
 * The attestation manifest (provenance and SBOM, issue 19) of a pushed image, as the registry holds
 * it by digest: what `merge-platforms` attaches to the layer's index for a platform built by an agent.
 */
export const attestationResultSchema = z.object({
  status: z.enum(["uploaded", "already there", "failed"])
    .describe("`uploaded`: written by this run; `already there`: the registry held it (a rerun), nothing written; `failed`: it could not be made or uploaded (`reason`), so the image is not fully published"),
  subject: digest.optional().describe("The image it is about: the platform image's manifest digest (its statements' subject, its index entry's `vnd.docker.reference.digest`); absent only when failed before that digest could be read"),
  mediaType: z.string().optional().describe("The attestation manifest's media type (an OCI image manifest); absent when failed"),
  digest: digest.optional().describe("The attestation manifest's digest, in the image's repository; absent when failed"),
  size: z.number().int().nonnegative().optional().describe("The attestation manifest's size in bytes; absent when failed"),
  reason: z.string().optional().describe("Failed: what failed, with the registry's error"),
});

export const buildResultSchema = z.object({
  id: buildId,
  status: buildStatusSchema,
  reason: z.string().optional(),
  durationMs: z.number().nonnegative(),
  pushed: z.boolean().describe("Every tag is in the registry (with --push)"),
  tags: z.array(tagResultSchema).optional().describe("Per tag, in push order (build tag first); with --push only"),
  signature: signatureResultSchema.optional().describe("With --push --sign-key: the signature of the image under its build tag"),
  attestation: attestationResultSchema.optional()
    .describe("With --push (unless --no-attestations): the attestation manifest of the image pushed (or found there); absent in older results files"),
  outputs: buildOutputsSchema.optional(),
  // When and how it went, for the report's timeline and details (absent in older results files).
  startedAt: dateTime.optional().describe("The build step (reuse check, pull or build) started, ISO 8601"),
  finishedAt: dateTime.optional().describe("The build step ended, ISO 8601"),
  pushStartedAt: dateTime.optional().describe("Its push started (a free slot, parents pushed), ISO 8601"),
  pushFinishedAt: dateTime.optional().describe("Its push ended, ISO 8601"),
  steps: z.object({ total: z.number().int().nonnegative(), cached: z.number().int().nonnegative() }).optional()
    .describe("Dockerfile steps the build started, and how many of them came from the build cache"),
  failedStep: z.string().optional().describe("A failed build: the step it failed at, as its log names it (`[2/4] RUN make`, `2/4 : RUN make`)"),
});

/** A layer built for several platforms: its image index under the layer's own tags (issue 17). */
export const indexResultSchema = z.object({
  id: buildId.describe("The layer's build id without a platform (`sci/x`, `rel/x:1.0`)"),
  platforms: z.record(z.string(), buildId).describe("platform -> the id of its build in the plan, in the index's order"),
  status: z.enum(["pushed", "not pushed", "push failed", "superseded"])
    .describe("`pushed`: the index is under its build tag (and its moving tag, unless that holds a newer build); otherwise neither tag was changed"),
  digest: digest.optional().describe("The index's digest, once every platform image was in the registry"),
  tags: z.array(tagResultSchema).describe("The index tags in the order written: build tag `{version}-{n}-{h}`, then moving tag `{version}`"),
  already: z.boolean().optional().describe("`pushed`, with nothing written: the registry held this very index under both tags already (a rerun)"),
  signature: signatureResultSchema.optional().describe("With --sign-key: the signature of the index under its build tag (each platform image's is in its build's result)"),
  reason: z.string().optional().describe("Not pushed: why (a platform image missing, failed or superseded; another run's index; an interrupt)"),
});

export const resultsFileSchema = z.object({
  repo: z.string().min(1),
  commit: z.string().min(1),
  buildNumber: z.number().int().nonnegative(),
  jobs: z.number().int().positive().optional().describe("`--jobs` of the run: builds it ran at once at most (absent in older results files)"),
  results: z.array(buildResultSchema),
  indexes: z.array(indexResultSchema).optional()
    .describe("With --push (and merge-platforms): the image index of each layer built for several platforms whose every platform the run built"),
}).describe("What an image-builder run did, per build (--results FILE, merge-results)");

/**
 * The fields of a results file whose text comes from outside image-builder (an engine's or a
 * registry's error, a failing step): masked for the run's secrets. Every other value is
 * image-builder's own (names, digests, times, statuses) and never masked (maskedFreeText).
 */
export const RESULTS_FREE_TEXT: ReadonlySet<string> = new Set(["reason", "failedStep"]);
