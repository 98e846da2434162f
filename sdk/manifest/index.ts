/**
 * The version-1 job manifest: schema, validation with every problem listed by path,
 * canonical serialisation, and the mapping to and from the on-chain JobSpec. See
 * docs/manifest.md for the format.
 */
export { ManifestError, type ManifestProblem } from "./errors.ts";
export { JSON_SCHEMA_FILES, manifestJsonSchema } from "./json-schema.ts";
export { DEFAULTS, LIMITS, RESERVED_ENV } from "./limits.ts";
export { type ManifestForm, parseManifest, validateManifest } from "./parse.ts";
export {
  type Manifest,
  resolvedManifestSchema,
  type SourceManifest,
  sourceManifestSchema,
} from "./schema.ts";
export { manifestBytes, manifestDigest, serializeManifest } from "./serialize.ts";
export {
  checkSpecMatchesManifest,
  type JobSpec,
  type JobSpecLike,
  type SpecMismatch,
  specFromManifest,
} from "./spec.ts";
