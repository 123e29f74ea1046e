// Rule 6, a layer leaving an image version: when the science layer that was the final one of
// `image:version` is removed, or moves to another image or version, the layer now final for that
// version is unchanged, and no other rule rebuilds `rel/{image}:{version}`, which would keep
// serving the layer that left. Each version a changed layer left gets its compat build again
// (determineBuilds), whether or not the layer was its final one: before the change is not analysed.
import { parseJsonWithComments } from "../parse/json-with-comments.js";
import { scienceVersion } from "../parse/layer-config.js";
import type { RepoSnapshot } from "../model.js";

/** A science layer that belonged to `image:version` before the change and does not now. */
export interface LayerLeft {
  /** Its directory name (`science/{dir}`). */
  dir: string;
  /** The image version it left: `image:version`. */
  left: string;
  /** What it belongs to now (`image:version`); undefined: removed. */
  now?: string;
}

/**
 * `previous`: the old contents of changed science configs (`science/x/sciserver-image.json` ->
 * text, previousScienceConfigs). A config that did not parse then published nothing: left out.
 */
export function layersLeft(snapshot: RepoSnapshot, previous: ReadonlyMap<string, string>): LayerLeft[] {
  const left: LayerLeft[] = [];
  for (const [file, text] of previous) {
    const dir = file.split("/")[1];
    const before = imageVersionOf(text);
    if (!before) continue;
    const layer = snapshot.science.find((l) => l.dir === dir);
    const now = layer && `${layer.image}:${layer.version}`;
    if (now !== before) left.push({ dir, left: before, ...(now ? { now } : {}) });
  }
  return left.sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
}

/** `image:version` of a science config's text (its version read as planning reads it), if it parses. */
function imageVersionOf(text: string): string | undefined {
  try {
    const { value, rawNumbers } = parseJsonWithComments(text, "previous sciserver-image.json");
    if (value === null || typeof value !== "object" || Array.isArray(value) || typeof value.image !== "string") return undefined;
    return `${value.image}:${scienceVersion(value, rawNumbers, "previous sciserver-image.json")}`;
  } catch {
    return undefined;
  }
}
