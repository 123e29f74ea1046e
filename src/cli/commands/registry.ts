// Commands that ask the registry (no engine): images, inspect, contains, export.
import { Command, Option } from "commander";
import { printable } from "../../core/printable.js";
import { existsSync, statSync } from "node:fs";
import { coverageLines, formatBuildTag, movingTagText, nothingFound, parseBuildTag, readBreadcrumbs, unpublishedLayer, type Breadcrumbs, type Coverage } from "../../core/report/published.js";
import { looksLikeFile, parseLayerQuery, resolveImageArgument } from "./image-arguments.js";
import { DEFAULT_REPO, parseRepoConfig, resolveRepo } from "../../core/parse/repo-config.js";
import { InputError } from "../../core/model.js";
import { checkOutputFile, writingOutputFile } from "../output-paths.js";
import { readLayerFiles, readRepoConfigText } from "../../read/repository.js";
import type { RegistryClient, RegistryImage, RegistryManifest } from "../../registry/client.js";
import type { Descriptor } from "../../core/registry/image-index.js";

/** As for an interrupted run: 128 + SIGINT. */
const EXIT_INTERRUPTED = 130;

export interface RegistryOptions {
  repo?: string;
  root: string;
  json: boolean;
}

export function repoOf(o: RegistryOptions): string {
  return resolveRepo(o.repo, parseRepoConfig(readRepoConfigText(o.root))).repo;
}

export async function newClient(): Promise<RegistryClient> {
  const { DockerCredentials } = await import("../../registry/credentials.js");
  const { RegistryClient } = await import("../../registry/client.js");
  return new RegistryClient(await DockerCredentials.load());
}

/** Names this checkout's layers would publish (`sci/x`, `rel/y`), for registries without a catalog. */
export async function checkoutNames(root: string): Promise<string[]> {
  const { parseScienceLayer } = await import("../../core/parse/layer-config.js");
  const names = new Set<string>();
  for (const raw of await readLayerFiles(root)) {
    if (raw.kind !== "science") continue;
    const layer = parseScienceLayer(raw);
    names.add(`sci/${layer.target}`);
    if (layer.compat) names.add(`rel/${layer.image}`);
  }
  return [...names].sort();
}

export const registryCommand = (cmd: Command) =>
  cmd
    .option("--repo <location>", `registry location (default: "repo" in image-builder.json, else ${DEFAULT_REPO})`)
    .option("--root <dir>", "repository root, for image-builder.json", ".")
    .option("--json", "print JSON on stdout", false);

export function megabytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}

/**
 * Says on stderr what the answer of `images` or `contains` does not cover (see coverageLines; the
 * note only without --json, whose output has the count), and makes an answer that left out
 * images that could not be read exit 1: incomplete, like grep's with a file it could not read.
 */
export function reportCoverage(coverage: Coverage, json: boolean): void {
  const { warnings, notes } = coverageLines(coverage);
  for (const line of [...warnings, ...(json ? [] : notes)]) process.stderr.write(`${line}\n`);
  if (coverage.unreadable.length > 0) process.exitCode = 1;
}

/** Rows as aligned columns, the header first. */
export function table(header: string[], given: string[][]): string {
  // Cells are text from images and registries: shown escaped where they could move the cursor or end a line.
  const rows = given.map((r) => r.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd()).join("\n") + "\n";
}

const shortDigest = (d: string) => (d ? d.slice(0, 19) : "-");
const time = (epochSeconds: number | undefined) => (epochSeconds === undefined ? "-" : new Date(epochSeconds * 1000).toISOString().replace(".000Z", "Z"));

function describeTrail(b: Breadcrumbs): string[] {
  const lines: string[] = [];
  const depth = (i: number) => "   ".repeat(i);
  b.science.forEach((c, i) => {
    const extra = [c.buildtime !== undefined ? `built ${time(c.buildtime)}` : "", c.inputs ? `inputs ${c.inputs}` : ""].filter(Boolean).join("  ");
    lines.push(printable(`${depth(i)}└─ sci/${c.target}  ${c.value}${extra ? `  ${extra}` : ""}`));
  });
  if (b.compat) {
    const c = b.compat;
    const extra = [c.buildtime !== undefined ? `built ${time(c.buildtime)}` : "", c.inputs ? `inputs ${c.inputs}` : ""].filter(Boolean).join("  ");
    lines.push(printable(`${depth(b.science.length)}└─ compat ${c.value}${extra ? `  ${extra}` : ""}`));
  }
  return lines;
}

