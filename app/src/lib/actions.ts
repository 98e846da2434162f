/**
 * Which of a job's actions can succeed now — cancel, close bidding, finalize, claim, withdraw —
 * decided from chain time and chain state with exactly the conditions `JobMarket` checks (the
 * protocol's `phaseOf` and `isFinalizableAt`, sdk/protocol/phase.ts), so the dApp offers only
 * buttons whose transactions will not revert.
 *
 * Time is the chain's, never the browser's clock. A transaction sent now is mined in a later
 * block: on Ethereum its timestamp is at least the latest block's plus one second, while a
 * Hardhat node that allows blocks with the same timestamp (the demo's chain) may mine it in
 * the same second. An action is therefore offered only when its conditions hold at both
 * instants, `chainTime` and `chainTime + 1` (see {@link ActionPlan.times}): an "after the
 * deadline" action (close bidding, finalize by timeout) is then certain to pass its check; an
 * "up to the deadline" one (cancel) can still lose the race if the next block comes a second
 * or more later, and its revert is then shown decoded (`explainError`).
 *
 * `availableActions` is pure (no I/O, no DOM), so Node code and tests import it too; the
 * facts it needs are read in one go, all at the same block, by `readActionFacts`.
 */
import type { Provider } from "ethers";
import { assertNever, isFinalizableAt, phaseOf, statusOf } from "../../../sdk/protocol/index.ts";
import type { JobMarket } from "../../../types/ethers-contracts/JobMarket.ts";

export type JobActionKind = "cancel" | "closeBidding" | "finalize" | "claim" | "withdraw";

export interface ActionFacts {
  /** Timestamp of the latest block (unix seconds). */
  chainTime: bigint;
  /** Number of the block the facts were read at. */
  blockNumber: number;
  job: {
    /** `IJobMarket.JobStatus` (0 = no such job). */
    status: number;
    requester: string;
    replication: number;
    /** Escrow still held for the job, in token wei. */
    escrow: bigint;
    biddingDeadline: bigint;
    commitDeadline: bigint;
    revealDeadline: bigint;
    /**
     * Commit and reveal counts of every replica group, in group order. Needed only while the
     * job is Awarded and its reveal deadline has not passed; `readActionFacts` reads them then.
     */
    groups: { commitCount: number; revealCount: number }[];
  };
  /** The connected account's side, or undefined when nobody is connected. */
  account?: {
    address: string;
    /** Task-replicas the account won on this job (`getBid(...).allotted`). */
    allotted: bigint;
    /** Whether it has claimed for this job already. */
    claimed: boolean;
    /** What `claim(jobId)` would give it now (`claimableFor`), in token wei. */
    claim: { payment: bigint; fee: bigint; stakeReleased: bigint };
    /** Its withdrawable balance at the market (`claimableBalance`), in token wei. */
    withdrawable: bigint;
  };
}

export type JobAction =
  | { kind: "cancel"; refund: bigint }
  | { kind: "closeBidding" }
  | { kind: "finalize" }
  | { kind: "claim"; payment: bigint; fee: bigint; stakeReleased: bigint }
  | { kind: "withdraw"; amount: bigint };

export interface ActionPlan {
  /**
   * The block timestamps a transaction sent now is assumed to be mined at: the latest
   * block's (chains that allow same-second blocks) and one second later. Every action offered
   * passes the contract's checks at both.
   */
  times: readonly [bigint, bigint];
  /** What the account (anyone, for close bidding and finalize) can do now. */
  actions: JobAction[];
  /**
   * The next action that chain time alone will make possible, and the chain time (latest
   * block timestamp) from which it will be offered.
   */
  upcoming?: { kind: "closeBidding" | "finalize"; from: bigint };
  /** While cancelling is offered: the last chain time at which it still is. */
  cancelUntil?: bigint;
}

