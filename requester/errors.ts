// Errors the requester tools show to people. Each names the fix, not only the failure, and
// carries a stable `code` so scripts (the demo, the dApp) can react without parsing text.
import { errorClass } from "../sdk/errors.ts";

declare module "../sdk/errors.ts" {
  interface ConunErrorDomains extends Record<"requester", RequesterError> {}
}

/**
 * Codes (docs/requester.md lists them with the fix): `wrong-network` (no CONUN deployment for
 * this chain, or its contracts are not there), `unknown-job`, `not-requester`, `deadline-passed`,
 * `wrong-status`, `insufficient-tokens`, `insufficient-allowance`, `nothing-to-withdraw`,
 * `manifest-unreadable` (the manifest file, or a file it names — an input, `image.archive` —
 * cannot be read or parsed; problems in its content are the parser's `manifest-invalid`, a bad
 * image archive the content domain's `image-archive-invalid`), `results-unverified`,
 * `not-local-chain`, `invalid-argument` (a bad command-line argument or option),
 * `transaction-reverted`, `no-price-history` (`--price auto` found no similar job that filled:
 * the message says what to pass instead).
 */
// biome-ignore format: a domain's codes stay on one line
export class RequesterError extends errorClass("requester", ["wrong-network", "unknown-job", "not-requester", "deadline-passed", "wrong-status", "insufficient-tokens", "insufficient-allowance", "nothing-to-withdraw", "manifest-unreadable", "results-unverified", "not-local-chain", "invalid-argument", "transaction-reverted", "no-price-history"]) {}

export type RequesterErrorCode = RequesterError["code"];
