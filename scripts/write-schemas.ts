// `npm run schemas`: writes schema/*.schema.json from the zod schemas in src/core/formats/
// (test/unit/core/formats/json-schema.test.ts fails when they are out of date).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { jsonSchemaText, PUBLISHED_SCHEMAS } from "../src/core/formats/json-schema.js";

// dist/scripts/write-schemas.js -> the repository root
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
for (const [file, schema] of Object.entries(PUBLISHED_SCHEMAS)) {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), jsonSchemaText(schema));
  process.stdout.write(`wrote ${file}\n`);
}
