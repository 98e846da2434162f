import { ConunError, errorCodes } from "../../../sdk/errors.ts";

/**
 * Errors of the worker's sandboxed execution. An archive that is not a valid `docker save`
 * tarball is the content domain's `image-archive-invalid` (sdk/content/errors.ts).
 */
export const EXECUTION_ERROR_CODES = errorCodes("execution", [
  /** A registry reference without `@sha256:`. */
  "image-not-pinned",
  "image-ref-invalid",
  /** The image is not the one the job names; refused before any container starts. */
  "image-digest-mismatch",
  "image-too-large",
  "image-pull-failed",
  "image-load-failed",
  "content-store-required",
  /** A bad command, env or limit. */
  "task-invalid",
  "docker-timeout",
  "docker-failed",
] as const);

export type ExecutionErrorCode = (typeof EXECUTION_ERROR_CODES)[number];

export class ExecutionError extends ConunError<ExecutionErrorCode> {}

declare module "../../../sdk/errors.ts" {
  interface ConunErrorDomains {
    execution: ExecutionError;
  }
}
