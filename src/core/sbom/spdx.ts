// An image's packages (scanPackages) as an SPDX 2.3 document: the image is the package the
// document describes, and it CONTAINS every package found. Everything in it comes from the image
// (the creation time is the image's), so the same image always gives the same document.
import { PackageURL } from "packageurl-js";
import { IMAGE_BUILDER_URL } from "../formats/provenance.js";
import type { SpdxDocument, SpdxPackage } from "../formats/spdx.js";
import type { FoundPackage, PackageType } from "./packages.js";
import { sha256Hex } from "../digest.js";

export interface SbomSubject {
  /** `host/path:tag` or `host/path@digest`, as the user named the image. */
  name: string;
  /** The image manifest's digest (the platform's, for an index). */
  manifestDigest: string;
  /** The image config's `created`, the document's creation time (else the epoch). */
  created?: string;
  platform?: string;
}

const NOASSERTION = "NOASSERTION";
const IMAGE_ID = "SPDXRef-Image";
/** Where the document's namespace URIs live; unique per image through the digest. */
const NAMESPACE_BASE = `${IMAGE_BUILDER_URL}/spdx`;

/** An SPDX id for `p`, unique in the document (the purl's hash tells apart equal names). */
function packageId(p: FoundPackage): string {
  return `SPDXRef-Package-${p.type}-${p.name.replace(/[^A-Za-z0-9.-]+/g, "-")}-${sha256Hex(p.purl).slice(0, 16)}`;
}

/**
 * The document comment of an SBOM made without every package file of the image (too big, past the
 * image's limit, a hard link to one not read): packages may be missing, and a query of it must
 * not read clean (notReadOfSpdx).
 */
const NOT_READ = "image-builder did not read every package file of the image, so packages may be missing: ";

/** `tool`: `image-builder-0.1.0`; `notRead`: the files of the image not read, one line each (readPackageFiles' warnings). */
export function spdxDocument(subject: SbomSubject, packages: readonly FoundPackage[], tool: string, notRead: readonly string[] = []): SpdxDocument {
  const repository = subject.name.replace(/[@:][^/]*$/, "");
  const created = validTime(subject.created) ?? "1970-01-01T00:00:00Z";
  const image: SpdxPackage = {
    SPDXID: IMAGE_ID,
    name: subject.name,
    versionInfo: subject.manifestDigest,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    primaryPackagePurpose: "CONTAINER",
    externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: ociPurl(repository, subject.manifestDigest, subject.platform) }],
  };
  const found: SpdxPackage[] = packages.map((p) => ({
    SPDXID: packageId(p),
    name: p.name,
    versionInfo: p.version,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    licenseConcluded: NOASSERTION,
    // What the databases say is seldom an SPDX expression (`GPL (>= 2)`, `BSD`): not asserted.
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    sourceInfo: `found in ${p.locations.join(", ")}`,
    externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: p.purl }],
  }));
  return {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: subject.name,
    documentNamespace: `${NAMESPACE_BASE}/${encodeURIComponent(repository)}/${subject.manifestDigest.replace(":", "-")}`,
    creationInfo: { created, creators: [`Tool: ${tool}`] },
    documentDescribes: [IMAGE_ID],
    ...(notRead.length ? { comment: `${NOT_READ}${notRead.join("; ")}` } : {}),
    packages: [image, ...found],
    relationships: [
      { spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: IMAGE_ID },
      ...found.map((p) => ({ spdxElementId: IMAGE_ID, relationshipType: "CONTAINS", relatedSpdxElement: p.SPDXID })),
    ],
  };
}

/** `pkg:oci/NAME@DIGEST?arch=…&repository_url=…`: the purl of an image (the purl spec's oci type). */
function ociPurl(repository: string, digest: string, platform?: string): string {
  const arch = platform?.split("/")[1];
  const name = repository.slice(repository.lastIndexOf("/") + 1).toLowerCase();
  return new PackageURL("oci", undefined, name, digest, { repository_url: repository, ...(arch ? { arch } : {}) }, undefined).toString();
}

/** `created` in the form SPDX requires (seconds, `Z`), when it is a time at all. */
function validTime(created: string | undefined): string | undefined {
  if (!created) return undefined;
  const t = Date.parse(created);
  return Number.isNaN(t) ? undefined : new Date(Math.floor(t / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

const PACKAGE_TYPES_BY_PURL: Record<string, PackageType> = { deb: "deb", apk: "apk", conda: "conda", pypi: "pypi", cran: "cran" };

/**
 * The packages an SPDX document lists (a stored SBOM attestation): each package with a purl of a
 * type image-builder reads, the image's own package aside, as scanPackages found them (name and
 * version as the document states them, where they were found from `sourceInfo`). Packages of
 * other types (another tool's SBOM: `pkg:golang/…`) are left out: nothing asks for them.
 */
export function packagesOfSpdx(document: SpdxDocument): FoundPackage[] {
  const described = new Set(document.documentDescribes ?? []);
  return document.packages.flatMap((p): FoundPackage[] => {
    const purl = p.externalRefs?.find((r) => r.referenceType === "purl")?.referenceLocator;
    if (described.has(p.SPDXID) || !purl || p.versionInfo === undefined) return [];
    let type: PackageType | undefined;
    try {
      type = PACKAGE_TYPES_BY_PURL[PackageURL.fromString(purl).type];
    } catch {
      return [];
    }
    if (!type) return [];
    const locations = p.sourceInfo?.startsWith("found in ") ? p.sourceInfo.slice("found in ".length).split(", ") : [];
    return [{ type, name: p.name, version: p.versionInfo, purl, locations }];
  });
}

/** The files an SBOM's maker says it did not read (spdxDocument's `notRead`, as one line); [] when it read them all. */
export function notReadOfSpdx(document: Pick<SpdxDocument, "comment">): string[] {
  return document.comment?.startsWith(NOT_READ) ? [document.comment.slice(NOT_READ.length)] : [];
}
