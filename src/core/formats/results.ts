// The results file's format (`--results`, `merge-results`), defined once like the plan's (see
// formats/plan.ts for why zod): types inferred, schema/results.schema.json generated, files validated.
//
// Fields this image-builder does not know are allowed and kept (core/formats/validate.ts returns
// the file as read): results written by a newer image-builder still merge, with their fields.
import { z } from "zod";

/** `reused`: an image of the same inputs was already under the build tag, so nothing was built. */
export const buildStatusSchema = z.enum(["built", "reused", "failed", "skipped", "cancelled"]);

export const buildOutputsSchema = z.object({
  "docker-image-hash": z.string(),
  "docker-image-repo-tag": z.array(z.string()),
  "docker-image-timestamp": z.string(),
  "docker-image-digests": z.record(z.string(), z.string()).optional().describe("tag -> registry digest, after a push"),
});

/** One tag of a build and what the registry holds under it after the run (with --push). */
export const tagResultSchema = z.object({
  tag: z.string(),
  pushed: z.boolean(),
  digest: z.string().optional().describe("The registry's digest under the tag, when pushed (or already there, for a reused build)"),
  registryDigest: z.string().optional().describe("Not pushed: what the registry holds under the tag instead (another build's image), as read back"),
  reason: z.string().optional().describe("Not pushed: why (`not moved: … is at …, newer`, another run's image, a failed or interrupted push)"),
});

export const buildResultSchema = z.object({
  id: z.string().min(1),
  status: buildStatusSchema,
  reason: z.string().optional(),
  durationMs: z.number().nonnegative(),
  pushed: z.boolean().describe("Every tag is in the registry (with --push)"),
  tags: z.array(tagResultSchema).optional().describe("Per tag, in push order (build tag first); with --push only"),
  outputs: buildOutputsSchema.optional(),
});

export const resultsFileSchema = z.object({
  repo: z.string().min(1),
  commit: z.string().min(1),
  buildNumber: z.number().int().nonnegative(),
  results: z.array(buildResultSchema),
}).describe("What an image-builder run did, per build (--results FILE, merge-results)");
