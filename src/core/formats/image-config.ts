// The parts of an image config (the OCI image spec's, and Docker's) that image-builder reads, as a
// zod schema: a registry's or an archive's config is anyone's JSON, and one of the wrong shape
// (`"history": "nope"`, a number for `created`) is no config, as Docker's own decoder says, rather
// than a crash deep in a listing. Fields not read are not checked.
import { z } from "zod";
import { describeIssue, fieldPath } from "./validate.js";

// null is what Go's decoder (Docker's) takes for absent, so it is absent here too.
const text = z.string().nullish().transform((v) => v ?? undefined);

export const imageConfigSchema = z.looseObject({
  created: text,
  os: text,
  architecture: text,
  variant: text,
  config: z.looseObject({
    Labels: z.record(z.string(), z.string()).nullish(),
    Env: z.array(z.string()).nullish(),
  }).nullish(),
  history: z.array(z.looseObject({ created: text, created_by: text, empty_layer: z.boolean().optional() })).nullish(),
  rootfs: z.looseObject({ diff_ids: z.array(z.string()).nullish() }).nullish(),
});

export type ImageConfigJson = z.output<typeof imageConfigSchema>;

/** `value` (a parsed config) as an ImageConfigJson, or `fail`'s error naming `what` and the first field of the wrong shape. */
export function checkImageConfig(value: unknown, what: string, fail: (message: string) => Error): ImageConfigJson {
  const result = imageConfigSchema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  return (() => {
    throw fail(`${what}: not an image config: ${issue.path.length ? `${fieldPath(issue.path)}: ` : ""}${describeIssue(issue)}`);
  })();
}
