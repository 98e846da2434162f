// A job's phase: its stored status refined by time, the one derived state every off-chain part
// asks (OpenZeppelin's `Governor.state()` is the model). It mirrors, to the second, the timing
// checks of contracts/JobMarket.sol, where every deadline is inclusive: an action "until the
// deadline" passes while `block.timestamp <= deadline`, one "after the deadline" once
// `block.timestamp > deadline`.
//
//   Open      bidding  (at <= biddingDeadline)  placeBid, withdrawBid, cancelJob
//             then     (at >  biddingDeadline)  closeBidding
//   Awarded   commit   (at <= commitDeadline)   commit; reveal by fully committed groups
//             reveal   (at <= revealDeadline)   reveal by any member that committed
//             then     (at >  revealDeadline)   finalize, whatever was revealed
//
// `at` is the timestamp of the block whose transaction the check runs in. The latest block's
// timestamp says what a *read* sees; a transaction sent now is mined later — on Ethereum at
// least one second later, on a Hardhat node that allows same-second blocks possibly in the same
// second — so a caller deciding whether to send one asks about both instants (see
// app/src/lib/actions.ts), or about `at + 1n` to be sure it is not too late.
import { assertNever, type JobStatusName, jobStatusName } from "./states.ts";

/** A job's phase at a given time. The first four are also statuses (no time refines them). */
export type JobPhase =
  | "None"
  | "Cancelled"
  | "Unfilled"
  | "Finalized"
  /** Open, bidding deadline not passed: bids may be placed and withdrawn, the job cancelled. */
  | "Bidding"
  /** Open, bidding deadline passed: anyone may close bidding (award or Unfilled). */
  | "BiddingClosed"
  /** Awarded, commit deadline not passed: members commit; a fully committed group may reveal. */
  | "Committing"
  /** Awarded, commit deadline passed, reveal deadline not: any member that committed reveals. */
  | "Revealing"
  /** Awarded, reveal deadline passed: anyone may finalize; no more commits or reveals. */
  | "RevealClosed";

/** What `phaseOf` reads of a job: its status and deadlines, from the chain or the subgraph. */
export interface JobTiming {
  /** A `JobStatus` name, or its on-chain value (ethers decodes enums as bigint). */
  status: JobStatusName | number | bigint;
  biddingDeadline: bigint;
  /** Set from the award on (0 or null before it). */
  commitDeadline?: bigint | null;
  revealDeadline?: bigint | null;
}

function awardedDeadline(job: JobTiming, name: "commitDeadline" | "revealDeadline"): bigint {
  const deadline = job[name];
  if (deadline === undefined || deadline === null) {
    throw new TypeError(`phaseOf: an Awarded job needs its ${name}`);
  }
  return deadline;
}

/** The status name of `job`, whichever form it came in. */
export function statusOf(job: Pick<JobTiming, "status">): JobStatusName {
  return typeof job.status === "string" ? job.status : jobStatusName(job.status);
}

/** The phase of `job` in a block stamped `at` (unix seconds), by JobMarket's own checks. */
export function phaseOf(job: JobTiming, at: bigint): JobPhase {
  const status = statusOf(job);
  switch (status) {
    case "None":
    case "Cancelled":
    case "Unfilled":
    case "Finalized":
      return status;
    case "Open":
      return at <= job.biddingDeadline ? "Bidding" : "BiddingClosed";
    case "Awarded":
      if (at <= awardedDeadline(job, "commitDeadline")) return "Committing";
      if (at <= awardedDeadline(job, "revealDeadline")) return "Revealing";
      return "RevealClosed";
    default:
      return assertNever(status, "job status");
  }
}

/** A replica group's progress, as `getGroup` (or the subgraph) counts it. */
export interface GroupCounts {
  commitCount: number;
  revealCount: number;
}

/**
 * Whether a member that committed in a group of `replication` members may reveal at `at`
 * (JobMarket.reveal): in the reveal phase always; in the commit phase only once every member of
 * the group has committed, so nothing of a result is public before the group is sealed.
 */
export function mayRevealAt(
  job: JobTiming & { replication: number },
  group: Pick<GroupCounts, "commitCount">,
  at: bigint,
): boolean {
  const phase = phaseOf(job, at);
  return phase === "Revealing" || (phase === "Committing" && group.commitCount === job.replication);
}

/**
 * Whether `finalize` passes its checks at `at` (JobMarket._isFinalizable): once the reveal
 * deadline passed, always; before, when every group has settled its reveals — each member that
 * committed has revealed (a member can only reveal what it committed, so equal counts mean equal
 * lane masks) and all members committed or the commit deadline passed.
 */
export function isFinalizableAt(
  job: JobTiming & { replication: number; groups: readonly GroupCounts[] },
  at: bigint,
): boolean {
  const phase = phaseOf(job, at);
  if (phase === "RevealClosed") return true;
  if (phase !== "Committing" && phase !== "Revealing") return false;
  return job.groups.every(
    (g) =>
      g.revealCount === g.commitCount &&
      (g.commitCount === job.replication || phase === "Revealing"),
  );
}
