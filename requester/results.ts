// conun:results as a function: for each replica group whose root won on chain, fetch a
// winning member's results bundle by the CID it revealed, check every task's files against
// that root (sdk/results verifyBundle), and copy the verified outputs out. A bad bundle from one
// winner is set aside and the next winner's is tried; tasks of groups without quorum, or that
// no bundle can prove, are reported plainly instead of being written.
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describeError } from "../sdk/errors.ts";
import {
  attentionReason,
  describeOutcome,
  findGroupBundle,
  type TaskOutcome,
  type TaskVerification,
  verifyBundle,
} from "../sdk/results/index.ts";
import { escapeJsonText, escapeUntrusted } from "../sdk/text.ts";
import { hardhatCommand, type RequesterContext } from "./context.ts";
import { RequesterError } from "./errors.ts";
import { inRanges } from "./logs.ts";
import { readJobProgress } from "./watch.ts";

export type TaskState = "verified" | "failed" | "no-quorum" | "unverified";

export interface TaskResult {
  index: number;
  groupId: number;
  state: TaskState;
  /** The task's own status in the bundle (succeeded, failed, timed-out…), when known. */
  status?: string;
  /** Where its files were written (verified tasks with output only). */
  dir?: string;
  reason?: string;
  /** The provider whose bundle proved it. */
  provider?: string;
  /**
   * How the task ended by that provider's report — exit code, stderr tail, reason. Outside the
   * Merkle leaf, so NOT verified: escaped and bounded, shown as that provider's word.
   */
  outcome?: TaskOutcome;
  /** Files and bytes of the verified output, when it has files. */
  output?: { files: number; bytes: number };
  /** Why the task deserves a look (failed, exit ≠ 0, empty output), when it does. */
  attention?: string;
}

export interface ResultsReport {
  jobId: string;
  outDir: string;
  tasks: TaskResult[];
  /** Bundles looked at: which provider's, which CID, and whether it was usable. */
  bundles: { groupId: number; provider: string; cid: string; ok: boolean; reason?: string }[];
  /** Every task verified and succeeded. */
  complete: boolean;
}

