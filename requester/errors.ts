// Errors the requester tools show to people. Each names the fix, not only the failure, and
// carries a stable `code` so scripts (the demo, the dApp) can react without parsing text.
import { ConunError, errorCodes } from "../sdk/errors.ts";

export const REQUESTER_ERROR_CODES = errorCodes("requester", [
  /** No CONUN deployment for this chain, or its contracts are not there. */
  "wrong-network",
  "unknown-job",
  "not-requester",
  "deadline-passed",
  "wrong-status",
  "insufficient-tokens",
  "insufficient-allowance",
  "nothing-to-withdraw",
  /** The manifest file, or a file it names (an input, `image.archive`), cannot be read or parsed.
   * Problems in the manifest's content are the manifest parser's `manifest-invalid`, a bad
   * image archive the content domain's `image-archive-invalid`. */
  "manifest-unreadable",
  "results-unverified",
  "not-local-chain",
  /** A bad command-line argument or option. */
  "invalid-argument",
  "transaction-reverted",
] as const);

export type RequesterErrorCode = (typeof REQUESTER_ERROR_CODES)[number];

export class RequesterError extends ConunError<RequesterErrorCode> {}

declare module "../sdk/errors.ts" {
  interface ConunErrorDomains {
    requester: RequesterError;
  }
}
