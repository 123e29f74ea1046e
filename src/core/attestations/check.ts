// Whether an image's attestations say what is true of it (`verify`, issue 19 item 5): every
// platform image of the index has an attestation manifest of its digest, holding a provenance and
// an SBOM statement whose subjects are that digest, each layer annotated with its statement's
// predicate type; and the parents the provenance names are what the registry holds under their
// build tags now. The shell reads the index, the manifests, the statements and the parents' digests
// (registry/attestations.ts); deciding what is wrong is here.
import { BUILD_TAG_ANNOTATION, publicRepositoryUrl } from "./provenance.js";
import { IN_TOTO_MEDIA_TYPE, PREDICATE_TYPE_ANNOTATION } from "./manifest.js";
import type { Descriptor } from "../registry/image-index.js";
import { SLSA_PROVENANCE_TYPE } from "../formats/provenance.js";
import { SPDX_PREDICATE_TYPE } from "../formats/spdx.js";
import { parseImageReference } from "../parse/image-reference.js";

/** One platform image of an index and what was read of its attestations. */
export interface AttestedImage {
  /** `os/arch[/variant]`. */
  platform: string;
  /** The platform image's manifest digest. */
  digest: string;
  /** Its attestation manifest's layers and each layer's statement (parsed JSON), or undefined when the index has none for it. */
  attestation?: { digest: string; layers: { descriptor: Descriptor; statement: unknown }[] };
}

/** A parent the provenance names by build tag, and what the registry holds under it for the platform (undefined: nothing; null: what it holds can't be read, said by the reader). */
export type ParentDigests = ReadonlyMap<string, string | undefined | null>;

/** The statements every attested image has. */
export const REQUIRED_PREDICATES = [SLSA_PROVENANCE_TYPE, SPDX_PREDICATE_TYPE] as const;

interface StatementLike {
  subject?: { name?: string; digest?: Record<string, string> }[];
  predicateType?: string;
  predicate?: {
    buildDefinition?: {
      internalParameters?: { tags?: unknown };
      resolvedDependencies?: { name?: string; uri?: string; digest?: Record<string, string>; annotations?: Record<string, string> }[];
    };
  };
}

const isImageReference = (text: string): boolean => {
  try {
    parseImageReference(text);
    return true;
  } catch {
    return false;
  }
};

const asStatement = (s: unknown): StatementLike => (s && typeof s === "object" ? s as StatementLike : {});
const digestOf = (set: Record<string, string> | undefined) => (set?.sha256 ? `sha256:${set.sha256}` : undefined);

/** The parents (build tags) the provenance statements of `images` name: what the shell must read for `attestationProblems`. */
export function parentBuildTags(images: readonly AttestedImage[]): { platform: string; buildTag: string }[] {
  const wanted = new Map<string, { platform: string; buildTag: string }>();
  for (const image of images) {
    for (const { statement } of image.attestation?.layers ?? []) {
      const s = asStatement(statement);
      if (s.predicateType !== SLSA_PROVENANCE_TYPE) continue;
      for (const dep of s.predicate?.buildDefinition?.resolvedDependencies ?? []) {
        const buildTag = dep.annotations?.[BUILD_TAG_ANNOTATION];
        // One that is no reference (a part masked by an older image-builder) is a problem of the statement's, not a read.
        if (buildTag && isImageReference(buildTag)) wanted.set(`${image.platform} ${buildTag}`, { platform: image.platform, buildTag });
      }
    }
  }
  return [...wanted.values()];
}

/** The key of a parent in ParentDigests. */
export const parentKey = (platform: string, buildTag: string) => `${platform} ${buildTag}`;

/**
 * Why `statement` is not about the image `imageDigest`, one line per subject that names another
 * digest (or why it names none); [] when it is: what `sbom` checks before it trusts a stored SBOM.
 */
export function subjectProblems(statement: unknown, imageDigest: string): string[] {
  // Read from the registry: any JSON at all, so nothing about its shape is assumed.
  const listed: unknown = asStatement(statement).subject;
  const subjects = (Array.isArray(listed) ? listed : []).map((x: unknown) => (x && typeof x === "object" ? x as { name?: string; digest?: Record<string, string> } : {}));
  if (subjects.length === 0) return [Array.isArray(listed) || listed === undefined ? "the statement has no subject" : "the statement's subject is not a list"];
  return subjects.filter((subject) => digestOf(subject.digest) !== imageDigest)
    .map((subject) => `subject ${subject.name ?? "(unnamed)"} is ${digestOf(subject.digest) ?? "(no sha256)"}, not the image's ${imageDigest}`);
}

