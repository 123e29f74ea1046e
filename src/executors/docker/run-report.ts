// What a run records and shows, build by build: each build's outcome (what --results writes) and
// the progress lines that go with it, then the summary. Credentials and --secret values never
// reach the output, the logs or the outcomes.
import type { PlannedBuild } from "../../core/model.js";
import { footer, indexSummaryRow, runSucceeded, summaryRow, type BuildOutcome, type PushResult, type RunOutcome } from "../../core/execute/outcomes.js";
import type { AttestationResult, SignatureResult, SignedResult, TagResult } from "../../core/model.js";
import type { SigningKey } from "../../core/signatures/keys.js";
import { signDigest } from "../../registry/signatures.js";
import type { DockerCredentials } from "../../registry/credentials.js";
import type { RegistryClient } from "../../registry/client.js";
import { agreeWithRegistry, judgedMovingTag, pushResultFromTags, readBackReason } from "../../core/execute/read-back.js";
import { versionLabel } from "../../core/requests/inputs-digest.js";
import pLimit from "p-limit";
import { indexNotWritten, unwrittenIndex, type IndexLayer, type IndexResult } from "../../core/execute/image-index.js";
import type { BuiltImage } from "./engine.js";
import { formatDuration, Progress } from "./progress.js";
import { runSecrets, type EngineRunOptions } from "./run-options.js";

export class RunReport {
  readonly progress: Progress;
  /** Hides every secret of the run (runSecrets). */
  readonly hide: (text: string) => string;
  private readonly outcomes = new Map<string, BuildOutcome>();
  /** When each build step started, for the results' times. */
  private readonly startedAt = new Map<string, string>();
  /** The image indexes written (or not) so far, by layer id. */
  private readonly indexes = new Map<string, IndexResult>();

  constructor(o: Pick<EngineRunOptions, "out" | "progress" | "logDir" | "secrets" | "signKey">, creds: DockerCredentials) {
    const live = o.progress === "auto" && Boolean((o.out as { isTTY?: boolean }).isTTY);
    // Every line of a secret on its own: output and logs reach redaction line by line. The
    // signing key is one too, should an error or a build step ever print it.
    const secrets = runSecrets(o, creds);
    this.hide = secrets.redact;
    this.progress = new Progress({ out: o.out, live, logDir: o.logDir, redact: this.hide, longestSecret: () => secrets.longest() });
  }

  /** A build that never started: skipped (a parent failed) or cancelled (the run stopped). */
  settled(id: string, status: "skipped" | "cancelled", reason: string): void {
    this.outcomes.set(id, { id, status, reason, durationMs: 0, pushed: false });
    this.progress.note(`[${id}] ${status}: ${reason}`);
  }

  started(build: PlannedBuild): void {
    this.startedAt.set(build.id, new Date().toISOString());
    this.progress.begin(build.id, [`build ${build.id} (${build.kind}, from ${build.source})`, `tags: ${build.request.tags.join(" ")}`,
      `contexts: ${build.request.contexts.join(" ")}`]);
  }

  /** A build's image is there: built, or reused (`reusedFrom`: the build tag that has the same inputs). */
  image(build: PlannedBuild, image: BuiltImage, durationMs: number, reusedFrom?: string): void {
    const { id, request: { tags } } = build;
    this.outcomes.set(id, {
      id, status: reusedFrom ? "reused" : "built", durationMs, pushed: false,
      outputs: { "docker-image-hash": image.imageId, "docker-image-repo-tag": [...tags], "docker-image-timestamp": image.created },
      ...this.stepTimes(id),
    });
    this.progress.result(id, reusedFrom
      ? `reused ${image.imageId} (${reusedFrom} has the same inputs)`
      : `built ${image.imageId} in ${formatDuration(durationMs)}`);
  }

  cancelled(id: string, reason: string | undefined, durationMs: number): void {
    this.outcomes.set(id, { id, status: "cancelled", reason, durationMs, pushed: false, ...this.stepTimes(id) });
    this.progress.result(id, `cancelled after ${formatDuration(durationMs)}: ${reason}`);
  }

  failed(id: string, err: unknown, durationMs: number): void {
    const reason = this.hide(errorMessage(err));
    const logTail = this.progress.tail(id);
    const failedStep = this.progress.steps(id)?.failedStep();
    this.outcomes.set(id, { id, status: "failed", reason, durationMs, logTail, pushed: false, ...this.stepTimes(id), ...(failedStep && { failedStep }) });
    this.progress.result(id, `FAILED after ${formatDuration(durationMs)}: ${reason}`, logTail);
  }

