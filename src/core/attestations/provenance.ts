// The provenance of one pushed image (issue 19): an in-toto Statement v1 with a SLSA provenance v1
// predicate, made from the build request and what the run found out (the manifest digest, the
// registry digests of the images it built on, the builder, the times). Nothing secret goes in:
// build arguments that hold a secret are left out, the others masked for the run's secrets as
// output is, and credentials in the repository URL are dropped.
import { PackageURL } from "packageurl-js";
import { IMAGE_BUILDER_URL, IN_TOTO_STATEMENT_TYPE, SLSA_PROVENANCE_TYPE, type ProvenanceStatement, type ResourceDescriptor } from "../formats/provenance.js";
import type { BuildRequest, PlannedBuild } from "../model.js";
import { parseDockerfile } from "../parse/dockerfile/index.js";
import { parseImageReference, sciReference } from "../parse/image-reference.js";
import { versionLabel } from "../requests/inputs-digest.js";
import { maskedFreeText, maskedTexts, redactor } from "../report/redaction.js";
import { sha256Digest } from "../digest.js";

/** The fields of a statement whose text comes from outside: masked for the run's secrets. */
const PROVENANCE_FREE_TEXT: ReadonlySet<string> = new Set(["buildArgs"]);

/** The build type: how the external parameters below are to be read. */
export const BUILD_TYPE = `${IMAGE_BUILDER_URL}/build-types/layer/v1`;

/** What the run knows of one pushed image besides its request. */
export interface ProvenanceRun {
  /** The image as pushed: `host/path` and its build tag, and the registry's manifest digest. */
  image: { repository: string; tag: string; manifestDigest: string };
  /**
   * The image's own labels (its config's): the values of the request's labels as the image has
   * them (its buildtime is set as it builds, not planned), so that the run that built it and a run
   * that reuses it make the same statement.
   */
  imageLabels?: Readonly<Record<string, string>>;
  /** `os/arch[/variant]`, when the build named a platform. */
  platform?: string;
  git: { commit: string; /** The repository's URL (a remote's), when it has one. */ repository?: string };
  /**
   * Every image the build was based on (each FROM, `COPY --from`, `RUN --mount=from=`), as the
   * Dockerfile built names it -> the image used (pinned parents and bases).
   */
  bases: Record<string, BaseImage>;
  builder: { kind: "classic" | "buildkit"; engineVersion: string; toolVersion: string };
  /** ISO 8601 times of the build's start and end. */
  startedOn: string;
  finishedOn: string;
  /** The run's secrets (SecretSet: `--secret` values, registry credentials, the signing key and its password): none appears in the statement. */
  secrets?: Iterable<string>;
  /** Hides what else must not appear (the docker config's credentials, DockerCredentials.redact). */
  redact?: (text: string) => string;
}

/** An image a build was based on. */
export interface BaseImage {
  /** The registry's manifest digest of the image used (for a parent of this repository: the platform image's). */
  digest?: string;
  /** The engine's image id, when no registry digest is known (a base made locally, never pushed). */
  imageId?: string;
  /** A parent of this repository: its build tag (`host/path/sci/x:1.0-7-3f2a9c1`), which `verify` reads again. */
  buildTag?: string;
}

/** Annotations of a resolved dependency: its build tag (parents of this repository), inputs digest, engine image id. */
export const BUILD_TAG_ANNOTATION = "org.sciserver.build-tag";
export const INPUTS_ANNOTATION = "org.sciserver.inputs";
export const IMAGE_ID_ANNOTATION = "org.sciserver.image-id";

/** `sha256:abc…` -> `{ sha256: "abc…" }` (in-toto digest sets name the algorithm as a key). */
function digestSet(digest: string): Record<string, string> {
  const colon = digest.indexOf(":");
  return colon > 0 ? { [digest.slice(0, colon)]: digest.slice(colon + 1) } : { sha256: digest };
}

/** `pkg:docker/host/path/name@tag?platform=…`: an image as in-toto subjects and BuildKit's provenance name it. */
export function dockerPurl(reference: string, platform?: string): string {
  const r = parseImageReference(reference);
  const path = `${r.registry}/${r.repository}`;
  const slash = path.lastIndexOf("/");
  return new PackageURL("docker", path.slice(0, slash), path.slice(slash + 1), r.tag ?? r.digest ?? "latest", platform ? { platform } : undefined, undefined).toString();
}

/**
 * A repository URL without credentials (`https://user:token@host/x.git` -> `https://host/x.git`), nor
 * a query (`…/x.git?private_token=…`: where else a URL carries a token).
 */
export function publicRepositoryUrl(url: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url);
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, "$1").replace(withScheme ? /\?.*$/ : /$^/, "");
}

