// The attestations of each pushed platform image (issue 19): once the image is in the registry,
// its SBOM (its layers' package databases, read from the registry: the layers a child shares with
// its parent are read once per run) and its provenance (the request, the commit, what it was built
// on as the registry holds it, the builder, the times) go into one attestation manifest, uploaded
// before the index that names it (the index step's attachments hook). An image whose index already
// holds an attestation manifest of its digest gets that one again, so a rerun writes nothing.
// Images of layers whose index this run does not write (an agent's share of a split plan: the
// index is merge-platforms') get theirs all the same: the run waits for them before it ends
// (`settled`) and records each in its results, which merge-platforms reads.
import { printable } from "../../core/printable.js";
import type Dockerode from "dockerode";
import { attestationManifest, sbomStatement } from "../../core/attestations/manifest.js";
import type { Descriptor } from "../../core/registry/image-index.js";
import { basesOfImage, provenanceStatement, type BaseImage } from "../../core/attestations/provenance.js";
import type { AttestationResult, PlannedBuild } from "../../core/model.js";
import { formatImageReference, parseImageReference, type ImageReference } from "../../core/parse/image-reference.js";
import { scanPackages } from "../../core/sbom/packages.js";
import { spdxDocument } from "../../core/sbom/spdx.js";
import { buildtimeLabel } from "../../core/requests/inputs-digest.js";
import { buildTag, stripPlatformSuffix, withPlatformSuffix } from "../../core/requests/tags.js";
import type { AttachHook, PushedImage } from "../index-step.js";
import { attestationOfImageProblems, heldAttestation, putAttestationManifest } from "../../registry/attestations.js";
import { readImageConfig, summarizeConfig, type RegistryClient } from "../../registry/client.js";
import { readPackageFiles, SharedLayerChains } from "../../registry/image-files.js";
import type { LayerStateCache } from "../../registry/layer-state-cache.js";
import { errorMessage } from "./run-report.js";

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
  /** How the run got a build's image (built, reused); undefined: it did not (another run pushed it). */
  buildOf: (id: string) => { status: string } | undefined;
  /** A package database file of the image that could not be read (the SBOM lists the rest). */
  warn: (id: string, text: string) => void;
  /** The engine's platform: a plan without platforms is published as one-platform indexes of it. */
  enginePlatform: string;
  /** States of layer chains earlier runs read (their package files): those layers are not read again. */
  layerStates?: LayerStateCache;
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

/** The index step's hook, and the end of the run's attestations. */
export type Attacher = AttachHook & {
  /**
   * Waits for every attestation started (of every image pushed, whether or not the run writes its
   * layer's index) and returns each build's, by build id: what `--results` records. `stop` (a
   * second interrupt, or the bound of the wait after one) ends the wait: those still in flight
   * are recorded as failed.
   */
  settled: (stop?: AbortSignal) => Promise<Map<string, AttestationResult>>;
  /** How many images' attestations are being made or uploaded now. */
  inFlight: () => number;
};

/** An attestation manifest made (or found) for an image. */
interface Attested {
  descriptor: Descriptor;
  status: "uploaded" | "already there";
}

/**
 * Makes, per run, the attachments (attestation manifests) of each platform image: the index
 * step's hook. Each image's are started as soon as it is pushed (`pushed`), off the push slots;
 * the index step waits for those of its layer, and the run for all of them (`settled`).
 */
