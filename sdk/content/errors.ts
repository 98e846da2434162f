import { ConunError, errorCodes } from "../errors.ts";

/**
 * Why a content operation failed. Callers branch on these (a worker that sees
 * `content-mismatch` refuses the job; one that sees `content-not-found` may retry later).
 */
export const CONTENT_ERROR_CODES = errorCodes("content", [
  /** No block (or not every block) of the content is available. */
  "content-not-found",
  /** Bytes read do not hash to the CID that names them: corruption or tampering. */
  "content-mismatch",
  /** The content is larger than the caller's bound. */
  "content-too-large",
  /** Not a CIDv1 (base32, sha2-256, raw or dag-pb) string. */
  "invalid-cid",
  /** The DAG is well-hashed but not something the store handles: a symlink, a special file,
   * an unsafe entry name, inconsistent UnixFS sizes, or a directory where a file was wanted. */
  "content-unsupported",
  /** `exportTo` was given a destination that already exists. */
  "content-destination-exists",
  /** A file that is not a `docker save` image archive (or a damaged one). */
  "image-archive-invalid",
] as const);

export type ContentErrorCode = (typeof CONTENT_ERROR_CODES)[number];

export class ContentError extends ConunError<ContentErrorCode> {}

/**
 * What the content gateway answers besides content errors (which it passes through with their
 * own code): `{ error: { code, message } }` with one of these.
 */
export const GATEWAY_ERROR_CODES = errorCodes("gateway", [
  /** A path segment that is unsafe or badly escaped. */
  "invalid-path",
  /** An upload from an origin the gateway was not told to allow. */
  "origin-not-allowed",
  /** An upload larger than the gateway's bound. */
  "upload-too-large",
  "method-not-allowed",
  /** No such route. */
  "not-found",
  /** The store did not answer in time. */
  "gateway-timeout",
  /** Anything else: a bug or a broken store. */
  "internal-error",
] as const);

export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];

/** A gateway request refused with an HTTP status. */
export class GatewayError extends ConunError<GatewayErrorCode> {
  readonly status: number;

  constructor(
    status: number,
    code: GatewayErrorCode,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
    this.status = status;
  }
}

declare module "../errors.ts" {
  interface ConunErrorDomains {
    content: ContentError;
    gateway: GatewayError;
  }
}
