// Price guidance: from the recent jobs of similar resources and the bids that won them, a
// proposed max price per task-replica, the escrow it means, and how often similar jobs filled
// at or below it. Pure and free of Node built-ins (the requester tools feed it from the
// subgraph and the content store, the dApp can feed it from the subgraph and the gateway);
// the query that gathers the facts is `listPriceHistory` in ./price-history.ts.
//
// "Similar" (`isSimilarJob`), written down once here:
// - the same GPU count;
// - CPU (millicores) and memory (MiB) per task each within a factor of 2 of the new job's;
// - a per-task timeout within a factor of 2 of the new job's. The timeout is in the job's
//   manifest only (not on chain, not in the subgraph): a job whose manifest could not be read
//   has no known timeout and is left out, and counted as such;
// - decided: bidding closed (Awarded, Finalized or Unfilled) — open and cancelled jobs say
//   nothing about what fills;
// - recent: posted within `lookbackSeconds` (30 days) of now, the newest `maxSample` (50).
//
// A similar job that filled "cleared" at the highest price among its accepted bids: the award
// takes the cheapest bids, so at any max price below that it would not have filled with the
// same bids. Its chance of filling at a price P is then the share of the sample that cleared at
// or below P. An Unfilled job counts as not filling at any price: when its max price was below P
// we cannot know whether P would have filled it, and counting it as a failure keeps the
// estimate on the cautious side (the lines say how many there were). Prices are compared as
// they were bid, not scaled by CPU-seconds: within a factor of 2 that scaling would be wrong
// anyway for providers whose minimum per task applies.
import { formatConun } from "../chain/diagnose.ts";

/** What the new job asks for, per task, and how many task-replicas it has. */
export interface PriceRequest {
  cpuMillicores: number | bigint;
  memoryMiB: number | bigint;
  gpuCount: number;
  timeoutSeconds: number;
  taskCount: number;
  /** k. */
  replication: number;
}

/** One past job, as the subgraph and its manifest tell it. */
export interface PastJob {
  jobId: bigint;
  status: "Open" | "Cancelled" | "Unfilled" | "Awarded" | "Finalized";
  /** Unix seconds. */
  postedAt: bigint;
  cpuMillicores: bigint;
  memoryMiB: bigint;
  gpuCount: number;
  /** From the job's manifest; undefined when the manifest could not be read. */
  timeoutSeconds?: number;
  maxPrice: bigint;
  /** The accepted (winning) bids: price per task-replica and task-replicas won. */
  accepted: readonly { price: bigint; allotted: number }[];
}

export interface PriceGuidanceOptions {
  /** Unix seconds (default: the wall clock). */
  now?: bigint;
  /** Default 30 days. */
  lookbackSeconds?: number;
  /** Newest similar jobs considered; default 50. */
  maxSample?: number;
  /** Share of the sample the proposal should have filled; default 0.8. */
  target?: number;
}

export const PRICE_GUIDANCE_DEFAULTS = {
  lookbackSeconds: 30 * 24 * 3600,
  maxSample: 50,
  target: 0.8,
  /** Below this many similar jobs the proposal is flagged as a rough guide. */
  fewJobs: 5,
  /** The factor CPU, memory and timeout may differ by. */
  factor: 2,
} as const;

/** One job of the sample, with what it tells. */
export interface SampleJob {
  jobId: bigint;
  filled: boolean;
  /** Highest accepted price (filled jobs only). */
  clearingPrice?: bigint;
  /** Mean accepted price per task-replica, weighted by task-replicas won (filled jobs only). */
  meanPrice?: bigint;
  maxPrice: bigint;
}

export interface PriceProposal {
  kind: "proposal";
  /** Proposed max price per task-replica, token wei. */
  maxPrice: bigint;
  /** taskCount × k × maxPrice: what posting escrows. */
  escrow: bigint;
  /** Share of the sample that filled at or below `maxPrice` (0..1). */
  fillChance: number;
  /** Sample jobs that filled at or below `maxPrice`. */
  filledAtOrBelow: number;
  /** The sample size. */
  sampleSize: number;
  /** Sample jobs that ended Unfilled (counted as not filling). */
  unfilled: number;
  /** Median of the sample's mean winning prices: what a task-replica typically cost. */
  typicalPrice: bigint;
  /** taskCount × k × typicalPrice: the cost to expect, below the escrow. */
  typicalCost: bigint;
  /** Fewer than PRICE_GUIDANCE_DEFAULTS.fewJobs similar jobs. */
  fewJobs: boolean;
  /** The target share, and whether the proposal reaches it (false: the best seen is short). */
  target: number;
  reachesTarget: boolean;
  sample: SampleJob[];
  /** Decided jobs of similar CPU, memory and GPU left out because their timeout is unknown. */
  unknownTimeout: number;
  /** How far back the sample reaches, in days. */
  lookbackDays: number;
}

