// `image-builder.json` at the repository root: settings that belong to the repository, such as
// the default registry location, rather than to the code.
import { parseJsonWithComments } from "./json-with-comments.js";
import { InputError } from "../model.js";
import { shownReference } from "./image-reference.js";

export interface RepoConfig {
  /** Default `--repo`, e.g. `containers.repo.sciserver.org/compute-images`. */
  repo?: string;
}

export const REPO_CONFIG_FILE = "image-builder.json";

export function parseRepoConfig(text: string | undefined): RepoConfig {
  if (text === undefined) return {};
  const { value } = parseJsonWithComments(text, REPO_CONFIG_FILE);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InputError("must contain a JSON object", REPO_CONFIG_FILE);
  }
  for (const key of Object.keys(value)) {
    if (key !== "repo") throw new InputError(`unknown field "${key}" (expected repo)`, REPO_CONFIG_FILE);
  }
  if (value.repo !== undefined) {
    if (typeof value.repo !== "string") throw new InputError(`"repo" must be a string`, REPO_CONFIG_FILE);
    checkRepo(value.repo, REPO_CONFIG_FILE);
  }
  return { repo: value.repo as string | undefined };
}

/**
 * Where images go when neither `--repo` nor `image-builder.json` names a location: SciServer's
 * production location, which the SciServer README names and the original tool defaults to.
 */
export const DEFAULT_REPO = "containers.repo.sciserver.org/compute-images";

/** A run's registry location and where it came from, for `-v`. */
export interface RepoLocation {
  repo: string;
  source: "--repo" | typeof REPO_CONFIG_FILE | "default";
}

/** `--repo` wins over `image-builder.json`, which wins over DEFAULT_REPO. */
export function resolveRepo(flag: string | undefined, config: RepoConfig): RepoLocation {
  if (flag !== undefined) return { repo: checkRepo(flag, "--repo"), source: "--repo" };
  if (config.repo !== undefined) return { repo: checkRepo(config.repo, REPO_CONFIG_FILE), source: REPO_CONFIG_FILE };
  return { repo: DEFAULT_REPO, source: "default" };
}

/** What `-v` says about the location: `registry location X (from --repo)`. */
export function describeRepoLocation({ repo, source }: RepoLocation): string {
  const from = source === "default" ? `the default: neither --repo nor ${REPO_CONFIG_FILE} names one` : `from ${source}`;
  return `registry location ${repo} (${from})`;
}

/** A registry location: a lowercase host[:port], then lowercase path components (a plan's `repo` too). */
export const REPO_LOCATION = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\/?$/;

/** A registry location such as `host:5000/path/to` (no tag, no scheme), without trailing slashes. */
export function checkRepo(repo: string, where: string): string {
  const ok = REPO_LOCATION.test(repo);
  if (!ok) {
    throw new InputError(`invalid repo "${shownReference(repo)}": expected a registry location such as registry.example.org/team/images (lowercase, no scheme or tag)`, where === "--repo" ? undefined : where);
  }
  return withoutTrailingSlashes(repo);
}

/** `host/path/` -> `host/path`: how a registry location is joined with names. */
export function withoutTrailingSlashes(repo: string): string {
  return repo.replace(/\/+$/, "");
}
