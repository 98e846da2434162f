// Job queries: one job with everything an auditor checks (spec, bids, groups with commits and
// reveals, outcome, payments, refunds, slashes), and job lists by status or requester.
import type { AppliedSlashReason, GroupOutcomeName, PostedJobStatus } from "../protocol/states.ts";
import type { SubgraphClient } from "./client.ts";
import { fromWire, toBig, type Wire } from "./convert.ts";

// The job, group and slash states are the protocol's (sdk/protocol/states.ts); the subgraph
// spells them by name and has no "None". Bid and member outcomes are the subgraph's own.
export type BidStatus = "Placed" | "Withdrawn" | "Evicted" | "Accepted" | "Released";
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

/** The fields of JOB_SUMMARY_FIELDS as the subgraph sends them. */
type JobSummaryRaw = Wire<JobSummary, "requester">;

const JOB_SUMMARY_BIGS = {
  jobId: true,
  maxPrice: true,
  escrow: true,
  escrowHeld: true,
  cost: true,
  refunded: true,
  paid: true,
  slashed: true,
  fees: true,
  biddingDeadline: true,
  postedAt: true,
  closedAt: true,
  finalizedAt: true,
} as const;

function jobSummary(raw: JobSummaryRaw): JobSummary {
  return fromWire<JobSummary, "requester">(raw, "Job", JOB_SUMMARY_BIGS, { requester: true });
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

/** Everything but the nested lists of JobDetails as the subgraph sends it. */
type JobScalarsRaw = Wire<Omit<JobDetails, JobLists>, "requester" | "winners">;
type JobLists = "bids" | "groups" | "claims" | "slashes" | "flows";

interface JobRaw extends JobScalarsRaw {
  bids: Wire<JobBid, "provider">[];
  groups: (Wire<Omit<JobGroup, "members">> & {
    memberships: Wire<GroupMembership, "provider">[];
  })[];
  claims: (Wire<Omit<JobClaim, "timestamp">, "provider"> & { blockTimestamp: string })[];
  slashes: {
    provider: { id: string };
    group: { groupId: number };
    amount: string;
    reason: AppliedSlashReason;
    blockTimestamp: string;
  }[];
  flows: (Wire<Omit<TokenFlow, "timestamp">> & { blockTimestamp: string })[];
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
  if (!res.job) return null;
  const { bids, groups, claims, slashes, flows, ...job } = res.job;
  return {
    ...fromWire<Omit<JobDetails, JobLists>, "requester" | "winners">(
      job,
      "Job",
      {
        ...JOB_SUMMARY_BIGS,
        stakePerTaskReplica: true,
        cpuMillicores: true,
        memoryMiB: true,
        commitDeadline: true,
        revealDeadline: true,
        postedAtBlock: true,
      },
      { requester: true, winners: true },
    ),
    bids: bids.map((b) =>
      fromWire<JobBid, "provider">(
        b,
        "Bid",
        { price: true, stakeLocked: true, placedAt: true },
        { provider: true },
      ),
    ),
    groups: groups.map(({ memberships, ...g }) => ({
      ...fromWire<Omit<JobGroup, "members">>(g, "ReplicaGroup", {
        refund: true,
        finalizedAt: true,
      }),
      members: memberships.map((m) =>
        fromWire<GroupMembership, "provider">(
          m,
          "GroupMember",
          { committedAt: true, revealedAt: true, payment: true, slashedAmount: true },
          { provider: true },
        ),
      ),
    })),
    claims: claims.map(({ blockTimestamp, ...c }) => ({
      ...fromWire<Omit<JobClaim, "timestamp">, "provider">(
        c,
        "Claim",
        { payment: true, fee: true, net: true, stakeReleased: true },
        { provider: true },
      ),
      timestamp: toBig(blockTimestamp, "Claim.blockTimestamp"),
    })),
    slashes: slashes.map((s) => ({
      provider: s.provider.id,
      groupId: s.group.groupId,
      amount: toBig(s.amount, "Slash.amount"),
      reason: s.reason,
      timestamp: toBig(s.blockTimestamp, "Slash.blockTimestamp"),
    })),
    flows: flows.map(({ blockTimestamp, ...f }) => ({
      ...fromWire<Omit<TokenFlow, "timestamp">>(f, "TokenFlow", {
        amount: true,
        blockNumber: true,
      }),
      timestamp: toBig(blockTimestamp, "TokenFlow.blockTimestamp"),
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
