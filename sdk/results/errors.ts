import { errorClass } from "../errors.ts";

declare module "../errors.ts" {
  interface ConunErrorDomains extends Record<"results", ResultsError> {}
}

/**
 * Errors of the results domain:
 * - `invalid-output`: a task's output holds a symlink, a device, a fifo, a socket, a name that
 *   is not UTF-8, or a path longer than MAX_PATH_BYTES;
 * - `output-too-large`: a scan bound was crossed;
 * - `output-changed`: a task's output changed while it was being hashed or copied;
 * - `bundle-invalid`: a results bundle whose `results.json` is missing or malformed;
 * - `bundle-group-missing`: a revealed directory holds no bundle for the group asked for;
 * - `results-empty`, `results-invalid`: no results, or results that cannot form a tree;
 * - `results-invalid-argument`: a caller's mistake, e.g. holding zero groups.
 */
// biome-ignore format: a domain's codes stay on one line
export class ResultsError extends errorClass("results", ["invalid-output", "output-too-large", "output-changed", "bundle-invalid", "bundle-group-missing", "results-empty", "results-invalid", "results-invalid-argument"]) {}

export type ResultsErrorCode = ResultsError["code"];
