// The attestations of each pushed platform image (issue 19): once the image is in the registry,
// its SBOM (its layers' package databases, read from the registry: the layers a child shares with
// its parent are read once per run) and its provenance (the request, the commit, what it was built
// on as the registry holds it, the builder, the times) go into one attestation manifest, uploaded
// before the index that names it (the index step's attachments hook). An image whose index already
// holds an attestation manifest of its digest gets that one again, so a rerun writes nothing.
import type Dockerode from "dockerode";
import { attestationEntryOf, attestationManifest, sbomStatement, type OciDescriptor } from "../../core/attestations/manifest.js";
import { basesOfImage, provenanceStatement, type BaseImage } from "../../core/attestations/provenance.js";
import type { PlannedBuild } from "../../core/model.js";
import { formatImageReference, parseImageReference, type ImageReference } from "../../core/parse/image-reference.js";
import { scanPackages } from "../../core/sbom/packages.js";
import { spdxDocument } from "../../core/sbom/spdx.js";
import { buildtimeLabel } from "../../core/requests/inputs-digest.js";
import { buildTag, stripPlatformSuffix, withPlatformSuffix } from "../../core/requests/tags.js";
import type { AttachHook, PushedImage } from "../index-step.js";
import { putAttestationManifest } from "../../registry/attestations.js";
import { parseJson, summarizeConfig, type Descriptor, type ImageConfigJson, type RegistryClient, type RegistryManifest } from "../../registry/client.js";
import { readPackageFiles, SharedLayerChains } from "../../registry/image-files.js";

/** What the run knows that goes into every image's provenance. */
export interface AttestationRun {
  registry: RegistryClient;
  /** For the bases from elsewhere (`busybox:stable`): their registry digests as the engine pulled them. */
  docker?: Dockerode;
  git: { commit: string; repository?: string };
  builder: { kind: "classic" | "buildkit"; engineVersion: string; toolVersion: string };
  /** The builder of one build, when it is not the run's (`auto` builds a Dockerfile whose frontend can't be had with the classic builder). */
  builderOf?: (id: string) => "classic" | "buildkit" | undefined;
  /** `--secret` values: none appears in a statement. */
  secrets: Iterable<string>;
  /** Hides registry credentials (DockerCredentials.redact). */
  redact: (text: string) => string;
  /** When the run built (or reused) a build's image; undefined: it did not (another run pushed it). */
  buildOf: (id: string) => { status: string; startedAt?: string; finishedAt?: string } | undefined;
  /** A package database file of the image that could not be read (the SBOM lists the rest). */
  warn: (id: string, text: string) => void;
  /** The engine's platform: a plan without platforms is published as one-platform indexes of it. */
  enginePlatform: string;
}

/** One platform image in the registry, as the index step hands it over. */
interface AttestedPush {
  /** `os/arch[/variant]`. */
  platform: string;
  /** The platform image's manifest, as the registry serves it under its platform build tag. */
  descriptor: Descriptor;
  /** The build of the run that made it (its request's tags: the platform tags). */
  build: PlannedBuild;
  /** The layer's build tag, `host/path/sci/x:1.0-7-3f2a9c1`, which holds the index. */
  layerBuildTag: string;
  /** What its push read (its manifest, its parents' digests), when this run pushed it; else read here. */
  pushed?: PushedImage;
}

/**
 * Makes, per run, the attachments (attestation manifests) of each platform image: the index
 * step's hook. Each image's are started as soon as it is pushed (`pushed`), off the push slots,
 * and the index step waits for them.
 */
export function attestationAttacher(run: AttestationRun): AttachHook {
  // The package database states after each image's layers, for the images pushed after it.
  const chains = new SharedLayerChains();
  /** Attestations started, by platform image digest. */
  const started = new Map<string, Promise<OciDescriptor>>();
  const attest = (image: AttestedPush) => {
    let done = started.get(image.descriptor.digest);
    if (!done) {
      done = attestImage(run, chains, image);
      started.set(image.descriptor.digest, done);
      // Awaited by the index step, which reports a failure.
      done.catch(() => undefined);
    }
    return done;
  };
  const layerBuildTag = (build: PlannedBuild, platform: string) => stripPlatformSuffix(buildTag(build.request), platform);
  const hook: AttachHook = async ({ platform, descriptor, build }) => [await attest({ platform, descriptor, build, layerBuildTag: layerBuildTag(build, platform) })];
  hook.pushed = (build, pushed) => {
    const platform = build.request.platform ?? run.enginePlatform;
    // The image as the registry holds it under its platform build tag, as the index step will name it.
    const start = (m: RegistryManifest | undefined) => {
      if (m && m.digest === m.manifestDigest) attest({ platform, descriptor: { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length }, build, layerBuildTag: layerBuildTag(build, platform), pushed });
    };
    if (pushed) start(pushed.manifest);
    else void run.registry.getManifest(buildTag(build.request)).then(start).catch(() => undefined);
  };
  return hook;
}

