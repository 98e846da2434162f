// Job queries: one job with everything an auditor checks (spec, bids, groups with commits and
// reveals, outcome, payments, refunds, slashes), and job lists by status or requester.
import type { AppliedSlashReason, GroupOutcomeName, PostedJobStatus } from "../protocol/states.ts";
import type { SubgraphClient } from "./client.ts";
import { toBig, toOptBig } from "./convert.ts";

// The job, group and slash states are the protocol's (sdk/protocol/states.ts); the subgraph
// spells them by name and has no "None". Bid and member outcomes are the subgraph's own.
export type BidStatus = "Placed" | "Withdrawn" | "Accepted" | "Released";
export type MemberOutcome = "Pending" | "Paid" | "Unpaid" | "Slashed";
export type FlowKind =
  | "EscrowDeposit"
  | "SlashedStake"
  | "Payment"
  | "Withdrawal"
  | "Refund"
  | "Fee"
  | "SlashCredit";

const JOB_SUMMARY_FIELDS = `
  id jobId status requester { id } taskCount replication quorum maxPrice escrow escrowHeld
  cost refunded paid slashed fees standingBidCount groupCount biddingDeadline postedAt
  closedAt finalizedAt
`;

/** Raw shape of the fields above. */
interface JobSummaryRaw {
  id: string;
  jobId: string;
  status: PostedJobStatus;
  requester: { id: string };
  taskCount: number;
  replication: number;
  quorum: number;
  maxPrice: string;
  escrow: string;
  escrowHeld: string;
  cost: string | null;
  refunded: string;
  paid: string;
  slashed: string;
  fees: string;
  standingBidCount: number;
  groupCount: number;
  biddingDeadline: string;
  postedAt: string;
  closedAt: string | null;
  finalizedAt: string | null;
}

export interface JobSummary {
  id: string;
  jobId: bigint;
  status: PostedJobStatus;
  requester: string;
  taskCount: number;
  replication: number;
  quorum: number;
  maxPrice: bigint;
  escrow: bigint;
  escrowHeld: bigint;
  /** What the winners' bids add up to; null unless awarded. */
  cost: bigint | null;
  refunded: bigint;
  paid: bigint;
  slashed: bigint;
  fees: bigint;
  standingBidCount: number;
  groupCount: number;
  biddingDeadline: bigint;
  postedAt: bigint;
  closedAt: bigint | null;
  finalizedAt: bigint | null;
}

function jobSummary(raw: JobSummaryRaw): JobSummary {
  return {
    id: raw.id,
    jobId: toBig(raw.jobId, "Job.jobId"),
    status: raw.status,
    requester: raw.requester.id,
    taskCount: raw.taskCount,
    replication: raw.replication,
    quorum: raw.quorum,
    maxPrice: toBig(raw.maxPrice, "Job.maxPrice"),
    escrow: toBig(raw.escrow, "Job.escrow"),
    escrowHeld: toBig(raw.escrowHeld, "Job.escrowHeld"),
    cost: toOptBig(raw.cost, "Job.cost"),
    refunded: toBig(raw.refunded, "Job.refunded"),
    paid: toBig(raw.paid, "Job.paid"),
    slashed: toBig(raw.slashed, "Job.slashed"),
    fees: toBig(raw.fees, "Job.fees"),
    standingBidCount: raw.standingBidCount,
    groupCount: raw.groupCount,
    biddingDeadline: toBig(raw.biddingDeadline, "Job.biddingDeadline"),
    postedAt: toBig(raw.postedAt, "Job.postedAt"),
    closedAt: toOptBig(raw.closedAt, "Job.closedAt"),
    finalizedAt: toOptBig(raw.finalizedAt, "Job.finalizedAt"),
  };
}

export const JOB_QUERY = `
  query Job($id: ID!) {
    job(id: $id) {
      ${JOB_SUMMARY_FIELDS}
      manifestCid manifestDigest imageRef imageDigest stakePerTaskReplica biddingWindow
      executionWindow revealWindow cpuMillicores memoryMiB gpuCount feeBps commitDeadline
      revealDeadline postedAtBlock postedTx
      winners { id }
      bids(first: 1000, orderBy: price) {
        id provider { id } price capacity stakeLocked allotted status releaseReason placedAt
      }
      groups(first: 1000, orderBy: groupId) {
        id groupId taskStart taskCount commitCount revealCount outcome winningRoot agreeing
        refund finalizedAt
        memberships(first: 1000, orderBy: lane) {
          provider { id } lane commitment resultRoot resultsCid committedAt revealedAt outcome
          payment slashReason slashedAmount
        }
      }
      claims(first: 1000, orderBy: blockNumber) {
        provider { id } payment fee net stakeReleased blockTimestamp transactionHash
      }
      slashes(first: 1000, orderBy: blockNumber) {
        provider { id } group { groupId } amount reason blockTimestamp
      }
      flows(first: 1000, orderBy: blockNumber) {
        direction kind account amount blockNumber blockTimestamp transactionHash
      }
    }
  }
`;

