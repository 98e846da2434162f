// How a task ended, decided from what was observed: a pure function of facts, with no Docker
// and no file system, so every rule (which cause wins when several apply, what each reason
// says) is unit-tested on its own (test/worker/outcome-classifier.test.ts). runTask gathers
// the facts; this names the outcome.
import type { TaskStatus } from "../../../sdk/results/bundle.ts";

/** Why the worker killed a running task. */
export interface KillCause {
  status: TaskStatus;
  reason: string;
}

/** What the final look at /output (after the container is gone) found. */
export type OutputCheck =
  | { ok: true }
  | { ok: false; status: "output-too-large" | "invalid-output"; reason: string };

/** What was observed of one run, in the order the classifier weighs it. */
export interface RunFacts {
  /** The engine could not execute the task's argv in its image (`exec: …`), if so. */
  unstartable?: string;
  /** The worker killed the task (timeout, output flood, cancellation), if it did. */
  killed?: KillCause;
  /** The kernel killed the task for its memory limit. */
  oomKilled: boolean;
  /** The container's exit code; null when it never ran. */
  exitCode: number | null;
  /** The task's memory limit, for the out-of-memory reason. */
  memoryMiB: number;
  /**
   * The final output check; only needed when nothing above decides (see needsOutputCheck).
   * Missing when needed, the output counts as invalid: it was never checked.
   */
  output?: OutputCheck;
  /**
   * /output lived on a file system of the task's own size (output-quota.ts): the kernel
   * refused the write past it, so the final check sees the same output on every run and
   * every honest provider and decides before any kill, whose timing does not.
   */
  outputBounded?: boolean;
}

export interface Outcome {
  status: TaskStatus;
  /** One sentence for logs and reports. */
  reason: string;
}

/** A human reading of an exit code (153 is SIGXFSZ: the file-size limit). */
export function exitReason(exitCode: number): string {
  if (exitCode === 0) return "exited with code 0";
  if (exitCode === 153) return "exited with code 153 (file size limit exceeded)";
  if (exitCode > 128) return `exited with code ${exitCode} (signal ${exitCode - 128})`;
  return `exited with code ${exitCode}`;
}

/** Whether the outcome depends on the final output check (nothing earlier decides it). */
export function needsOutputCheck(facts: Omit<RunFacts, "output">): boolean {
  if (facts.unstartable !== undefined || facts.killed?.status === "cancelled") return false;
  if (facts.outputBounded) return true;
  return facts.killed === undefined && !facts.oomKilled;
}

/**
 * The task's outcome. An argv that cannot start is the job's failure; a kill by the worker
 * names its own cause (it happened first, and the exit code it leaves is only its echo); then
 * the kernel's OOM kill; then the output must pass its check before the exit code counts.
 * With a bounded output (`outputBounded`), a failed output check comes right after the
 * worker's own cancellation, before a timeout or an OOM kill: a flood that hit ENOSPC and
 * then spun until the timeout is `output-too-large`, as it would be had it exited.
 */
export function classifyOutcome(facts: RunFacts): Outcome {
  if (facts.unstartable !== undefined) {
    return {
      status: "failed",
      reason: `the command cannot be executed in this image: ${facts.unstartable}`,
    };
  }
  if (facts.outputBounded && facts.killed?.status !== "cancelled" && facts.output?.ok === false) {
    return { status: facts.output.status, reason: facts.output.reason };
  }
  if (facts.killed !== undefined) return { ...facts.killed };
  if (facts.oomKilled) {
    return {
      status: "out-of-memory",
      reason: `killed for exceeding its memory limit of ${facts.memoryMiB} MiB`,
    };
  }
  const output = facts.output ?? {
    ok: false,
    status: "invalid-output",
    reason: "output was not checked",
  };
  if (!output.ok) return { status: output.status, reason: output.reason };
  return {
    status: facts.exitCode === 0 ? "succeeded" : "failed",
    reason: exitReason(facts.exitCode ?? -1),
  };
}

/**
 * Whether the task's output is thrown away at once instead of when the job ends: too large
 * (useless, and big), or killed as unmeasurable (possibly a hidden flood).
 */
export function discardsOutput(outcome: Outcome, killed: KillCause | undefined): boolean {
  return outcome.status === "output-too-large" || killed?.status === "invalid-output";
}

/**
 * Whether a measurement of a running task's /output calls for a kill: past a bound, or not
 * measurable at all (what cannot be measured cannot be bounded, so the task is not trusted).
 */
export function outputViolation(
  usage: { entries: number; exceeded: boolean; unmeasurable?: string },
  bounds: { maxBytes: number; maxEntries: number },
): KillCause | undefined {
  if (usage.exceeded) {
    const what =
      usage.entries > bounds.maxEntries
        ? `more than ${bounds.maxEntries} files and directories`
        : `more than ${bounds.maxBytes} bytes`;
    return { status: "output-too-large", reason: `output grew to ${what} while running` };
  }
  if (usage.unmeasurable !== undefined) {
    return {
      status: "invalid-output",
      reason: `output cannot be measured while running (${usage.unmeasurable})`,
    };
  }
  return undefined;
}