export interface NoPriceHistory {
  kind: "no-history";
  /** Why no proposal: one sentence. */
  reason: string;
  /** Sample jobs (all Unfilled when there were any). */
  sampleSize: number;
  unknownTimeout: number;
}

export type PriceGuidance = PriceProposal | NoPriceHistory;

const DECIDED: ReadonlySet<PastJob["status"]> = new Set(["Unfilled", "Awarded", "Finalized"]);

function within(value: bigint | number, reference: bigint | number, factor: number): boolean {
  const v = Number(value);
  const r = Number(reference);
  if (r <= 0) return v <= 0;
  return v >= r / factor && v <= r * factor;
}

/** Same GPUs; CPU, memory and the known timeout within PRICE_GUIDANCE_DEFAULTS.factor. */
export function isSimilarJob(
  request: Pick<PriceRequest, "cpuMillicores" | "memoryMiB" | "gpuCount" | "timeoutSeconds">,
  job: Pick<PastJob, "cpuMillicores" | "memoryMiB" | "gpuCount" | "timeoutSeconds">,
): boolean {
  const { factor } = PRICE_GUIDANCE_DEFAULTS;
  return (
    job.gpuCount === request.gpuCount &&
    within(job.cpuMillicores, request.cpuMillicores, factor) &&
    within(job.memoryMiB, request.memoryMiB, factor) &&
    job.timeoutSeconds !== undefined &&
    within(job.timeoutSeconds, request.timeoutSeconds, factor)
  );
}

/** The bounds `isSimilarJob` accepts for CPU and memory, for a server-side filter. */
export function similarResourceBounds(request: Pick<PriceRequest, "cpuMillicores" | "memoryMiB">): {
  cpu: [bigint, bigint];
  memory: [bigint, bigint];
} {
  const { factor } = PRICE_GUIDANCE_DEFAULTS;
  const bounds = (v: bigint | number): [bigint, bigint] => [
    BigInt(Math.ceil(Number(v) / factor)),
    BigInt(Math.floor(Number(v) * factor)),
  ];
  return { cpu: bounds(request.cpuMillicores), memory: bounds(request.memoryMiB) };
}

const ascending = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

function sampleJob(job: PastJob): SampleJob {
  const won = job.accepted.filter((b) => b.allotted > 0);
  if (job.status === "Unfilled" || won.length === 0) {
    return { jobId: job.jobId, filled: false, maxPrice: job.maxPrice };
  }
  const clearingPrice = won.map((b) => b.price).sort(ascending)[won.length - 1] as bigint;
  const replicas = won.reduce((sum, b) => sum + BigInt(b.allotted), 0n);
  const total = won.reduce((sum, b) => sum + b.price * BigInt(b.allotted), 0n);
  return {
    jobId: job.jobId,
    filled: true,
    clearingPrice,
    meanPrice: total / replicas,
    maxPrice: job.maxPrice,
  };
}

function median(values: bigint[]): bigint {
  const sorted = [...values].sort(ascending);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? 0n;
  if (sorted.length % 2 === 1) return upper;
  return ((sorted[mid - 1] ?? 0n) + upper) / 2n;
}

/**
 * The proposal for `request` from `history`: the lowest clearing price of the sample at which
 * at least `target` of it filled (or, when the sample never gets there, the highest clearing
 * price, with the share it reaches), or `no-history` when no similar recent job filled.
 */
