// Runs every task of a provider's memberships in a job, in parallel up to the slot count, then
// builds one results bundle and result root per replica group. A re-run (after a crash before
// the results were journaled) starts from a clean folder: nothing of a half-finished run is
// trusted or reused — and the old folder is removed with removeOutput, which a task's
// 10,000-level tree cannot defeat (Node's recursive rm fails there with ENAMETOOLONG, which
// blocked the re-run for good).
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { cidOfDirectory } from "../../../sdk/content/index.ts";
import { describeError, isConunError } from "../../../sdk/errors.ts";
import { groupBundlePath, type TaskStatus, writeBundle } from "../../../sdk/results/index.ts";
import type { WorkerContext } from "../context.ts";
import { ensureImage, parseImageRef, removeOutput, runTask } from "../execution/index.ts";
import type { GroupRoot, MembershipRecord, TaskSummary } from "../journal/index.ts";
import type { JobManifest } from "./manifest.ts";

export interface JobResults {
  roots: GroupRoot[];
  /** The honest roots, before any hook (worker/src/hooks.ts) changed them. */
  honestRoots: GroupRoot[];
  resultsCid: string;
  tasks: TaskSummary[];
  /** The image the tasks ran in (absent when it was refused); `brought`: pulled or loaded. */
  image?: { id: string; brought: boolean };
  /** What the job had this worker fetch from the content store: inputs and image archive. */
  content: string[];
}

/** ExecutionError codes that mean the job's image itself is wrong. */
const JOB_IMAGE_FAULTS = new Set([
  "image-digest-mismatch",
  "image-archive-invalid",
  "image-not-pinned",
  "image-ref-invalid",
]);

export function jobDir(ctx: WorkerContext, jobId: string): string {
  return path.join(ctx.config.dataDir, "jobs", jobId);
}

/**
 * Where a job's results bundle is written: kept on the provider's disk, and added to the
 * content store only when the worker reveals (`publishResults` in lifecycle.ts), so nothing
 * derived from the outputs is readable before every co-member has committed.
 */
export function bundleDirOf(ctx: WorkerContext, jobId: string): string {
  return path.join(jobDir(ctx, jobId), "run", "bundle");
}

/**
 * Adds a job's results bundle to the content store, as the reveal is about to name it; the
 * bundle on disk must still give `resultsCid`, the CID journaled with its roots.
 */
export async function publishBundle(
  ctx: WorkerContext,
  jobId: string,
  resultsCid: string | undefined,
): Promise<void> {
  const cid = await ctx.store.addDirectory(bundleDirOf(ctx, jobId));
  if (cid !== resultsCid) {
    throw new Error(
      `the results bundle of job ${jobId} now has CID ${cid}, not the ${resultsCid} journaled with its roots; its folder was changed after the run`,
    );
  }
}

