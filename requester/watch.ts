// conun:watch as a function: follows one job through its lifecycle from the market's events
// (polled with eth_getLogs, which every node serves, rather than filters a node may drop) and
// reports each step. Optionally it also moves the job on itself — closeBidding once the
// deadline has passed, finalize once it is finalizable — since anyone may, and a requester
// should not have to rely on providers to do it.
import { type Log, type Provider, type Signer, toBeHex, zeroPadValue } from "ethers";
import { sleep } from "../sdk/async.ts";
import { whyNoQuorum } from "../sdk/chain/diagnose.ts";
import { chainTime } from "../sdk/chain/index.ts";
import {
  GroupOutcome,
  isTerminalStatus,
  type JobStatusName,
  jobStatusName,
  phaseOf,
  SLASH_REASON_NAMES,
} from "../sdk/protocol/index.ts";
import { JobMarket__factory } from "../types/ethers-contracts/factories/JobMarket__factory.ts";
import type { JobMarket } from "../types/ethers-contracts/JobMarket.ts";
import { RequesterError } from "./errors.ts";
import { LOG_RANGE } from "./logs.ts";

export interface GroupProgress {
  groupId: number;
  taskStart: number;
  taskCount: number;
  members: string[];
  committed: Set<string>;
  revealed: Map<string, { resultRoot: string; resultsCid: string }>;
  outcome?: "Agreed" | "NoQuorum";
  winningRoot?: string;
  winnersMask?: number;
}

export interface JobProgress {
  jobId: bigint;
  status: JobStatusName;
  requester: string;
  taskCount: number;
  replication: number;
  quorum: number;
  biddingDeadline: bigint;
  commitDeadline?: bigint;
  revealDeadline?: bigint;
  postedAt: number;
  bids: Map<string, { price: bigint; capacity: number }>;
  accepted: Map<string, { allotted: number }>;
  groups: GroupProgress[];
  slashes: { groupId: number; provider: string; amount: bigint; reason: string }[];
  claims: Map<string, { payment: bigint; fee: bigint; stakeReleased: bigint }>;
  /** What the winning bids cost, and the unused escrow credited back, at the award. */
  awardCost?: bigint;
  awardRefund?: bigint;
  /** The final refund (cancelled, unfilled, or at finalization: unpaid tasks' prices). */
  refund?: bigint;
  slashed?: bigint;
  /** Block timestamps (seconds) at which each phase was reached. */
  times: Partial<
    Record<
      "posted" | "awarded" | "firstCommit" | "allCommitted" | "allRevealed" | "finalized",
      number
    >
  >;
}

/** One thing that happened to the job, as shown to the user. */
export interface WatchEvent {
  name: string;
  blockNumber: number;
  timestamp: number;
  text: string;
}

export interface WatchOptions {
  /** Called for each event, after `progress` has been updated. */
  onEvent?: (event: WatchEvent, progress: JobProgress) => void;
  /** Poll interval (default 500 ms). */
  pollMs?: number;
  /** Give up after this long (default: no limit besides `signal`). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** A signer that closes bidding and finalizes when due. */
  drive?: Signer;
  /** Keep watching after finalization until every paid provider has claimed (bounded). */
  untilClaimed?: boolean;
  /** First block to scan (default: 0, narrowed to the JobPosted block once found). */
  fromBlock?: number;
}

