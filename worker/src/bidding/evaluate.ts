// Whether, and how much of, a job this worker can take: resources, GPUs, a pinned image,
// enough stake, free capacity, time to run it within the execution window, and a price the
// pricing strategy accepts. Pure: the daemon gathers the facts, this decides.
import { formatUnits } from "ethers";
import type { PostedJob } from "../../../sdk/chain/index.ts";
import type { PricingStrategy } from "./pricing.ts";

export interface Offer {
  cpuMillicores: number;
  memoryMiB: number;
  gpuCount: number;
  slots: number;
}

export interface BidFacts {
  job: PostedJob;
  /** From the verified manifest. */
  timeoutSeconds: number;
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
  | { bid: true; price: bigint; capacity: number }
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
  const capacity = Math.min(spec.taskCount, facts.freeReplicas, byTime, byStake);
  if (capacity < 1) {
    const why =
      byTime < 1
        ? `a task may take ${facts.timeoutSeconds} s, longer than the execution window allows`
        : byStake < 1
          ? `free stake ${formatUnits(facts.freeStake, 18)} CONUN does not cover ${formatUnits(spec.stakePerTaskReplica, 18)} CONUN per task-replica`
          : "no free capacity";
    return { bid: false, reason: why, retryable: byTime >= 1 };
  }
  return { bid: true, price: price.price, capacity };
}
