// Decides whether to bid on a job the discovery found, and journals the decision. Sending the
// bid is the job lifecycle's first step, so a bid decided before a crash is sent (once) after.
import { chainTime, type PostedJob } from "../../../sdk/chain/index.ts";
import { describeError } from "../../../sdk/errors.ts";
import { phaseOf } from "../../../sdk/protocol/index.ts";
import { formatConun, type WorkerContext } from "../context.ts";
import { fetchVerifiedManifest } from "../jobs/manifest.ts";
import { isActive } from "../journal/index.ts";
import { decideBid, isPinnedImage } from "./evaluate.ts";
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

export type Consideration =
  | { outcome: "bid" }
  | { outcome: "skip"; reason: string; retryable: boolean };

/** Manifests already verified, by job id: the job's timeout, so a re-evaluation is cheap. */
const verified = new Map<string, number>();

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
    offer: ctx.offer,
    freeReplicas: Number.MAX_SAFE_INTEGER,
    freeStake: 2n ** 255n,
    now,
    pricing: anyPrice,
  });
  if (!quick.bid) return skip(ctx, log, quick.reason, false);
  if (!isPinnedImage(spec.imageRef)) return skip(ctx, log, "image not pinned", false);
  let timeoutSeconds = verified.get(key);
  if (timeoutSeconds === undefined) {
    try {
      const manifest = await fetchVerifiedManifest(ctx.store, job, AbortSignal.timeout(30_000));
      timeoutSeconds = manifest.resources.timeoutSeconds;
      verified.set(key, timeoutSeconds);
    } catch (error) {
      return skip(ctx, log, describeError(error), false);
    }
  }
  const decision = decideBid({
    job,
    timeoutSeconds,
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
  });
  log.info("bidding", { price: formatConun(decision.price), capacity: decision.capacity });
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
