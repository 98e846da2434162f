/**
 * The one error base class of CONUN's TypeScript code. Every error a user can see carries a
 * machine-readable `code` (stable, kebab-case, e.g. `config-invalid`, `content-mismatch`) and
 * the `cause` it wraps, so logs and CLIs can show both a sentence and something to grep for.
 * Domains subclass it (ManifestError, ContentError, ExecutionError, ...) instead of throwing
 * bare `Error`s.
 */
export class ConunError extends Error {
  readonly code: string;
  /** Structured details for logs (never secrets). */
  readonly details: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** True when `error` is a ConunError, optionally with the given code. */
export function isConunError(error: unknown, code?: string): error is ConunError {
  return error instanceof ConunError && (code === undefined || error.code === code);
}

/** A one-line description of any thrown value, for logs and CLI output. */
export function describeError(error: unknown): string {
  if (error instanceof ConunError) return `${error.message} [${error.code}]`;
  if (error instanceof Error) return error.message;
  return String(error);
}
