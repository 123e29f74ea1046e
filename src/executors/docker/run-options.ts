// The options of a run on the engine: the one definition the CLI fills in and the executor's
// steps take their parts of (Pick<EngineRunOptions, ...>).
import type { PrebuiltParent } from "../../core/plan/select-builds.js";
import type { BuilderChoice } from "../../core/requests/builder-choice.js";
import type { SigningKey } from "../../core/signatures/keys.js";
import type { IndexLayer } from "../../core/execute/image-index.js";
import type { SecretSet } from "../../core/report/redaction.js";
import type { AttachHook, IndexSignHook } from "../index-step.js";

export interface EngineRunOptions {
  /** Repository root; request.contexts are relative to it. */
  rootDir: string;
  /** Max builds at once. */
  jobs: number;
  noCache: boolean;
  pull: boolean;
  /** --build-arg values, merged over each request's buildArgs. */
  buildArgs: Record<string, string>;
  push: boolean;
  failFast: boolean;
  /** One full log file per build id, complete even on failure. */
  logDir?: string;
  /** auto: compact live view on a TTY, plain lines otherwise. */
  progress: "auto" | "plain";
  /** Where progress and the summary go (stderr for the CLI). */
  out: NodeJS.WritableStream;
  /** SIGINT/SIGTERM: stop builds in flight, start no other push; pushes in flight end (waited for, then read back). */
  signal?: AbortSignal;
  /** A second SIGINT/SIGTERM: stop the pushes in flight too, without waiting for them to end. */
  stopPushes?: AbortSignal;
  /** How long after an interrupt the pushes in flight are waited for (ms; src/signals.ts interruptWaitMs). */
  interruptWaitMs?: number;
  /** Parents built by another run of the plan (`run --only`): fetched from the registry first. */
  prebuiltParents?: PrebuiltParent[];
  /** Push a build tag that the registry holds with other inputs (it is refused otherwise). */
  overwrite?: boolean;
  /** `--allow-tag-rollback`: let --push move a moving tag `{version}` back to an older build (it only moves forward otherwise). */
  allowTagRollback?: boolean;
  /** Layer directories (`science/x`) that differ from the commit (uncommitted changes, or what git status does not show): a refused build tag advises a clean checkout. */
  uncommitted?: string[];
  /** `--secret`: id -> value, for BuildKit's `RUN --mount=type=secret`; kept out of output and logs. */
  secrets?: ReadonlyMap<string, Buffer>;
  /** `--builder`; default auto: BuildKit where the engine has it. */
  builder?: BuilderChoice;
  /** `--network`: RUN steps' network mode; default: what the engine has. */
  network?: string;
  /** BuildKit: use the registry's images of each request and its parents as cache (default true). */
  registryCache?: boolean;
  /** `--sign-key` (or IMAGE_BUILDER_SIGN_KEY): with `push`, every digest published under a build tag is signed (cosign's format) before its moving tag moves; kept out of output and logs. */
  signKey?: SigningKey;
  /**
   * With --push: publish each image with its provenance and SBOM attestations, in an image index
   * (default true; `--no-attestations`: the images alone, a single-platform image as a plain image).
   */
  attestations?: boolean;
  /** What the provenance says the images are built from (the commit, the repository's URL: a remote's) and by (image-builder's version). */
  source?: { commit: string; repository?: string; toolVersion: string };
  /**
   * The layers of the whole plan published as image indexes (image-index.ts indexLayers), when
   * the run carries out a part of it (`run --only`, `--platform`): only a layer whose every
   * platform the run builds gets its index written; default: the run's plan's own.
   */
  indexLayers?: IndexLayer[];
  /**
   * Extra index entries per platform image (issue 19: attestations). With it, the images of a plan
   * without platforms are published as one-platform indexes too (engine platform tags, the index
   * under the layer's own tags: see image-index.ts singlePlatformIndexes).
   */
  attach?: AttachHook;
  /** Called when an index is under its build tag, before its moving tag moves (issue 19: signatures). */
  signIndex?: IndexSignHook;
}

/**
 * The run's one set of secrets: the docker config's credentials (`creds.secrets`, which the CLI
 * also gave every other secret it read), with the options' `--secret` values and signing key in
 * it too, whoever made the options. Every output, log, result and attestation masks by it.
 */
export function runSecrets(o: Pick<EngineRunOptions, "secrets" | "signKey">, creds: { secrets: SecretSet }): SecretSet {
  return creds.secrets.add(...[...(o.secrets?.values() ?? [])].map((v) => v.toString("utf8")), ...(o.signKey?.secrets ?? []));
}
