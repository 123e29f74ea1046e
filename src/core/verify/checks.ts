// What `verify IMAGE` checks (issue 19, item 5), as pure judgments of what the registry holds:
// each check names its subject and says ok or what fails. The signature checks judge with
// core/signatures/verify.ts; the parents check is here: a published image carries, in the labels
// it inherited, the build (version, buildtime, inputs) of every science layer it was built on,
// and the registry must still hold that very build under the layer's build tag.
import type { ImageReference } from "../parse/image-reference.js";
import { buildtimeLabel, inputsLabel, versionLabel } from "../requests/inputs-digest.js";
import { formatBuildTag, isMovingTag, parseBuildTag, readBreadcrumbs } from "../report/published.js";
import { parsePlatformTag, samePlatform } from "../registry/image-index.js";

export interface VerifyCheck {
  /** `build`, `layers`, `signature`, `parent`, `attestations`. */
  check: string;
  /** What was checked: `index sha256:…`, `linux/amd64 sha256:…`, `sci/essentials-2-4:2.4-5-aaaaaaa`. */
  subject: string;
  ok: boolean;
  detail: string;
}

/** A parent an image was built on: the build tag it was published under and what the image inherited of it. */
export interface ExpectedParent {
  /** `sci/{target}:{version}-{n}-{h}` */
  name: string;
  /** The full build tag: `host/path/sci/{target}:{version}-{n}-{h}`. */
  buildTag: string;
  target: string;
  /** The parent's own labels as the child inherited them (version, buildtime, inputs). */
  labels: Record<string, string>;
}

/**
 * The science layers `ref` (an image under `…/sci/NAME` or `…/rel/NAME`) was built on, from its
 * labels: every science layer in its breadcrumbs but its own. Empty for an image image-builder
 * did not publish.
 */
export function expectedParents(ref: Pick<ImageReference, "registry" | "repository">, labels: Record<string, string>): ExpectedParent[] {
  const m = /^(?:(.*)\/)?(sci|rel)\/([^/]+)$/.exec(ref.repository);
  if (!m) return [];
  const [, prefix, kind, name] = m;
  const base = `${ref.registry}/${prefix ? `${prefix}/` : ""}sci`;
  return readBreadcrumbs(labels).science
    .filter((c) => c.build !== undefined && !(kind === "sci" && c.target === name))
    .map((c) => {
      const own = [versionLabel("science", c.target), buildtimeLabel("science", c.target), inputsLabel("science", c.target)];
      return {
        name: `sci/${c.target}:${c.value}`, buildTag: `${base}/${c.target}:${c.value}`, target: c.target,
        labels: Object.fromEntries(own.filter((l) => labels[l] !== undefined).map((l) => [l, labels[l]])),
      };
    });
}

/**
 * Whether the registry holds under the parent's build tag the build the image was built on:
 * `held` is that image's labels (undefined: nothing under the tag). Another build of the same
 * inputs (a rebuild, another run's) has another buildtime, and is not the one built on.
 */
export function judgeParent(parent: ExpectedParent, held: Record<string, string> | undefined, platform?: string): VerifyCheck {
  const subject = parent.name + (platform ? ` (${platform})` : "");
  if (!held) return { check: "parent", subject, ok: false, detail: `the registry has no ${parent.buildTag}` };
  const differs = Object.entries(parent.labels).filter(([label, value]) => held[label] !== value);
  if (differs.length === 0) return { check: "parent", subject, ok: true, detail: "the registry holds the build this image was built on" };
  const field = (label: string) => label.replace(`org.sciserver.science.${parent.target}.`, "");
  const held1 = differs.map(([label]) => `${field(label)} ${held[label] ?? "(none)"}`).join(", ");
  const built = differs.map(([label, value]) => `${field(label)} ${value}`).join(", ");
  return { check: "parent", subject, ok: false, detail: `the registry holds another build under ${parent.buildTag} (${held1}) than the one this image was built on (${built})` };
}

