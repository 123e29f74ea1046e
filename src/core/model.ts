// Plain data shared by the pure core, the I/O shell and the executors.
// Everything here is serializable: no functions, no class instances.

/** A parsed `sciserver-image.json` of a science directory, with defaults applied. */
export interface ScienceLayer {
  /** Directory name under `science/`. */
  dir: string;
  /** Repository-relative path of the directory, e.g. `science/nist-basic`. */
  path: string;
  image: string;
  version: string;
  target: string;
  /** Compat directory name; may be absent for layers that are never final. */
  compat?: string;
  /** Raw Dockerfile text. */
  dockerfile: string;
}

/** A parsed `sciserver-image.json` of a compat directory. */
export interface CompatLayer {
  dir: string;
  path: string;
  includes: string[];
  dockerfile: string;
}

/** An entry of a build context, as the compat overlay merges them. */
export interface ContextEntryBase {
  /** Path inside the context, `/`-separated, no leading `./`. */
  name: string;
  type: "file" | "directory" | "symlink";
}

/** One entry of a context directory, as the shell lists it (after the directory's `.dockerignore`). */
export interface ContextFile extends ContextEntryBase {
  mode: number;
  /** Hex sha256 of a file's contents. */
  sha256?: string;
  /** A symlink's target. */
  linkname?: string;
}

/** Repository-relative directory path -> its context listing. */
export type ContextListings = ReadonlyMap<string, ContextFile[]>;

/** Everything the planner needs, produced by the I/O shell. */
export interface RepoSnapshot {
  science: ScienceLayer[];
  compat: CompatLayer[];
}

export interface GitInfo {
  /** Full commit hash of HEAD. */
  commit: string;
  /** Short commit hash of HEAD. */
  shortCommit: string;
  /** `git rev-list --count HEAD`. */
  buildNumber: number;
}

/** Which directories count as changed, decided by the shell from git + flags. */
export interface ChangeSet {
  /** Every layer is planned. */
  all: boolean;
  /** Changed science directory names. */
  science: string[];
  /** Changed compat directory names. */
  compat: string[];
  /** Why these count as changed, for `-vv`: "changed since HEAD^", "named by --include", "--all". */
  why: string;
}

export interface PlanOptions {
  repo: string;
  git: GitInfo;
  changes: ChangeSet;
  /** Epoch seconds used for buildtime labels; passed in so planning stays pure. */
  buildTime: number;
  /** `--build-arg` values: resolve `ARG`s in `FROM` lines and go into every request. */
  buildArgs: Record<string, string>;
  /**
   * The context listings of the directories the plan's inputs digests need (`contextDirsFor`),
   * read by the shell. Absent (pure tests): every context counts as empty.
   */
  contexts?: ContextListings;
}

/** What a request's inputs digest is made of, beyond the request's Dockerfile and build arguments. */
export interface RequestInputs {
  /** Digest of the (merged) build context. */
  context: string;
  /**
   * The request's parents in this repository, as the Dockerfile names them without the registry
   * location (`sci/{target}:{version}`) -> their inputs digest.
   */
  parents: Record<string, string>;
}

/**
 * A self-contained, serializable request for one `docker build`
 * (seed 000: the "builtin" docker build request). An executor needs nothing else.
 */
export interface BuildRequest {
  /** `docker build` equivalent command line, for humans and for a CLI executor. */
  command: string[];
  /**
   * Build context directories, repository-relative, in overlay order:
   * a file in a later directory replaces the same path from an earlier one.
   */
  contexts: string[];
  /** The full Dockerfile text to build. */
  dockerfile: string;
  /** Build args. */
  buildArgs: Record<string, string>;
  tags: string[];
  labels: Record<string, string>;
  /**
   * Images of this repository's science layers that the original Dockerfile names, mapped to the
   * image of this run's `--repo` (`{repo}/sci/{target}:{version}`); `dockerfile` already has
   * these references rewritten. For people and audits; executors build `dockerfile` as is.
   */
  imageRewrites: Record<string, string>;
  /**
   * Digest of everything that determines the image apart from the run's own names and times
   * (see core/requests/inputs-digest.ts); also the `…inputs` label. Equal digests: the image can be reused.
   */
  inputsDigest: string;
  /** What `inputsDigest` is made of besides `dockerfile` and `buildArgs`, so it can be recomputed. */
  inputs: RequestInputs;
}

export type BuildKind = "science" | "compat";

export interface PlannedBuild {
  id: string;
  kind: BuildKind;
  image: string;
  version: string;
  target: string;
  /** Directory (repository-relative) the build comes from. */
  source: string;
  reasons: string[];
  dependsOn: string[];
  /** For compat builds: final image names, `image:version-n-h` and `image:version`. */
  finalImages?: string[];
  request: BuildRequest;
}

export interface Plan {
  repo: string;
  commit: string;
  buildNumber: number;
  builds: PlannedBuild[];
  /** Build ids grouped so that each build depends only on builds of earlier waves. */
  waves: string[][];
}

// What a run did, per build, as its results file records it.
/** `reused`: an image of the same inputs was already under the build tag, so nothing was built. */
export type BuildStatus = "built" | "reused" | "failed" | "skipped" | "cancelled";

export interface BuildOutputs {
  "docker-image-hash": string;
  "docker-image-repo-tag": string[];
  "docker-image-timestamp": string;
  /** tag -> registry digest, after a push. */
  "docker-image-digests"?: Record<string, string>;
}

/** One tag of a build and what the registry holds under it after the run (with --push). */
export interface TagResult {
  tag: string;
  pushed: boolean;
  /** The registry's digest under the tag, when pushed (or already there, for a reused build). */
  digest?: string;
}

export interface BuildResult {
  id: string;
  status: BuildStatus;
  reason?: string;
  durationMs: number;
  /** Every tag is in the registry (with --push). */
  pushed: boolean;
  /** Per tag, in push order (build tag first); with --push only. */
  tags?: TagResult[];
  outputs?: BuildOutputs;
  // When and how it went, for the report's timeline and details (absent in older results files).
  /** The build step (reuse check, pull or build) started and ended, ISO 8601. */
  startedAt?: string;
  finishedAt?: string;
  /** Its push started (a free slot, parents pushed) and ended. */
  pushStartedAt?: string;
  pushFinishedAt?: string;
  /** Dockerfile steps the build started, and how many of them came from the build cache. */
  steps?: { total: number; cached: number };
  /** A failed build: the step it failed at, as its log names it (`[2/4] RUN make`, `2/4 : RUN make`). */
  failedStep?: string;
}

/** An error in the user's input: reported as one line, exit code 2. */
export class InputError extends Error {
  constructor(
    message: string,
    /** File the problem is in, repository-relative when possible. */
    public readonly file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
    this.name = "InputError";
  }
}