interface JobRaw extends JobSummaryRaw {
  manifestCid: string;
  manifestDigest: string;
  imageRef: string;
  imageDigest: string;
  stakePerTaskReplica: string;
  biddingWindow: number;
  executionWindow: number;
  revealWindow: number;
  cpuMillicores: string;
  memoryMiB: string;
  gpuCount: number;
  feeBps: number;
  commitDeadline: string | null;
  revealDeadline: string | null;
  postedAtBlock: string;
  postedTx: string;
  winners: { id: string }[];
  bids: {
    id: string;
    provider: { id: string };
    price: string;
    capacity: number;
    stakeLocked: string;
    allotted: number;
    status: BidStatus;
    releaseReason: string | null;
    placedAt: string;
  }[];
  groups: {
    id: string;
    groupId: number;
    taskStart: number;
    taskCount: number;
    commitCount: number;
    revealCount: number;
    outcome: GroupOutcomeName;
    winningRoot: string | null;
    agreeing: number;
    refund: string;
    finalizedAt: string | null;
    memberships: {
      provider: { id: string };
      lane: number;
      commitment: string | null;
      resultRoot: string | null;
      resultsCid: string | null;
      committedAt: string | null;
      revealedAt: string | null;
      outcome: MemberOutcome;
      payment: string;
      slashReason: AppliedSlashReason | null;
      slashedAmount: string;
    }[];
  }[];
  claims: {
    provider: { id: string };
    payment: string;
    fee: string;
    net: string;
    stakeReleased: string;
    blockTimestamp: string;
    transactionHash: string;
  }[];
  slashes: {
    provider: { id: string };
    group: { groupId: number };
    amount: string;
    reason: AppliedSlashReason;
    blockTimestamp: string;
  }[];
  flows: {
    direction: "In" | "Out" | "Credit";
    kind: FlowKind;
    account: string;
    amount: string;
    blockNumber: string;
    blockTimestamp: string;
    transactionHash: string;
  }[];
}

export interface JobBid {
  id: string;
  provider: string;
  price: bigint;
  capacity: number;
  stakeLocked: bigint;
  allotted: number;
  status: BidStatus;
  releaseReason: string | null;
  placedAt: bigint;
}

export interface GroupMembership {
  provider: string;
  lane: number;
  commitment: string | null;
  resultRoot: string | null;
  resultsCid: string | null;
  committedAt: bigint | null;
  revealedAt: bigint | null;
  outcome: MemberOutcome;
  payment: bigint;
  slashReason: AppliedSlashReason | null;
  slashedAmount: bigint;
}

export interface JobGroup {
  id: string;
  groupId: number;
  taskStart: number;
  taskCount: number;
  commitCount: number;
  revealCount: number;
  outcome: GroupOutcomeName;
  winningRoot: string | null;
  agreeing: number;
  refund: bigint;
  finalizedAt: bigint | null;
  members: GroupMembership[];
}

export interface JobClaim {
  provider: string;
  payment: bigint;
  fee: bigint;
  net: bigint;
  stakeReleased: bigint;
  timestamp: bigint;
  transactionHash: string;
}

export interface JobSlash {
  provider: string;
  groupId: number;
  amount: bigint;
  reason: AppliedSlashReason;
  timestamp: bigint;
}

export interface TokenFlow {
  direction: "In" | "Out" | "Credit";
  kind: FlowKind;
  account: string;
  amount: bigint;
  blockNumber: bigint;
  timestamp: bigint;
  transactionHash: string;
}

export interface JobDetails extends JobSummary {
  manifestCid: string;
  manifestDigest: string;
  imageRef: string;
  imageDigest: string;
  stakePerTaskReplica: bigint;
  biddingWindow: number;
  executionWindow: number;
  revealWindow: number;
  cpuMillicores: bigint;
  memoryMiB: bigint;
  gpuCount: number;
  feeBps: number;
  commitDeadline: bigint | null;
  revealDeadline: bigint | null;
  postedAtBlock: bigint;
  postedTx: string;
  winners: string[];
  bids: JobBid[];
  groups: JobGroup[];
  claims: JobClaim[];
  slashes: JobSlash[];
  flows: TokenFlow[];
}

