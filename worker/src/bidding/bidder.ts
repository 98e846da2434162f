// Decides whether to bid on a job the discovery found, and journals the decision. Sending the
// bid is the job lifecycle's first step, so a bid decided before a crash is sent (once) after.
import { statfs } from "node:fs/promises";
import { chainTime, type PostedJob } from "../../../sdk/chain/index.ts";
import { describeError } from "../../../sdk/errors.ts";
import { phaseOf } from "../../../sdk/protocol/index.ts";
import { formatConun, type WorkerContext } from "../context.ts";
import { fetchVerifiedManifest } from "../jobs/manifest.ts";
import { isActive, type JobState, needsCleanUp } from "../journal/index.ts";
import { type DiskFacts, type DiskLimits, decideBid, isPinnedImage } from "./evaluate.ts";
import { anyPrice } from "./pricing.ts";

/** Task-replicas promised to jobs that have not committed yet. */
export function reservedReplicas(ctx: WorkerContext): number {
  let reserved = 0;
  for (const state of ctx.jobs.values()) {
    if (!isActive(state)) continue;
    if (state.phase === "bidding" || state.phase === "bid-placed") reserved += state.capacity ?? 0;
    else if (state.phase === "awarded" || state.phase === "results") {
      reserved += (state.memberships ?? []).reduce((sum, m) => sum + m.taskCount, 0);
    }
  }
  return reserved;
}

const MIB = 1024 * 1024;

/** The `limits` settings in bytes. */
export function diskLimits(ctx: WorkerContext): DiskLimits {
  const { limits } = ctx.config;
  return {
    maxOutputBytes: limits.maxOutputMiB * MIB,
    diskBudgetBytes: limits.diskBudgetMiB * MIB,
    minFreeDiskBytes: limits.minFreeDiskMiB * MIB,
  };
}

/** Phases whose tasks have not run: their reserved disk is still to be written. */
const UNWRITTEN: ReadonlySet<JobState["phase"]> = new Set(["bidding", "bid-placed", "awarded"]);

/**
 * The data directory's free space and what journaled jobs have reserved of it: every bid's
 * reservation holds until its job has ended and its data is cleaned up.
 */
export async function diskFacts(ctx: Pick<WorkerContext, "config" | "jobs">): Promise<DiskFacts> {
  const fs = await statfs(ctx.config.dataDir);
  let reservedBytes = 0;
  let unwrittenBytes = 0;
  for (const state of ctx.jobs.values()) {
    // A reservation holds until the job's data is removed (jobs/cleanup.ts).
    if (!isActive(state) && !needsCleanUp(state)) continue;
    reservedBytes += state.diskBytes ?? 0;
    if (UNWRITTEN.has(state.phase)) unwrittenBytes += state.diskBytes ?? 0;
  }
  return { freeBytes: fs.bavail * fs.bsize, reservedBytes, unwrittenBytes };
}

export type Consideration =
  | { outcome: "bid" }
  | { outcome: "skip"; reason: string; retryable: boolean };

/**
 * Manifests already verified, by job id: what bidding needs of them (timeout, output cap), so a
 * re-evaluation is cheap.
 */
const verified = new Map<string, { timeoutSeconds: number; maxOutputBytes: number }>();

/** Facts that never refuse, for the cheap first check before the manifest is fetched. */
const UNBOUNDED_DISK: DiskFacts = {
  freeBytes: Number.MAX_SAFE_INTEGER,
  reservedBytes: 0,
  unwrittenBytes: 0,
};

/** Evaluates a posted job; journals a bid intent when the worker takes it. */
export async function considerJob(ctx: WorkerContext, job: PostedJob): Promise<Consideration> {
  const key = job.jobId.toString();
  if (ctx.jobs.has(key)) return { outcome: "bid" };
  const log = ctx.log.child("bidding", { jobId: key });
  const onChain = await ctx.contracts.market.getJob(job.jobId);
  const now = await chainTime(ctx.provider);
  // Asked of the next second: a bid sent now is mined in a later block.
  if (phaseOf(onChain, now + 1n) !== "Bidding") {
    return { outcome: "skip", reason: "not open for bids", retryable: false };
  }
  const { spec } = job;
  // Cheap refusals first: no manifest download for a job this machine cannot run anyway.
  const quick = decideBid({
    job,
    timeoutSeconds: 1,
    maxOutputBytes: 1,
    limits: { maxOutputBytes: 1, diskBudgetBytes: Number.MAX_SAFE_INTEGER, minFreeDiskBytes: 0 },
    disk: UNBOUNDED_DISK,
    outputQuota: { ok: true },
    offer: ctx.offer,
    freeReplicas: Number.MAX_SAFE_INTEGER,
    freeStake: 2n ** 255n,
    now,
    pricing: anyPrice,
  });
  if (!quick.bid) return skip(ctx, log, quick.reason, false);
  if (!isPinnedImage(spec.imageRef)) return skip(ctx, log, "image not pinned", false);
  let resources = verified.get(key);
  if (resources === undefined) {
    try {
      const manifest = await fetchVerifiedManifest(ctx.store, job, AbortSignal.timeout(30_000));
      resources = {
        timeoutSeconds: manifest.resources.timeoutSeconds,
        maxOutputBytes: manifest.resources.maxOutputBytes,
      };
      verified.set(key, resources);
    } catch (error) {
      return skip(ctx, log, describeError(error), false);
    }
  }
  const decision = decideBid({
    job,
    ...resources,
    limits: diskLimits(ctx),
    disk: await diskFacts(ctx),
    outputQuota: ctx.outputBound.bid,
    offer: ctx.offer,
    freeReplicas: ctx.config.capacity.maxTaskReplicas - reservedReplicas(ctx),
    freeStake: await ctx.contracts.registry.freeStakeOf(ctx.address),
    now: await chainTime(ctx.provider),
    pricing: ctx.pricing,
  });
  if (!decision.bid) return skip(ctx, log, decision.reason, decision.retryable ?? false);
  if (ctx.jobs.has(key) || ctx.shutdown.aborted) return { outcome: "bid" };
  await ctx.record({
    type: "bid-intent",
    jobId: key,
    price: decision.price.toString(),
    capacity: decision.capacity,
    diskBytes: decision.diskBytes,
  });
  log.info("bidding", {
    price: formatConun(decision.price),
    capacity: decision.capacity,
    diskMiB: Math.ceil(decision.diskBytes / MIB),
  });
  verified.delete(key);
  return { outcome: "bid" };
}

function skip(
  ctx: WorkerContext,
  log: WorkerContext["log"],
  reason: string,
  retryable: boolean,
): Consideration {
  ctx.metrics.bids.inc({ outcome: "skipped" });
  log.info("not bidding", { reason, ...(retryable ? { retryLater: true } : {}) });
  return { outcome: "skip", reason, retryable };
}
