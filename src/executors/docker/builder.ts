// The builder of a run, decided once against the engine: which one (--builder), the network
// mode of RUN steps (--network), and what BuildKit needs that the classic builder does not.
import type Dockerode from "dockerode";
import { randomBytes } from "node:crypto";
import { chooseBuilder, defaultNetworkMode, type Builder, type BuilderChoice, type BuilderDecision, type EngineFacts } from "../../core/requests/builder-choice.js";
import { checkFeatures, dockerfileAt } from "../../core/requests/builder-features.js";
import { InputError, type Plan } from "../../core/model.js";
import { parseDockerfile, rewriteImageRefs } from "../../core/parse/dockerfile/index.js";
import { pullImage } from "./pull.js";
import type { DockerCredentials } from "../../registry/credentials.js";
import { isSha256Digest } from "../../core/digest.js";

export interface RunBuilder extends BuilderDecision {
  network?: string;
  engine: EngineFacts;
}

export async function prepareBuilder(
  docker: Dockerode, engine: EngineFacts, choice: BuilderChoice, network: string | undefined,
): Promise<RunBuilder> {
  const decision = chooseBuilder(choice, engine);
  if (network) return { ...decision, network, engine };
  // Only BuildKit needs a mode named: the classic builder falls back on the engine's default
  // by itself, BuildKit asks for `bridge` and fails on an engine without one.
  if (decision.builder === "classic") return { ...decision, engine };
  const names = (await docker.listNetworks()).map((n) => n.Name);
  return { ...decision, network: defaultNetworkMode(names), engine };
}

/** A pinned parent: `sha256:` and the image id, as `pinParents` writes it. */

/**
 * BuildKit (up to engine 23 at least) can't build `FROM sha256:<image id>`: it takes the id for
 * a repository name on Docker Hub. Each image id in the Dockerfile gets a tag of its own,
 * `image-builder-pin:<id>-<nonce>` (one per build, so that concurrent builds don't remove each
 * other's), which BuildKit finds in the engine; `release` removes those tags again (never the
 * images: a tag that is an image's last is left).
 */
export async function pinnedIdsAsTags(
  docker: Dockerode, dockerfile: string, buildArgs: Record<string, string>,
): Promise<{ dockerfile: string; release: () => Promise<void> }> {
  // `sha256:` + 64 hex digits: what follows the prefix names the tag.
  const ids = parseDockerfile(dockerfile, buildArgs).imageRefs.map((r) => r.image).filter(isSha256Digest).map((i) => i.slice(7));
  const nonce = randomBytes(4).toString("hex");
  const tagOf = (id: string) => `${id.slice(0, 32)}-${nonce}`;
  const tags: Record<string, string> = {};
  for (const id of ids) {
    await docker.getImage(`sha256:${id}`).tag({ repo: "image-builder-pin", tag: tagOf(id) });
    tags[`sha256:${id}`] = `image-builder-pin:${tagOf(id)}`;
  }
  const rewritten = ids.length === 0 ? dockerfile : rewriteImageRefs(dockerfile, tags, buildArgs);
  const release = async () => {
    for (const tag of Object.values(tags)) {
      const info = await docker.getImage(tag).inspect().catch(() => undefined);
      if (info && (info.RepoTags?.length ?? 0) > 1) await docker.getImage(tag).remove({ noprune: true }).catch(() => undefined);
    }
  };
  return { dockerfile: rewritten, release };
}

/**
 * Each build's builder, before anything is built. Dockerfile features the run's builder lacks
 * are bad input (file:line) and stop the run. A `# syntax=` frontend the engine can't get is the
 * engine's problem, and only for builds that are really built (not reused): with `auto`, a build
 * that needs nothing else of BuildKit goes to the classic builder (which ignores the directive),
 * with a note; otherwise that build fails, saying why.
 */
export interface BuildersOfPlan {
  builders: Map<string, Builder>;
  /** Build id -> a note to show when it is built. */
  notes: Map<string, string>;
  /** Build id -> why it can't be built here (fails when it would be). */
  unavailable: Map<string, string>;
}

export async function buildersOfPlan(
  docker: Dockerode, creds: DockerCredentials, plan: Plan, run: RunBuilder, choice: BuilderChoice, signal: AbortSignal,
): Promise<BuildersOfPlan> {
  const builders = new Map<string, Builder>();
  const notes = new Map<string, string>();
  const unavailable = new Map<string, string>();
  const problems: string[] = [];
  const frontends = new Map<string, Promise<string | undefined>>();
  for (const b of plan.builds) {
    const at = dockerfileAt(b);
    const check = checkFeatures(at, b.request.dockerfile, run.builder, run.engine.version);
    problems.push(...check.problems);
    let builder = check.builder;
    const { features, syntax } = check.scan;
    if (builder === "buildkit" && syntax) {
      if (!frontends.has(syntax.image)) frontends.set(syntax.image, frontendMissing(docker, creds, syntax.image, signal));
      const missing = await frontends.get(syntax.image)!;
      if (missing && choice === "auto" && features.length === 0) {
        builder = "classic";
        notes.set(b.id, `${at(syntax.line)}: the engine can't get the frontend image ${syntax.image} (${missing}): building with the classic builder, which ignores the directive`);
      } else if (missing) {
        unavailable.set(b.id, `${at(syntax.line)}: \`# syntax=${syntax.image}\` needs that frontend image, which the engine can't get: ${missing}`);
      }
    }
    builders.set(b.id, builder);
  }
  if (problems.length) throw new InputError(problems.length === 1 ? problems[0] : `${problems[0]} (and ${problems.length - 1} more: ${problems.slice(1).join("; ")})`);
  return { builders, notes, unavailable };
}

/** undefined when the engine has the frontend image or could pull it; else why not. */
async function frontendMissing(docker: Dockerode, creds: DockerCredentials, image: string, signal: AbortSignal): Promise<string | undefined> {
  if (await docker.getImage(image).inspect().then(() => true, () => false)) return undefined;
  const failure = await pullImage(docker, creds, image, signal, { credentialsOptional: true });
  return failure?.message.split("\n")[0];
}
