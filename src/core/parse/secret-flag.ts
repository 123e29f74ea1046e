// `--secret id=ID,src=FILE` (or `env=VAR`), as `docker build --secret` spells it: which build
// secret comes from where. The values are read by the CLI and reach only BuildKit's session.
import { InputError } from "../model.js";

export type SecretSource = { id: string; file: string } | { id: string; env: string };

export function parseSecretFlag(value: string): SecretSource {
  const fields = new Map<string, string>();
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new InputError(`--secret ${value}: expected id=ID,src=FILE or id=ID,env=VAR`);
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const id = fields.get("id");
  const file = fields.get("src") ?? fields.get("source");
  const env = fields.get("env");
  const type = fields.get("type") ?? "file";
  const unknown = [...fields.keys()].filter((k) => !["id", "src", "source", "env", "type"].includes(k));
  if (unknown.length) throw new InputError(`--secret ${value}: unknown field ${unknown.join(", ")} (id, src, env, type)`);
  if (!id) throw new InputError(`--secret ${value}: no id=`);
  if (type !== "file" && type !== "env") throw new InputError(`--secret ${value}: type must be file or env`);
  if (file !== undefined && env !== undefined) throw new InputError(`--secret ${value}: src= and env= contradict each other`);
  if (env !== undefined || type === "env") return { id, env: env ?? id };
  return { id, file: file ?? id };
}
