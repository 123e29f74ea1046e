// Image references as the docker CLI reads them (`host[:port]/path/name[:tag][@digest]`), split
// into what the Registry HTTP API v2 needs: the registry, the repository path and a tag or digest.
import { InputError } from "../model.js";

export interface ImageReference {
  /** host[:port] as written (lowercased); `docker.io` for Docker Hub. */
  registry: string;
  /** Path inside the registry, e.g. `compute-images/sci/essentials-2-4` (`library/` added on Docker Hub). */
  repository: string;
  tag?: string;
  digest?: string;
}

const DOCKER_HUB = "docker.io";
const HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);
// The distribution project's grammar (reference/regexp.go).
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const HOST = /^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::\d+)?$/;

/**
 * A reference with a tag and no digest, as a plan's tags, final images and parents are, in one
 * regular expression (the plan's JSON Schema publishes it as the pattern): an optional registry
 * host (a first component with a `.` or a port, `localhost`, or `[IPv6]`), lowercase path
 * components, and a tag. The same grammar as parseImageReference, which says what is wrong.
 */
const HOST_PART = "[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?";
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
export const TAGGED_REFERENCE = new RegExp(
  // host/path: a host has a `.` or a port, is localhost or [IPv6]
  `^(?:(?:(?:${HOST_PART}(?:\\.${HOST_PART})+|localhost)(?::[0-9]+)?|${HOST_PART}:[0-9]+|\\[[0-9a-fA-F:.]+\\](?::[0-9]+)?)/${COMPONENT}(?:/${COMPONENT})*` +
  // a path without a host: its first component has no `.` (with one, it would name a host)
  `|[a-z0-9]+(?:(?:_|__|-+)[a-z0-9]+)*(?:/${COMPONENT})+` +
  // one component
  `|${COMPONENT})` +
  ":[\\w][\\w.-]{0,127}$",
);

/** Why `ref` is not a reference with a tag (TAGGED_REFERENCE), for a message; undefined when it is one. */
export function taggedReferenceProblem(ref: string): string | undefined {
  if (TAGGED_REFERENCE.test(ref)) return undefined;
  try {
    const parsed = parseImageReference(ref);
    if (ref !== ref.trim()) return `invalid image reference ${JSON.stringify(shownReference(ref))}: spaces around it`;
    if (parsed.digest !== undefined) return `invalid image reference ${JSON.stringify(shownReference(ref))}: a digest where a tag is expected`;
    if (parsed.tag === undefined) return `invalid image reference ${JSON.stringify(shownReference(ref))}: no tag`;
  } catch (e) {
    if (e instanceof InputError) return e.message;
    throw e;
  }
  return `invalid image reference ${JSON.stringify(shownReference(ref))}`;
}

/** Whether a reference's first component names a registry host (as the docker CLI decides), not a path. */
export function namesRegistryHost(first: string): boolean {
  return first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("[");
}

/** Whether `image` (as a Dockerfile names it) spells no registry, so that the engine takes it from Docker Hub. */
export function namesDockerHub(image: string): boolean {
  const slash = image.indexOf("/");
  return slash < 0 || !namesRegistryHost(image.slice(0, slash));
}

/**
 * `ref` as an error shows it: a password in it (`user:pass@host/…`, `https://user:pass@…`, as a URL
 * carries one) is `***`. Refused either way; said before any docker config is read to mask it.
 */
export function shownReference(ref: string): string {
  // The password runs to the last `@` that is not a digest's (a password may hold `/` or `@`).
  return ref.replace(/^([a-z][a-z0-9+.-]*:\/\/)?([^/@:\s]*):\S*@(?!sha(256|384|512):)/i, "$1$2:***@");
}