  /** The tags of a push about to start, none pushed yet but those `already` there; later updates show in the outcome. */
  pushing(id: string, tags: TagResult[]): void {
    this.outcome(id).tags = tags;
  }

  /** The push got its slot and starts. */
  pushStarts(id: string): void {
    this.outcome(id).pushStartedAt = new Date().toISOString();
  }

  notPushed(id: string, reason: string): void {
    this.pushEnds(id);
    this.outcome(id).reason = reason;
    this.progress.result(id, reason);
  }

  pushed(id: string, count: number): void {
    this.pushEnds(id);
    const outcome = this.outcome(id);
    outcome.pushed = true;
    this.progress.result(id, `pushed ${count} tag(s)${outcome.reason ? ` (${outcome.reason})` : ""}`);
  }

  pushFailed(id: string, err: unknown): void {
    this.pushEnds(id);
    const outcome = this.outcome(id);
    outcome.reason = this.hide(errorMessage(err));
    outcome.logTail = this.progress.tail(id);
    this.progress.result(id, `PUSH FAILED: ${outcome.reason}`);
  }

  /** Records the registry's digests of the tags pushed (or there already), if any. */
  digests(id: string, tags: TagResult[]): void {
    const digests = tags.filter((r) => r.digest).map((r) => [r.tag, r.digest!]);
    if (digests.length) this.outcome(id).outputs!["docker-image-digests"] = Object.fromEntries(digests);
  }

  /** The signature of the image under its build tag (--sign-key). */
  signature(id: string, signature: SignatureResult): void {
    this.outcome(id).signature = signature;
  }

  /**
   * The image's signature could not be written (or the signatures there read): the image is not
   * published as asked, whatever its tags hold when the run ends (agreeWithRegistry keeps this).
   */
  signingFailed(id: string, digest: string, err: unknown): void {
    this.outcome(id).signature = { status: "failed", digest, reason: this.hide(errorMessage(err)) };
  }

  /**
   * The attestation manifest of the build's image (issue 19), once the run has waited for it. One
   * that could not be uploaded leaves the image not fully published: said, and the run fails.
   */
  attestation(id: string, attestation: AttestationResult): void {
    const outcome = this.outcomes.get(id);
    if (!outcome) return;
    if (attestation.status !== "failed") {
      outcome.attestation = attestation;
      return;
    }
    const reason = this.hide(attestation.reason ?? "attestations not uploaded");
    outcome.attestation = { ...attestation, reason };
    this.addReason(id, reason);
    this.progress.result(id, `NOT FULLY PUBLISHED: ${reason}`);
  }

  /** A reused build the registry has already (its moving tag there, or left on a newer build: the reason). */
  alreadyPublished(id: string): void {
    const outcome = this.outcome(id);
    outcome.pushed = true;
    this.progress.result(id, `already in the registry${outcome.reason ? ` (${outcome.reason})` : ""}`);
  }

  /** A moving tag left where it is (it holds a newer build): the image is published under its build tag; said when its push ends. */
  notMoved(id: string, reason: string): void {
    this.addReason(id, reason);
  }

  /** A moving tag moved back to this build on purpose (`--allow-tag-rollback`); said when its push ends. */
  movedBack(id: string, reason: string): void {
    this.addReason(id, reason);
  }

  /** The registry's build tag holds another run's image of the same inputs: this one is not published. */
  superseded(id: string, reason: string): void {
    this.outcome(id).reason = reason;
    this.progress.result(id, reason);
  }

