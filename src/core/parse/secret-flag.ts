// `--secret id=ID,src=FILE` (or `env=VAR`), as `docker build --secret` spells it: which build
// secret comes from where. The values are read by the CLI and reach only BuildKit's session.
import { InputError } from "../model.js";

export type SecretSource = { id: string; file: string } | { id: string; env: string };

const KNOWN = ["id", "src", "source", "env", "type"];

/**
 * The flag as errors show it: a part that is no known `field=` is shown as `***`, for it may be the
 * secret itself (`--secret ghp_…`, or `id=tok,value=…` as docker/build-push-action spells it).
 */
function shownFlag(value: string): string {
  return value.split(",").map((part) => {
    const eq = part.indexOf("=");
    if (eq <= 0) return "***";
    const key = part.slice(0, eq).trim();
    // A base64 value padded with `=` splits there too: only what looks like a field's name is shown.
    return KNOWN.includes(key.toLowerCase()) ? part : isFieldName(key) ? `${key}=***` : "***";
  }).join(",");
}

/** What a field of the flag could be called (`value`, `required`), unlike a token cut at its `=` (digits, capitals). */
const isFieldName = (key: string) => /^[a-z][a-z_-]{0,11}$/.test(key);

export function parseSecretFlag(value: string): SecretSource {
  const fields = new Map<string, string>();
  const shown = shownFlag(value);
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new InputError(`--secret ${shown}: expected id=ID,src=FILE or id=ID,env=VAR (the value itself is never given here: put it in a file or a variable)`);
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const id = fields.get("id");
  const file = fields.get("src") ?? fields.get("source");
  const env = fields.get("env");
  const type = fields.get("type") ?? "file";
  const unknown = [...fields.keys()].filter((k) => !KNOWN.includes(k));
  if (unknown.length) throw new InputError(`--secret ${shown}: unknown field ${unknown.map((k) => (isFieldName(k) ? k : "***")).join(", ")} (id, src, env, type; the value itself is never given here: put it in a file or a variable)`);
  if (!id) throw new InputError(`--secret ${shown}: no id=`);
  if (type !== "file" && type !== "env") throw new InputError(`--secret ${shown}: type must be file or env`);
  if (file !== undefined && env !== undefined) throw new InputError(`--secret ${shown}: src= and env= contradict each other`);
  if (env !== undefined || type === "env") return { id, env: env ?? id };
  return { id, file: file ?? id };
}
