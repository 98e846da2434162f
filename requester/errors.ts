// Errors the requester tools show to people. Each names the fix, not only the failure, and
// carries a stable `code` so scripts (the demo, the dApp) can react without parsing text.
import { ConunError } from "../sdk/errors.ts";

export type RequesterErrorCode =
  | "wrong-network"
  | "unknown-job"
  | "not-requester"
  | "deadline-passed"
  | "wrong-status"
  | "insufficient-tokens"
  | "insufficient-allowance"
  | "nothing-to-withdraw"
  | "manifest-invalid"
  | "image-archive-invalid"
  | "results-unverified"
  | "not-local-chain"
  | "invalid-argument"
  | "transaction-reverted";

export class RequesterError extends ConunError {
  declare readonly code: RequesterErrorCode;

  constructor(
    code: RequesterErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
  }
}