/** The actions that can succeed now, by the contract's own conditions. */
export function availableActions(facts: ActionFacts): ActionPlan {
  const { job, account } = facts;
  const times = [facts.chainTime, facts.chainTime + 1n] as const;
  const always = (holds: (at: bigint) => boolean) => times.every(holds);
  const actions: JobAction[] = [];
  const plan: ActionPlan = { times, actions };
  const status = statusOf(job);
  switch (status) {
    case "Open":
      // cancelJob: requester only, while bidding (`block.timestamp <= biddingDeadline`).
      if (always((at) => phaseOf(job, at) === "Bidding")) {
        plan.cancelUntil = job.biddingDeadline - 1n;
        if (account !== undefined && sameAddress(account.address, job.requester)) {
          actions.push({ kind: "cancel", refund: job.escrow });
        }
      }
      // closeBidding: anyone, once bidding closed (`block.timestamp > biddingDeadline`).
      if (always((at) => phaseOf(job, at) === "BiddingClosed"))
        actions.push({ kind: "closeBidding" });
      else plan.upcoming = { kind: "closeBidding", from: job.biddingDeadline + 1n };
      break;
    case "Awarded":
      if (always((at) => isFinalizableAt(job, at))) actions.push({ kind: "finalize" });
      else plan.upcoming = { kind: "finalize", from: job.revealDeadline + 1n };
      break;
    case "Finalized":
      // claim: the job Finalized, a winning bid, not claimed yet. A claim that would collect
      // nothing (every task-replica slashed) succeeds too, but is not offered: it changes nothing.
      if (account !== undefined) {
        const { payment, fee, stakeReleased } = account.claim;
        if (account.allotted > 0n && !account.claimed && (payment > 0n || stakeReleased > 0n)) {
          actions.push({ kind: "claim", payment, fee, stakeReleased });
        }
      }
      break;
    case "None":
    case "Cancelled":
    case "Unfilled":
      break;
    default:
      assertNever(status, "job status");
  }
  // withdraw: any account with a non-zero claimable balance, whatever the job's state.
  if (account !== undefined && account.withdrawable > 0n) {
    actions.push({ kind: "withdraw", amount: account.withdrawable });
  }
  return plan;
}

/** Whether `plan` offers `kind`. */
export function offers(plan: ActionPlan, kind: JobActionKind): boolean {
  return plan.actions.some((a) => a.kind === kind);
}

/**
 * Reads what `availableActions` needs for `jobId` and `account` from the chain, every call at
 * the latest block's number so the facts belong together.
 */
export async function readActionFacts(
  market: JobMarket,
  provider: Provider,
  jobId: bigint,
  account?: string,
): Promise<ActionFacts> {
  const block = await provider.getBlock("latest");
  if (block === null) throw new Error("the node returned no latest block");
  const blockTag = block.number;
  const chainTime = BigInt(block.timestamp);
  const [job, accountFacts] = await Promise.all([
    market.getJob(jobId, { blockTag }),
    account === undefined
      ? Promise.resolve(undefined)
      : Promise.all([
          market.getBid(jobId, account, { blockTag }),
          market.claimableFor(jobId, account, { blockTag }),
          market.claimableBalance(account, { blockTag }),
        ]).then(([bid, claim, withdrawable]) => ({
          address: account,
          allotted: bid.allotted,
          claimed: bid.claimed,
          claim: { payment: claim.payment, fee: claim.fee, stakeReleased: claim.stakeReleased },
          withdrawable,
        })),
  ]);
  // Groups matter to finalize only before the reveal deadline (after it, finalize always passes).
  const phase = phaseOf(job, chainTime);
  const needGroups = phase === "Committing" || phase === "Revealing";
  const groups = needGroups
    ? await Promise.all(
        Array.from({ length: Number(job.groupCount) }, (_, g) =>
          market.getGroup(jobId, g, { blockTag }).then((group) => ({
            commitCount: Number(group.commitCount),
            revealCount: Number(group.revealCount),
          })),
        ),
      )
    : [];
  return {
    chainTime,
    blockNumber: blockTag,
    job: {
      status: Number(job.status),
      requester: job.requester,
      replication: Number(job.replication),
      escrow: job.escrow,
      biddingDeadline: job.biddingDeadline,
      commitDeadline: job.commitDeadline,
      revealDeadline: job.revealDeadline,
      groups,
    },
    ...(accountFacts === undefined ? {} : { account: accountFacts }),
  };
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
