import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { lstat, mkdir, open, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import { ResultsError } from "./errors.ts";
import { proofFor, resultTree, verifyTaskProof } from "./merkle.ts";
import { outcomeFields, type TaskOutcome, taskOutcomeOf } from "./outcome.ts";
import { outputHash, scanOutput } from "./output-hash.ts";

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
  return `0x${createHash("sha256").update(`conun:unsuccessful:${status}`).digest("hex")}`;
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

export interface BundleTaskInput {
  index: number;
  status: TaskStatus;
  /**
   * The task's /output on the host. Copied into `tasks/<index>/` and hashed; omit it for a
   * task without usable output, whose leaf is then `unsuccessfulTaskHash(status)`.
   */
  outputDir?: string;
  /** The hash the caller already computed; checked against the copy when given. */
  outputHash?: string;
  /** How the task ended (informational, not in the leaf): stored escaped and bounded. */
  exitCode?: number | null;
  /** The task's stderr (or its end): its last lines are stored, escaped. */
  stderr?: string;
  /** The worker's one-sentence account of the outcome. */
  reason?: string;
}

export interface WriteBundleOptions {
  /** Where to write the bundle; must not exist yet. */
  bundleDir: string;
  jobId: bigint | number | string;
  groupId: bigint | number | string;
  provider: string;
  tasks: readonly BundleTaskInput[];
  /** Bounds applied while copying each task's output. */
  limits?: { maxBytes?: number; maxEntries?: number };
}

/**
 * Copies one file: the source opened with O_NOFOLLOW (scanOutput refused symlinks, and this
 * keeps a link swapped in since from being followed), the target created exclusively, 0644.
 */
async function copyNoFollow(source: string, target: string): Promise<void> {
  const input = await open(source, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const output = await open(target, "wx", 0o644);
    try {
      const buffer = Buffer.allocUnsafe(1 << 16);
      for (;;) {
        const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        let written = 0;
        while (written < bytesRead) {
          written += (await output.write(buffer, written, bytesRead - written)).bytesWritten;
        }
      }
      await output.chmod(0o644);
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/**
 * Copies a task's output without following links and without keeping any mode bit the task
 * chose: the bundle holds plain 0644 files, so nothing in it is executable or set-id on the
 * host, whatever the task wrote.
 */
async function copyOutput(
  source: string,
  destination: string,
  limits: WriteBundleOptions["limits"],
): Promise<void> {
  const { files } = await scanOutput(source, limits);
  await mkdir(destination, { recursive: true, mode: 0o755 });
  for (const file of files) {
    const target = join(destination, file.path);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await copyNoFollow(join(source, file.path), target);
  }
}

/**
 * Writes a results bundle: `tasks/<index>/…` with each task's output and `results.json`
 * `{ version: 1, jobId, groupId, provider, root, tasks: [{ index, outputHash, status, proof,
 * exitCode?, stderrTail?, reason? }] }` (the last three informational, outside the leaf).
 * Hashes are computed from the copies, so the bundle is consistent with itself even if the
 * source changes. Returns the parsed index (its `root` is what the provider commits to).
 */
export async function writeBundle(options: WriteBundleOptions): Promise<ResultsFile> {
  const { bundleDir } = options;
  await mkdir(dirname(bundleDir), { recursive: true });
  await mkdir(bundleDir, { recursive: false, mode: 0o755 });
  await mkdir(join(bundleDir, "tasks"), { mode: 0o755 });
  const sorted = [...options.tasks].sort((a, b) => a.index - b.index);
  const entries: { index: number; outputHash: string; status: TaskStatus; outcome: TaskOutcome }[] =
    [];
  for (const task of sorted) {
    let hash: string;
    if (task.outputDir === undefined) {
      hash = task.outputHash ?? unsuccessfulTaskHash(task.status);
    } else {
      const copy = join(bundleDir, "tasks", String(task.index));
      await copyOutput(task.outputDir, copy, options.limits);
      hash = await outputHash(copy);
      if (task.outputHash !== undefined && task.outputHash.toLowerCase() !== hash) {
        throw new ResultsError(
          "output-changed",
          `task ${task.index}'s output no longer matches its hash`,
          { details: { index: task.index, expected: task.outputHash, actual: hash } },
        );
      }
    }
    entries.push({
      index: task.index,
      outputHash: hash.toLowerCase(),
      status: task.status,
      outcome: outcomeFields(task),
    });
  }
  const tree = resultTree(entries);
  const results: ResultsFile = {
    version: 1,
    jobId: BigInt(options.jobId).toString(),
    groupId: BigInt(options.groupId).toString(),
    provider: options.provider,
    root: tree.root,
    tasks: entries.map(({ outcome, ...claim }) => ({
      ...claim,
      proof: proofFor(tree, claim.index),
      ...outcome,
    })),
  };
  await writeFile(join(bundleDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`, {
    flag: "wx",
    mode: 0o644,
  });
  return results;
}

/** Reads and validates a bundle's `results.json`. */
export async function readBundle(bundleDir: string): Promise<ResultsFile> {
  const path = join(bundleDir, "results.json");
  const stat = await lstat(path).catch((cause: unknown) => {
    throw new ResultsError("bundle-invalid", `no results.json in ${bundleDir}`, { cause });
  });
  if (!stat.isFile() || stat.size > 64 * 1024 * 1024) {
    throw new ResultsError("bundle-invalid", "results.json is not a regular file of sane size");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
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
 * Checks a bundle against the root that won on chain, task by task, so a requester can use
 * every task that verifies even when another does not.
 */
export async function verifyBundle(
  bundleDir: string,
  expectedRoot: string,
): Promise<BundleVerification> {
  const results = await readBundle(bundleDir);
  const computedRoot = resultTree(results.tasks).root;
  const expected = expectedRoot.toLowerCase();
  const tasks: TaskVerification[] = [];
  for (const task of results.tasks) {
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
    const dir = join(bundleDir, "tasks", String(task.index));
    const present = await lstat(dir).then(
      (stat) => stat,
      () => undefined,
    );
    if (present === undefined) {
      const sentinel = unsuccessfulTaskHash(task.status);
      tasks.push(
        task.status !== "succeeded" && task.outputHash === sentinel
          ? { ...base, verdict: "verified" }
          : { ...base, verdict: "missing-output", reason: "no files for this task" },
      );
      continue;
    }
    try {
      const actualHash = await outputHash(dir);
      const { files } = await scanOutput(dir);
      const output = { files: files.length, bytes: files.reduce((sum, f) => sum + f.size, 0) };
      tasks.push(
        actualHash === task.outputHash
          ? { ...base, verdict: "verified", actualHash, output }
          : { ...base, verdict: "output-mismatch", actualHash, reason: "files differ from claim" },
      );
    } catch (error) {
      tasks.push({
        ...base,
        verdict: "invalid-output",
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  }
  const ok =
    results.root === expected &&
    computedRoot === expected &&
    tasks.every((task) => task.verdict === "verified");
  return { ok, expectedRoot: expected, bundleRoot: results.root, computedRoot, tasks, results };
}
