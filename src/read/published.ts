// `--reconcile`: what the registry holds under each build's moving tag, read over its HTTP API
// (credentials from the docker config, as for pushes). A registry that can't answer is an error,
// never "everything is missing". With a signing key, also whether each image there is signed by it.
import type { KeyObject } from "node:crypto";
import { parseImageReference } from "../core/parse/image-reference.js";
import { dockerReference } from "../core/signatures/cosign.js";
import { judgeSignatures } from "../core/signatures/verify.js";
import { readSignatures } from "../registry/signatures.js";
import { inputsLabel, inputsMismatch, versionLabel } from "../core/requests/inputs-digest.js";
import { movingTag } from "../core/requests/tags.js";
import type { PublishedImage } from "../core/plan/reconcile.js";
import type { Plan } from "../core/model.js";
import { DockerCredentials } from "../registry/credentials.js";
import { RegistryClient } from "../registry/client.js";

/** `signedBy`: the public half of the run's signing key, whose signature each image must have. */
export async function readPublishedInputs(plan: Plan, dockerConfigDir?: string, signedBy?: KeyObject): Promise<Map<string, PublishedImage>> {
  const client = new RegistryClient(await DockerCredentials.load(dockerConfigDir));
  const answers = await Promise.all(plan.builds.map(async (b): Promise<[string, PublishedImage]> => {
    const ref = movingTag(b.request);
    try {
      const image = await client.getImage(ref);
      if (!image) return [b.id, { found: false }];
      const labels = image.config.labels;
      const published: PublishedImage = { found: true, inputs: labels[inputsLabel(b.kind, b.target)], mismatch: inputsMismatch(labels, b), build: labels[versionLabel(b.kind, b.target)] };
      if (!signedBy) return [b.id, published];
      const repository = parseImageReference(ref);
      const held = await readSignatures(client, repository, image.digest);
      return [b.id, { ...published, signed: judgeSignatures({ repository: dockerReference(repository), digest: image.digest }, held?.found, signedBy).ok }];
    } catch (e) {
      throw new Error(`--reconcile: cannot read ${ref} from the registry: ${(e as Error).message}`);
    }
  }));
  return new Map(answers);
}
