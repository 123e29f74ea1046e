// `--reconcile`: what the registry holds under each build's moving tag, read over its HTTP API
// (credentials from the docker config, as for pushes). A registry that can't answer is an error,
// never "everything is missing".
import { inputsLabel, inputsMismatch, versionLabel } from "../core/requests/inputs-digest.js";
import { baseReference, movingTag } from "../core/requests/tags.js";
import { attestationEntryOf } from "../core/attestations/manifest.js";
import type { PublishedImage } from "../core/plan/reconcile.js";
import type { Plan } from "../core/model.js";
import { DockerCredentials } from "../registry/credentials.js";
import { RegistryClient } from "../registry/client.js";

/** `attestations`: also whether each image has its attestations in the index under the layer's moving tag (runs publish them by default). */
export async function readPublishedInputs(plan: Plan, dockerConfigDir?: string, options: { attestations?: boolean } = {}): Promise<Map<string, PublishedImage>> {
  const client = new RegistryClient(await DockerCredentials.load(dockerConfigDir));
  const answers = await Promise.all(plan.builds.map(async (b): Promise<[string, PublishedImage]> => {
    const ref = movingTag(b.request);
    try {
      const image = await client.getImage(ref);
      if (!image) return [b.id, { found: false }];
      const labels = image.config.labels;
      const found: PublishedImage = { found: true, inputs: labels[inputsLabel(b.kind, b.target)], mismatch: inputsMismatch(labels, b), build: labels[versionLabel(b.kind, b.target)] };
      if (!options.attestations) return [b.id, found];
      // A platform's image is under its platform tag; the index of the layer, with the attestations, under the layer's own.
      const layerTag = baseReference(b.request);
      const index = layerTag === ref ? image.index : (await client.getImage(layerTag, { platform: b.request.platform }))?.index;
      return [b.id, { ...found, attested: attestationEntryOf(index ?? [], image.manifestDigest) !== undefined }];
    } catch (e) {
      throw new Error(`--reconcile: cannot read ${ref} from the registry: ${(e as Error).message}`);
    }
  }));
  return new Map(answers);
}