/** One job with its whole history, or null if the subgraph has no such job. */
export async function getJob(
  client: SubgraphClient,
  id: string | bigint,
): Promise<JobDetails | null> {
  const res = await client.request<{ job: JobRaw | null }>(JOB_QUERY, { id: id.toString() });
  const raw = res.job;
  if (!raw) return null;
  return {
    ...jobSummary(raw),
    manifestCid: raw.manifestCid,
    manifestDigest: raw.manifestDigest,
    imageRef: raw.imageRef,
    imageDigest: raw.imageDigest,
    stakePerTaskReplica: toBig(raw.stakePerTaskReplica, "Job.stakePerTaskReplica"),
    biddingWindow: raw.biddingWindow,
    executionWindow: raw.executionWindow,
    revealWindow: raw.revealWindow,
    cpuMillicores: toBig(raw.cpuMillicores, "Job.cpuMillicores"),
    memoryMiB: toBig(raw.memoryMiB, "Job.memoryMiB"),
    gpuCount: raw.gpuCount,
    feeBps: raw.feeBps,
    commitDeadline: toOptBig(raw.commitDeadline, "Job.commitDeadline"),
    revealDeadline: toOptBig(raw.revealDeadline, "Job.revealDeadline"),
    postedAtBlock: toBig(raw.postedAtBlock, "Job.postedAtBlock"),
    postedTx: raw.postedTx,
    winners: raw.winners.map((w) => w.id),
    bids: raw.bids.map((b) => ({
      id: b.id,
      provider: b.provider.id,
      price: toBig(b.price, "Bid.price"),
      capacity: b.capacity,
      stakeLocked: toBig(b.stakeLocked, "Bid.stakeLocked"),
      allotted: b.allotted,
      status: b.status,
      releaseReason: b.releaseReason,
      placedAt: toBig(b.placedAt, "Bid.placedAt"),
    })),
    groups: raw.groups.map((g) => ({
      id: g.id,
      groupId: g.groupId,
      taskStart: g.taskStart,
      taskCount: g.taskCount,
      commitCount: g.commitCount,
      revealCount: g.revealCount,
      outcome: g.outcome,
      winningRoot: g.winningRoot,
      agreeing: g.agreeing,
      refund: toBig(g.refund, "ReplicaGroup.refund"),
      finalizedAt: toOptBig(g.finalizedAt, "ReplicaGroup.finalizedAt"),
      members: g.memberships.map((m) => ({
        provider: m.provider.id,
        lane: m.lane,
        commitment: m.commitment,
        resultRoot: m.resultRoot,
        resultsCid: m.resultsCid,
        committedAt: toOptBig(m.committedAt, "GroupMember.committedAt"),
        revealedAt: toOptBig(m.revealedAt, "GroupMember.revealedAt"),
        outcome: m.outcome,
        payment: toBig(m.payment, "GroupMember.payment"),
        slashReason: m.slashReason,
        slashedAmount: toBig(m.slashedAmount, "GroupMember.slashedAmount"),
      })),
    })),
    claims: raw.claims.map((c) => ({
      provider: c.provider.id,
      payment: toBig(c.payment, "Claim.payment"),
      fee: toBig(c.fee, "Claim.fee"),
      net: toBig(c.net, "Claim.net"),
      stakeReleased: toBig(c.stakeReleased, "Claim.stakeReleased"),
      timestamp: toBig(c.blockTimestamp, "Claim.blockTimestamp"),
      transactionHash: c.transactionHash,
    })),
    slashes: raw.slashes.map((s) => ({
      provider: s.provider.id,
      groupId: s.group.groupId,
      amount: toBig(s.amount, "Slash.amount"),
      reason: s.reason,
      timestamp: toBig(s.blockTimestamp, "Slash.blockTimestamp"),
    })),
    flows: raw.flows.map((f) => ({
      direction: f.direction,
      kind: f.kind,
      account: f.account,
      amount: toBig(f.amount, "TokenFlow.amount"),
      blockNumber: toBig(f.blockNumber, "TokenFlow.blockNumber"),
      timestamp: toBig(f.blockTimestamp, "TokenFlow.blockTimestamp"),
      transactionHash: f.transactionHash,
    })),
  };
}

export const JOBS_QUERY = `
  query Jobs($where: Job_filter, $first: Int!, $skip: Int!, $orderDirection: OrderDirection!) {
    jobs(where: $where, first: $first, skip: $skip, orderBy: jobId, orderDirection: $orderDirection) {
      ${JOB_SUMMARY_FIELDS}
    }
  }
`;

export interface ListJobsOptions {
  status?: PostedJobStatus;
  /** Requester address (any case). */
  requester?: string;
  /** At most 1000 (graph-node's limit); default 100. */
  first?: number;
  skip?: number;
  /** By job id; default newest first. */
  orderDirection?: "asc" | "desc";
}

export async function listJobs(
  client: SubgraphClient,
  options: ListJobsOptions = {},
): Promise<JobSummary[]> {
  const where: Record<string, unknown> = {};
  if (options.status) where.status = options.status;
  if (options.requester) where.requester = options.requester.toLowerCase();
  const res = await client.request<{ jobs: JobSummaryRaw[] }>(JOBS_QUERY, {
    where,
    first: options.first ?? 100,
    skip: options.skip ?? 0,
    orderDirection: options.orderDirection ?? "desc",
  });
  return res.jobs.map(jobSummary);
}
