// A provider's pricing policy, the one formula for what it asks per task-replica, and how it
// publishes the policy on chain. Pure, free of Node built-ins: the worker bids with it, and the
// requester tools, the auditor CLI and the dApp compare a job's max price with it.
//
// A task may use `cpuMillicores` for up to `timeoutSeconds`, so its CPU-seconds are
// cores × timeout; the price is that times the floor per CPU-second, plus the margin, and never
// less than the minimum per task.
import { parseUnits } from "ethers";

/** The worker's `pricing` settings: CONUN as decimal strings, the margin as a fraction. */
export interface PricingConfig {
  /** CONUN per CPU-second, decimal string. */
  floorPerCpuSecond: string;
  /** Fraction added on top (0.2 = +20 %). */
  margin: number;
  /** CONUN, decimal string. */
  minPerTask: string;
}

/** The same policy in token wei and basis points. */
export interface PricingPolicy {
  floorPerCpuSecondWei: bigint;
  /** Margin in basis points (2000 = +20 %). */
  marginBps: bigint;
  minPerTaskWei: bigint;
}

export interface TaskCost {
  cpuMillicores: number | bigint;
  timeoutSeconds: number;
}

export function pricingPolicy(config: PricingConfig): PricingPolicy {
  return {
    floorPerCpuSecondWei: parseUnits(config.floorPerCpuSecond, 18),
    marginBps: BigInt(Math.round(config.margin * 10_000)),
    minPerTaskWei: parseUnits(config.minPerTask, 18),
  };
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

const PRICING_MEDIA_TYPE = "data:application/json";

/**
 * A metadata URI publishing `pricing` (as in the worker's config):
 * `data:application/json,{"pricing":{"floorPerCpuSecond":"0.001","margin":0.2,
 * "minPerTask":"0.01"}}`, percent-encoded. A data URI keeps the floor on chain, so every
 * reader (requester tools, subgraph, dApp) sees the same value without fetching anything.
 * The worker registers with it and updates it when its pricing changes.
 */
export function pricingMetadataURI(pricing: PricingConfig): string {
  const { floorPerCpuSecond, margin, minPerTask } = pricing;
  return `${PRICING_MEDIA_TYPE},${encodeURIComponent(JSON.stringify({ pricing: { floorPerCpuSecond, margin, minPerTask } }))}`;
}

/** The pricing published in a metadata URI, or undefined when it publishes none (or garbage). */
export function publishedPricing(metadataURI: string | undefined): PricingPolicy | undefined {
  if (metadataURI === undefined || !metadataURI.startsWith(PRICING_MEDIA_TYPE)) return undefined;
  const comma = metadataURI.indexOf(",");
  if (comma < 0) return undefined;
  try {
    const header = metadataURI.slice(0, comma);
    const body = metadataURI.slice(comma + 1);
    const text = header.endsWith(";base64") ? atob(body) : decodeURIComponent(body);
    const pricing = (JSON.parse(text) as { pricing?: Record<string, unknown> }).pricing;
    if (pricing === undefined || typeof pricing !== "object" || pricing === null) return undefined;
    const { floorPerCpuSecond, margin, minPerTask } = pricing;
    if (typeof floorPerCpuSecond !== "string" || typeof minPerTask !== "string") return undefined;
    if (typeof margin !== "number" || !Number.isFinite(margin) || margin < 0) return undefined;
    return pricingPolicy({ floorPerCpuSecond, margin, minPerTask });
  } catch {
    return undefined;
  }
}