  /**
   * Reads back every tag of every push of the run (a few at a time) and makes the outcomes agree
   * with the registry; returns the push results that changed. A tag the registry can't be asked
   * about keeps what its push recorded.
   */
  async agreeWithRegistry(registry: RegistryClient, builds: PlannedBuild[]): Promise<Map<string, PushResult>> {
    const changed = new Map<string, PushResult>();
    const limit = pLimit(4);
    await Promise.all(builds.map(async (build) => {
      const { id } = build;
      const outcome = this.outcomes.get(id);
      const imageId = outcome?.outputs?.["docker-image-hash"];
      if (!outcome?.tags || !imageId) return;
      const before = outcome.tags;
      const after = await Promise.all(before.map((t, i) => limit(async () => {
        const manifest = await registry.getManifest(t.tag).catch(() => null);
        const now = manifest === null ? t : agreeWithRegistry(t, imageId, manifest && { digest: manifest.digest, configDigest: manifest.config.digest });
        // A moving tag (not the build tag, first) this run moved, now on another image: moved back
        // to an older build by another run, or on to a newer one (which stays, as before).
        if (i === 0 || !manifest || !t.pushed || now.pushed) return now;
        const label = (await registry.imageOf(manifest).catch(() => undefined))?.config.labels[versionLabel(build.kind, build.target)];
        return judgedMovingTag(now, { label, digest: manifest.digest }, build.request.labels[versionLabel(build.kind, build.target)]);
      })));
      const result = pushResultFromTags(before, after);
      outcome.tags = after;
      delete outcome.outputs!["docker-image-digests"];
      this.digests(id, after);
      // Tags that are there do not undo a signature that failed: the image is not published signed.
      if (!result || (result === "pushed" && outcome.signature?.status === "failed")) return;
      changed.set(id, result);
      outcome.pushed = result === "pushed";
      const why = readBackReason(result, after);
      if (why) outcome.reason = why;
      else delete outcome.reason;
      this.progress.result(id, `read back at the end of the run: ${result === "pushed" ? "the registry holds this image under its tags" : why}`);
    }));
    return changed;
  }

  /** A layer's index step ended. */
  indexed(result: IndexResult): void {
    this.indexes.set(result.id, result);
    if (result.status !== "pushed") this.progress.note(`[${result.id}] ${result.reason ?? `index ${result.status}`}`);
  }

  /**
   * The index tags read back once more when the run ends, as every tag of its pushes: another run
   * may have written them since. An index's "image" is the index itself (its digest).
   */
  async agreeIndexesWithRegistry(registry: RegistryClient, builds: PlannedBuild[]): Promise<void> {
    const byId = new Map(builds.map((b) => [b.id, b]));
    await Promise.all([...this.indexes.values()].map(async (index) => {
      if (!index.digest) return;
      const before = index.tags;
      const after = await Promise.all(before.map(async (t, i) => {
        const held = await registry.getManifest(t.tag, { noIndexResolution: true }).catch(() => null);
        const now = held === null ? t : agreeWithRegistry(t, index.digest!, held && { digest: held.digest, configDigest: held.digest });
        // The moving tag (second) on another index: moved back to an older build by another run?
        const [platform, id] = Object.entries(index.platforms)[0] ?? [];
        const build = id === undefined ? undefined : byId.get(id);
        if (i === 0 || !held || !t.pushed || now.pushed || !build) return now;
        const image = await registry.getManifest(t.tag, { platform }).then((m) => m && registry.imageOf(m)).catch(() => undefined);
        const label = image?.config.labels[versionLabel(build.kind, build.target)];
        return judgedMovingTag(now, { label, digest: held.digest }, build.request.labels[versionLabel(build.kind, build.target)]);
      }));
      const result = pushResultFromTags(before, after);
      index.tags = after;
      if (!result || (result === "pushed" && index.signature?.status === "failed")) return;
      index.status = result;
      const why = readBackReason(result, after);
      if (why) index.reason = why;
      else delete index.reason;
      this.progress.note(`[${index.id}] read back at the end of the run: ${result === "pushed" ? "the registry holds this index under its tags" : why}`);
    }));
  }

