/**
 * The results bundle's index, `results.json`: its schema, its parser and its builder. Pure and
 * free of Node built-ins: writing and reading bundles on disk is fs.ts, fetching them through a
 * gateway is job.ts, and both parse and build with this module.
 */
import { z } from "zod";
import { ResultsError } from "./errors.ts";
import { proofFor, resultTree } from "./merkle.ts";
import { type TaskOutcome, taskOutcomeOf } from "./outcome.ts";
import { sha256Hex } from "./output-hash.ts";

/** How a task ended (the worker's execution outcome, recorded per task in a bundle). */
export type TaskStatus =
  | "succeeded"
  | "failed"
  | "timed-out"
  | "out-of-memory"
  | "output-too-large"
  | "invalid-output"
  | "cancelled";

export const TASK_STATUSES: readonly TaskStatus[] = [
  "succeeded",
  "failed",
  "timed-out",
  "out-of-memory",
  "output-too-large",
  "invalid-output",
  "cancelled",
];

/**
 * The output hash of a task that produced no usable output: SHA-256 of
 * `conun:unsuccessful:<status>`. Honest replicas of a deterministic job that fails the same
 * way still agree on the leaf, and the value can never collide with a real listing hash by
 * accident (a listing line always contains a NUL byte).
 */
export function unsuccessfulTaskHash(status: TaskStatus): string {
  return `0x${sha256Hex(`conun:unsuccessful:${status}`)}`;
}

const BYTES32 = /^0x[0-9a-f]{64}$/;

const resultsFileSchema = z.object({
  version: z.literal(1),
  jobId: z.string().regex(/^\d+$/),
  groupId: z.string().regex(/^\d+$/),
  provider: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  root: z.string().regex(BYTES32),
  tasks: z
    .array(
      z
        .object({
          index: z.number().int().nonnegative(),
          outputHash: z.string().regex(BYTES32),
          status: z.enum(TASK_STATUSES as [TaskStatus, ...TaskStatus[]]),
          proof: z.array(z.string().regex(BYTES32)).optional(),
          // Informational, outside the leaf (outcome.ts): kept only when well-formed, escaped
          // and bounded whatever the bundle says, never a reason to refuse the bundle.
          exitCode: z.unknown().optional(),
          stderrTail: z.unknown().optional(),
          reason: z.unknown().optional(),
        })
        .transform(({ exitCode, stderrTail, reason, ...claim }) => ({
          ...claim,
          ...taskOutcomeOf({ exitCode, stderrTail, reason }),
        })),
    )
    .min(1),
});

/**
 * `results.json`, the index of a results bundle. Version 1, extended compatibly: each task may
 * also carry `exitCode`, `stderrTail` and `reason` (outcome.ts), which older bundles lack and
 * older readers ignore; they are not part of the leaf and nobody verifies them.
 */
export type ResultsFile = z.infer<typeof resultsFileSchema>;

/** The longest `results.json` a reader accepts. */
export const MAX_RESULTS_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Parses and validates a bundle's `results.json` (its text, or its bytes as UTF-8): a
 * ResultsError `bundle-invalid` when it is not JSON or not of the schema. The informational
 * outcome fields are kept only when well-formed, escaped and bounded (outcome.ts).
 */
export function parseResultsFile(text: string | Uint8Array): ResultsFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof text === "string" ? text : new TextDecoder().decode(text));
  } catch (cause) {
    throw new ResultsError("bundle-invalid", "results.json is not JSON", { cause });
  }
  const result = resultsFileSchema.safeParse(parsed);
  if (!result.success) {
    throw new ResultsError("bundle-invalid", `results.json is malformed: ${result.error.message}`, {
      cause: result.error,
    });
  }
  return result.data;
}

/** One task's claim as a writer records it, before the tree is built. */
export interface ResultsEntry {
  index: number;
  outputHash: string;
  status: TaskStatus;
  outcome: TaskOutcome;
}

/**
 * The `results.json` of a group's tasks: the result tree over their claims, each claim with its
 * proof and its (informational) outcome.
 */
export function buildResultsFile(options: {
  jobId: bigint | number | string;
  groupId: bigint | number | string;
  provider: string;
  entries: readonly ResultsEntry[];
}): ResultsFile {
  const tree = resultTree(options.entries);
  return {
    version: 1,
    jobId: BigInt(options.jobId).toString(),
    groupId: BigInt(options.groupId).toString(),
    provider: options.provider,
    root: tree.root,
    tasks: options.entries.map(({ outcome, ...claim }) => ({
      ...claim,
      proof: proofFor(tree, claim.index),
      ...outcome,
    })),
  };
}

/** `results.json` as a writer stores it. */
export function serializeResultsFile(results: ResultsFile): string {
  return `${JSON.stringify(results, null, 2)}\n`;
}
