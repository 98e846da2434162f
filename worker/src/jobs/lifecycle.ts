// Moves one job forward by one step, each step guarded twice: the journal says what the worker
// decided, the chain says what has already happened. Before every transaction the worker
// re-reads the chain (already bid? already committed? already revealed? finalized? claimed?),
// so an intent journaled before a crash is completed exactly once.
import { type ContractTransaction, hexlify, randomBytes } from "ethers";
import {
  ChainError,
  chainTime,
  formatRevert,
  type PostedJob,
  readPostedJob,
} from "../../../sdk/chain/index.ts";
import type { Logger } from "../../../sdk/logger.ts";
import { commitmentFor, phaseOf, statusOf } from "../../../sdk/protocol/index.ts";
import { formatConun, type WorkerContext } from "../context.ts";
import type { JobPhase, JobState } from "../journal/index.ts";
import { executeJob, publishBundle } from "./execute.ts";
import { fetchVerifiedManifest } from "./manifest.ts";

const ZERO = `0x${"0".repeat(64)}`;

/** Sends one of the worker's transactions, journaling its hash before it is broadcast. */
export async function sendJobTx(
  ctx: WorkerContext,
  jobId: string,
  action: string,
  tx: ContractTransaction,
) {
  const receipt = await ctx.sender.send(action, tx, {
    context: { jobId },
    signal: undefined,
    beforeBroadcast: (hash) => ctx.record({ type: "tx-signed", jobId, action, hash }),
  });
  await ctx.hooks?.afterTx?.(action, jobId);
  return receipt;
}

/**
 * Before sending `action` again, waits for any transaction journaled for it that the node
 * still holds unmined — one broadcast before a crash, or by an attempt the sender gave up
 * on. Returns true when it waited: the caller re-reads the chain instead of sending a second
 * transaction for the same step.
 */
