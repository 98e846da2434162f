/**
 * How a task ended, as the provider reports it next to the task's claim in `results.json`:
 * the container's exit code, the tail of its stderr and the worker's one-sentence reason
 * ("wall-clock timeout of 60 s exceeded"). It tells a requester *why* a task failed or left
 * no output — a typo in a script, a missing input — without a re-run.
 *
 * **Informational and unverified.** None of it is in the Merkle leaf (`[taskIndex,
 * outputHash]`): honest replicas may differ in stderr (timings, addresses, ordering of
 * threads), and a leaf that depended on it would turn such noise into disputes. So nothing
 * here is agreed by the quorum or checked against the chain: it is what one provider says.
 * A malicious one may write anything there, so every reader bounds and escapes it again
 * (`taskOutcomeOf`) and shows it as the provider's report, never as a verified fact.
 *
 * Pure and free of Node built-ins: the CLI (through bundle.ts) and the dApp share it.
 */
import { escapeUntrusted, type TailBounds, tailOf } from "../text.ts";

/** What is kept of a task's stderr: its last 20 lines, at most 2 KiB of UTF-8. */
export const STDERR_TAIL_BOUNDS: TailBounds = { maxBytes: 2048, maxLines: 20 };
/** The longest reason kept, in characters (one line). */
export const MAX_REASON_LENGTH = 300;

/** The informational fields of a task in `results.json`; each may be absent (older bundles). */
export interface TaskOutcome {
  /** The container's exit code; `null` when the task never ran (image refused, bad argv). */
  exitCode?: number | null;
  /** The end of the task's stderr, escaped (no control characters; newlines kept). */
  stderrTail?: string;
  /** The worker's one-sentence account of how the task ended, escaped, one line. */
  reason?: string;
}

function boundReason(text: string): string {
  const line = escapeUntrusted(text);
  const chars = [...line];
  return chars.length <= MAX_REASON_LENGTH
    ? line
    : `${chars.slice(0, MAX_REASON_LENGTH - 1).join("")}…`;
}

function boundStderr(text: string): string {
  // Escaped before it is cut, so the bound holds for what is stored and shown.
  return tailOf(escapeUntrusted(text, { multiline: true }), STDERR_TAIL_BOUNDS);
}

const isExitCode = (value: unknown): value is number | null =>
  value === null || (Number.isSafeInteger(value) && Math.abs(value as number) <= 2 ** 32);

/**
 * What a writer stores for a task: the exit code as is, the stderr tail and the reason escaped
 * and bounded; empty values are left out.
 */
export function outcomeFields(input: {
  exitCode?: number | null;
  stderr?: string;
  reason?: string;
}): TaskOutcome {
  const out: TaskOutcome = {};
  if (input.exitCode !== undefined && isExitCode(input.exitCode)) out.exitCode = input.exitCode;
  const stderr = input.stderr === undefined ? "" : boundStderr(input.stderr);
  if (stderr !== "") out.stderrTail = stderr;
  const reason = input.reason === undefined ? "" : boundReason(input.reason);
  if (reason !== "") out.reason = reason;
  return out;
}

/**
 * What a reader keeps of a task's claimed outcome in a bundle it did not write: a field of the
 * wrong type is dropped (it must not make an otherwise verifiable bundle unusable), strings are
 * escaped and bounded again. An honest writer's fields come through unchanged.
 */
export function taskOutcomeOf(raw: {
  exitCode?: unknown;
  stderrTail?: unknown;
  reason?: unknown;
}): TaskOutcome {
  const out: TaskOutcome = {};
  if (isExitCode(raw.exitCode)) out.exitCode = raw.exitCode;
  if (typeof raw.stderrTail === "string" && raw.stderrTail !== "") {
    out.stderrTail = boundStderr(raw.stderrTail);
  }
  if (typeof raw.reason === "string" && raw.reason !== "") out.reason = boundReason(raw.reason);
  return out;
}

/**
 * Why a task deserves a look even though its claim may verify, or undefined: it did not
 * succeed, it exited non-zero, or it succeeded with an empty output (no files, or only empty
 * ones) — the signature of a script whose command failed without failing the script. `output`
 * is what the verified files hold; leave it out when the task has none.
 */
export function attentionReason(task: {
  status: string;
  outcome?: TaskOutcome;
  output?: { files: number; bytes: number };
}): string | undefined {
  const exitCode = task.outcome?.exitCode;
  if (task.status !== "succeeded") return `it ended ${task.status}`;
  if (typeof exitCode === "number" && exitCode !== 0) return `it exited with code ${exitCode}`;
  if (task.output === undefined || task.output.files === 0) return "its output is empty";
  if (task.output.bytes === 0) return "its output files are all empty";
  return undefined;
}

/**
 * The outcome as lines for a person: `exit code 127 · <reason> (reported by <who>, not
 * verified)`, then the stderr tail, each line prefixed with `| `. Everything in it is escaped.
 */
export function describeOutcome(outcome: TaskOutcome | undefined, reporter: string): string[] {
  const who = escapeUntrusted(reporter);
  const facts: string[] = [];
  if (outcome?.exitCode !== undefined) {
    facts.push(outcome.exitCode === null ? "it never ran" : `exit code ${outcome.exitCode}`);
  }
  // "exited with code 127" says nothing the exit code does not; "… (signal 9)" does.
  const reason = outcome?.reason;
  if (reason !== undefined && reason !== `exited with code ${outcome?.exitCode}`) {
    facts.push(escapeUntrusted(reason));
  }
  const stderr = outcome?.stderrTail;
  if (facts.length === 0 && stderr === undefined) {
    return [`${who} reported no exit code or stderr (a bundle from an older worker)`];
  }
  const lines = [
    `${facts.length > 0 ? facts.join(" · ") : "no exit code"} (reported by ${who}, not verified)`,
  ];
  if (stderr === undefined) {
    lines.push("stderr: (empty)");
  } else {
    lines.push("stderr, last lines:");
    for (const line of escapeUntrusted(stderr, { multiline: true }).split("\n")) {
      lines.push(`| ${line}`);
    }
  }
  return lines;
}
