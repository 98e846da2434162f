import { ConunError, errorCodes } from "../errors.ts";

/** Codes of the results domain. */
export const RESULTS_ERROR_CODES = errorCodes("results", [
  /** A task's output holds a symlink, a device, a fifo, a socket, a name that is not UTF-8, or a
   * path longer than MAX_PATH_BYTES. */
  "invalid-output",
  /** A scan bound was crossed. */
  "output-too-large",
  /** A task's output changed while it was being hashed or copied. */
  "output-changed",
  /** A results bundle whose `results.json` is missing or malformed. */
  "bundle-invalid",
  /** A revealed directory holds no bundle for the group asked for. */
  "bundle-group-missing",
  /** No results to build a root from. */
  "results-empty",
  /** Results that cannot form a tree (a bad leaf, a task index out of range). */
  "results-invalid",
  /** A caller's mistake, e.g. holding zero groups. */
  "results-invalid-argument",
] as const);

export type ResultsErrorCode = (typeof RESULTS_ERROR_CODES)[number];

export class ResultsError extends ConunError<ResultsErrorCode> {}

declare module "../errors.ts" {
  interface ConunErrorDomains {
    results: ResultsError;
  }
}