/**
 * Whether each platform image under `ref` is the build its tag names (`verify`): its own version
 * label, the one image-builder set when it built it, is the build tag asked for (`…:1.0-7-3f2a9c1`,
 * or its platform tag `…-linux-amd64`), or a build of the version a moving tag `…:1.0` names. An
 * older signed build copied under a newer build tag passes every other check: this one names it.
 * No judgment for a reference by digest or outside `sci/`/`rel/` (not image-builder's names).
 */
export function judgeOwnBuild(ref: Pick<ImageReference, "repository" | "tag">, images: readonly { platform?: string; labels: Record<string, string> }[]): VerifyCheck[] {
  const own = ownTag(ref);
  if (!own) return [];
  const { kind, name, platformTag, tag, build } = own;
  return images.map((image) => {
    const subject = `${kind}/${name}:${ref.tag}${images.length > 1 && image.platform ? ` (${image.platform})` : ""}`;
    // A platform tag holds that platform's image: another platform's image of the same build is not it.
    if (platformTag && (image.platform === undefined || !samePlatform(image.platform, platformTag.platform))) {
      return { check: "build", subject, ok: false, detail: `a ${image.platform ?? "(no platform)"} image under the ${platformTag.platform} platform tag` };
    }
    const { value, held } = labelledBuild(kind, name, image.labels);
    if (!held) {
      return { check: "build", subject, ok: false, detail: `its version label (${value ?? "none"}) names no build of ${kind}/${name}: not an image image-builder published under this tag` };
    }
    // The tag as written: `2.0-02-…` is no tag image-builder writes, whatever number it parses to.
    const ok = build ? formatBuildTag(held) === tag : held.version === tag;
    const detail = ok
      ? `its version label names build ${formatBuildTag(held)}${build ? ", the tag's" : `, of version ${tag}`}`
      : `its version label names build ${formatBuildTag(held)}, not ${build ? tag : `a build of version ${tag}`}: another build is under this tag`;
    return { check: "build", subject, ok, detail };
  });
}

/**
 * For a moving tag (`…:2.5`, `…:2.5-linux-amd64`): the build tag of the build each image's version
 * label names (`…:2.5-9-bbbbbbb[-linux-amd64]`), which what is built on it, `verify` of it and
 * `--reconcile` look for; [] for a build tag or an image whose label names no build.
 */
export function ownBuildTags(ref: Pick<ImageReference, "repository" | "tag">, images: readonly { labels: Record<string, string> }[]): string[] {
  const own = ownTag(ref);
  if (!own || own.build) return [];
  const suffix = own.platformTag ? ref.tag!.slice(own.tag.length) : "";
  const tags = images.flatMap((image) => {
    const { held } = labelledBuild(own.kind, own.name, image.labels);
    return held && held.version === own.tag ? [`${formatBuildTag(held)}${suffix}`] : [];
  });
  return [...new Set(tags)];
}

/** What an image-builder tag says of itself: the layer (`sci/x`, `rel/y`), its platform suffix, and the build it names (undefined: a moving tag); undefined for other names. */
function ownTag(ref: Pick<ImageReference, "repository" | "tag">) {
  const m = /^(?:.*\/)?(sci|rel)\/([^/]+)$/.exec(ref.repository);
  if (!m || ref.tag === undefined) return undefined;
  const [, kind, name] = m as unknown as [string, "sci" | "rel", string];
  const platformTag = parsePlatformTag(ref.tag);
  const tag = platformTag?.tag ?? ref.tag;
  const build = parseBuildTag(tag);
  return build || isMovingTag(tag) ? { kind, name, platformTag, tag, build } : undefined;
}

/** The build an image's own version label names (a compat build's `image:{build}`, of this `name` only), and the label as written. */
function labelledBuild(kind: "sci" | "rel", name: string, labels: Record<string, string>) {
  const value = kind === "sci" ? labels[versionLabel("science", name)] : labels[versionLabel("compat", "")];
  const [labelName, labelBuild] = kind === "sci" ? [name, value] : value?.includes(":") ? [value.slice(0, value.lastIndexOf(":")), value.slice(value.lastIndexOf(":") + 1)] : [undefined, value];
  const held = labelBuild === undefined || labelName !== name ? undefined : parseBuildTag(labelBuild);
  return { value, held };
}