export function attestationAttacher(run: AttestationRun): Attacher {
  // The package database states after each image's layers, for the images pushed after it.
  const chains = new SharedLayerChains();
  /** Attestations started, by platform image digest. */
  const started = new Map<string, Promise<Attested>>();
  /** Every attestation started and its recording, and the pushed images' reads before them. */
  const pending: Promise<void>[] = [];
  const results = new Map<string, AttestationResult>();
  /** Builds whose attestations are being made, and their image's digest once known. */
  const making = new Map<string, string | undefined>();
  // One per build: a failure (of the read before its attestation started) does not replace an attestation made.
  const made = (r: AttestationResult | undefined) => r !== undefined && r.status !== "failed";
  const record = (id: string, result: AttestationResult) => {
    making.delete(id);
    if (result.status !== "failed" || !made(results.get(id))) results.set(id, result);
  };
  const failed = (id: string, subject: string | undefined, e: unknown): void =>
    record(id, { status: "failed", ...(subject ? { subject } : {}), reason: run.redact(errorMessage(e)) });
  /** Builds whose result waits on the attestation of a digest (`id digest`): each recorded once, also a build whose image another build's attestation covers. */
  const recording = new Set<string>();
  const attest = (image: AttestedPush) => {
    const subject = image.descriptor.digest;
    let done = started.get(subject);
    if (!done) {
      done = attestImage(run, chains, image).catch((e: unknown) => {
        throw new Error(`attestations of ${buildTag(image.build.request)} (${subject}) not uploaded: ${errorMessage(e)}`);
      });
      started.set(subject, done);
    }
    const key = `${image.build.id} ${subject}`;
    if (!recording.has(key)) {
      recording.add(key);
      making.set(image.build.id, subject);
      pending.push(done.then(
        ({ descriptor: { mediaType, digest, size }, status }) => record(image.build.id, { status, subject, mediaType, digest, size }),
        (e: unknown) => failed(image.build.id, subject, e),
      ));
    }
    return done;
  };
  const layerBuildTag = (build: PlannedBuild, platform: string) => stripPlatformSuffix(buildTag(build.request), platform);
  const hook = (async ({ platform, descriptor, build }) => [(await attest({ platform, descriptor, build, layerBuildTag: layerBuildTag(build, platform) })).descriptor]) as Attacher;
  hook.pushed = (build: PlannedBuild, pushed?: PushedImage) => {
    const platform = build.request.platform ?? run.enginePlatform;
    const tag = buildTag(build.request);
    // What the push read back under the build tag (this build's image), else read here.
    const read = pushed?.manifest;
    if (!made(results.get(build.id))) making.set(build.id, read?.digest);
    pending.push((async () => {
      // The image as the registry holds it under its platform build tag, as the index step will name it.
      const m = read ?? await run.registry.getManifest(tag).catch((e: Error) => {
        throw new Error(`attestations of ${tag} not made: cannot read it from the registry: ${e.message}`);
      });
      if (!m || m.digest !== m.manifestDigest) throw new Error(`attestations of ${tag} not made: the registry holds ${m ? "an index" : "nothing"} under it, not its image`);
      const descriptor: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
      // Its failure is recorded by attest. The manifest read here is what the attestation is made from (not read again).
      await attest({ platform, descriptor, build, layerBuildTag: layerBuildTag(build, platform), pushed: pushed ?? { manifest: m, parents: {} } }).catch(() => undefined);
    })().catch((e: unknown) => failed(build.id, read?.digest, e)));
  };
  hook.settled = async (stop) => {
    const stopped = new Promise<void>((resolve) => {
      if (stop?.aborted) resolve();
      stop?.addEventListener("abort", () => resolve(), { once: true });
    });
    while (pending.length && !stop?.aborted) await Promise.race([Promise.all(pending.splice(0)), stopped]);
    for (const [id, subject] of making) record(id, { status: "failed", ...(subject ? { subject } : {}), reason: "the run was stopped before its attestations were uploaded" });
    return new Map(results);
  };
  hook.inFlight = () => making.size;
  return hook;
}

