// The SPDX 2.3 JSON document image-builder writes for an image (the SBOM predicate BuildKit
// attaches, `https://spdx.dev/Document`), as a zod schema: the parts of the SPDX 2.3 JSON schema
// this document uses, with their rules (SPDXRef ids, the fixed version and data license, a
// purl for each package), so a test checks every document made against it and `diff` can read one.
//
// No npm library for the SPDX document model: npm's spdx-* packages parse license expressions,
// and the SPDX project's own tools are Python, Java and Go. The document is a dozen fields; zod
// (already a dependency, the plan and results formats are defined with it) states them and checks them.
import { z } from "zod";

export const SPDX_PREDICATE_TYPE = "https://spdx.dev/Document";

const spdxId = z.string().regex(/^SPDXRef-[A-Za-z0-9.-]+$/, "an SPDXRef- id");
/** SPDX: a license expression, or NOASSERTION / NONE. */
const noAssertion = z.string().min(1);

export const spdxExternalRefSchema = z.object({
  referenceCategory: z.enum(["PACKAGE-MANAGER", "PACKAGE_MANAGER", "SECURITY", "PERSISTENT-ID", "PERSISTENT_ID", "OTHER"]),
  referenceType: z.string().min(1),
  referenceLocator: z.string().min(1),
});

export const spdxPackageSchema = z.object({
  SPDXID: spdxId,
  name: z.string().min(1),
  versionInfo: z.string().optional(),
  downloadLocation: noAssertion,
  filesAnalyzed: z.boolean().optional(),
  licenseConcluded: noAssertion.optional(),
  licenseDeclared: noAssertion.optional(),
  copyrightText: noAssertion.optional(),
  sourceInfo: z.string().optional(),
  primaryPackagePurpose: z.string().optional(),
  externalRefs: z.array(spdxExternalRefSchema).optional(),
});

export const spdxRelationshipSchema = z.object({
  spdxElementId: spdxId,
  relationshipType: z.string().min(1),
  relatedSpdxElement: spdxId,
});

export const spdxDocumentSchema = z.object({
  spdxVersion: z.literal("SPDX-2.3"),
  dataLicense: z.literal("CC0-1.0"),
  SPDXID: z.literal("SPDXRef-DOCUMENT"),
  name: z.string().min(1),
  documentNamespace: z.url(),
  creationInfo: z.object({
    created: z.iso.datetime(),
    creators: z.array(z.string().regex(/^(Tool|Organization|Person): .+/)).min(1),
  }),
  documentDescribes: z.array(spdxId).optional(),
  /** SPDX's document comment: image-builder says here which package files it did not read (spdx.ts). */
  comment: z.string().optional(),
  packages: z.array(spdxPackageSchema),
  relationships: z.array(spdxRelationshipSchema),
}).describe("An SPDX 2.3 document: the packages in an image");

export type SpdxDocument = z.infer<typeof spdxDocumentSchema>;
export type SpdxPackage = z.infer<typeof spdxPackageSchema>;
