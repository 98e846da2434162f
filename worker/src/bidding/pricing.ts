// The pricing policy: what one task-replica costs this provider, from the job's worst case.
// A task may use `cpuMillicores` for up to `timeoutSeconds`, so its CPU-seconds are
// cores × timeout; the price is that times the floor per CPU-second, plus the margin, and never
// less than the minimum per task. The worker bids this price (the auction picks the cheapest
// bids, so asking for the job's max would only lose) and skips jobs whose max price is lower.
import { formatUnits, parseUnits } from "ethers";

export interface PricingConfig {
  /** CONUN per CPU-second, decimal string. */
  floorPerCpuSecond: string;
  /** Fraction added on top (0.2 = +20 %). */
  margin: number;
  /** CONUN, decimal string. */
  minPerTask: string;
}

export interface PricingPolicy {
  floorPerCpuSecondWei: bigint;
  /** Margin in basis points (2000 = +20 %). */
  marginBps: bigint;
  minPerTaskWei: bigint;
}

export function pricingPolicy(config: PricingConfig): PricingPolicy {
  return {
    floorPerCpuSecondWei: parseUnits(config.floorPerCpuSecond, 18),
    marginBps: BigInt(Math.round(config.margin * 10_000)),
    minPerTaskWei: parseUnits(config.minPerTask, 18),
  };
}

export interface TaskCost {
  cpuMillicores: number;
  timeoutSeconds: number;
}

/** Price per task-replica, in token wei (rounded up to the wei). */
export function quotePerTaskReplica(policy: PricingPolicy, task: TaskCost): bigint {
  const cost =
    policy.floorPerCpuSecondWei * BigInt(task.cpuMillicores) * BigInt(task.timeoutSeconds);
  const withMargin = cost * (10_000n + policy.marginBps);
  const denominator = 1000n * 10_000n;
  const price = (withMargin + denominator - 1n) / denominator;
  return price > policy.minPerTaskWei ? price : policy.minPerTaskWei;
}

export type PriceDecision = { bid: true; price: bigint } | { bid: false; reason: string };

/** The bid price for a job, or why the job pays too little. */
export function priceForJob(
  policy: PricingPolicy,
  task: TaskCost,
  maxPrice: bigint,
): PriceDecision {
  const price = quotePerTaskReplica(policy, task);
  if (price > maxPrice) {
    return {
      bid: false,
      reason: `the job pays at most ${formatUnits(maxPrice, 18)} CONUN per task-replica, the policy asks ${formatUnits(price, 18)} CONUN`,
    };
  }
  return { bid: true, price };
}
