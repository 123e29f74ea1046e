// Commands that read the packages of published images from their layers (no engine, nothing run):
// sbom, diff.
import type { Command } from "commander";
import { printable } from "../../core/printable.js";
import { InputError } from "../../core/model.js";
import type { FoundPackage } from "../../core/sbom/packages.js";
import type { RegistryClient } from "../../registry/client.js";
import { resolveImageArgument } from "./image-arguments.js";
import { checkoutNames, newClient, registryCommand, repoOf, reportCoverage, table, type RegistryOptions } from "./registry.js";

type SbomOptions = RegistryOptions & { platform?: string };

interface ImagePackages {
  reference: string;
  manifestDigest: string;
  created?: string;
  platform?: string;
  packages: FoundPackage[];
  /** Package files not read: the list may be incomplete. */
  notRead: string[];
}

/**
 * The packages of the image `arg` names: its stored SBOM attestation when it has one, else read
 * from its layers (warnings, files not read, on stderr).
 */
async function imagePackages(client: RegistryClient, arg: string, o: SbomOptions): Promise<ImagePackages> {
  const ref = resolveImageArgument(arg, /^(sci|rel)\//.test(arg) ? repoOf(o) : undefined);
  const image = await client.getImage(ref, { platform: o.platform });
  if (!image) throw new InputError(`${ref}: no such image in the registry`);
  const { parseImageReference } = await import("../../core/parse/image-reference.js");
  const { readImagePackages } = await import("../../registry/package-search.js");
  const { layerStateCacheFromEnv, warnOnStderr } = await import("../../registry/layer-state-cache.js");
  const read = await readImagePackages(client, { ref: parseImageReference(image.reference), image }, { cache: layerStateCacheFromEnv(process.env, warnOnStderr) });
  for (const w of [...read.notRead, ...read.warnings]) process.stderr.write(`image-builder: warning: ${ref}: ${printable(w)}\n`);
  return { reference: ref, manifestDigest: image.manifestDigest, created: image.config.created, platform: image.platform, packages: read.packages, notRead: read.notRead };
}

const versions = (v: string[]) => (v.length ? v.join(", ") : "-");

export function addSbomCommands(program: Command): void {
  registryCommand(program.command("sbom"))
    .description("the packages in a published image (dpkg, apk, conda, Python, R), read from its layers without running it; --json: an SPDX 2.3 document")
    .argument("<image>", "rel/NAME:TAG, sci/NAME:TAG or a full reference")
    .option("--platform <os/arch>", "the platform to read from a multi-platform image")
    .action(async (arg: string, o: SbomOptions, cmd: Command) => {
      const image = await imagePackages(await newClient(), arg, o);
      if (o.json) {
        const { spdxDocument } = await import("../../core/sbom/spdx.js");
        const doc = spdxDocument({ name: image.reference, manifestDigest: image.manifestDigest, created: image.created, platform: image.platform }, image.packages, `image-builder-${cmd.parent?.version() ?? "unknown"}`, image.notRead);
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        return;
      }
      if (image.packages.length === 0) {
        process.stdout.write(`no packages found in ${image.reference}\n`);
        return;
      }
      process.stdout.write(table(["TYPE", "NAME", "VERSION"], image.packages.map((p) => [p.type, p.name, p.version])));
    });

  registryCommand(program.command("diff"))
    .description("packages added, removed and changed from one published image to another (what changed between two builds)")
    .argument("<image-a>", "rel/NAME:TAG, sci/NAME:TAG or a full reference")
    .argument("<image-b>", "rel/NAME:TAG, sci/NAME:TAG or a full reference")
    .option("--platform <os/arch>", "the platform to read from multi-platform images")
    .action(async (argA: string, argB: string, o: SbomOptions) => {
      const client = await newClient();
      const [a, b] = await Promise.all([imagePackages(client, argA, o), imagePackages(client, argB, o)]);
      const { diffPackages } = await import("../../core/sbom/diff.js");
      const changes = diffPackages(a.packages, b.packages);
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ from: { image: a.reference, digest: a.manifestDigest }, to: { image: b.reference, digest: b.manifestDigest }, changes }, null, 2)}\n`);
        return;
      }
      if (changes.length === 0) {
        process.stdout.write(`no package changed from ${a.reference} to ${b.reference}\n`);
        return;
      }
      process.stdout.write(table(["CHANGE", "TYPE", "NAME", argA, argB], changes.map((c) => [c.change, c.type, c.name, versions(c.from), versions(c.to)])));
    });
}

/** `contains --package SPEC`: the published images holding a matching package, read from their layers. */
export async function containsPackage(spec: string, o: RegistryOptions & { allTags?: boolean }): Promise<void> {
  const { parsePackageQuery } = await import("../../core/sbom/package-query.js");
  const query = parsePackageQuery(spec);
  const repo = repoOf(o);
  const client = await newClient();
  const { findRepositories } = await import("../../registry/published.js");
  const { findPackageHolders } = await import("../../registry/package-search.js");
  const { formatBuildTag, nothingFound } = await import("../../core/report/published.js");
  const { repositories, source } = await findRepositories(client, repo, () => checkoutNames(o.root));
  const { layerStateCacheFromEnv, warnOnStderr } = await import("../../registry/layer-state-cache.js");
  const { holders, unchecked, unreadable } = await findPackageHolders(client, repositories, query, { allTags: o.allTags, cache: layerStateCacheFromEnv(process.env, warnOnStderr) });
  for (const h of holders) for (const w of h.warnings) process.stderr.write(`image-builder: warning: ${h.image.reference}${h.build.index ? `@${h.image.platform}` : ""}: ${printable(w)}\n`);
  const rows = holders.map((h) => ({
    image: `${h.build.repository.kind}/${h.build.repository.name}:${h.build.tag}`,
    reference: `${h.build.repository.ref}:${h.build.tag}`,
    build: h.build.build ? formatBuildTag(h.build.build) : null,
    digest: h.image.digest,
    manifestDigest: h.image.manifestDigest,
    platform: h.image.platform ?? null,
    sbom: h.source,
    packages: h.packages.map(({ type, name, version, purl, locations }) => ({ type, name, version, purl, locations })),
  }));
  const coverage = { uncheckedBuildTags: unchecked, unreadable };
  reportCoverage(coverage, o.json);
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ repo, source, package: query.text, images: rows, ...coverage }, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write(`${nothingFound(`a package ${query.text}`, coverage)}\n`);
    return;
  }
  process.stdout.write(table(["IMAGE", "PLATFORM", "TYPE", "NAME", "VERSION"],
    rows.flatMap((r) => r.packages.map((p) => [r.image, r.platform ?? "-", p.type, p.name, p.version]))));
}
