// `image-builder.json` at the repository root: settings that belong to the repository, such as
// the default registry location, rather than to the code.
import { parseJsonWithComments } from "./json-with-comments.js";
import { InputError } from "../model.js";

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

/** A registry location such as `host:5000/path/to` (no tag, no scheme). */
export function checkRepo(repo: string, where: string): string {
  const ok = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\/?$/.test(repo);
  if (!ok) {
    throw new InputError(`invalid repo "${repo}": expected a registry location such as registry.example.org/team/images (lowercase, no scheme or tag)`, where === "--repo" ? undefined : where);
  }
  return repo.replace(/\/+$/, "");
}
