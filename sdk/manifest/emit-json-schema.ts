/**
 * Regenerates the committed JSON Schemas from the zod schema:
 *   node_modules/.bin/node sdk/manifest/emit-json-schema.ts
 * test/sdk/manifest.schema.test.ts fails when they are stale.
 */
import { writeFile } from "node:fs/promises";
import { JSON_SCHEMA_FILES, manifestJsonSchema } from "./json-schema.ts";

for (const form of ["resolved", "source"] as const) {
  const url = new URL(JSON_SCHEMA_FILES[form], import.meta.url);
  await writeFile(url, `${JSON.stringify(manifestJsonSchema(form), null, 2)}\n`);
  console.log(`wrote ${url.pathname}`);
}
