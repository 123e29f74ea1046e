// The JSON Schemas published beside the README (schema/*.schema.json), generated from the zod
// schemas that the code validates with, so the two cannot disagree (a unit test checks the files).
import { z } from "zod";
import { planSchema } from "./plan.js";
import { resultsFileSchema } from "./results.js";

/** Repository-relative file -> the schema it publishes. */
export const PUBLISHED_SCHEMAS = {
  "schema/plan.schema.json": planSchema,
  "schema/results.schema.json": resultsFileSchema,
} as const;

/**
 * The JSON Schema of `schema` as a file's text. `io: "input"`: what a file may contain, so fields
 * the schema does not name are allowed (additionalProperties is left open), as the reader allows them.
 */
export function jsonSchemaText(schema: z.ZodType): string {
  return `${JSON.stringify(z.toJSONSchema(schema, { io: "input", target: "draft-2020-12" }), null, 2)}\n`;
}