type ShownImage = RegistryImage | (Omit<RegistryImage, "mediaType"> & { format?: string; mediaType?: string });

/** The image's lines under its name: file, digests, platform, created, layers, then its breadcrumbs. */
function imageLines(image: ShownImage, source: string, indent: string, withPlatform: boolean): string[] {
  const crumbs = readBreadcrumbs(image.config.labels, image.config.history);
  return [
    ...("format" in image && image.format ? [`${indent}file      ${source} (${image.format})`] : []),
    ...(image.digest && image.digest !== image.manifestDigest && withPlatform ? [`${indent}index     ${image.digest}`] : []),
    ...(image.digest === image.manifestDigest || !image.manifestDigest ? (image.digest ? [`${indent}digest    ${image.digest}`] : []) : [`${indent}manifest  ${image.manifestDigest}`]),
    ...(withPlatform ? [`${indent}platform  ${printable(image.platform ?? "-")}`] : []),
    `${indent}created   ${printable(image.config.created ?? "-")}`,
    `${indent}layers    ${image.layers.length}, ${megabytes(image.size)}`,
    `${indent.slice(2)}${crumbs.science.length || crumbs.compat ? `breadcrumbs (base first, ${crumbs.order === "history" ? "order from the image's history" : "order by buildtime"}):` : "no breadcrumbs (not built by image-builder)"}`,
    ...describeTrail(crumbs).map((l) => `${indent}${l}`),
  ];
}

function describeImage(image: ShownImage, source: string): string {
  return `${[image.reference || source, ...imageLines(image, source, "  ", true)].join("\n")}\n`;
}

/** An index: its digest, then each platform's image with its own breadcrumbs (they can differ). */
function describeIndex(reference: string, digest: string, platforms: { platform: string; image: ShownImage }[], source: string): string {
  const file = platforms[0] && "format" in platforms[0].image && platforms[0].image.format ? [`  file      ${source} (${platforms[0].image.format})`] : [];
  const lines = [reference || source, ...file, `  digest    ${digest}`, `  index     ${platforms.length} platform${platforms.length === 1 ? "" : "s"}: ${printable(platforms.map((p) => p.platform).join(", "))}`];
  for (const { platform, image } of platforms) {
    const { format: _shownAbove, ...rest } = image as ShownImage & { format?: string };
    lines.push(printable(platform), ...imageLines(rest, source, "    ", false));
  }
  return `${lines.join("\n")}\n`;
}

function inspectJson(image: object & { config: RegistryImage["config"]; index?: boolean }): string {
  return `${JSON.stringify(withBreadcrumbs(image), null, 2)}\n`;
}

const withBreadcrumbs = (image: object & { config: RegistryImage["config"] }) => ({ ...image, breadcrumbs: readBreadcrumbs(image.config.labels, image.config.history) });

/** `inspect --json` of an index: its digest and media type, then every platform's image as for one image. */
function inspectIndexJson(reference: string, digest: string, mediaType: string | undefined, platforms: { platform: string; image: object & { config: RegistryImage["config"] } }[]): string {
  return `${JSON.stringify({ reference, digest, mediaType, index: true, platforms: platforms.map((p) => ({ platform: p.platform, ...withBreadcrumbs(p.image) })) }, null, 2)}\n`;
}

/** The platforms of an index (its images', attestations left out), in its order. */
async function indexPlatforms(top: RegistryManifest): Promise<string[]> {
  const { platformEntries } = await import("../../core/registry/image-index.js");
  const body = JSON.parse(top.bytes.toString("utf8")) as { manifests?: Descriptor[] };
  return platformEntries(Array.isArray(body.manifests) ? body.manifests : []).map((e) => e.platform);
}

