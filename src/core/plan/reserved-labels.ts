// The labels image-builder sets on every build (a science layer's `org.sciserver.science.{target}.
// version|buildtime|inputs`, a compat build's `org.sciserver.compat.*`) are the breadcrumbs of what
// an image holds: children inherit them, so a final image lists every layer inside. A Dockerfile
// that sets one itself makes an image name a layer it does not hold (or, for the compat labels,
// speak for another build), and `inspect`, the report and `verify` then believe it.
import { InputError } from "../model.js";
import type { ParsedDockerfile } from "../parse/dockerfile/index.js";

const BREADCRUMB_LABEL = /^org\.sciserver\.(science\..+|compat)\.(version|buildtime|inputs)$/;

/** Whether image-builder sets labels of this key on its builds (a Dockerfile must not). */
export function isBreadcrumbLabel(key: string): boolean {
  return BREADCRUMB_LABEL.test(key);
}

/**
 * Throws an input error naming the file and line of the first LABEL of the image's own stage (the
 * last; a builder stage's labels never reach the image) that sets a breadcrumb label as written.
 */
export function checkReservedLabels(parsed: Pick<ParsedDockerfile, "labels" | "stages">, file: string): void {
  const last = parsed.stages.length - 1;
  const label = parsed.labels.find((l) => l.stage === last && isBreadcrumbLabel(l.key));
  if (label) {
    throw new InputError(
      `line ${label.line}: LABEL ${label.key} is image-builder's own (each build's version, build time and inputs, which children inherit as the breadcrumbs of what an image holds); a Dockerfile must not set it`,
      file,
    );
  }
}
