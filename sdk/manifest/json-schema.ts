import { z } from "zod/v4";
import type { ManifestForm } from "./parse.ts";
import { resolvedManifestSchema, sourceManifestSchema } from "./schema.ts";

/** File names of the committed JSON Schemas, next to this module. */
export const JSON_SCHEMA_FILES: Record<ManifestForm, string> = {
  resolved: "manifest.schema.json",
  source: "manifest.source.schema.json",
};

/**
 * The manifest as a JSON Schema (draft 2020-12), generated from the zod schema so editors and
 * other languages can validate manifests. It describes what is accepted (defaults are
 * optional). Cross-field rules (quorum vs k, args vs count, timeout vs execution window,
 * reserved env names, overlapping input paths, archive-or-ref) are beyond JSON Schema and
 * checked by parseManifest only.
 */
export function manifestJsonSchema(form: ManifestForm): Record<string, unknown> {
  const schema = form === "source" ? sourceManifestSchema : resolvedManifestSchema;
  const generated = z.toJSONSchema(schema, { io: "input" }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: form === "source" ? "CONUN job manifest v1 (source form)" : "CONUN job manifest v1",
    description:
      form === "source"
        ? "A job manifest as a requester writes it: may name local files (image.archive, inputs[].source) that the tools upload. See docs/manifest.md."
        : "A resolved job manifest (CIDs only), as stored in the content store and referenced on chain by JobSpec.manifestCid. See docs/manifest.md.",
    ...rest,
  };
}
