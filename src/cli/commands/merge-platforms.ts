// `merge-platforms PLAN RESULTS...` (issue 17, item 6): after agents each built and pushed some
// platforms of a plan (`run PLAN --only ID --platform P --push --results R`), writes the image
// index of every layer of the plan built for platforms, with the run's own index step
// (executors/index-step.ts), by the registry's HTTP API alone: docker-stacks' merge step.
import type { Command } from "commander";
import { InputError, type IndexResult, type PlannedBuild } from "../../core/model.js";
import { indexLayers, indexLayersParentsFirst, missingPlatformImage, parentIndexLayers, unwrittenIndex, withheldIndexReason } from "../../core/execute/image-index.js";
import { indexSummaryRow, publishingTally } from "../../core/execute/outcomes.js";
import { buildTag } from "../../core/requests/tags.js";
import { inputsLabel } from "../../core/requests/inputs-digest.js";
import { writeIndex, type PlatformImage } from "../../executors/index-step.js";
import type { RegistryClient } from "../../registry/client.js";
import type { SigningKey } from "../../core/signatures/keys.js";
import { indexSigner, signPublished } from "../../executors/docker/sign-step.js";
import { recordedAttestations } from "../../executors/merged-attestations.js";
import { onHangUp, sharedAbortController } from "../../signals.js";

/** As a run: the shell's code for a process ended by Ctrl-C. */
const EXIT_INTERRUPTED = 130;

interface MergeOptions {
  results?: string;
  overwrite: boolean;
  allowTagRollback: boolean;
  verbose: number;
  signKey?: string;
}

/** The command's I/O, given by program.ts: reading inputs, writing --results, checking output paths. */
export interface MergeIo {
  readInput: (file: string) => Promise<string>;
  checkOutput: (flag: string, file: string | undefined) => void;
  /** Refuses an output file that is one of `inputs` (it would be overwritten by what was read from it). */
  checkNotAnInput: (flag: string, file: string | undefined, inputs: string[]) => void;
  writeOutput: (flag: string, file: string, text: string) => Promise<void>;
  /** `--sign-key FILE`, else IMAGE_BUILDER_SIGN_KEY (as `run --push` reads it); undefined: nothing is signed. */
  loadSignKey: (file: string | undefined) => Promise<SigningKey | undefined>;
}

