// Whether, and how much of, a job this worker can take: resources, GPUs, a pinned image,
// output within the worker's own cap, enough stake, free capacity, disk (budget and free
// space), time to run it within the execution window, and a price the pricing strategy
// accepts. Pure: the daemon gathers the facts, this decides.
import { formatUnits } from "ethers";
import type { PostedJob } from "../../../sdk/chain/index.ts";
import { minBidCapacity, PROTOCOL_LIMITS } from "../../../sdk/protocol/index.ts";
import type { OutputBound } from "../execution/index.ts";
import type { PricingStrategy } from "./pricing.ts";

export interface Offer {
  cpuMillicores: number;
  memoryMiB: number;
  gpuCount: number;
  slots: number;
}

/** The worker's disk limits (config `limits`), in bytes. */
export interface DiskLimits {
  maxOutputBytes: number;
  diskBudgetBytes: number;
  minFreeDiskBytes: number;
}

/** What the worker's disk holds and can still take, in bytes (gathered by the caller). */
export interface DiskFacts {
  /** Available to the worker on the data directory's file system (statfs `bavail × bsize`). */
  freeBytes: number;
  /** Reserved by every active job (counted against the budget). */
  reservedBytes: number;
  /** The part of `reservedBytes` of jobs whose tasks have not run yet (still to be written). */
  unwrittenBytes: number;
}

/**
 * Whether a task's output can be bounded at all (the kernel-enforced quota of
 * worker/src/execution, resolved at start-up); a worker that cannot bound it refuses jobs and
 * says why.
 */
export type OutputQuotaFact = OutputBound["bid"];

/**
 * Bytes one task-replica may occupy on the provider's disk: its output, the copy of it in the
 * results bundle, and the bundle's blocks in the content store.
 */
export const COPIES_PER_OUTPUT = 3;

export interface BidFacts {
  job: PostedJob;
  /** From the verified manifest. */
  timeoutSeconds: number;
  /** From the verified manifest: `resources.maxOutputBytes`, per task. */
  maxOutputBytes: number;
  limits: DiskLimits;
  disk: DiskFacts;
  outputQuota: OutputQuotaFact;
  offer: Offer;
  /** Task-replicas not yet promised to other jobs. */
  freeReplicas: number;
  /** Unlocked stake in the registry, token wei. */
  freeStake: bigint;
  /** Chain time, seconds. */
  now: bigint;
  /** What to ask, or why the job pays too little. */
  pricing: PricingStrategy;
}

export type BidDecision =
  /** `diskBytes`: what the bid reserves of the disk budget while the job is active. */
  | { bid: true; price: bigint; capacity: number; diskBytes: number }
  /** `retryable`: the job may fit later (stake topped up, capacity freed). */
  | { bid: false; reason: string; retryable?: boolean };

/** Share of the execution window the worker plans to use; the rest absorbs slow starts. */
const WINDOW_SHARE = 0.8;

export function isPinnedImage(ref: string): boolean {
  return /^ipfs:\/\/\S+$/.test(ref) || /@sha256:[0-9a-f]{64}$/.test(ref);
}

