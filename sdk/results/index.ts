/**
 * Results: the canonical output hash of a task, the result Merkle tree a provider commits to
 * (compatible with contracts/libraries/ResultMerkle.sol), and the results bundle.
 */
export {
  type BundleTaskInput,
  type BundleVerification,
  type ResultsFile,
  readBundle,
  TASK_STATUSES,
  type TaskStatus,
  type TaskVerdict,
  type TaskVerification,
  unsuccessfulTaskHash,
  verifyBundle,
  type WriteBundleOptions,
  writeBundle,
} from "./bundle.ts";
export { ResultsError } from "./errors.ts";
export { findGroupBundle, groupBundleName, groupBundlePath } from "./layout.ts";
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
export {
  MAX_PATH_BYTES,
  type OutputFile,
  type OutputScan,
  outputHash,
  outputListing,
  type ScanLimits,
  scanOutput,
  sha256File,
} from "./output-hash.ts";
