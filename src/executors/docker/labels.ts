// A request's labels as one LABEL instruction at the end of the Dockerfile sent to the engine.
//
// The build API's `labels` parameter is what `docker build --label` uses, but the classic builder
// turns each of its entries into a LABEL instruction of its own, appended to the last stage, and
// every instruction is a step: a container created, committed as an image and removed. With two
// labels per request that is two steps, about a fifth of the engine's work for a science layer
// with one RUN (see BENCH.md, "Jobs"). One appended instruction holding every label gives the image
// the same labels (keys and values, taken literally as the parameter's are) in one step.
//
// When the text can't safely take another line (its last instruction continues past the end, or
// a label can't be written on one line), the labels go through the parameter as before.

export interface LabelledDockerfile {
  /** The Dockerfile to send. */
  dockerfile: string;
  /** The labels still to pass as the build API's `labels` parameter. */
  labels: Record<string, string>;
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(["syntax", "escape", "check"]);
/** Go's unicode.IsSpace, as the Dockerfile parser strips it from the start of a line. */
const LEADING_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

export function labelsInDockerfile(dockerfile: string, labels: Record<string, string>): LabelledDockerfile {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return { dockerfile, labels };
  // A key is split from its value at the first `=`, quotes or not; a line break ends the line.
  if (entries.some(([k, v]) => k === "" || k.includes("=") || /[\0\r\n]/.test(k) || /[\0\r\n]/.test(v))) {
    return { dockerfile, labels };
  }
  const lines = dockerfile.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/).map((l) => l.replace(LEADING_SPACE, ""));

  // The escape character: `\`, or what a leading `# escape=` parser directive says.
  let escape = "\\";
  for (const line of lines) {
    const m = DIRECTIVE.exec(line);
    const key = m?.[1].toLowerCase();
    if (!m || !key || !KNOWN_DIRECTIVES.has(key)) break;
    if (key === "escape") escape = m[2];
  }
  if (escape !== "\\" && escape !== "`") return { dockerfile, labels };

  // Comment lines and blank lines never end a continuation: if the last other line ends with the
  // escape character (even a doubled one, which older parsers also read as a continuation), a
  // line added after it would join that instruction.
  const last = [...lines].reverse().find((l) => l !== "" && !l.startsWith("#"));
  if (last !== undefined && last.replace(/[ \t]+$/, "").endsWith(escape)) return { dockerfile, labels };

  // Double quotes: the escape character escapes `"`, `$` and itself there, so `$` is never expanded.
  const special = escape === "`" ? /["$`]/g : /["$\\]/g;
  const quote = (s: string) => `"${s.replace(special, (c) => escape + c)}"`;
  const instruction = `LABEL ${entries.map(([k, v]) => `${quote(k)}=${quote(v)}`).join(" ")}`;
  const eol = /\r\n/.test(dockerfile) ? "\r\n" : "\n";
  const sep = dockerfile === "" || /[\r\n]$/.test(dockerfile) ? "" : eol;
  return { dockerfile: `${dockerfile}${sep}${instruction}${eol}`, labels: {} };
}