/**
 * Everything wrong with the attestations of `images`, one line each, naming the platform; [] when
 * all is right. Without `parents`, the parents the provenance names are not judged: whether an
 * attestation is sound in itself (there, complete, about its image), as a run reusing it,
 * `--reconcile` and `merge-platforms` (of an agent's attestation) ask.
 */
export function attestationProblems(images: readonly AttestedImage[], parents?: ParentDigests): string[] {
  const problems: string[] = [];
  for (const image of images) {
    const at = `${image.platform} (${image.digest})`;
    if (!image.attestation) {
      problems.push(`${at}: no attestation manifest in the index`);
      continue;
    }
    const found = new Set<string>();
    for (const { descriptor, statement } of image.attestation.layers) {
      const s = asStatement(statement);
      const type = descriptor.annotations?.[PREDICATE_TYPE_ANNOTATION];
      const layer = `${at}: attestation layer ${descriptor.digest}`;
      if (descriptor.mediaType !== IN_TOTO_MEDIA_TYPE) problems.push(`${layer}: media type ${descriptor.mediaType}, not ${IN_TOTO_MEDIA_TYPE}`);
      if (s.predicateType !== type) problems.push(`${layer}: annotated ${type ?? "(none)"}, but its statement is ${s.predicateType ?? "(none)"}`);
      if (s.predicateType) found.add(s.predicateType);
      problems.push(...subjectProblems(statement, image.digest).map((p) => `${layer}: ${p}`));
      if (s.predicateType !== SLSA_PROVENANCE_TYPE) continue;
      problems.push(...provenanceProblems(s).map((p) => `${at}: ${p}`));
      if (!parents) continue;
      for (const dep of s.predicate?.buildDefinition?.resolvedDependencies ?? []) {
        const buildTag = dep.annotations?.[BUILD_TAG_ANNOTATION];
        if (!buildTag || !isImageReference(buildTag)) continue;
        const recorded = digestOf(dep.digest);
        const held = parents.get(parentKey(image.platform, buildTag));
        if (held === null) continue;
        if (held === undefined) problems.push(`${at}: parent ${buildTag} is not in the registry (the provenance says ${recorded ?? "no digest"})`);
        else if (held !== recorded) problems.push(`${at}: parent ${buildTag} holds ${held}, but the provenance says it was built on ${recorded ?? "no digest"}`);
      }
    }
    for (const type of REQUIRED_PREDICATES) if (!found.has(type)) problems.push(`${at}: no ${type} statement`);
  }
  return problems;
}

/**
 * What a provenance says that can't be true of the build it is about, one line each: statements
 * an older image-builder made wrong (and that a run, `--reconcile` and `verify` must not vouch for;
 * a run makes them again). Its parents' build tags must be image references (versions before the
 * masking of secrets was limited to text from outside wrote three asterisks where a secret's line was part
 * of the registry's path); its source commit must be its build's (`{version}-{n}-{h}`: a
 * `--reconcile` completing an earlier build once named the checkout's); its repository's URL must
 * carry no credentials or query (a `?private_token=` was once kept).
 */
export function provenanceProblems(statement: unknown): string[] {
  const definition = asStatement(statement).predicate?.buildDefinition;
  const problems: string[] = [];
  const dependencies = Array.isArray(definition?.resolvedDependencies) ? definition.resolvedDependencies : [];
  for (const dep of dependencies) {
    const buildTag = dep?.annotations?.[BUILD_TAG_ANNOTATION];
    if (typeof buildTag === "string" && !isImageReference(buildTag)) problems.push(`the provenance names parent ${JSON.stringify(buildTag)}, which is no image reference (a part masked by an older image-builder?)`);
  }
  const source = dependencies.find((d) => d?.name === "source");
  const commit = source?.digest?.gitCommit;
  const tags = definition?.internalParameters?.tags;
  const buildTag = Array.isArray(tags) && typeof tags[tags.length - 1] === "string" ? tags[tags.length - 1] as string : undefined;
  const hash = buildTag && /:[^:/]*-\d+-([0-9a-f]{7,40})(?:-[a-z0-9]+)*$/.exec(buildTag)?.[1];
  if (hash && typeof commit === "string" && !commit.startsWith(hash)) problems.push(`the provenance names source commit ${commit}, not its build's (${buildTag!.slice(buildTag!.lastIndexOf(":") + 1)})`);
  // `git+{repository}@{commit}[#path]`, as provenanceStatement writes it: its repository as publicRepositoryUrl leaves it.
  const uri = typeof source?.uri === "string" ? source.uri.replace(/^git\+/, "").replace(/#.*$/, "") : undefined;
  const repository = uri?.slice(0, uri.lastIndexOf("@"));
  if (repository && publicRepositoryUrl(repository) !== repository) {
    problems.push("the provenance names the repository by a URL with a user, a token or a query in it (not shown here)");
  }
  return problems;
}