export function provenanceStatement(build: Pick<PlannedBuild, "id" | "kind" | "source" | "request" | "commit">, run: ProvenanceRun): ProvenanceStatement {
  const { request } = build;
  // An earlier build completed by --reconcile names the commit it was made from, as its first attestations did.
  const commit = build.commit ?? run.git.commit;
  const secretTexts = maskedTexts(run.secrets ?? []);
  const holdsSecret = (text: string) => secretTexts.some((s) => text.includes(s)) || (run.redact !== undefined && run.redact(text) !== text);
  const repository = run.git.repository ? publicRepositoryUrl(run.git.repository) : undefined;
  const sourceUri = (path?: string) => `git+${repository}@${commit}${path ? `#${path}` : ""}`;

  const fromGit = (path?: string) => ({ ...(repository ? { uri: sourceUri(path) } : {}), digest: { gitCommit: commit } });
  const source: ResourceDescriptor = { ...fromGit(), name: "source" };
  const images: ResourceDescriptor[] = Object.keys(run.bases).sort().map((reference) => {
    // A science layer of this repository: its inputs digest, which says what it was built from.
    const sci = sciReference(reference);
    const inputs = sci && request.inputs?.parents[`sci/${sci.target}:${sci.version}`];
    const base = run.bases[reference];
    const annotations = {
      ...(base.buildTag ? { [BUILD_TAG_ANNOTATION]: base.buildTag } : {}),
      ...(inputs ? { [INPUTS_ANNOTATION]: inputs } : {}),
      ...(!base.digest && base.imageId ? { [IMAGE_ID_ANNOTATION]: base.imageId } : {}),
    };
    return {
      uri: dockerPurl(reference, run.platform),
      ...(base.digest ? { digest: digestSet(base.digest) } : {}),
      name: reference,
      ...(Object.keys(annotations).length ? { annotations } : {}),
    };
  });
  // A compat build's fragments: each compat directory whose Dockerfile and files went into it.
  const fragments: ResourceDescriptor[] = build.kind === "compat"
    ? request.contexts.map((dir) => ({ ...fromGit(dir), name: dir, annotations: { kind: "compat-fragment" } }))
    : [];

  const buildArgs = Object.fromEntries(Object.entries(request.buildArgs).filter(([k, v]) => !holdsSecret(k) && !holdsSecret(v)).sort(([a], [b]) => (a < b ? -1 : 1)));
  const statement: ProvenanceStatement = {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name: dockerPurl(`${run.image.repository}:${run.image.tag}`, run.platform), digest: digestSet(run.image.manifestDigest) }],
    predicateType: SLSA_PROVENANCE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          build: build.id,
          source: build.source,
          contexts: request.contexts,
          dockerfile: { digest: sha256Digest(request.dockerfile) },
          buildArgs,
          ...(run.platform ? { platform: run.platform } : {}),
          ...(request.inputsDigest ? { inputsDigest: request.inputsDigest } : {}),
        },
        internalParameters: { tags: request.tags, labels: Object.fromEntries(Object.entries(request.labels).map(([k, v]) => [k, run.imageLabels?.[k] ?? v])) },
        resolvedDependencies: [source, ...images, ...fragments],
      },
      runDetails: {
        builder: {
          id: `${IMAGE_BUILDER_URL}/builders/${run.builder.kind}`,
          version: { "image-builder": run.builder.toolVersion, "docker-engine": run.builder.engineVersion },
        },
        metadata: { startedOn: isoSeconds(run.startedOn), finishedOn: isoSeconds(run.finishedOn) },
      },
    },
  };
  const masked = redactor(run.secrets ?? []);
  const redact = run.redact;
  // Its build arguments are the only text from outside (those holding a secret are left out above,
  // these masked besides); the rest are names and values of image-builder's own, never masked
  // (maskedFreeText): `verify` reads them back.
  return maskedFreeText(statement, redact ? (text) => redact(masked(text)) : masked, PROVENANCE_FREE_TEXT);
}

/**
 * The images a request's Dockerfile is built on (each FROM, `COPY --from`, `RUN --mount=from=`),
 * as it names them. A science layer of this repository also gets its build tag, made from the
 * version label the image inherited from it (`org.sciserver.science.{target}.version`: the build
 * it was built on, whatever the moving tag it names holds now).
 */
export function basesOfImage(request: Pick<BuildRequest, "dockerfile" | "buildArgs">, labels: Readonly<Record<string, string>>): { reference: string; buildTag?: string }[] {
  return parseDockerfile(request.dockerfile, request.buildArgs).imageRefs.map(({ image }) => {
    const sci = sciReference(image);
    const build = sci && !sci.digest ? labels[versionLabel("science", sci.target)] : undefined;
    if (!build) return { reference: image };
    const colon = image.lastIndexOf(":");
    const name = colon > image.lastIndexOf("/") ? image.slice(0, colon) : image;
    return { reference: image, buildTag: `${name}:${build}` };
  });
}

/** An ISO time without milliseconds (as BuildKit writes them). */
function isoSeconds(time: string): string {
  return new Date(Math.floor(Date.parse(time) / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