async function attestImage(run: AttestationRun, chains: SharedLayerChains, image: AttestedPush): Promise<Attested> {
  const { registry } = run;
  const layerRef = parseImageReference(image.layerBuildTag);
  const repository: ImageReference = { registry: layerRef.registry, repository: layerRef.repository };
  // An image this run built is new: no attestation of it can be there yet (a rerun reuses its images).
  const built = run.buildOf(image.build.id)?.status === "built";
  const existing = built ? undefined : await heldAttestation(registry, image.layerBuildTag, { platform: image.platform, digest: image.descriptor.digest });
  if (existing) return { descriptor: existing, status: "already there" };
  const manifest = image.pushed?.manifest ?? await registry.getManifest({ ...repository, digest: image.descriptor.digest });
  if (!manifest) throw new Error(`${formatImageReference(repository)}@${image.descriptor.digest}: not in the registry, so it can't be attested`);
  // The config as the engine has it, when the push handed it over; else read from the registry.
  const config = image.pushed?.config ?? summarizeConfig(readImageConfig(await registry.getBlob(repository, manifest.config.digest), `config ${manifest.config.digest} of ${image.layerBuildTag}`));

  const { files, warnings } = await readPackageFiles(registry, { ref: repository, layers: manifest.layers }, { chains, cache: run.layerStates });
  const scan = scanPackages(files);
  const sbom = spdxDocument({ name: image.layerBuildTag, manifestDigest: image.descriptor.digest, created: config.created, platform: image.platform },
    scan.packages, `image-builder-${run.builder.toolVersion}`, warnings);
  // Files not read leave the SBOM incomplete: it says so itself, and queries of it do not read clean.
  for (const w of warnings) run.warn(image.build.id, `SBOM incomplete: ${printable(run.redact(w))}`);
  for (const w of scan.warnings) run.warn(image.build.id, `SBOM: ${printable(run.redact(w))}`);

  const bases: Record<string, BaseImage> = {};
  for (const base of basesOfImage(image.build.request, config.labels)) bases[base.reference] = await baseImage(run, base, image.platform, image.pushed?.parents);
  const times = imageTimes(image.build, config);
  const provenance = provenanceStatement(image.build, {
    image: { repository: formatImageReference(repository), tag: layerRef.tag!, manifestDigest: image.descriptor.digest }, imageLabels: config.labels,
    platform: image.platform, git: run.git, bases, builder: { ...run.builder, kind: run.builderOf?.(image.build.id) ?? run.builder.kind }, ...times, secrets: run.secrets, redact: run.redact,
  });
  // BuildKit's order: the SBOM, then the provenance; both about the same subject.
  const attestation = attestationManifest(image.descriptor.digest, [sbomStatement(provenance.subject, sbom), provenance]);
  const put = await putAttestationManifest(registry, repository, attestation, { fresh: built });
  if (put === "exists") {
    // Nothing written, yet no sound attestation was found for it: what the registry holds under
    // these very digests may be damaged (bit rot, an edit on its disk), and a registry keeps a blob
    // it has rather than take it again. Read back, so a damaged one is not called "already there".
    const [problem] = await attestationOfImageProblems(registry, repository, { platform: image.platform, digest: image.descriptor.digest }, attestation.manifest.descriptor);
    if (problem) {
      throw new Error(`the registry holds this attestation damaged (${problem}), and uploading it again does not replace what a registry has: remove the damaged blob from the registry's storage, then run again`);
    }
  }
  return { descriptor: attestation.manifest.descriptor, status: put === "exists" ? "already there" : "uploaded" };
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
 * When the image was made, as the image itself says: its buildtime label (set when its build was
 * sent to the engine) and its config's creation time. Read from the image, not the run's clock,
 * so that its statements are the same bytes whichever run makes them: the run that built it, or a
 * rerun that reuses it and finds no index naming them (an agent of a split plan, before
 * merge-platforms wrote the index) and so writes nothing.
 */
function imageTimes(build: PlannedBuild, config: { labels: Record<string, string>; created?: string }): { startedOn: string; finishedOn: string } {
  const seconds = Number(config.labels[buildtimeLabel(build.kind, build.target)]);
  const created = config.created && !Number.isNaN(Date.parse(config.created)) ? config.created : new Date(0).toISOString();
  const startedOn = Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000).toISOString() : created;
  return { startedOn, finishedOn: Date.parse(created) < Date.parse(startedOn) ? startedOn : created };
}