async function settleJournaledTx(
  ctx: WorkerContext,
  state: JobState,
  action: string,
): Promise<boolean> {
  for (const hash of state.txs[action] ?? []) {
    if ((await ctx.provider.getTransactionReceipt(hash)) !== null) continue;
    if ((await ctx.provider.getTransaction(hash)) === null) continue;
    ctx.log.info("waiting for a transaction sent earlier", { jobId: state.jobId, action, hash });
    const deadline = Date.now() + ctx.config.receiptTimeoutMs;
    while (Date.now() < deadline && !ctx.shutdown.aborted) {
      if ((await ctx.provider.getTransactionReceipt(hash)) !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return true;
  }
  return false;
}

/** A revert name from a ChainError, or undefined. */
function revertName(error: unknown): string | undefined {
  return error instanceof ChainError ? error.revert?.name : undefined;
}

/** What one step works with: the job's journaled state and the worker's parts. */
interface StepInput {
  ctx: WorkerContext;
  state: JobState;
  jobId: bigint;
  me: string;
  market: WorkerContext["contracts"]["market"];
  log: Logger;
}

/**
 * One phase's step: returns true when it did something (the caller may call again at once),
 * false when the job waits for time or other providers.
 */
type Step = (input: StepInput) => Promise<boolean>;

/** Sends the journaled bid, unless it is on chain already or bidding has closed. */
async function placeBid({ ctx, state, jobId, me, market, log }: StepInput): Promise<boolean> {
  const bid = await market.getBid(jobId, me);
  if (bid.capacity > 0n) {
    await ctx.record({ type: "bid-placed", jobId: state.jobId });
    return true;
  }
  const job = await market.getJob(jobId);
  const now = await chainTime(ctx.provider);
  if (phaseOf(job, now) !== "Bidding" || ctx.shutdown.aborted) {
    await ctx.record({
      type: "closed",
      jobId: state.jobId,
      reason: "bid not placed before bidding closed",
    });
    return true;
  }
  if (await settleJournaledTx(ctx, state, "placeBid")) return true;
  let receipt: Awaited<ReturnType<typeof sendJobTx>>;
  try {
    receipt = await sendJobTx(
      ctx,
      state.jobId,
      "placeBid",
      await market.placeBid.populateTransaction(
        jobId,
        BigInt(state.price ?? "0"),
        BigInt(state.capacity ?? 0),
      ),
    );
  } catch (error) {
    if (!(error instanceof ChainError) || error.revert?.name !== "JobMarketBookFull") throw error;
    // The book holds the most bids a job can, none dearer than this one: no place to take.
    ctx.metrics.bids.inc({ outcome: "skipped" });
    await ctx.record({ type: "closed", jobId: state.jobId, reason: "bid book full" });
    log.info("not bidding: the bid book is full and no bid in it asks more than this one", {
      price: formatConun(state.price ?? "0"),
      dearest: formatConun(String(error.revert.args[1])),
    });
    return true;
  }
  ctx.metrics.bids.inc({ outcome: "placed" });
  await ctx.record({ type: "bid-placed", jobId: state.jobId, tx: receipt.hash });
  log.info("bid placed", {
    price: formatConun(state.price ?? "0"),
    capacity: state.capacity,
  });
  return true;
}

/** Closes bidding once its deadline passed, then reads what the award gave this worker. */
async function awaitAward({ ctx, state, jobId, me, market, log }: StepInput): Promise<boolean> {
  const job = await market.getJob(jobId);
  const status = statusOf(job);
  if (status === "Open") {
    // A cheaper bid on a full book takes the worst bid's place (JobMarket's BidEvicted); the
    // stake is already free, so the capacity is too.
    if ((await market.getBid(jobId, me)).capacity === 0n) {
      ctx.metrics.bids.inc({ outcome: "evicted" });
      await ctx.record({ type: "closed", jobId: state.jobId, reason: "bid evicted" });
      log.info("bid evicted: a cheaper bid took its place in the full bid book");
      return true;
    }
    if (phaseOf(job, await chainTime(ctx.provider)) === "Bidding") return false;
    // Anyone may close bidding; the first bidder to notice does it.
    try {
      await sendJobTx(
        ctx,
        state.jobId,
        "closeBidding",
        await market.closeBidding.populateTransaction(jobId),
      );
      log.info("bidding closed");
    } catch (error) {
      if (revertName(error) !== "JobMarketWrongStatus") throw error;
    }
    return true;
  }
  if (status === "Cancelled" || status === "Unfilled") {
    await ctx.record({ type: "closed", jobId: state.jobId, reason: status });
    return true;
  }
  const assignments = await market.assignmentsOf(jobId, me);
  if (assignments.length === 0) {
    ctx.metrics.bids.inc({ outcome: "lost" });
    await ctx.record({ type: "closed", jobId: state.jobId, reason: "bid lost" });
    log.info("bid lost");
    return true;
  }
  ctx.metrics.bids.inc({ outcome: "won" });
  await ctx.record({
    type: "awarded",
    jobId: state.jobId,
    memberships: assignments.map((a) => ({
      groupId: Number(a.groupId),
      taskStart: Number(a.taskStart),
      taskCount: Number(a.taskCount),
    })),
    commitDeadline: job.commitDeadline.toString(),
    revealDeadline: job.revealDeadline.toString(),
  });
  log.info("awarded", { memberships: assignments.length });
  return true;
}

/** Runs the awarded tasks and journals the roots with a fresh salt. */
async function runTasks({ ctx, state, jobId, log }: StepInput): Promise<boolean> {
  const memberships = state.memberships ?? [];
  const now = await chainTime(ctx.provider);
  if (now > BigInt(state.commitDeadline ?? "0")) {
    log.error("commit deadline passed before the results were ready");
    await ctx.record({ type: "committed", jobId: state.jobId });
    return true;
  }
  const posted = await postedJob(ctx, jobId);
  const manifest = await fetchVerifiedManifest(ctx.store, posted, ctx.shutdown);
  const results = await executeJob(ctx, state.jobId, manifest, memberships, {
    maxImageBytes: ctx.config.limits.maxImageMiB * 1024 * 1024,
  });
  // The salt is journaled with the roots before anything derived from it leaves the machine.
  await ctx.record({
    type: "results",
    jobId: state.jobId,
    salt: hexlify(randomBytes(32)),
    roots: results.roots,
    resultsCid: results.resultsCid,
    tasks: results.tasks,
    ...(results.image === undefined ? {} : { image: results.image }),
    content: [posted.spec.manifestCid, ...results.content],
  });
  log.info("results ready", {
    roots: results.roots.map((r) => r.root),
    resultsCid: results.resultsCid,
  });
  return true;
}

/** Commits every membership's root, unless done already or too late. */
async function commitResults({ ctx, state, jobId, me, market, log }: StepInput): Promise<boolean> {
  const assignments = await market.assignmentsOf(jobId, me);
  if (assignments.length > 0 && assignments.every((a) => a.commitment !== ZERO)) {
    await ctx.record({ type: "committed", jobId: state.jobId });
    return true;
  }
  const now = await chainTime(ctx.provider);
  if (now > BigInt(state.commitDeadline ?? "0")) {
    log.error("commit deadline passed; nothing committed");
    await ctx.record({ type: "committed", jobId: state.jobId });
    return true;
  }
  const salt = state.salt as string;
  const rootOf = new Map((state.roots ?? []).map((r) => [r.groupId, r.root]));
  const commitments = assignments.map((a) =>
    commitmentFor(jobId, Number(a.groupId), me, rootOf.get(Number(a.groupId)) ?? ZERO, salt),
  );
  if (await settleJournaledTx(ctx, state, "commit")) return true;
  const receipt = await sendJobTx(
    ctx,
    state.jobId,
    "commit",
    await market.commit.populateTransaction(jobId, commitments),
  );
  await ctx.record({ type: "committed", jobId: state.jobId, tx: receipt.hash });
  log.info("committed", { groups: assignments.length });
  return true;
}

/** Reveals once every group is fully committed (or the commit deadline passed). */
async function revealResults({ ctx, state, jobId, me, market, log }: StepInput): Promise<boolean> {
  if (ctx.hooks?.holdsReveal?.(state.jobId)) return false;
  const assignments = await market.assignmentsOf(jobId, me);
  const pending = assignments.filter((a) => a.commitment !== ZERO && !a.revealed);
  const job = await market.getJob(jobId);
  const now = await chainTime(ctx.provider);
  const phase = phaseOf(job, now);
  if (pending.length === 0 || (phase !== "Committing" && phase !== "Revealing")) {
    if (pending.length > 0) log.error("reveal deadline passed with memberships unrevealed");
    await ctx.record({ type: "revealed", jobId: state.jobId });
    return true;
  }
  // In the commit phase the contract lets a fully committed group reveal (sdk/protocol
  // mayRevealAt), but `reveal` carries the roots of all of this provider's groups and one
  // results CID for all of them: revealing while any group still commits would hand that
  // group's laggards a root and a bundle to copy. So wait until every group is fully
  // committed, or the commit deadline has passed.
  if (phase === "Committing") {
    for (const a of pending) {
      const group = await market.getGroup(jobId, a.groupId);
      if (Number(group.commitCount) !== group.members.length) return false;
    }
  }
  if (await settleJournaledTx(ctx, state, "reveal")) return true;
  await publishBundle(ctx, state.jobId, state.resultsCid);
  const rootOf = new Map((state.roots ?? []).map((r) => [r.groupId, r.root]));
  const roots = assignments.map((a) => rootOf.get(Number(a.groupId)) ?? ZERO);
  try {
    await sendJobTx(
      ctx,
      state.jobId,
      "reveal",
      await market.reveal.populateTransaction(
        jobId,
        roots,
        state.salt as string,
        state.resultsCid ?? "",
      ),
    );
  } catch (error) {
    const name = revertName(error);
    if (name === "JobMarketRevealTooEarly" || name === "JobMarketNothingToReveal") return false;
    throw error;
  }
  log.info("revealed");
  const after = await market.assignmentsOf(jobId, me);
  if (after.every((a) => a.commitment === ZERO || a.revealed)) {
    await ctx.record({ type: "revealed", jobId: state.jobId });
  }
  return true;
}

/** Finalizes the job once the market allows it (or notes that another provider did). */
async function finalizeJob({ ctx, state, jobId, market, log }: StepInput): Promise<boolean> {
  const job = await market.getJob(jobId);
  if (statusOf(job) === "Finalized") {
    await ctx.record({ type: "finalized", jobId: state.jobId });
    return true;
  }
  if (!(await market.isFinalizable(jobId))) return false;
  try {
    const receipt = await sendJobTx(
      ctx,
      state.jobId,
      "finalize",
      await market.finalize.populateTransaction(jobId),
    );
    log.info("finalized");
    await ctx.record({ type: "finalized", jobId: state.jobId, tx: receipt.hash });
  } catch (error) {
    // Another provider finalized first.
    if (revertName(error) !== "JobMarketWrongStatus") throw error;
    await ctx.record({ type: "finalized", jobId: state.jobId });
  }
  return true;
}

/** Claims the payment (or reads back a claim made before a crash) and withdraws credits. */
async function claimPayment({ ctx, state, jobId, me, market, log }: StepInput): Promise<boolean> {
  const bid = await market.getBid(jobId, me);
  if (bid.claimed) {
    // Claimed before a crash could journal it: the Claimed log has the amounts.
    const logs = await market.queryFilter(market.filters.Claimed(jobId, me), ctx.startBlock);
    const claimed = logs[0]?.args;
    await ctx.record({
      type: "claimed",
      jobId: state.jobId,
      payment: (claimed?.payment ?? 0n).toString(),
      fee: (claimed?.fee ?? 0n).toString(),
      ...(logs[0] ? { tx: logs[0].transactionHash } : {}),
    });
    return true;
  }
  if (await settleJournaledTx(ctx, state, "claim")) return true;
  const [payment, fee] = await market.claimableFor(jobId, me);
  let tx: string | undefined;
  try {
    tx = (await sendJobTx(ctx, state.jobId, "claim", await market.claim.populateTransaction(jobId)))
      .hash;
  } catch (error) {
    if (revertName(error) !== "JobMarketAlreadyClaimed") throw error;
  }
  const net = payment - fee;
  ctx.metrics.earningsWei.inc(Number(net));
  await ctx.record({
    type: "claimed",
    jobId: state.jobId,
    payment: payment.toString(),
    fee: fee.toString(),
    ...(tx ? { tx } : {}),
  });
  log.info("claimed", { payment: formatConun(payment), fee: formatConun(fee) });
  // Refunds or other credits to this account, if any, are pulled too.
  if ((await market.claimableBalance(me)) > 0n) {
    await sendJobTx(ctx, state.jobId, "withdraw", await market.withdraw.populateTransaction());
  }
  return true;
}

/** A job that is claimed or closed has nothing left to do. */
const done: Step = async () => false;

/**
 * The phase → step table. Typed as a Record over every phase, so adding a phase fails to
 * compile until it has a step.
 */
const STEPS: Record<JobPhase, Step> = {
  bidding: placeBid,
  "bid-placed": awaitAward,
  awarded: runTasks,
  results: commitResults,
  committed: revealResults,
  revealed: finalizeJob,
  finalized: claimPayment,
  claimed: done,
  closed: done,
};

/**
 * Takes the next step for `state`; returns true when it did something (the caller may call
 * again at once), false when the job waits for time or other providers.
 */
export function advanceJob(ctx: WorkerContext, state: JobState): Promise<boolean> {
  return STEPS[state.phase]({
    ctx,
    state,
    jobId: BigInt(state.jobId),
    me: ctx.address,
    market: ctx.contracts.market,
    log: ctx.log.child("job", { jobId: state.jobId }),
  });
}

const postedCache = new Map<string, PostedJob>();

export async function postedJob(ctx: WorkerContext, jobId: bigint): Promise<PostedJob> {
  const key = jobId.toString();
  const cached = postedCache.get(key);
  if (cached) return cached;
  const posted = await readPostedJob(ctx.contracts.market, jobId, ctx.startBlock);
  if (posted === undefined) throw new ChainError("tx-failed", `no JobPosted log for job ${jobId}`);
  postedCache.set(key, posted);
  return posted;
}

export function describeChainError(error: unknown): string {
  if (error instanceof ChainError && error.revert) return formatRevert(error.revert);
  return error instanceof Error ? error.message : String(error);
}
