// A plan or results file checked against its schema: one line naming the file and the first field
// that is wrong (`plan.json: builds[3].request.dockerfile: required`), as every bad input is.
import type { z } from "zod";
import { InputError } from "../model.js";

/**
 * `value` (parsed JSON) as a `T`, or an InputError naming `file` and the field. Returns `value`
 * itself rather than zod's copy: fields a newer image-builder wrote are kept (zod's copy drops
 * them), and nothing is copied on a large plan.
 */
export function validateFile<S extends z.ZodType>(schema: S, value: unknown, file: string, what: string): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return value as z.output<S>;
  const issue = result.error.issues[0];
  const field = issue.path.length > 0 ? `${fieldPath(issue.path)}: ` : "";
  // A top-level field missing or wrong: most likely another kind of file altogether.
  const kind = issue.path.length <= 1 ? `not ${what}: ` : "";
  throw new InputError(`${kind}${field}${describeIssue(issue)}`, file);
}

/** `["builds", 3, "request", "labels", "org.x"]` -> `builds[3].request.labels["org.x"]`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((key, i) => {
    if (typeof key === "number") return `[${key}]`;
    const name = String(key);
    if (/^[A-Za-z_$][\w$]*$/.test(name)) return i === 0 ? name : `.${name}`;
    return `[${JSON.stringify(name)}]`;
  }).join("");
}

export function describeIssue(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type":
      return input === undefined ? "required" : `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${kindOf(input)}`;
    case "invalid_value":
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}, got ${shortValue(input)}`;
    case "too_small":
      if (issue.origin === "array") return `expected at least ${issue.minimum} ${Number(issue.minimum) === 1 ? "entry" : "entries"}`;
      if (issue.origin === "string") return "must not be empty";
      return `must be at least ${issue.minimum}, got ${shortValue(input)}`;
    case "invalid_key":
      // The key's own issue (`parents["sci/A:1"]: invalid image reference …`), not zod's "Invalid key in record".
      return issue.issues.length > 0 ? describeIssue(issue.issues[0]) : issue.message;
    default:
      return issue.message;
  }
}

const EXPECTED: Record<string, string> = {
  object: "an object", record: "an object", array: "an array", string: "a string", number: "a number", int: "a whole number", boolean: "true or false",
};

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${shortValue(value)}`;
}

/**
 * The message of a string format (`z.string().regex(re, { error: expectedFormat("…") })`):
 * `expected WHAT, got "value"`.
 */
export function expectedFormat(what: string): (issue: { input?: unknown }) => string {
  return (issue) => `expected ${what}, got ${shortValue(issue.input)}`;
}

/** A value for a message: short, so a wrong Dockerfile text does not fill the screen. */
function shortValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