async function attestImage(run: AttestationRun, chains: SharedLayerChains, image: AttestedPush): Promise<OciDescriptor> {
  const { registry } = run;
  const layerRef = parseImageReference(image.layerBuildTag);
  const repository: ImageReference = { registry: layerRef.registry, repository: layerRef.repository };
  // An image this run built is new: no attestation of it can be there yet (a rerun reuses its images).
  const built = run.buildOf(image.build.id)?.status === "built";
  const existing = built ? undefined : await existingAttestation(registry, image);
  if (existing) return existing;
  const manifest = image.pushed?.manifest ?? await registry.getManifest({ ...repository, digest: image.descriptor.digest });
  if (!manifest) throw new Error(`${formatImageReference(repository)}@${image.descriptor.digest}: not in the registry, so it can't be attested`);
  const config = summarizeConfig(parseJson(await registry.getBlob(repository, manifest.config.digest), `config ${manifest.config.digest} of ${image.layerBuildTag}`) as ImageConfigJson);

  const { files, warnings } = await readPackageFiles(registry, { ref: repository, layers: manifest.layers }, { chains });
  const scan = scanPackages(files);
  const sbom = spdxDocument({ name: image.layerBuildTag, manifestDigest: image.descriptor.digest, created: config.created, platform: image.platform },
    scan.packages, `image-builder-${run.builder.toolVersion}`);
  for (const w of [...warnings, ...scan.warnings]) run.warn(image.build.id, `SBOM: ${w}`);

  const bases: Record<string, BaseImage> = {};
  for (const base of basesOfImage(image.build.request, config.labels)) bases[base.reference] = await baseImage(run, base, image.platform, image.pushed?.parents);
  const times = buildTimes(run, image.build, config);
  const provenance = provenanceStatement(image.build, {
    image: { repository: formatImageReference(repository), tag: layerRef.tag!, manifestDigest: image.descriptor.digest },
    platform: image.platform, git: run.git, bases, builder: { ...run.builder, kind: run.builderOf?.(image.build.id) ?? run.builder.kind }, ...times, secrets: run.secrets, redact: run.redact,
  });
  // BuildKit's order: the SBOM, then the provenance; both about the same subject.
  const attestation = attestationManifest(image.descriptor.digest, [sbomStatement(provenance.subject, sbom), provenance]);
  await putAttestationManifest(registry, repository, attestation, { fresh: built });
  return attestation.manifest.descriptor;
}

/**
 * The attestation manifest the registry's index under the layer's build tag already holds for
 * this image (a rerun, or a run that only writes the moving tag), when the registry still has it.
 */
async function existingAttestation(registry: RegistryClient, image: AttestedPush): Promise<OciDescriptor | undefined> {
  const held = await registry.getManifest(image.layerBuildTag, { noIndexResolution: true });
  if (!held || !/index|manifest\.list/.test(held.mediaType)) return undefined;
  const entries = (parseJson(held.bytes, `index of ${image.layerBuildTag}`) as { manifests?: Descriptor[] }).manifests ?? [];
  const entry = attestationEntryOf(entries, image.descriptor.digest);
  if (!entry) return undefined;
  const ref = parseImageReference(image.layerBuildTag);
  return (await registry.getDigest(formatImageReference({ registry: ref.registry, repository: ref.repository, digest: entry.digest }))) ? entry : undefined;
}

/**
 * What the provenance says of one image the build was based on: a parent of this repository by
 * its build tag and the registry's digest of its image for the platform (what `verify` reads
 * again); a base from elsewhere by the registry digest the engine pulled it by, else its image id.
 */
async function baseImage(run: AttestationRun, base: { reference: string; buildTag?: string }, platform: string, pushedOn: Record<string, string> = {}): Promise<BaseImage> {
  if (base.buildTag) {
    // The parent's image for the platform: under its platform build tag (pushed before this
    // image was; its index may not be written yet: as this image's push found it there, when it
    // was a parent of this run), else (published before attestations, or with --no-attestations)
    // under its build tag.
    const platformTag = withPlatformSuffix(base.buildTag, platform);
    const digest = pushedOn[platformTag] ?? await run.registry.getDigest(platformTag)
      ?? (await run.registry.getManifest(base.buildTag, { platform }))?.manifestDigest;
    return { buildTag: base.buildTag, ...(digest ? { digest } : {}) };
  }
  if (!run.docker) return {};
  try {
    const inspect = await run.docker.getImage(base.reference).inspect();
    const name = base.reference.replace(/[:@][^/]*$/, "");
    const pulled = (inspect.RepoDigests ?? []).find((d) => d.startsWith(`${name}@`));
    return pulled ? { digest: pulled.slice(pulled.indexOf("@") + 1) } : { imageId: inspect.Id };
  } catch {
    // The engine no longer has it under that name (removed since the build): named, without a digest.
    return {};
  }
}

/**
 * When the image was made: the run's build step, for an image this run built; for one it reused
 * (published before, attested now: `--reconcile` adding missing attestations), its own buildtime
 * label and its config's creation time.
 */
function buildTimes(run: AttestationRun, build: PlannedBuild, config: { labels: Record<string, string>; created?: string }): { startedOn: string; finishedOn: string } {
  const ran = run.buildOf(build.id);
  if (ran?.status === "built" && ran.startedAt && ran.finishedAt) return { startedOn: ran.startedAt, finishedOn: ran.finishedAt };
  const seconds = Number(config.labels[buildtimeLabel(build.kind, build.target)]);
  const created = config.created && !Number.isNaN(Date.parse(config.created)) ? config.created : new Date(0).toISOString();
  return { startedOn: Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000).toISOString() : created, finishedOn: created };
}
