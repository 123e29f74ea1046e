// What a run can do with the platforms its plan names, decided without I/O: the engine's own
// platform is what it builds natively; others need emulation (checked by a probe build, see
// executors/docker/platforms.ts), and the classic builder builds none of them.
import type { Plan } from "../model.js";
import { withPlatformSuffix } from "../requests/tags.js";
import { imagesNamed } from "../plan/bases-not-built.js";

/** The distinct platforms a plan's requests name, in plan order (empty: a plan without platforms). */
export function platformsOfPlan(plan: Pick<Plan, "builds">): string[] {
  return [...new Set(plan.builds.map((b) => b.request.platform).filter((p) => p !== undefined))];
}

/**
 * A platform as containerd compares them: `linux/arm64/v8` is `linux/arm64`, `linux/arm` is
 * `linux/arm/v7`, `linux/amd64/v1` is `linux/amd64`; `aarch64`/`x86_64` (what `uname -m` says) as the
 * names OCI uses.
 */
export function normalizePlatform(platform: string): string {
  const [os, rawArch, variant] = platform.toLowerCase().split("/");
  const arch = ({ aarch64: "arm64", x86_64: "amd64", armhf: "arm", armel: "arm" } as Record<string, string>)[rawArch] ?? rawArch;
  if (arch === "arm64" && (variant === undefined || variant === "v8")) return `${os}/arm64`;
  if (arch === "amd64" && (variant === undefined || variant === "v1")) return `${os}/amd64`;
  if (arch === "arm" && variant === undefined) return `${os}/arm/v7`;
  return variant === undefined ? `${os}/${arch}` : `${os}/${arch}/${variant}`;
}

/** The engine's own platform from `GET /version` (`Os`, `Arch`). */
export function enginePlatform(version: { os: string; arch: string }): string {
  return normalizePlatform(`${version.os}/${version.arch}`);
}

/** The platforms of `wanted` the engine does not run natively: each needs emulation. */
export function foreignPlatforms(wanted: readonly string[], engine: string): string[] {
  return wanted.filter((p) => normalizePlatform(p) !== engine);
}

/**
 * Why the run can't build the plan's platforms on this engine, before anything is built; undefined
 * when it can. `failedProbes`: foreign platform -> why its probe build failed.
 */
export function platformRefusal(
  plan: Pick<Plan, "builds">, engine: string, builder: "buildkit" | "classic", failedProbes: ReadonlyMap<string, string>,
): string | undefined {
  const foreign = foreignPlatforms(platformsOfPlan(plan), engine);
  if (foreign.length === 0) return undefined;
  if (builder === "classic") {
    return `the classic builder builds only the engine's own platform (${engine}), not ${foreign.join(", ")}: use BuildKit (--builder buildkit), or --platform ${engine}`;
  }
  const failed = foreign.filter((p) => failedProbes.has(p));
  if (failed.length === 0) return undefined;
  return `the engine (${engine}) can't run ${failed.join(", ")} (${failed.map((p) => `${p}: ${failedProbes.get(p)}`).join("; ")}): ` +
    "install emulation on the engine's machine (Debian/Ubuntu: apt-get install qemu-user-static binfmt-support; " +
    "or docker run --privileged tonistiigi/binfmt --install all), or build those platforms on a machine of their own (run PLAN --only ID)";
}

/** At plan time (no engine yet): what `--builder classic` can't do with a plan naming platforms. */
export function classicPlanWarning(plan: Pick<Plan, "builds">, builder: string | undefined): string | undefined {
  const platforms = platformsOfPlan(plan);
  if (builder !== "classic" || platforms.length === 0) return undefined;
  return `--builder classic builds only the engine's own platform: a run refuses the plan's other platforms among ${platforms.join(", ")} before building anything (BuildKit builds them, with emulation where the engine needs it)`;
}

/**
 * What to pull of `unbuilt` (the images of this repository a plan builds on without building them:
 * basesNotBuilt), per platform of the builds naming them: a build of a platform is pinned to that
 * platform's image, pulled by its platform moving tag `{version}-linux-arm64` (the engine pushes
 * each platform's image under it, and the index under `{version}` names it; the engine holds one
 * image per tag, so `{version}` itself can't serve two platforms). A build without a platform
 * pulls `{version}`. In plan order, each pair once.
 */
export function basesToPull(plan: Pick<Plan, "repo" | "builds">, unbuilt: readonly string[]): { reference: string; platform?: string; pull: string }[] {
  const wanted = new Set(unbuilt);
  const seen = new Set<string>();
  const out: { reference: string; platform?: string; pull: string }[] = [];
  for (const b of plan.builds) {
    for (const reference of imagesNamed(plan, b)) {
      const key = `${reference} ${b.request.platform ?? ""}`;
      if (!wanted.has(reference) || seen.has(key)) continue;
      seen.add(key);
      const platform = b.request.platform;
      out.push(platform === undefined ? { reference, pull: reference } : { reference, platform, pull: withPlatformSuffix(reference, platform) });
    }
  }
  return out;
}