export function addMergePlatformsCommand(program: Command, io: MergeIo): void {
  program.command("merge-platforms")
    .description("write the image index of each layer of a plan built for platforms, once agents pushed every platform's image (their --results files)")
    .argument("<plan>", "plan file")
    .argument("<results...>", "the --results files of the runs that built the plan's platforms")
    .option("--results <file>", "write the merged results of the files given, with the indexes, as JSON (- is stdout)")
    .option("--overwrite", "replace an index build tag ({version}-{n}-{h}) that the registry holds with other images", false)
    .option("--allow-tag-rollback", "move a moving tag ({version}) back to an older build's index", false)
    .option("--sign-key <file>", "sign each index written, and each platform image in it not signed by it yet, with this ECDSA P-256 key (PEM), as run --push --sign-key signs images; or the key (or its file's path) in IMAGE_BUILDER_SIGN_KEY")
    .option("-v, --verbose", "say what is written", (_: string, n: number) => n + 1, 0)
    .action(async (planFile: string, resultsFiles: string[], o: MergeOptions) => {
      io.checkOutput("--results", o.results);
      io.checkNotAnInput("--results", o.results, [planFile, ...resultsFiles]);
      const signKey = await io.loadSignKey(o.signKey);
      const { parsePlanFile } = await import("../../core/requests/plan-file.js");
      const { checkSamePlan, mergeResults, parseResultsFile, resultsFile } = await import("../../core/report/results.js");
      const plan = parsePlanFile(await io.readInput(planFile), planFile);
      const inputs = await Promise.all(resultsFiles.map(async (file) => ({ file, results: parseResultsFile(await io.readInput(file), file) })));
      for (const { file, results } of inputs) checkSamePlan(results, file, plan, planFile);
      const merged = mergeResults(inputs);
      const layers = indexLayers(plan.builds);
      const say = (line: string) => process.stderr.write(`${line}\n`);
      if (layers.length === 0) {
        say("image-builder: nothing to merge: the plan names no platforms (its images have no index)");
      }
      const { DockerCredentials } = await import("../../registry/credentials.js");
      const { RegistryClient } = await import("../../registry/client.js");
      const registry = new RegistryClient(await DockerCredentials.load());
      const byId = new Map(plan.builds.map((b) => [b.id, b]));
      const resultOf = new Map(merged.results.map((r) => [r.id, r]));
      const indexes: IndexResult[] = [];
      // Each platform image's attestation manifest, as its agent's results name it.
      const attach = recordedAttestations((id) => resultOf.get(id), (text) => say(`image-builder: note: ${text}`));
      // Ctrl-C or SIGTERM, as in a run: nothing more is signed or written (the index step in
      // progress stops before its next write: a build tag written keeps its moving tag where it
      // was), and the summary and --results say which indexes were left. A second signal ends the
      // process at once.
      const controller = sharedAbortController();
      const stop = () => {
        if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
        say("image-builder: interrupted: no more indexes are written (interrupt again to stop now)");
        controller.abort();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      // The terminal closing is an interrupt too (as for a run); not under nohup.
      const offHangUp = onHangUp(stop);
      try {
        // Parents first: a layer's index waits on theirs (the plan may list a child first).
        for (const layer of indexLayersParentsFirst(layers, (id) => byId.get(id)?.dependsOn ?? [])) {
          if (controller.signal.aborted) {
            indexes.push(unwrittenIndex(layer, "not pushed", `not pushed: interrupted; ${layer.buildTag} and ${layer.movingTag} are left as they were`));
            continue;
          }
          const images: PlatformImage[] = [];
          const missing: string[] = [];
          for (const member of layer.members) {
            const build = byId.get(member.id)!;
            const found = await platformImage(registry, build, member.platform);
            const problem = missingPlatformImage(member, buildTag(build.request), build.request.inputsDigest, found, resultOf.get(member.id));
            if (problem || !found) missing.push(problem!);
            else images.push({ platform: member.platform, build, imageId: found.imageId });
            // With a key, every image the index serves is signed by it, as a run signs what it
            // pushes: agents may have pushed without one, or with another (verify checks each).
            if (!problem && found && signKey && !controller.signal.aborted) {
              try {
                await signPublished({ registry, signKey, line: (text) => { if (o.verbose >= 1) say(`[${member.id}] ${text}`); } }, buildTag(build.request), found.manifest);
              } catch (e) {
                missing.push(`${member.id}: ${(e as Error).message}`);
              }
            }
          }
          // A layer whose parent's index was not written is not either (as in a run).
          const unwrittenParent = parentIndexLayers(layer, layers, (id) => byId.get(id)?.dependsOn ?? [])
            .find((p) => indexes.find((i) => i.id === p.id)?.status !== "pushed");
          const result = missing.length
            ? unwrittenIndex(layer, "not pushed", `index not written: ${missing.join("; ")}; ${layer.buildTag} and ${layer.movingTag} are left as they were`)
            : unwrittenParent ? unwrittenIndex(layer, "not pushed", withheldIndexReason(layer, unwrittenParent))
            : await writeIndex({
              registry, overwrite: o.overwrite, allowTagRollback: o.allowTagRollback, attach, signal: controller.signal,
              sign: indexSigner(signKey, (text) => say(`[${layer.id}] ${text}`)),
              line: (text) => { if (o.verbose >= 1) say(`[${layer.id}] ${text}`); },
            }, layer, images);
          if (result.status !== "pushed") say(`[${layer.id}] ${result.reason ?? `index ${result.status}`}`);
          indexes.push(result);
        }
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        offHangUp();
      }
      if (o.verbose >= 1) for (const i of indexes) say(describe(i));
      const written = indexes.filter((i) => i.status === "pushed").length;
      // As a run's last line counts them: each as its result says it (hunter23: "not pushed" for a push failed).
      if (layers.length) say(publishingTally([], true, indexes).map((t) => t.text).join(", "));
      if (o.results) await io.writeOutput("--results", o.results, `${JSON.stringify(resultsFile(plan, merged.results, merged.jobs, indexes), null, 2)}\n`);
      process.exitCode = controller.signal.aborted ? EXIT_INTERRUPTED : written === indexes.length ? 0 : 1;
    });
}

/** A summary line of an index (`-v`): its row of the run's summary table. */
function describe(i: IndexResult): string {
  const row = indexSummaryRow(i);
  return `${row.id}  ${row.result}  ${row.tags.join(", ")}`;
}

/**
 * The registry's image under a build's platform build tag: its inputs label and config digest
 * (the image id); undefined when it holds nothing. A registry that can't be asked is an error.
 */
async function platformImage(registry: RegistryClient, build: PlannedBuild, platform: string): Promise<{ inputs?: string; imageId: string; manifest: { digest: string; mediaType: string } } | undefined> {
  const tag = buildTag(build.request);
  try {
    const image = await registry.getImage(tag, { platform });
    return image && { inputs: image.config.labels[inputsLabel(build.kind, build.target)], imageId: image.configDigest, manifest: { digest: image.manifestDigest, mediaType: image.mediaType } };
  } catch (e) {
    if (e instanceof InputError) return undefined;
    throw new Error(`cannot read ${tag} from the registry: ${(e as Error).message}`);
  }
}