  /**
   * The signatures this run wrote, read once more when the run ends, as its tags are: a registry
   * has no compare-and-swap, and another signer (another key) writing a `.sig` tag from what it
   * read before this run's write drops this run's signature, after this run read it back. One
   * dropped is added again next to the other's (signDigest); one that can't be fails its image or
   * index: the image is then not published as asked (`push failed`, in the returned results by
   * build id, as agreeWithRegistry's). A signature found there at the start wrote nothing, so no
   * other write can have raced it. Not after an interrupt: nothing is written then.
   */
  async agreeSignaturesWithRegistry(registry: RegistryClient, key: SigningKey): Promise<Map<string, PushResult>> {
    const changed = new Map<string, PushResult>();
    const held: { signature: SignatureResult; line: (text: string) => void; signed: (s: SignedResult) => void; failed: (reason: string) => void }[] = [];
    for (const o of this.outcomes.values()) {
      if (o.signature?.status !== "signed") continue;
      held.push({
        signature: o.signature, line: (text) => this.progress.line(o.id, text),
        signed: (s) => (o.signature = s),
        failed: (reason) => {
          o.signature = { status: "failed", digest: o.signature!.digest, reason };
          o.pushed = false;
          this.addReason(o.id, reason);
          changed.set(o.id, "push failed");
        },
      });
    }
    for (const i of this.indexes.values()) {
      if (i.signature?.status !== "signed") continue;
      held.push({
        signature: i.signature, line: (text) => this.progress.note(`[${i.id}] ${text}`),
        signed: (s) => (i.signature = s),
        failed: (reason) => {
          i.signature = { status: "failed", digest: i.signature!.digest, reason };
          i.status = "push failed";
          i.reason = reason;
        },
      });
    }
    await Promise.all(held.map(async (h) => {
      const { digest, tag } = h.signature as SignedResult;
      try {
        const now = await signDigest(registry, key, tag.slice(0, tag.lastIndexOf(":")), { digest }, h.line);
        if (now.status === "signed") h.line(`read back at the end of the run: another write of ${tag} had dropped this key's signature; added again`);
        h.signed({ ...now, status: "signed" });
      } catch (e) {
        const reason = this.hide(`signing ${tag} (${digest}), read back at the end of the run: ${errorMessage(e)}`);
        h.line(reason);
        h.failed(reason);
      }
    }));
    return changed;
  }

  /**
   * Prints the summary; the outcomes in plan order. `indexLayers`: the layers the run was to write
   * the index of (with --push); one without an index step is recorded as not written, and why.
   */
  finish(builds: PlannedBuild[], push: boolean, interrupted: boolean, pushResult: (id: string) => PushResult | undefined, indexLayers: readonly IndexLayer[] = []): RunOutcome {
    const ordered = builds.map((b) => this.outcome(b.id));
    const indexes = push ? indexLayers.map((layer) => this.indexes.get(layer.id) ?? unwrittenIndex(layer, "not pushed", indexNotWritten(layer, (id) => {
      const o = this.outcomes.get(id);
      return { build: o?.status, push: interrupted && !pushResult(id) ? "interrupted" : pushResult(id), reason: o?.reason };
    }))) : [];
    const rows = [...builds.map((b, i) => summaryRow(ordered[i], b.request.tags, pushResult(b.id))), ...indexes.map(indexSummaryRow)];
    this.progress.summary(rows, footer(ordered, push, interrupted, indexes, builds.map((b) => pushResult(b.id))));
    return { outcomes: ordered, indexes, ok: runSucceeded(ordered, push, interrupted, indexes), interrupted };
  }

  /** A build's image as the run got it: built or reused, when its step started and ended (for its provenance). */
  buildOf(id: string): Pick<BuildOutcome, "status" | "startedAt" | "finishedAt"> | undefined {
    const outcome = this.outcomes.get(id);
    return outcome && { status: outcome.status, startedAt: outcome.startedAt, finishedAt: outcome.finishedAt };
  }

  /** What a build's push recorded of each of its tags so far (pushed, or what the registry held instead). */
  tagsOf(id: string): readonly TagResult[] | undefined {
    return this.outcomes.get(id)?.tags;
  }

  close(): Promise<void> {
    return this.progress.close();
  }

  /** A build step's start and end (now), and the Dockerfile steps its log showed. */
  private stepTimes(id: string): Pick<BuildOutcome, "startedAt" | "finishedAt" | "steps"> {
    const steps = this.progress.steps(id)?.counts();
    return { startedAt: this.startedAt.get(id), finishedAt: new Date().toISOString(), ...(steps?.total && { steps }) };
  }

  private addReason(id: string, reason: string): void {
    const outcome = this.outcome(id);
    outcome.reason = outcome.reason ? `${outcome.reason}; ${reason}` : reason;
  }

  /** A push that started has ended. */
  private pushEnds(id: string): void {
    const outcome = this.outcome(id);
    if (outcome.pushStartedAt) outcome.pushFinishedAt = new Date().toISOString();
  }

  private outcome(id: string): BuildOutcome {
    return this.outcomes.get(id)!;
  }
}

export function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).trim() || "unknown error";
}
