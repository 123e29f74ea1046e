// The JSON Schemas published in schema/ are the ones the code validates with.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { jsonSchemaText, PUBLISHED_SCHEMAS } from "../../../../src/core/formats/json-schema.js";

// dist/test/unit/core/formats/json-schema.test.js -> the repository root
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../..");

test("schema/*.schema.json are generated from the schemas files are checked with (npm run schemas rewrites them)", () => {
  for (const [file, schema] of Object.entries(PUBLISHED_SCHEMAS)) {
    const published = readFileSync(join(root, file), "utf8");
    assert.ok(published === jsonSchemaText(schema), `${file} is out of date: run npm run schemas`);
  }
});

test("the published plan schema requires what a request needs, and leaves room for fields it does not name", () => {
  const plan = JSON.parse(jsonSchemaText(PUBLISHED_SCHEMAS["schema/plan.schema.json"]));
  const request = plan.properties.builds.items.properties.request;
  assert.equal(request.required, ["contexts", "dockerfile", "buildArgs", "tags", "labels", "imageRewrites"]);
  assert.not.ok("command" in request.properties);
  assert.is(request.additionalProperties, undefined);
  const results = JSON.parse(jsonSchemaText(PUBLISHED_SCHEMAS["schema/results.schema.json"]));
  assert.is(results.properties.results.items.additionalProperties, undefined);
  assert.equal(results.properties.results.items.properties.status.enum, ["built", "reused", "failed", "skipped", "cancelled"]);
});

test.run();