export async function executeJob(
  ctx: WorkerContext,
  jobId: string,
  manifest: JobManifest,
  memberships: readonly MembershipRecord[],
  /** `maxImageBytes`: the worker's `limits.maxImageMiB` (default: ensureImage's 8 GiB). */
  options: { maxImageBytes?: number } = {},
): Promise<JobResults> {
  const log = ctx.log.child("execution", { jobId });
  const dir = jobDir(ctx, jobId);
  const runDir = path.join(dir, "run");
  await removeOutput(runDir);
  await mkdir(runDir, { recursive: true });
  const signal = ctx.shutdown;

  let imageRefused: string | undefined;
  let image: JobResults["image"];
  try {
    const ensured = await ensureImage(manifest.image.ref, manifest.image.id, {
      docker: ctx.docker,
      contentStore: ctx.store,
      signal,
      logger: log,
      workDir: runDir,
      ...(options.maxImageBytes !== undefined ? { maxImageBytes: options.maxImageBytes } : {}),
    });
    image = { id: ensured.imageId, brought: ensured.origin !== "local" };
  } catch (error) {
    // An image that is not the one the job names (or not a valid image at all) is the job's
    // fault and the same for every honest replica: its tasks are reported as failed, which
    // replicas agree on, instead of committing nothing and being slashed for it. Anything
    // else (Docker down, a pull that timed out) is retried.
    if (!isConunError(error) || !JOB_IMAGE_FAULTS.has(error.code)) throw error;
    imageRefused = describeError(error);
    log.error("the job's image is refused; its tasks are reported as failed", {
      code: error.code,
      reason: imageRefused,
    });
  }

  let inputsDir: string | undefined;
  if (imageRefused === undefined && manifest.inputs !== undefined && manifest.inputs.length > 0) {
    inputsDir = path.join(runDir, "inputs");
    await mkdir(inputsDir, { recursive: true });
    for (const input of manifest.inputs) {
      await ctx.store.exportTo(input.cid, path.join(inputsDir, input.path), { signal });
    }
  }

  const taskCount = manifest.tasks.count;
  const indices = memberships.flatMap((m) =>
    Array.from({ length: m.taskCount }, (_, j) => m.taskStart + j),
  );
  // How each task ended. Besides the status (in the leaf), the exit code, stderr and reason go
  // into the bundle as the provider's unverified report (sdk/results/outcome.ts), so a
  // requester sees why a task failed; they never change the leaf.
  const outcomes = new Map<
    number,
    {
      status: TaskStatus;
      outputDir: string;
      exitCode: number | null;
      stderr: string;
      reason: string;
    }
  >();
  if (imageRefused !== undefined) {
    for (const index of indices) {
      outcomes.set(index, {
        status: "failed",
        outputDir: "",
        exitCode: null,
        stderr: "",
        reason: `the job's image was refused: ${imageRefused}`,
      });
      ctx.metrics.tasks.inc({ status: "failed" });
    }
  }
  await Promise.all(
    indices
      .filter((index) => !outcomes.has(index))
      .map((index) =>
        ctx.slots.use(async () => {
          signal.throwIfAborted();
          const outputDir = path.join(runDir, "tasks", String(index), "output");
          await mkdir(path.dirname(outputDir), { recursive: true });
          const result = await runTask({
            docker: ctx.docker,
            imageId: manifest.image.id,
            command: [...manifest.command, ...(manifest.tasks.args?.[index] ?? [])],
            env: {
              ...(manifest.env ?? {}),
              TASK_INDEX: String(index),
              TASK_COUNT: String(taskCount),
            },
            ...(inputsDir !== undefined ? { inputsDir } : {}),
            outputDir,
            limits: {
              cpuMillicores: manifest.resources.cpuMillicores,
              memoryMiB: manifest.resources.memoryMiB,
              pids: manifest.resources.pids,
              timeoutSeconds: manifest.resources.timeoutSeconds,
              maxOutputBytes: manifest.resources.maxOutputBytes,
            },
            labels: { jobId, taskIndex: index, workerId: ctx.address.toLowerCase() },
            outputQuota: ctx.outputBound.runTask,
            signal,
            logger: log,
          });
          signal.throwIfAborted();
          ctx.metrics.tasks.inc({ status: result.status });
          log.info("task finished", {
            task: index,
            status: result.status,
            exitCode: result.exitCode,
            durationMs: result.durationMs,
            // The reason may quote the job's argv (an exec error); the logger escapes it.
            ...(result.reason ? { reason: result.reason } : {}),
          });
          outcomes.set(index, {
            status: result.status,
            outputDir,
            exitCode: result.exitCode,
            stderr: result.logs.stderr,
            reason: result.reason,
          });
        }, signal),
      ),
  );

  // One CID is revealed for all memberships: the bundle itself for one group, a folder of
  // per-group bundles for several (sdk/results layout.ts, which the requester reads through).
  const bundleRoot = bundleDirOf(ctx, jobId);
  const roots: GroupRoot[] = [];
  const tasks: TaskSummary[] = [];
  for (const membership of memberships) {
    const results = await writeBundle({
      bundleDir: groupBundlePath(bundleRoot, membership.groupId, memberships.length),
      jobId,
      groupId: membership.groupId,
      provider: ctx.address,
      tasks: Array.from({ length: membership.taskCount }, (_, j) => {
        const index = membership.taskStart + j;
        const outcome = outcomes.get(index);
        if (outcome === undefined) return { index, status: "cancelled" as const };
        const { status, exitCode, stderr, reason } = outcome;
        return status === "succeeded"
          ? { index, status, outputDir: outcome.outputDir, exitCode, stderr, reason }
          : { index, status, exitCode, stderr, reason };
      }),
      limits: { maxBytes: manifest.resources.maxOutputBytes },
    });
    roots.push({ groupId: membership.groupId, root: results.root });
    for (const task of results.tasks) {
      tasks.push({ index: task.index, status: task.status, outputHash: task.outputHash });
    }
  }
  // The CID only: the bundle itself is published at the reveal.
  const resultsCid = await cidOfDirectory(bundleRoot);
  const committed = ctx.hooks?.committedRoots?.(jobId, roots) ?? roots;
  return {
    roots: committed,
    honestRoots: roots,
    resultsCid,
    tasks,
    ...(image === undefined ? {} : { image }),
    content: [
      ...archiveCid(manifest.image.ref),
      ...(manifest.inputs ?? []).map((input) => input.cid),
    ],
  };
}

/**
 * The CID of the job's image archive when its image is one (`ipfs://<cid>`, fetched into the
 * content store); nothing for a registry image, or for a reference the job's tasks were
 * refused over (not a CID), which fetched nothing.
 */
function archiveCid(ref: string): string[] {
  try {
    const source = parseImageRef(ref);
    return source.kind === "archive" ? [source.cid] : [];
  } catch {
    return [];
  }
}