/** Parses `ref`; a malformed one is bad input naming it. A reference without tag or digest stays so. */
export function parseImageReference(ref: string): ImageReference {
  const bad = (why: string) => new InputError(`invalid image reference "${shownReference(ref)}": ${why}`);
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`"${digest}" is not a digest (algorithm:hex)`);
  }
  const { name, tag } = nameAndTag(rest);
  rest = name;
  if (tag !== undefined && !TAG.test(tag)) throw bad(`"${tag}" is not a valid tag`);
  const slash = rest.indexOf("/");
  const first = slash < 0 ? "" : rest.slice(0, slash);
  let registry = DOCKER_HUB;
  let path = rest;
  if (slash >= 0 && namesRegistryHost(first)) {
    if (!HOST.test(first)) throw bad(`"${first}" is not a registry host`);
    registry = HUB_ALIASES.has(first.toLowerCase()) ? DOCKER_HUB : first.toLowerCase();
    path = rest.slice(slash + 1);
  }
  if (!path) throw bad("no repository name");
  for (const component of path.split("/")) {
    if (!PATH_COMPONENT.test(component)) throw bad(`"${component}" is not a valid name component (lowercase letters, digits, separators)`);
  }
  if (registry === DOCKER_HUB && !path.includes("/")) path = `library/${path}`;
  return { registry, repository: path, tag, digest };
}

/** `host:5000/a/b:1.0` -> `host:5000/a/b` + `1.0`: the name as written (a colon before the last `/` is a port). */
function nameAndTag(ref: string): { name: string; tag?: string } {
  const colon = ref.lastIndexOf(":");
  return colon > ref.lastIndexOf("/") ? { name: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { name: ref };
}

/**
 * A tag reference as the Engine API takes it (`/images/{name}/push?tag=…`, `/images/…/tag?repo=…&tag=…`):
 * the name as written, not normalized nor validated, and the tag, "latest" when none is written.
 */
export function splitTag(ref: string): { name: string; tag: string } {
  const { name, tag } = nameAndTag(ref);
  return { name, tag: tag ?? "latest" };
}

/** `host/path[:tag][@digest]`, the canonical spelling of a parsed reference. */
export function formatImageReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ""}${r.digest ? `@${r.digest}` : ""}`;
}

/**
 * Registries spoken to over plain HTTP: loopback ones, as the engine's default insecure set
 * (127.0.0.0/8, localhost, ::1). Everything else is HTTPS.
 */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith("[") ? registry.slice(1, registry.indexOf("]")) : registry.replace(/:\d+$/, "");
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * The challenges of a WWW-Authenticate header (RFC 7235): `Bearer realm="…",service="…",scope="…"`,
 * `Basic realm="…"`; several may be comma-separated. Scheme names are lowercased.
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  const token = /\s*([!#$%&'*+.^_`|~\w-]+)/y;
  const param = /\s*([!#$%&'*+.^_`|~\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*/y;
  let i = 0;
  while (i < header.length) {
    token.lastIndex = i;
    const scheme = token.exec(header);
    if (!scheme) break;
    i = token.lastIndex;
    const challenge: AuthChallenge = { scheme: scheme[1].toLowerCase(), params: {} };
    challenges.push(challenge);
    for (;;) {
      param.lastIndex = i;
      const m = param.exec(header);
      // A token followed by something other than `=` starts the next challenge.
      if (!m) break;
      challenge.params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3];
      i = param.lastIndex;
      if (header[i] === ",") i++;
    }
    while (header[i] === "," || header[i] === " ") i++;
  }
  return challenges;
}

export interface SciReference {
  target: string;
  /** The tag; "latest" when none is written. */
  version: string;
  /** `sha256:…` when the reference pins a digest. */
  digest?: string;
}

/**
 * The science layer an image reference names by its path: one that ends in `sci/{target}`, with
 * any registry prefix or none ("reg.example:5000/a/sci/base:2.4" -> base 2.4). Anything else
 * ("python:3.11", ".../rel/base:2.4") is no science layer. A ":" before the last "/" is a
 * registry port, not a tag.
 */
export function sciReference(image: string): SciReference | undefined {
  const at = image.indexOf("@");
  const name = at >= 0 ? image.slice(0, at) : image;
  const slash = name.lastIndexOf("/");
  if (slash < 3 || name.slice(slash - 3, slash) !== "sci" || (slash > 3 && name[slash - 4] !== "/")) return undefined;
  const last = name.slice(slash + 1);
  const colon = last.indexOf(":");
  const target = colon >= 0 ? last.slice(0, colon) : last;
  if (target === "") return undefined;
  const ref: SciReference = { target, version: colon >= 0 ? last.slice(colon + 1) : "latest" };
  if (at >= 0) ref.digest = image.slice(at + 1);
  return ref;
}

