// The content digest every manifest, blob, index and inputs digest is named by (OCI: `sha256:<hex>`),
// computed in one place for whatever is held whole in memory. Streams (layers, context files as
// they are sent) are hashed as they pass, where they pass.
import { createHash } from "node:crypto";

/** The sha256 of `data` (a string as UTF-8), lowercase hex. */
export function sha256Hex(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The digest of `data` as OCI names content: `sha256:<hex>`. */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${sha256Hex(data)}`;
}

/** Whether `value` names content as this project reads it: `sha256:` and 64 lowercase hex digits (never a path to be made of anything else). */
export function isSha256Digest(value: unknown): value is string {
  return typeof value === "string" && /^sha256:[0-9a-f]{64}$/.test(value);
}
