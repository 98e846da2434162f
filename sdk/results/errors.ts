import { ConunError } from "../errors.ts";

/**
 * Errors of the results domain. Codes: `invalid-output` (a task's output holds a symlink, a
 * device, a fifo, a socket or a name that is not UTF-8,
 * or a path longer than MAX_PATH_BYTES), `output-too-large` (a scan bound was
 * crossed), `bundle-invalid` (a results bundle whose `results.json` is missing or malformed),
 * `bundle-group-missing` (a revealed directory holds no bundle for the group asked for),
 * `invalid-argument` (a caller's mistake, e.g. holding zero groups).
 */
export class ResultsError extends ConunError {}
