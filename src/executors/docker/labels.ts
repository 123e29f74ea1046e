// A request's labels as one LABEL instruction at the end of the Dockerfile sent to the engine.
//
// The build API's `labels` parameter is what `docker build --label` uses, but the classic builder
// turns each of its entries into a LABEL instruction of its own, appended to the last stage, and
// every instruction is a step: a container created, committed as an image and removed. With two
// labels per request that is two steps, about a fifth of the engine's work for a science layer
// with one RUN (see BENCH.md, "Jobs"). One appended instruction holding every label gives the image
// the same labels (keys and values, taken literally as the parameter's are) in one step.
//
// When the text can't safely take another line (its last instruction continues past the end, a
// heredoc is left open, or a label can't be written on one line), the labels go through the
// parameter as before.

import { appendInstruction } from "../../core/parse/dockerfile/index.js";

export interface LabelledDockerfile {
  /** The Dockerfile to send. */
  dockerfile: string;
  /** The labels still to pass as the build API's `labels` parameter. */
  labels: Record<string, string>;
}

export function labelsInDockerfile(dockerfile: string, labels: Record<string, string>): LabelledDockerfile {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return { dockerfile, labels };
  // A key is split from its value at the first `=`, quotes or not; a line break ends the line.
  if (entries.some(([k, v]) => k === "" || k.includes("=") || /[\0\r\n]/.test(k) || /[\0\r\n]/.test(v))) {
    return { dockerfile, labels };
  }
  // Double-quoted keys and values: `$` is never expanded there. Undefined when a line added at the
  // end would join the last instruction, or the parser refuses the text (left to the engine).
  const appended = appendInstruction(dockerfile, (quote) => `LABEL ${entries.map(([k, v]) => `${quote(k)}=${quote(v)}`).join(" ")}`);
  return appended === undefined ? { dockerfile, labels } : { dockerfile: appended, labels: {} };
}