export function decideBid(facts: BidFacts): BidDecision {
  const { spec } = facts.job;
  if (facts.now >= facts.job.biddingDeadline) return { bid: false, reason: "bidding has closed" };
  if (spec.gpuCount > facts.offer.gpuCount) {
    return {
      bid: false,
      reason: `needs ${spec.gpuCount} GPUs, this worker offers ${facts.offer.gpuCount}`,
    };
  }
  if (spec.cpuMillicores > facts.offer.cpuMillicores) {
    return {
      bid: false,
      reason: `needs ${spec.cpuMillicores} millicores per task, this worker offers ${facts.offer.cpuMillicores}`,
    };
  }
  if (spec.memoryMiB > facts.offer.memoryMiB) {
    return {
      bid: false,
      reason: `needs ${spec.memoryMiB} MiB per task, this worker offers ${facts.offer.memoryMiB}`,
    };
  }
  if (!isPinnedImage(spec.imageRef)) {
    return { bid: false, reason: `image ${spec.imageRef} is not pinned by digest or CID` };
  }
  if (!facts.outputQuota.ok) {
    return {
      bid: false,
      reason: `task output cannot be bounded on this machine: ${facts.outputQuota.reason}`,
    };
  }
  if (facts.maxOutputBytes > facts.limits.maxOutputBytes) {
    return {
      bid: false,
      reason: `a task may write ${mib(facts.maxOutputBytes)} of output, more than this worker's limit of ${mib(facts.limits.maxOutputBytes)} (limits.maxOutputMiB)`,
    };
  }
  const price = facts.pricing(
    { cpuMillicores: spec.cpuMillicores, timeoutSeconds: facts.timeoutSeconds },
    spec.maxPrice,
  );
  if (!price.bid) return price;
  // Tasks that run side by side: slots, and how many of the job's tasks fit the CPU/memory.
  const parallel = Math.max(
    1,
    Math.min(
      facts.offer.slots,
      Math.floor(facts.offer.cpuMillicores / Math.max(1, spec.cpuMillicores)),
      Math.floor(facts.offer.memoryMiB / Math.max(1, spec.memoryMiB)),
    ),
  );
  const rounds = Math.floor(
    (spec.executionWindow * WINDOW_SHARE) / Math.max(1, facts.timeoutSeconds),
  );
  const byTime = rounds * parallel;
  const byStake =
    spec.stakePerTaskReplica === 0n
      ? Number.MAX_SAFE_INTEGER
      : Number(facts.freeStake / spec.stakePerTaskReplica);
  const perReplica = facts.maxOutputBytes * COPIES_PER_OUTPUT;
  const { disk, limits } = facts;
  const budgetLeft = limits.diskBudgetBytes - disk.reservedBytes;
  const diskLeft = disk.freeBytes - disk.unwrittenBytes - limits.minFreeDiskBytes;
  const byBudget = Math.floor(Math.max(0, budgetLeft) / perReplica);
  const byFreeDisk = Math.floor(Math.max(0, diskLeft) / perReplica);
  const capacity = Math.min(
    spec.taskCount,
    facts.freeReplicas,
    byTime,
    byStake,
    byBudget,
    byFreeDisk,
  );
  const least = minBidCapacity(spec.taskCount, spec.replication);
  if (capacity >= 1 && capacity < least) {
    return {
      bid: false,
      reason: `the job takes bids of at least ${least} task-replicas (so that ${PROTOCOL_LIMITS.maxBidsPerJob} bids cover its ${spec.taskCount} × ${spec.replication}); this worker can offer ${capacity} now (${limitedBy({ freeReplicas: facts.freeReplicas, byTime, byStake, byBudget, byFreeDisk }, capacity)})`,
      retryable: byTime >= least,
    };
  }
  if (capacity < 1) {
    const why =
      byTime < 1
        ? `a task may take ${facts.timeoutSeconds} s, longer than the execution window allows`
        : byStake < 1
          ? `free stake ${formatUnits(facts.freeStake, 18)} CONUN does not cover ${formatUnits(spec.stakePerTaskReplica, 18)} CONUN per task-replica`
          : byBudget < 1
            ? `a task-replica may take ${mib(perReplica)} of disk (${COPIES_PER_OUTPUT} × its ${mib(facts.maxOutputBytes)} output), the disk budget has ${mib(Math.max(0, budgetLeft))} left of ${mib(limits.diskBudgetBytes)} (limits.diskBudgetMiB)`
            : byFreeDisk < 1
              ? `a task-replica may take ${mib(perReplica)} of disk (${COPIES_PER_OUTPUT} × its ${mib(facts.maxOutputBytes)} output), the data directory has ${mib(Math.max(0, disk.freeBytes - disk.unwrittenBytes))} free for new jobs and keeps ${mib(limits.minFreeDiskBytes)} (limits.minFreeDiskMiB)`
              : "no free capacity";
    return { bid: false, reason: why, retryable: byTime >= 1 };
  }
  return { bid: true, price: price.price, capacity, diskBytes: capacity * perReplica };
}

/** Which of the worker's limits holds its offer to `capacity`, as the setting to raise. */
function limitedBy(
  limits: {
    freeReplicas: number;
    byTime: number;
    byStake: number;
    byBudget: number;
    byFreeDisk: number;
  },
  capacity: number,
): string {
  if (limits.byTime === capacity) return "by the execution window and the task timeout";
  if (limits.byStake === capacity) return "by its free stake";
  if (limits.byBudget === capacity) return "by its disk budget, limits.diskBudgetMiB";
  if (limits.byFreeDisk === capacity) return "by the free disk, limits.minFreeDiskMiB";
  return "by capacity.maxTaskReplicas and its other jobs";
}

/** Bytes as people read them in a reason: MiB with up to one decimal. */
function mib(bytes: number): string {
  const value = bytes / 1024 / 1024;
  return `${Number.isInteger(value) ? value : value.toFixed(1)} MiB`;
}