function short(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

/** The job's state from the chain (throws unknown-job for an id that was never posted). */
export async function readJobProgress(market: JobMarket, jobId: bigint): Promise<JobProgress> {
  const job = await market.getJob(jobId);
  const status = jobStatusName(job.status);
  if (status === "None") {
    const count = await market.jobCount();
    throw new RequesterError(
      "unknown-job",
      `job ${jobId} does not exist on this chain (${
        count === 0n ? "no jobs have been posted" : `job ids run from 1 to ${count}`
      }); check the id and --network`,
      { details: { jobId } },
    );
  }
  return {
    jobId,
    status,
    requester: job.requester,
    taskCount: Number(job.taskCount),
    replication: Number(job.replication),
    quorum: Number(job.quorum),
    biddingDeadline: job.biddingDeadline,
    postedAt: 0,
    bids: new Map(),
    accepted: new Map(),
    groups: [],
    slashes: [],
    claims: new Map(),
    times: {},
  };
}

/** Applies one market log to `progress`; returns the user-facing event, if any. */
export function applyLog(
  market: JobMarket,
  progress: JobProgress,
  log: Log,
  timestamp: number,
): WatchEvent | undefined {
  const parsed = market.interface.parseLog(log);
  if (parsed === null) return undefined;
  const a = parsed.args;
  const at = { name: parsed.name, blockNumber: log.blockNumber, timestamp };
  const group = (id: unknown) => progress.groups[Number(id)];
  const allMembers = () => progress.groups.length * progress.replication;
  const count = (pick: (g: GroupProgress) => number) =>
    progress.groups.reduce((sum, g) => sum + pick(g), 0);
  switch (parsed.name) {
    case "JobPosted":
      progress.postedAt = log.blockNumber;
      progress.times.posted = timestamp;
      return { ...at, text: `posted: ${a.spec.taskCount} tasks × k=${a.spec.replication}` };
    case "BidPlaced":
      progress.bids.set(a.provider, { price: a.price, capacity: Number(a.capacity) });
      return { ...at, text: `bid from ${short(a.provider)}: capacity ${a.capacity}` };
    case "BidWithdrawn":
      progress.bids.delete(a.provider);
      return { ...at, text: `bid withdrawn by ${short(a.provider)}` };
    case "BidEvicted":
      progress.bids.delete(a.provider);
      return {
        ...at,
        text: `bid from ${short(a.provider)} evicted by a cheaper one from ${short(a.by)} (the book was full)`,
      };
    case "JobCancelled":
      progress.status = "Cancelled";
      progress.refund = a.refund;
      return { ...at, text: "cancelled: escrow credited back to the requester" };
    case "JobUnfilled": {
      progress.status = "Unfilled";
      progress.refund = a.refund;
      const needed = progress.taskCount * progress.replication;
      const offered = [...progress.bids.values()].reduce((sum, b) => sum + b.capacity, 0);
      return {
        ...at,
        text: `unfilled: ${progress.bids.size} bid(s) offered ${offered} of the ${needed} task-replicas needed (${progress.taskCount} tasks × k=${progress.replication}); escrow credited back to the requester`,
      };
    }
    case "JobAwarded":
      progress.status = "Awarded";
      progress.commitDeadline = a.commitDeadline;
      progress.revealDeadline = a.revealDeadline;
      progress.awardCost = a.cost;
      progress.awardRefund = a.refund;
      progress.times.awarded = timestamp;
      return { ...at, text: `awarded: ${a.groupCount} replica group(s)` };
    case "BidAccepted":
      progress.accepted.set(a.provider, { allotted: Number(a.allotted) });
      return undefined;
    case "GroupFormed":
      progress.groups[Number(a.groupId)] = {
        groupId: Number(a.groupId),
        taskStart: Number(a.taskStart),
        taskCount: Number(a.taskCount),
        members: [...a.members],
        committed: new Set(),
        revealed: new Map(),
      };
      return {
        ...at,
        text: `group ${a.groupId}: tasks ${a.taskStart}..${
          Number(a.taskStart) + Number(a.taskCount) - 1
        } → ${[...a.members].map(short).join(", ")}`,
      };
    case "ResultCommitted": {
      group(a.groupId)?.committed.add(a.provider);
      progress.times.firstCommit ??= timestamp;
      const done = count((g) => g.committed.size);
      if (done === allMembers()) progress.times.allCommitted ??= timestamp;
      return {
        ...at,
        text: `commit ${done}/${allMembers()} (group ${a.groupId}, ${short(a.provider)})`,
      };
    }
    case "ResultRevealed": {
      group(a.groupId)?.revealed.set(a.provider, {
        resultRoot: a.resultRoot,
        resultsCid: a.resultsCid,
      });
      const done = count((g) => g.revealed.size);
      if (done === allMembers()) progress.times.allRevealed ??= timestamp;
      return {
        ...at,
        text: `reveal ${done}/${allMembers()} (group ${a.groupId}, ${short(a.provider)})`,
      };
    }
    case "ProviderSlashed":
      progress.slashes.push({
        groupId: Number(a.groupId),
        provider: a.provider,
        amount: a.amount,
        reason: SLASH_REASON_NAMES[Number(a.reason)] ?? String(a.reason),
      });
      return {
        ...at,
        text: `slashed ${short(a.provider)} in group ${a.groupId}: ${SLASH_REASON_NAMES[Number(a.reason)]}`,
      };
    case "GroupFinalized": {
      const g = group(a.groupId);
      const outcome = Number(a.outcome) === GroupOutcome.Agreed ? "Agreed" : "NoQuorum";
      if (g !== undefined) {
        g.outcome = outcome;
        g.winningRoot = a.winningRoot;
        g.winnersMask = Number(a.winnersMask);
      }
      return {
        ...at,
        text:
          outcome === "Agreed"
            ? `group ${a.groupId} agreed (${a.agreeing} of ${progress.replication})`
            : g === undefined
              ? `group ${a.groupId}: no quorum, its tasks are refunded`
              : `${whyNoQuorumOf(g, progress.quorum)}; its tasks are refunded`,
      };
    }
    case "JobFinalized":
      progress.status = "Finalized";
      progress.refund = a.refund;
      progress.slashed = a.slashed;
      progress.times.finalized = timestamp;
      return { ...at, text: "finalized" };
    case "Claimed":
      progress.claims.set(a.provider, {
        payment: a.payment,
        fee: a.fee,
        stakeReleased: a.stakeReleased,
      });
      return { ...at, text: `${short(a.provider)} claimed its payment` };
    default:
      return undefined;
  }
}

/** Why a group had no quorum, from what the watch saw of its commits and reveals. */
function whyNoQuorumOf(g: GroupProgress, quorum: number): string {
  return whyNoQuorum({
    groupId: g.groupId,
    taskStart: g.taskStart,
    taskCount: g.taskCount,
    quorum,
    members: g.members.map((provider) => {
      const reveal = g.revealed.get(provider);
      return {
        provider,
        committed: g.committed.has(provider) || reveal !== undefined,
        revealed: reveal !== undefined,
        resultRoot: reveal?.resultRoot ?? null,
        resultsCid: reveal?.resultsCid ?? null,
      };
    }),
  }).message;
}

/** Providers owed a payment: winners in at least one agreed group. */
export function paidProviders(progress: JobProgress): string[] {
  const paid = new Set<string>();
  for (const g of progress.groups) {
    if (g?.outcome !== "Agreed" || g.winnersMask === undefined) continue;
    g.members.forEach((member, lane) => {
      if (((g.winnersMask ?? 0) >> lane) & 1) paid.add(member);
    });
  }
  return [...paid];
}

/** Share of the way to the end, 0..1, for a progress bar. */
export function fractionDone(progress: JobProgress): number {
  if (isTerminalStatus(progress.status)) return 1;
  const members = progress.groups.length * progress.replication;
  if (progress.status === "Open" || members === 0) return 0.05;
  const commits = progress.groups.reduce((s, g) => s + g.committed.size, 0);
  const reveals = progress.groups.reduce((s, g) => s + g.revealed.size, 0);
  return 0.1 + 0.45 * (commits / members) + 0.4 * (reveals / members);
}

/**
 * Follows `jobId` until it reaches a terminal state (and, with `untilClaimed`, until every
 * paid provider has claimed or 60 s passed). Returns the final progress.
 */
export async function watchJob(
  provider: Provider,
  marketAddress: string,
  jobId: bigint,
  options: WatchOptions = {},
): Promise<JobProgress> {
  const market = JobMarket__factory.connect(marketAddress, provider);
  const progress = await readJobProgress(market, jobId);
  const pollMs = options.pollMs ?? 500;
  const started = Date.now();
  const jobTopic = zeroPadValue(toBeHex(jobId), 32);
  let fromBlock = options.fromBlock ?? 0;
  let claimWaitStarted: number | undefined;
  const timestamps = new Map<number, number>();
  const blockTime = async (blockNumber: number) => {
    const cached = timestamps.get(blockNumber);
    if (cached !== undefined) return cached;
    const block = await provider.getBlock(blockNumber);
    const time = block?.timestamp ?? 0;
    timestamps.set(blockNumber, time);
    return time;
  };
  for (;;) {
    options.signal?.throwIfAborted();
    const head = await provider.getBlockNumber();
    // In ranges: public RPC endpoints cap how many blocks one eth_getLogs may span.
    while (head >= fromBlock) {
      const toBlock = Math.min(head, fromBlock + LOG_RANGE - 1);
      const logs = await provider.getLogs({
        address: marketAddress,
        topics: [null, jobTopic],
        fromBlock,
        toBlock,
      });
      for (const log of logs) {
        const event = applyLog(market, progress, log, await blockTime(log.blockNumber));
        if (event !== undefined) options.onEvent?.(event, progress);
      }
      fromBlock = toBlock + 1;
    }
    if (isTerminalStatus(progress.status)) {
      if (!options.untilClaimed || progress.status !== "Finalized") return progress;
      claimWaitStarted ??= Date.now();
      const unclaimed = paidProviders(progress).filter((p) => !progress.claims.has(p));
      if (unclaimed.length === 0 || Date.now() - claimWaitStarted > 60_000) return progress;
    }
    if (options.drive !== undefined) await drive(options.drive, marketAddress, progress);
    if (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs) {
      throw new RequesterError(
        "wrong-status",
        `job ${jobId} is still ${progress.status} after ${Math.round(options.timeoutMs / 1000)} s`,
        { details: { jobId, status: progress.status } },
      );
    }
    await sleep(pollMs, options.signal);
  }
}

/** Closes bidding or finalizes when due; a race lost to a provider doing it first is fine. */
async function drive(signer: Signer, marketAddress: string, progress: JobProgress) {
  const market = JobMarket__factory.connect(marketAddress, signer);
  try {
    if (progress.status === "Open") {
      // A local node mines a block only per transaction, so its latest timestamp lags: the
      // next block is stamped with the wall clock, which is what closeBidding will see.
      const provider = signer.provider;
      const wallClock = BigInt(Math.floor(Date.now() / 1000));
      const latest = provider === null ? 0n : await chainTime(provider);
      if (phaseOf(progress, wallClock > latest ? wallClock : latest) === "BiddingClosed") {
        await (await market.closeBidding(progress.jobId)).wait(1, 60_000);
      }
    } else if (progress.status === "Awarded" && (await market.isFinalizable(progress.jobId))) {
      await (await market.finalize(progress.jobId)).wait(1, 60_000);
    }
  } catch {
    // Someone else moved the job on first; the next poll sees it.
  }
}

/** A watch event with the job's live state after it (read it in the loop: it keeps changing). */
export interface JobEvent extends WatchEvent {
  progress: JobProgress;
}

export interface WatchEventsOptions extends Omit<WatchOptions, "onEvent" | "drive" | "fromBlock"> {
  /** Only observe: do not close bidding or finalize when due (default false: the requester's
   * signer does it, as `conun:watch` does). */
  passive?: boolean;
}

/**
 * `watchJob` as an async iterator: yields each event of `jobId` as it happens and ends when the
 * job ends (its return value is the final progress). Leaving the loop early (`break`, a throw)
 * stops the watch; a failure of the watch (an RPC error, `timeoutMs`, `signal`) is thrown from
 * the loop.
 *
 *   for await (const event of watchJobEvents(ctx, jobId)) console.log(event.text);
 */
export async function* watchJobEvents(
  ctx: { provider: Provider; signer?: Signer; deployment: { market: string; startBlock: number } },
  jobId: bigint,
  options: WatchEventsOptions = {},
): AsyncGenerator<JobEvent, JobProgress | undefined, undefined> {
  const { passive, signal, ...rest } = options;
  const queue: JobEvent[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let final: JobProgress | undefined;
  const stop = new AbortController();
  const running = watchJob(ctx.provider, ctx.deployment.market, jobId, {
    ...rest,
    signal: signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]),
    fromBlock: ctx.deployment.startBlock,
    ...(passive || ctx.signer === undefined ? {} : { drive: ctx.signer }),
    onEvent: (event, progress) => {
      queue.push({ ...event, progress });
      wake?.();
    },
  })
    .then(
      (progress) => {
        final = progress;
      },
      (error: unknown) => {
        failure = { error };
      },
    )
    .finally(() => {
      ended = true;
      wake?.();
    });
  try {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (ended) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
    if (failure !== undefined) throw failure.error;
    return final;
  } finally {
    if (!ended) stop.abort(new Error("the watch was stopped by its caller"));
    await running;
  }
}
