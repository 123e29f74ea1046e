// Plain data shared by the pure core, the I/O shell and the executors.
// Everything here is serializable: no functions, no class instances.
// Type-only imports: the schemas (and zod) are loaded only where files are read or written.
import type { z } from "zod";
import type { buildKindSchema, buildRequestSchema, plannedBuildSchema, planSchema, requestInputsSchema } from "./formats/plan.js";
import type { attestationResultSchema, buildOutputsSchema, buildResultSchema, buildStatusSchema, indexResultSchema, resultsFileSchema, signatureResultSchema, signedResultSchema, tagResultSchema } from "./formats/results.js";

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
  /**
   * `"platforms"` as declared (`os/arch[/variant]`); absent: inherited from the layers it builds
   * on, and without any, the engine's own platform (see core/plan/layer-platforms.ts).
   */
  platforms?: string[];
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
  /** Science layers that left an image version (removed, or moved to another): its compat build is made again (layers-left.ts). */
  left?: { dir: string; left: string; now?: string }[];
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
  /** `--platform`: every layer is built for these platforms in this run, whatever it declares. */
  platforms?: string[];
}

// The plan and results formats are defined once, as schemas (core/formats/), and their types are
// inferred from them: what the code reads is what the files are checked against.
/** What a request's inputs digest is made of, beyond the request's Dockerfile and build arguments. */
export type RequestInputs = z.infer<typeof requestInputsSchema>;

/**
 * A self-contained, serializable request for one `docker build` (seed 000: the "builtin" docker
 * build request). An executor needs nothing else.
 */
export type BuildRequest = z.infer<typeof buildRequestSchema>;

/** A request as the planner makes it: with its inputs digest (plans from before them lack it). */
export type RequestWithInputs = BuildRequest & Required<Pick<BuildRequest, "inputsDigest" | "inputs">>;

export type BuildKind = z.infer<typeof buildKindSchema>;

export type PlannedBuild = z.infer<typeof plannedBuildSchema>;

export type Plan = z.infer<typeof planSchema>;

// What a run did, per build, as its results file records it.
/** `reused`: an image of the same inputs was already under the build tag, so nothing was built. */
export type BuildStatus = z.infer<typeof buildStatusSchema>;

export type BuildOutputs = z.infer<typeof buildOutputsSchema>;

/** One tag of a build and what the registry holds under it after the run (with --push). */
export type TagResult = z.infer<typeof tagResultSchema>;
export type SignatureResult = z.infer<typeof signatureResultSchema>;
/** A signature written or found (not a failed one). */
export type SignedResult = z.infer<typeof signedResultSchema>;
/** A pushed image's attestation manifest (issue 19), as --results records it. */
export type AttestationResult = z.infer<typeof attestationResultSchema>;

export type BuildResult = z.infer<typeof buildResultSchema>;

/** A layer's image index and what the registry holds under its tags after the run (issue 17). */
export type IndexResult = z.infer<typeof indexResultSchema>;

/** A results file (`--results`, `merge-results`). */
export type ResultsFile = z.infer<typeof resultsFileSchema>;

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
