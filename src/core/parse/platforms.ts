// Platforms (`os/arch[/variant]`, as BuildKit's `platform` parameter and OCI image indexes spell
// them): checked where they are declared (`"platforms"` in sciserver-image.json, `--platform`), and
// what a platform means to a Dockerfile (BuildKit's predefined TARGET* args) and to a tag.
import { InputError } from "../model.js";

// Lowercase letters and digits: what containerd's platform parser accepts after normalizing, and
// what may stand in a tag once the slashes become dashes.
export const PLATFORM_PATTERN = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

/** One platform, checked; `where` names the file or flag for the error. */
function checkPlatform(value: unknown, where: string): string {
  if (typeof value !== "string" || !PLATFORM_PATTERN.test(value)) {
    throw new InputError(`invalid platform ${JSON.stringify(value)}: use os/arch or os/arch/variant, e.g. "linux/arm64" or "linux/arm/v7"`, where);
  }
  return value;
}

/** A non-empty list of distinct platforms, checked, in the order given. */
export function checkPlatforms(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new InputError(`"platforms" must be a non-empty list such as ["linux/amd64", "linux/arm64"]`, where);
  }
  const platforms = value.map((v) => checkPlatform(v, where));
  const repeated = platforms.find((p, i) => platforms.indexOf(p) !== i);
  if (repeated) throw new InputError(`platform ${repeated} is listed twice`, where);
  return platforms;
}

/** `--platform linux/amd64,linux/arm64`: comma-separated, as docker buildx takes it. */
export function parsePlatformFlag(value: string): string[] {
  return checkPlatforms(value.split(",").map((p) => p.trim()), "--platform");
}

/**
 * What a platform adds to a tag: `linux-arm64`, `linux-arm-v7`. The engine holds one image per
 * tag, so each platform's image needs a tag of its own; a suffix (rather than a digest) keeps the
 * tag readable and ordered like the build tag it extends, as docker-stacks' `-aarch64` tags are.
 */
export function platformTagSuffix(platform: string): string {
  return platform.split("/").join("-");
}

/**
 * BuildKit's predefined TARGET* args for a build of `platform`, usable in FROM lines without a
 * declaration: the parser resolves FROM lines per platform with them. (BUILD* args are the
 * engine's own platform, known only when building.)
 */
export function platformArgs(platform: string | undefined): Record<string, string> {
  if (platform === undefined) return {};
  const [os, arch, variant = ""] = platform.split("/");
  return { TARGETPLATFORM: platform, TARGETOS: os, TARGETARCH: arch, TARGETVARIANT: variant };
}

/**
 * BuildKit's predefined BUILD* args: the platform of the engine that builds, whatever the build's.
 * The plan does not know it; references are read with them only to find those that depend on them.
 */
export function buildPlatformArgs(platform: string): Record<string, string> {
  const [os, arch, variant = ""] = platform.split("/");
  return { BUILDPLATFORM: platform, BUILDOS: os, BUILDARCH: arch, BUILDVARIANT: variant };
}

/** The platforms Docker engines run on: one of them is the engine's. */
export const ENGINE_PLATFORMS: readonly string[] = ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le", "linux/riscv64", "linux/s390x"];

/** A build id with its platform: `sci/x@linux/arm64`; without one, the id as it always was. */
export function idWithPlatform(id: string, platform: string | undefined): string {
  return platform === undefined ? id : `${id}@${platform}`;
}
