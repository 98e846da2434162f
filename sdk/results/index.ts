/**
 * Results: the canonical output hash of a task, the result Merkle tree a provider commits to
 * (compatible with contracts/libraries/ResultMerkle.sol), and the results bundle. This index is
 * the Node surface (it includes fs.ts); browser code imports the pure modules themselves
 * (bundle.ts, job.ts, layout.ts, merkle.ts, outcome.ts, output-hash.ts, verify.ts).
 */
export {
  buildResultsFile,
  parseResultsFile,
  type ResultsEntry,
  type ResultsFile,
  serializeResultsFile,
  TASK_STATUSES,
  type TaskStatus,
  unsuccessfulTaskHash,
} from "./bundle.ts";
export { ResultsError } from "./errors.ts";
export {
  type BundleTaskInput,
  findGroupBundle,
  groupBundlePath,
  outputHash,
  outputListing,
  readBundle,
  scanOutput,
  sha256File,
  verifyBundle,
  type WriteBundleOptions,
  writeBundle,
} from "./fs.ts";
export {
  type BundleSource,
  type GroupCheck,
  type JobCheck,
  type JobTaskVerdict,
  type TaskCheck,
  type VerifiedFile,
  verifyJobResults,
} from "./job.ts";
export { groupBundleName, type LocatedBundle, locateGroupBundle } from "./layout.ts";
export {
  proofFor,
  RESULT_LEAF_ENCODING,
  type ResultEntry,
  resultRoot,
  resultTree,
  verifyTaskProof,
} from "./merkle.ts";
export {
  attentionReason,
  describeOutcome,
  MAX_REASON_LENGTH,
  outcomeFields,
  STDERR_TAIL_BOUNDS,
  type TaskOutcome,
  taskOutcomeOf,
} from "./outcome.ts";
// Every export of output-hash.ts is public: the hash rules and the scan types.
export * from "./output-hash.ts";
export {
  type BundleVerification,
  type TaskOutputRead,
  type TaskVerdict,
  type TaskVerification,
  verifyResults,
} from "./verify.ts";
