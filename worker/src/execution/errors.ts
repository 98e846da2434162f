import { errorClass } from "../../../sdk/errors.ts";

declare module "../../../sdk/errors.ts" {
  interface ConunErrorDomains extends Record<"execution", ExecutionError> {}
}

/**
 * Errors of the worker's sandboxed execution: `image-not-pinned` (a registry reference without
 * `@sha256:`), `image-ref-invalid`, `image-digest-mismatch` (the image is not the one the job
 * names; refused before any container starts), `image-too-large`, `image-pull-failed`,
 * `image-load-failed`, `content-store-required`, `task-invalid` (a bad command, env or limit),
 * `docker-timeout`, `docker-failed`, `output-quota-unavailable` (the worker cannot give a task's
 * /output a hard size limit: not root, no loop device or no mkfs.ext4; the message says which). An archive that is not a valid `docker save` tarball is the
 * content domain's `image-archive-invalid` (sdk/content/errors.ts).
 */
// biome-ignore format: a domain's codes stay on one line
export class ExecutionError extends errorClass("execution", ["image-not-pinned", "image-ref-invalid", "image-digest-mismatch", "image-too-large", "image-pull-failed", "image-load-failed", "content-store-required", "task-invalid", "docker-timeout", "docker-failed", "output-quota-unavailable"]) {}

export type ExecutionErrorCode = ExecutionError["code"];
