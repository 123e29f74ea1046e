// The provenance image-builder states for an image: an in-toto Statement v1 whose predicate is
// SLSA provenance v1, as BuildKit attaches it (`docker buildx imagetools inspect --format
// '{{json .Provenance}}'` reads the predicate). Defined as zod schemas, the parts of the in-toto
// and SLSA specifications this statement uses, so every statement made is checked against them.
import { z } from "zod";

export const IN_TOTO_STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const SLSA_PROVENANCE_TYPE = "https://slsa.dev/provenance/v1";

/** in-toto: algorithm -> lowercase hex (`sha256`), or a git commit (`gitCommit`). */
const digestSet = z.record(z.string().min(1), z.string().regex(/^[0-9a-f]+$/, "lowercase hex"));

export const resourceDescriptorSchema = z.object({
  uri: z.string().min(1).optional(),
  digest: digestSet.optional(),
  name: z.string().min(1).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
}).refine((r) => r.uri !== undefined || r.digest !== undefined, "a resource descriptor needs a uri or a digest");

export const slsaProvenanceSchema = z.object({
  buildDefinition: z.object({
    buildType: z.url(),
    externalParameters: z.record(z.string(), z.unknown()),
    internalParameters: z.record(z.string(), z.unknown()).optional(),
    resolvedDependencies: z.array(resourceDescriptorSchema),
  }),
  runDetails: z.object({
    builder: z.object({
      id: z.url(),
      version: z.record(z.string(), z.string()).optional(),
    }),
    metadata: z.object({
      invocationId: z.string().optional(),
      startedOn: z.iso.datetime().optional(),
      finishedOn: z.iso.datetime().optional(),
    }).optional(),
  }),
});

export const provenanceStatementSchema = z.object({
  _type: z.literal(IN_TOTO_STATEMENT_TYPE),
  subject: z.array(z.object({ name: z.string().min(1), digest: digestSet })).min(1),
  predicateType: z.literal(SLSA_PROVENANCE_TYPE),
  predicate: slsaProvenanceSchema,
}).describe("An in-toto Statement v1 with a SLSA provenance v1 predicate: how an image was built");

export type ResourceDescriptor = z.infer<typeof resourceDescriptorSchema>;
export type ProvenanceStatement = z.infer<typeof provenanceStatementSchema>;

/** What names image-builder in the documents it writes (build type, builder id, SPDX namespaces). */
export const IMAGE_BUILDER_URL = "https://github.com/sciserver/image-builder";
