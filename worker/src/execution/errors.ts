import { ConunError } from "../../../sdk/errors.ts";

/**
 * Errors of the worker's sandboxed execution. Codes: `image-not-pinned` (a registry reference
 * without `@sha256:`), `image-ref-invalid`, `image-digest-mismatch` (the image is not the one
 * the job names; refused before any container starts), `image-archive-invalid`, `image-too-large`,
 * `image-pull-failed`, `image-load-failed`, `content-store-required`, `task-invalid` (a bad
 * command, env or limit), `docker-timeout`, `docker-failed`.
 */
export class ExecutionError extends ConunError {}
