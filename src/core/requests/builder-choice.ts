// Which of the engine's builders a run uses: BuildKit (`POST /build?version=2`) or the classic
// one. Pure: the engine's answers to `GET /version` come in, a decision and its reason go out.

export type BuilderChoice = "auto" | "buildkit" | "classic";
export type Builder = "buildkit" | "classic";

export interface EngineFacts {
  /** `Version` of `GET /version`, e.g. `20.10.24+dfsg1`, `27.3.1`. */
  version: string;
  /** `ApiVersion`, e.g. `1.41`. */
  apiVersion: string;
  /** `Os`: `linux` or `windows`. */
  os: string;
}

export interface BuilderDecision {
  builder: Builder;
  /** One line for the start of a run: which builder and why. */
  reason: string;
}

/** BuildKit through the build API came with engine 18.09, API 1.39; never on Windows engines. */
const BUILDKIT_MIN_API: [number, number] = [1, 39];

export function buildkitUnsupported(engine: EngineFacts): string | undefined {
  if (engine.os.toLowerCase() === "windows") return "a Windows engine has no BuildKit";
  const [major, minor] = engine.apiVersion.split(".").map((p) => Number.parseInt(p, 10));
  if (!Number.isFinite(major) || !Number.isFinite(minor)) return `engine API version ${engine.apiVersion} is not understood`;
  if (major < BUILDKIT_MIN_API[0] || (major === BUILDKIT_MIN_API[0] && minor < BUILDKIT_MIN_API[1])) {
    return `engine ${engine.version} (API ${engine.apiVersion}) predates BuildKit (API 1.39, engine 18.09)`;
  }
  return undefined;
}

/**
 * `auto` is BuildKit where the engine has it, else classic. Naming a builder the engine can't
 * run is an error (thrown, one line), not a silent fallback.
 */
export function chooseBuilder(choice: BuilderChoice, engine: EngineFacts): BuilderDecision {
  const missing = buildkitUnsupported(engine);
  const where = `engine ${engine.version}, API ${engine.apiVersion}`;
  if (choice === "classic") return { builder: "classic", reason: `classic builder (--builder classic; ${where})` };
  if (choice === "buildkit") {
    if (missing) throw new Error(`--builder buildkit: ${missing}`);
    return { builder: "buildkit", reason: `BuildKit (--builder buildkit; ${where})` };
  }
  if (missing) return { builder: "classic", reason: `classic builder: ${missing}` };
  return { builder: "buildkit", reason: `BuildKit (the engine supports it: ${where}; --builder classic for the classic builder)` };
}

/**
 * The builder asked for: `--builder` if given, else the docker CLI's own switch
 * `DOCKER_BUILDKIT` (0 classic, 1 BuildKit), else auto.
 */
export function requestedBuilder(flag: BuilderChoice | undefined, dockerBuildkit: string | undefined): BuilderChoice {
  if (flag) return flag;
  const v = dockerBuildkit?.trim().toLowerCase();
  if (v === undefined || v === "") return "auto";
  if (["0", "false"].includes(v)) return "classic";
  if (["1", "true"].includes(v)) return "buildkit";
  throw new Error(`DOCKER_BUILDKIT=${dockerBuildkit} is not understood (expected 0 or 1)`);
}

/**
 * The network mode for RUN steps when `--network` is not given: the engine's default network
 * when it has one (`default`/`bridge`: no parameter needed); else `none`, as RUN steps of a
 * classic build get on such an engine (BuildKit asks for `bridge` and fails without it).
 */
export function defaultNetworkMode(networkNames: string[]): string | undefined {
  if (networkNames.includes("bridge") || networkNames.includes("default")) return undefined;
  return "none";
}