/** Downloads and verifies a finalized job's results into `outDir/tasks/<index>/`. */
export async function fetchResults(
  ctx: RequesterContext,
  jobId: bigint,
  outDir: string,
): Promise<ResultsReport> {
  const job = await readJobProgress(ctx.market, jobId);
  if (job.status !== "Finalized") {
    throw new RequesterError(
      "wrong-status",
      `job ${jobId} is ${job.status}: results exist once it is Finalized` +
        (job.status === "Open" || job.status === "Awarded"
          ? ` (follow it with: ${hardhatCommand(ctx, `conun:watch --job ${jobId}`)})`
          : " — it ran no tasks, and its escrow was credited back (withdraw with conun:withdraw)"),
      { details: { jobId, status: job.status } },
    );
  }
  const out = path.resolve(outDir);
  const tasksDir = path.join(out, "tasks");
  if (existsSync(tasksDir) && (await readdir(tasksDir)).length > 0) {
    throw new RequesterError(
      "invalid-argument",
      `${tasksDir} already holds results: choose an empty --out directory`,
    );
  }
  await mkdir(tasksDir, { recursive: true });
  const scratch = await mkdtemp(path.join(out, ".download-"));
  const report: ResultsReport = {
    jobId: jobId.toString(),
    outDir: out,
    tasks: [],
    bundles: [],
    complete: false,
  };
  try {
    const raw = await ctx.market.getJob(jobId);
    const reveals = await inRanges(ctx.provider, ctx.deployment.startBlock, (from, to) =>
      ctx.market.queryFilter(ctx.market.filters.ResultRevealed(jobId), from, to),
    );
    for (let groupId = 0; groupId < Number(raw.groupCount); groupId++) {
      const group = await ctx.market.getGroup(jobId, groupId);
      const range = Array.from(
        { length: Number(group.taskCount) },
        (_, i) => Number(group.taskStart) + i,
      );
      if (Number(group.outcome) !== 1) {
        for (const index of range) {
          report.tasks.push({
            index,
            groupId,
            state: "no-quorum",
            reason: `fewer than q=${job.quorum} of the group's k=${job.replication} providers agreed on a result; these tasks' escrow was refunded`,
          });
        }
        continue;
      }
      const winningRoot = group.winningRoot.toLowerCase();
      const candidates = reveals.filter(
        (r) =>
          Number(r.args.groupId) === groupId && r.args.resultRoot.toLowerCase() === winningRoot,
      );
      const proven = new Map<
        number,
        { verdict: TaskVerification; dir: string; provider: string }
      >();
      const lastReason = new Map<number, string>();
      for (const candidate of candidates) {
        if (range.every((index) => proven.has(index))) break;
        const { provider, resultsCid } = candidate.args;
        const local = path.join(scratch, `${groupId}-${provider}`);
        try {
          await ctx.store.exportTo(resultsCid, local);
          // One CID per provider and job: the group's bundle or a folder of them.
          const bundleDir = await findGroupBundle(local, groupId);
          const verification = await verifyBundle(bundleDir, winningRoot);
          if (
            verification.results.jobId !== jobId.toString() ||
            Number(verification.results.groupId) !== groupId
          ) {
            throw new Error(
              `bundle is for job ${verification.results.jobId} group ${verification.results.groupId}`,
            );
          }
          for (const verdict of verification.tasks) {
            if (!range.includes(verdict.index) || proven.has(verdict.index)) continue;
            if (verdict.verdict === "verified") {
              proven.set(verdict.index, { verdict, dir: bundleDir, provider });
            } else {
              lastReason.set(
                verdict.index,
                `${verdict.verdict}${verdict.reason ? `: ${verdict.reason}` : ""} (bundle of ${provider})`,
              );
            }
          }
          report.bundles.push({ groupId, provider, cid: resultsCid, ok: verification.ok });
        } catch (error) {
          ctx.log.warn("results bundle unusable", {
            jobId,
            groupId,
            provider,
            error: describeError(error),
          });
          report.bundles.push({
            groupId,
            provider,
            cid: resultsCid,
            ok: false,
            reason: describeError(error),
          });
          for (const index of range)
            if (!proven.has(index))
              lastReason.set(index, `${describeError(error)} (bundle of ${provider})`);
        }
      }
      for (const index of range) {
        const found = proven.get(index);
        if (found === undefined) {
          report.tasks.push({
            index,
            groupId,
            state: "unverified",
            reason: lastReason.get(index) ?? "no winning provider revealed a bundle",
          });
          continue;
        }
        const source = path.join(found.dir, "tasks", String(index));
        const target = path.join(tasksDir, String(index));
        const hasFiles = existsSync(source);
        if (hasFiles)
          await cp(source, target, { recursive: true, errorOnExist: true, force: false });
        const succeeded = found.verdict.status === "succeeded";
        const { outcome, output } = found.verdict;
        const attention = attentionReason({
          status: found.verdict.status,
          outcome,
          ...(output !== undefined ? { output } : {}),
        });
        report.tasks.push({
          index,
          groupId,
          state: succeeded ? "verified" : "failed",
          status: found.verdict.status,
          provider: found.provider,
          outcome,
          ...(output !== undefined ? { output } : {}),
          ...(attention !== undefined ? { attention } : {}),
          ...(hasFiles ? { dir: target } : {}),
          ...(succeeded
            ? {}
            : { reason: `the task ended ${found.verdict.status} on every agreeing provider` }),
        });
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  report.tasks.sort((a, b) => a.index - b.index);
  report.complete =
    report.tasks.length === job.taskCount && report.tasks.every((t) => t.state === "verified");
  // Reasons quote bundles' names: the JSON reads the same, but is safe to cat (sdk/text.ts).
  await writeFile(
    path.join(out, "report.json"),
    `${escapeJsonText(JSON.stringify(report, null, 2))}\n`,
  );
  return report;
}

/**
 * What `conun:results` prints: a summary line, then every task that is not a clean success —
 * not verified, failed, exited non-zero or left an empty output — with its reason and, where a
 * bundle proved it, the exit code and stderr tail the provider reported (not verified). Every
 * piece of text that came from a bundle, a provider or a content DAG is escaped here, so none
 * of it reaches the terminal raw.
 */
export function formatResultsReport(report: ResultsReport): string[] {
  const counts = new Map<string, number>();
  for (const task of report.tasks) counts.set(task.state, (counts.get(task.state) ?? 0) + 1);
  const lines = [
    `job ${report.jobId}: ${[...counts].map(([state, n]) => `${n} ${state}`).join(", ")} → ${escapeUntrusted(report.outDir)}`,
  ];
  for (const task of report.tasks) {
    if (task.state === "verified" && task.attention === undefined) continue;
    const why =
      task.state === "verified"
        ? `verified, but ${task.attention}`
        : `${task.state} — ${task.reason ?? task.attention ?? "no reason given"}`;
    lines.push(`  task ${task.index}: ${escapeUntrusted(why)}`);
    if (task.outcome !== undefined && task.provider !== undefined) {
      for (const line of describeOutcome(task.outcome, task.provider)) lines.push(`    ${line}`);
    }
  }
  return lines;
}
