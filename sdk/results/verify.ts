/**
 * Verifying a results bundle against the root that won on chain, task by task: pure, over a
 * reader of each task's files, so the CLI (fs.ts `verifyBundle`, files on disk) and the dApp
 * (job.ts `verifyJobResults`, files through a gateway) apply the same rules.
 */
import { type ResultsFile, type TaskStatus, unsuccessfulTaskHash } from "./bundle.ts";
import { proofFor, resultTree, verifyTaskProof } from "./merkle.ts";
import { type TaskOutcome, taskOutcomeOf } from "./outcome.ts";

/**
 * A task's verdict: `verified` (its files hash to the claimed hash and the claim is in the
 * expected root), `output-mismatch` (files differ from the claim), `invalid-output` (the
 * files include a symlink or special file), `missing-output` (a succeeded task without files,
 * or an unsuccessful one whose claim is not the status sentinel), `not-in-root` (the claim is
 * not under the expected root).
 */
export type TaskVerdict =
  | "verified"
  | "output-mismatch"
  | "invalid-output"
  | "missing-output"
  | "not-in-root";

export interface TaskVerification {
  index: number;
  status: TaskStatus;
  verdict: TaskVerdict;
  claimedHash: string;
  /** The hash recomputed from the bundle's files, when there are files. */
  actualHash?: string;
  /** How many regular files the task's output holds and their total size, when it has any. */
  output?: { files: number; bytes: number };
  /** The provider's report of how the task ended: informational, NOT verified (outcome.ts). */
  outcome: TaskOutcome;
  reason?: string;
}

export interface BundleVerification {
  /** Every task verified and the bundle's own root equals the expected one. */
  ok: boolean;
  expectedRoot: string;
  /** The root `results.json` states. */
  bundleRoot: string;
  /** The root recomputed from `results.json`'s claims. */
  computedRoot: string;
  tasks: TaskVerification[];
  results: ResultsFile;
}

/**
 * What a bundle holds for one task, as its reader found it: the recomputed hash of its files
 * with their count and total size, `{ invalid }` when the files cannot be hashed (a symlink, a
 * special file), or undefined when the bundle has no files for the task.
 */
export type TaskOutputRead =
  | { hash: string; files: number; bytes: number }
  | { invalid: string }
  | undefined;

/**
 * Checks a bundle's claims against `expectedRoot`, task by task, so a requester can use every
 * task that verifies even when another does not. `readTask(index)` is asked for a task's
 * files only once its claim is under the root; `only` limits the check to some tasks (the
 * dApp checks a group's own range).
 */
export async function verifyResults(
  results: ResultsFile,
  expectedRoot: string,
  readTask: (index: number) => Promise<TaskOutputRead>,
  only: (index: number) => boolean = () => true,
): Promise<BundleVerification> {
  const computedRoot = resultTree(results.tasks).root;
  const expected = expectedRoot.toLowerCase();
  const tasks: TaskVerification[] = [];
  for (const task of results.tasks) {
    if (!only(task.index)) continue;
    const { exitCode, stderrTail, reason } = task;
    const base = {
      index: task.index,
      status: task.status,
      claimedHash: task.outputHash,
      outcome: taskOutcomeOf({ exitCode, stderrTail, reason }),
    };
    const proof = task.proof ?? proofFor(results.tasks, task.index);
    if (!verifyTaskProof(expected, task.index, task.outputHash, proof)) {
      tasks.push({ ...base, verdict: "not-in-root", reason: "claim is not under the root" });
      continue;
    }
    const read = await readTask(task.index);
    if (read === undefined) {
      const sentinel = unsuccessfulTaskHash(task.status);
      tasks.push(
        task.status !== "succeeded" && task.outputHash === sentinel
          ? { ...base, verdict: "verified" }
          : { ...base, verdict: "missing-output", reason: "no files for this task" },
      );
    } else if ("invalid" in read) {
      tasks.push({ ...base, verdict: "invalid-output", reason: read.invalid });
    } else {
      const actualHash = read.hash;
      const output = { files: read.files, bytes: read.bytes };
      tasks.push(
        actualHash === task.outputHash
          ? { ...base, verdict: "verified", actualHash, output }
          : { ...base, verdict: "output-mismatch", actualHash, reason: "files differ from claim" },
      );
    }
  }
  const ok =
    results.root === expected &&
    computedRoot === expected &&
    tasks.every((task) => task.verdict === "verified");
  return { ok, expectedRoot: expected, bundleRoot: results.root, computedRoot, tasks, results };
}