export function proposePrice(
  request: PriceRequest,
  history: readonly PastJob[],
  options: PriceGuidanceOptions = {},
): PriceGuidance {
  const now = options.now ?? BigInt(Math.floor(Date.now() / 1000));
  const lookback = options.lookbackSeconds ?? PRICE_GUIDANCE_DEFAULTS.lookbackSeconds;
  const maxSample = options.maxSample ?? PRICE_GUIDANCE_DEFAULTS.maxSample;
  const target = options.target ?? PRICE_GUIDANCE_DEFAULTS.target;
  const since = now - BigInt(lookback);
  const decided = history.filter((j) => DECIDED.has(j.status) && j.postedAt >= since);
  const unknownTimeout = decided.filter(
    (j) =>
      j.timeoutSeconds === undefined &&
      isSimilarJob(request, { ...j, timeoutSeconds: request.timeoutSeconds }),
  ).length;
  const sample = decided
    .filter((j) => isSimilarJob(request, j))
    .sort((a, b) =>
      a.postedAt === b.postedAt ? Number(b.jobId - a.jobId) : Number(b.postedAt - a.postedAt),
    )
    .slice(0, maxSample)
    .map(sampleJob);
  const filled = sample.filter((j) => j.filled);
  const unfilled = sample.length - filled.length;
  const days = Math.round(lookback / 86400);
  if (filled.length === 0) {
    return {
      kind: "no-history",
      reason:
        sample.length === 0
          ? `no job of similar resources (same GPUs; CPU, memory and timeout within ×2) was decided in the last ${days} days${unknownTimeout > 0 ? ` with a manifest this store holds (${unknownTimeout} left out: timeout unknown)` : ""}`
          : `none of the ${sample.length} similar jobs of the last ${days} days filled (all ended Unfilled), so no winning bid shows what providers charge`,
      sampleSize: sample.length,
      unknownTimeout,
    };
  }
  const clearing = filled.map((j) => j.clearingPrice as bigint).sort(ascending);
  const needed = Math.ceil(target * sample.length);
  // The needed-th cheapest clearing price fills `needed` jobs; past the filled ones, the dearest.
  const index = Math.min(Math.max(needed, 1), clearing.length) - 1;
  const maxPrice = clearing[index] as bigint;
  const filledAtOrBelow = clearing.filter((c) => c <= maxPrice).length;
  const fillChance = filledAtOrBelow / sample.length;
  const replicas = BigInt(request.taskCount) * BigInt(request.replication);
  const typicalPrice = median(filled.map((j) => j.meanPrice as bigint));
  return {
    kind: "proposal",
    maxPrice,
    escrow: replicas * maxPrice,
    fillChance,
    filledAtOrBelow,
    sampleSize: sample.length,
    unfilled,
    typicalPrice,
    typicalCost: replicas * typicalPrice,
    fewJobs: sample.length < PRICE_GUIDANCE_DEFAULTS.fewJobs,
    target,
    reachesTarget: fillChance >= target,
    sample,
    unknownTimeout,
    lookbackDays: days,
  };
}

/**
 * The least max price at which `k` distinct providers' published floors would let them bid
 * (the k-th cheapest floor), or undefined with fewer than k floors: the fallback without
 * history.
 */
export function priceFromFloors(floors: readonly bigint[], k: number): bigint | undefined {
  const sorted = [...floors].sort(ascending);
  return sorted[k - 1];
}

const percent = (share: number) => `${Math.round(share * 100)} %`;

/** What `conun:post --price auto` shows: the proposal, the escrow and the evidence, one per line. */
export function describePriceGuidance(guidance: PriceGuidance, request: PriceRequest): string[] {
  const replicas = request.taskCount * request.replication;
  if (guidance.kind === "no-history") {
    return [`no price history: ${guidance.reason}`];
  }
  const g = guidance;
  const lines = [
    `proposed max price ${formatConun(g.maxPrice)} per task-replica`,
    `escrow ${formatConun(g.escrow)} (${request.taskCount} tasks × k=${request.replication} = ${replicas} task-replicas × the max price), held until the job ends; unused escrow is refunded`,
    `chance of filling: ${g.filledAtOrBelow} of the ${g.sampleSize} most recent similar jobs (${percent(g.fillChance)}) filled at or below this price${g.unfilled > 0 ? `; ${g.unfilled} of them ended Unfilled and count as not filling` : ""}${g.reachesTarget ? "" : ` — short of the ${percent(g.target)} aimed for: no higher price was seen to fill more`}`,
    `expected cost about ${formatConun(g.typicalCost)} (similar jobs paid a median ${formatConun(g.typicalPrice)} per task-replica)`,
  ];
  if (g.fewJobs) {
    lines.push(
      `only ${g.sampleSize} similar job${g.sampleSize === 1 ? "" : "s"}: a rough guide, not a market price`,
    );
  }
  if (g.unknownTimeout > 0) {
    lines.push(
      `${g.unknownTimeout} job(s) of similar CPU, memory and GPUs were left out: their manifests (and so their timeouts) are not in this content store`,
    );
  }
  lines.push(
    `similar: same GPUs; CPU, memory and timeout per task within ×2; bidding closed on jobs posted in the last ${g.lookbackDays} days`,
  );
  return lines;
}
