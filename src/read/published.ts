// `--reconcile`: what the registry holds under each build's moving tag, read over its HTTP API
// (credentials from the docker config, as for pushes). A registry that can't answer is an error,
// never "everything is missing".
import { inputsLabel, inputsMismatch, versionLabel } from "../core/requests/inputs-digest.js";
import { movingTag } from "../core/requests/tags.js";
import type { PublishedImage } from "../core/plan/reconcile.js";
import type { Plan } from "../core/model.js";
import { DockerCredentials } from "../registry/credentials.js";
import { RegistryClient } from "../registry/client.js";

export async function readPublishedInputs(plan: Plan, dockerConfigDir?: string): Promise<Map<string, PublishedImage>> {
  const client = new RegistryClient(await DockerCredentials.load(dockerConfigDir));
  const answers = await Promise.all(plan.builds.map(async (b): Promise<[string, PublishedImage]> => {
    const ref = movingTag(b.request);
    try {
      const image = await client.getImage(ref);
      if (!image) return [b.id, { found: false }];
      const labels = image.config.labels;
      return [b.id, { found: true, inputs: labels[inputsLabel(b.kind, b.target)], mismatch: inputsMismatch(labels, b), build: labels[versionLabel(b.kind, b.target)] }];
    } catch (e) {
      throw new Error(`--reconcile: cannot read ${ref} from the registry: ${(e as Error).message}`);
    }
  }));
  return new Map(answers);
}
