import { ConunError } from "../errors.ts";

/**
 * Why a content operation failed. Callers branch on these (a worker that sees
 * `content-mismatch` refuses the job; one that sees `content-not-found` may retry later).
 */
export type ContentErrorCode =
  /** No block (or not every block) of the content is available. */
  | "content-not-found"
  /** Bytes read do not hash to the CID that names them: corruption or tampering. */
  | "content-mismatch"
  /** The content is larger than the caller's bound. */
  | "content-too-large"
  /** Not a CIDv1 (base32, sha2-256, raw or dag-pb) string. */
  | "invalid-cid"
  /** The DAG is well-hashed but not something the store handles: a symlink, a special file,
   * an unsafe entry name, inconsistent UnixFS sizes, or a directory where a file was wanted. */
  | "content-unsupported"
  /** `exportTo` was given a destination that already exists. */
  | "content-destination-exists";

export class ContentError extends ConunError {
  declare readonly code: ContentErrorCode;

  constructor(
    code: ContentErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
  }
}