export function addRegistryCommands(program: Command): void {
  registryCommand(program.command("images"))
    .description("list the published sci/ and rel/ images of --repo: one row per image version")
    .option("--all-tags", "one row per build, not only the one each moving tag {version} serves", false)
    .action(async (o: RegistryOptions & { allTags: boolean }) => {
      const repo = repoOf(o);
      const client = await newClient();
      const { findRepositories, listPublishedImages } = await import("../../registry/published.js");
      const { repositories, source } = await findRepositories(client, repo, () => checkoutNames(o.root));
      const { builds, unreadable } = await listPublishedImages(client, repositories, { allTags: o.allTags, platformTags: true });
      const rows = builds.map((b) => ({
        name: `${b.repository.kind}/${b.repository.name}`, version: b.version, tag: b.tag, build: b.build ? `${b.build.number}-${b.build.hash}` : null,
        servedByMovingTag: b.served, servedPlatformImage: b.servedPlatformImage ?? null, newerBuild: b.newerBuild ? formatBuildTag(b.newerBuild) : null, newest: b.newest,
        digest: b.image.digest, created: b.image.config.created, size: b.image.size, movingTag: movingTagText(b),
        index: b.index,
        platforms: b.platforms.map((p) => ({ platform: p.platform, digest: p.image.manifestDigest, created: p.image.config.created ?? null, size: p.image.size })),
        platformTagOf: b.platformTagOf ?? null,
      }));
      reportCoverage({ uncheckedBuildTags: 0, unreadable }, o.json);
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ repo, source, images: rows, unreadable }, null, 2)}\n`);
        return;
      }
      if (source === "checkout") process.stderr.write(`image-builder: note: the registry has no catalog; looked for the images this checkout publishes\n`);
      if (rows.length === 0) {
        process.stdout.write(unreadable.length ? `no sci/ or rel/ image under ${repo} could be read\n` : `no sci/ or rel/ images under ${repo}\n`);
        return;
      }
      // A platform tag's row says which platform of which tag's index it is; TAG {version} is about indexes and plain images.
      process.stdout.write(table(["NAME", "VERSION", "BUILD", "DIGEST", "CREATED", "SIZE", "PLATFORMS", `TAG {version}`],
        rows.map((r) => [r.name, r.version, r.build ?? "?", shortDigest(r.digest), (r.created ?? "-").replace(/\.\d+Z$/, "Z"), megabytes(r.size),
          r.platforms.map((p) => p.platform).join(","), r.platformTagOf ? platformTagText(r.tag, r.platformTagOf, rows.find((o) => o.name === r.name && o.tag === r.platformTagOf!.tag)?.build) : r.movingTag])));
    });

  registryCommand(program.command("inspect"))
    .description("an image's breadcrumb trail, digest, platform, layers; IMAGE is rel/NAME:TAG, sci/NAME:TAG, a full reference or a tar file")
    .argument("<image>", "rel/essentials:2.5, sci/essentials-2-5:2.5-7-3f2a9c1, host/path:tag, or FILE.tar")
    .option("--platform <os/arch>", "the platform to read from a multi-platform image")
    .action(async (arg: string, o: RegistryOptions & { platform?: string }) => {
      const isFile = existsSync(arg) && statSync(arg).isFile();
      if (isFile || looksLikeFile(arg)) {
        if (!isFile) throw new InputError(existsSync(arg) ? "not a file" : "no such file", arg);
        const { readArchive } = await import("../../registry/archive.js");
        // How the file is loaded is not the image's: left out.
        const { loading: _loading, index, ...image } = await readArchive(arg, { platform: o.platform });
        if (index && !o.platform) {
          const platforms = index.platforms.map(({ loading: _l, index: _i, ...i }) => ({ platform: i.platform ?? "-", image: i }));
          process.stdout.write(o.json ? inspectIndexJson(image.reference, index.digest, index.mediaType, platforms) : describeIndex(image.reference, index.digest, platforms, arg));
        } else process.stdout.write(o.json ? inspectJson({ ...image, index: index !== undefined }) : describeImage(image, arg));
        return;
      }
      const ref = resolveImageArgument(arg, /^(sci|rel)\//.test(arg) ? repoOf(o) : undefined);
      const { readTaggedImage } = await import("../../registry/image-index.js");
      const found = await readTaggedImage(await newClient(), ref, { platform: o.platform, only: o.platform !== undefined });
      if (!found) throw new InputError(`${ref}: no such image in the registry`);
      if (found.index && !o.platform) {
        const reference = found.image.reference;
        process.stdout.write(o.json ? inspectIndexJson(reference, found.digest, found.mediaType, found.platforms) : describeIndex(reference, found.digest, found.platforms, arg));
      } else process.stdout.write(o.json ? inspectJson({ ...found.image, index: found.index }) : describeImage(found.image, arg));
    });

  registryCommand(program.command("contains"))
    .description("published images (what each moving tag {version} serves; every build tag with --all-tags) whose breadcrumbs hold a science layer, and whether they have its newest build; with --package, those holding a package")
    .argument("[layer]", "sci/TARGET, sci/TARGET:VERSION or sci/TARGET:VERSION-N-HASH")
    .option("--package <spec>", "a package instead of a layer: NAME, NAME<VERSION (==, !=, <, <=, >, >=), TYPE/NAME… (from each image's stored SBOM, else read from its layers)")
    .option("--all-tags", "every build tag too, not only what the moving tags serve (builds someone may have pinned)", false)
    .action(async (arg: string | undefined, o: RegistryOptions & { package?: string; allTags: boolean }) => {
      if (o.package !== undefined || arg === undefined) {
        if (arg !== undefined) throw new InputError(`contains: either a layer (${arg}) or --package, not both`);
        if (o.package === undefined) throw new InputError("contains: a layer (sci/TARGET…) or --package NAME… is required");
        const { containsPackage } = await import("./sbom.js");
        return containsPackage(o.package, o);
      }
      const query = parseLayerQuery(arg);
      const repo = repoOf(o);
      const client = await newClient();
      const { findRepositories, findAffected } = await import("../../registry/published.js");
      const { repositories, source } = await findRepositories(client, repo, () => checkoutNames(o.root));
      const { affected, newest, known, unchecked, unreadable } = await findAffected(client, repositories, query, { allTags: o.allTags });
      const unpublished = unpublishedLayer(query, known, repo);
      if (unpublished) throw new InputError(unpublished);
      const rows = affected.map((a) => ({
        image: `${a.build.repository.kind}/${a.build.repository.name}:${a.build.tag}`,
        reference: `${a.build.repository.ref}:${a.build.tag}`,
        // Of an index: the platform whose image has the layer (the others' may not), and that image's manifest.
        platform: a.platform ?? null,
        build: a.build.build ? formatBuildTag(a.build.build) : null,
        servedByMovingTag: a.build.served,
        digest: a.build.image.digest,
        manifestDigest: a.build.platforms.find((p) => p.platform === a.platform)?.image.manifestDigest ?? a.build.image.manifestDigest,
        has: a.match.state === "unknown" ? a.match.has : formatBuildTag(a.match.has),
        state: a.match.state,
        newest: a.match.state === "stale" ? formatBuildTag(a.match.newest) : a.match.state === "newest" ? formatBuildTag(a.match.has) : null,
      }));
      const coverage = { uncheckedBuildTags: unchecked, unreadable };
      reportCoverage(coverage, o.json);
      if (o.json) {
        const layerNewest = Object.fromEntries([...newest].map(([v, b]) => [v, formatBuildTag(b)]));
        process.stdout.write(`${JSON.stringify({ repo, source, layer: `sci/${query.target}`, newest: layerNewest, images: rows, ...coverage }, null, 2)}\n`);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write(`${nothingFound(arg, coverage)}\n`);
        return;
      }
      process.stdout.write(table(["IMAGE", "BUILD", `sci/${query.target}`, "STATE"],
        rows.map((r) => [r.platform ? `${r.image}@${r.platform}` : r.image, r.build ?? "?", r.has, r.state === "stale" ? `stale: has ${r.has}, newest ${r.newest}` : r.state === "newest" ? "newest" : "unknown build"])));
    });

  registryCommand(program.command("export"))
    .description("write an image from the registry to a tar file, without an engine")
    .argument("<image>", "rel/NAME:TAG, sci/NAME:TAG or a full reference")
    .requiredOption("-o, --out <file>", "the tar file to write (- for standard output)")
    .addOption(new Option("--format <format>", "docker-archive (docker load) or oci (OCI image layout)").choices(["docker-archive", "oci"]).default("docker-archive"))
    .option("--platform <os/arch>", "the platform to export from a multi-platform image")
    .action(async (arg: string, o: RegistryOptions & { out: string; format: "docker-archive" | "oci"; platform?: string }) => {
      // `-`: standard output (whose --json summary would be mixed into the tar)
      if (o.out === "-" && o.json) throw new InputError("--out - writes the tar to standard output, where --json would write too: use one");
      if (o.out !== "-") checkOutputFile("--out", o.out);
      const ref = resolveImageArgument(arg, /^(sci|rel)\//.test(arg) ? repoOf(o) : undefined);
      const client = await newClient();
      const top = await client.getManifest(ref, { noIndexResolution: true });
      if (!top) throw new InputError(`${ref}: no such image in the registry`);
      const { isIndexMediaType, platformToExport } = await import("../../core/registry/image-index.js");
      const { readIndexManifests } = await import("../../registry/image-index.js");
      const isIndex = isIndexMediaType(top.mediaType);
      const platform = isIndex ? platformToExport(await indexPlatforms(top), o.platform, o.format, ref) : undefined;
      const whole = isIndex && platform === undefined;
      const manifest = !isIndex ? top : whole ? undefined : await client.getManifest(ref, { platform });
      const content = manifest ?? { ref: top.ref, digest: top.digest, mediaType: top.mediaType, bytes: top.bytes, manifests: await readIndexManifests(client, top) };
      const { exportImage } = await import("../../registry/archive.js");
      const { formatImageReference } = await import("../../core/parse/image-reference.js");
      const name = top.ref.tag ? `${top.ref.registry}/${top.ref.repository}:${top.ref.tag}` : formatImageReference(top.ref);
      // Ctrl-C or SIGTERM stops the download and removes the partial file (exportImage does) before exiting.
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      let bytes: number;
      try {
        ({ bytes } = await writingOutputFile("--out", o.out, () => exportImage(client, content, o.out, o.format, name, controller.signal)));
      } catch (e) {
        if (!controller.signal.aborted) throw e;
        process.stderr.write(`image-builder: interrupted: ${shownOut(o.out)} not written${o.out === "-" ? " whole" : ""}\n`);
        process.exitCode = EXIT_INTERRUPTED;
        return;
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
      if (manifest) {
        const summary = { file: o.out, format: o.format, image: name, digest: manifest.digest, manifestDigest: manifest.manifestDigest, platform: manifest.platform ?? null, layers: manifest.layers.length, bytes };
        if (o.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else process.stderr.write(`wrote ${shownOut(o.out)} (${o.format}): ${name} ${manifest.manifestDigest.slice(0, 19)}${manifest.platform ? ` (${manifest.platform})` : ""}, ${manifest.layers.length} layers, ${megabytes(bytes)}\n`);
        return;
      }
      const platforms = await indexPlatforms(top);
      const summary = { file: o.out, format: o.format, image: name, digest: top.digest, index: true, platforms, manifests: "manifests" in content ? content.manifests.length : 1, bytes };
      if (o.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else process.stderr.write(`wrote ${shownOut(o.out)} (${o.format}): ${name} ${top.digest.slice(0, 19)}, an index of ${platforms.join(", ")}, ${megabytes(bytes)}\n`);
    });
}

/** `export -o`'s file as said: `-` is standard output. */
const shownOut = (out: string) => (out === "-" ? "standard output" : out);

/**
 * A platform tag's row in `images --all-tags`: which platform of which tag's image it is, or, when
 * it lags (a plain push or a stopped run left it on another image: hunter20 F6), that it is not
 * that tag's, and which build that tag holds.
 */
function platformTagText(tag: string, of: { tag: string; platform: string; holdsTagImage?: boolean }, ofBuild: string | null | undefined): string {
  if (of.holdsTagImage !== false) return `tag ${tag}: ${of.platform} of ${of.tag}`;
  // A build tag's platform tag (immutable, so set by hand): the build is the tag's own name.
  if (parseBuildTag(of.tag)) return `tag ${tag}: ${of.platform}, not ${of.tag}'s`;
  return `tag ${tag}: ${of.platform}, not ${of.tag}'s (${of.tag} holds ${ofBuild ? `build ${ofBuild}` : "another image"})`;
}
