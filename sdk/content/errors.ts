import { errorClass } from "../errors.ts";

declare module "../errors.ts" {
  interface ConunErrorDomains
    extends Record<"content", ContentError>,
      Record<"gateway", GatewayError> {}
}

/**
 * Why a content operation failed. Callers branch on these (a worker that sees
 * `content-mismatch` refuses the job; one that sees `content-not-found` may retry later):
 * - `content-not-found`: no block (or not every block) of the content is available;
 * - `content-mismatch`: bytes read do not hash to the CID that names them (corruption or
 *   tampering);
 * - `content-too-large`: the content is larger than the caller's bound;
 * - `invalid-cid`: not a CIDv1 (base32, sha2-256, raw or dag-pb) string;
 * - `content-unsupported`: the DAG is well-hashed but not something the store handles: a
 *   symlink, a special file, an unsafe entry name, inconsistent UnixFS sizes, or a directory
 *   where a file was wanted;
 * - `content-destination-exists`: `exportTo` was given a destination that already exists;
 * - `image-archive-invalid`: a file that is not a `docker save` image archive, or a damaged one.
 */
// biome-ignore format: a domain's codes stay on one line
export class ContentError extends errorClass("content", ["content-not-found", "content-mismatch", "content-too-large", "invalid-cid", "content-unsupported", "content-destination-exists", "image-archive-invalid"]) {}

export type ContentErrorCode = ContentError["code"];

/**
 * A gateway request refused with an HTTP status. The gateway answers `{ error: { code,
 * message } }` with a content error's own code, or one of these: `invalid-path` (unsafe or badly
 * escaped), `origin-not-allowed` (an upload from an origin not allowed), `upload-too-large`,
 * `method-not-allowed`, `not-found` (no such route), `gateway-timeout` (the store did not answer
 * in time), `internal-error` (anything else: a bug or a broken store).
 */
// biome-ignore format: a domain's codes stay on one line
export class GatewayError extends errorClass("gateway", ["invalid-path", "origin-not-allowed", "upload-too-large", "method-not-allowed", "not-found", "gateway-timeout", "internal-error"]) {
  readonly status: number;

  constructor(
    status: number,
    code: GatewayError["code"],
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
    this.status = status;
  }
}
