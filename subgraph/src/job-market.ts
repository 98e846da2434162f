// biome-ignore-all lint/style/useImportType: AssemblyScript 0.19 cannot parse `import type`
// biome-ignore-all lint/suspicious/noShadowRestrictedNames: graph-ts's BigInt is AssemblyScript's big integer
// Mappings of the JobMarket data source. Every value comes from event parameters or from
// entities earlier events wrote: no handler calls the contract.
//
// Emission order the handlers rely on (see contracts/JobMarket.sol):
// - closeBidding: award: BidAccepted / BidReleased per bid while the job is still Open, then
//                 GroupFormed per group, then JobAwarded; cancel and unfilled emit their status
//                 event before BidReleased for every bid (handleBidReleased tells the reason
//                 from the job's status).
// - finalize:     per group, ProviderSlashed per slashed member, then GroupFinalized (which
//                 marks the members neither paid nor slashed as Unpaid); then JobFinalized.
// - placeBid on a full book: BidEvicted for the worst bid, then BidPlaced for the new one.
// BalanceCredited carries its own kind and amount, so its place in the sequence does not
// matter; it is emitted only for a non-zero amount.
import { Address, BigInt, Bytes, ethereum, log } from "@graphprotocol/graph-ts";
import {
  BalanceCredited,
  BidAccepted,
  BidEvicted,
  BidPlaced,
  BidReleased,
  BidWithdrawn,
  Claimed,
  GroupFinalized,
  GroupFormed,
  JobAwarded,
  JobCancelled,
  JobFinalized,
  JobPosted,
  JobUnfilled,
  ProtocolFeeSet,
  ProviderSlashed,
  ResultCommitted,
  ResultRevealed,
  TreasurySet,
  Withdrawn,
} from "../generated/JobMarket/JobMarket";
import {
  Bid,
  Claim,
  Commit,
  GroupMember,
  Job,
  ReplicaGroup,
  Reveal,
  Slash,
  TokenFlow,
} from "../generated/schema";
import {
  loadClaimableBalance,
  loadProvider,
  loadRequester,
  refreshSuccessRate,
  sameString,
} from "./entities";
import { accountId, bidId, eventId, groupId, jobId, memberId } from "./ids";
import { loadNetwork, loadNetworkDay, loadProviderDay, markActive } from "./stats";

// IJobMarket.GroupOutcome, IJobMarket.SlashReason and IJobMarket.CreditKind, by their uint8
// values. CreditKind maps to FlowKind names: Refund, Fee, Slash -> SlashCredit.
const GROUP_OUTCOMES = ["Pending", "Agreed", "NoQuorum"];
const SLASH_REASONS = ["None", "WrongResult", "NoCommit", "NoReveal"];
const CREDIT_KINDS = ["Refund", "Fee", "SlashCredit"];

function enumName(names: string[], value: i32, what: string): string {
  if (value < 0 || value >= names.length) {
    log.critical("unknown {} value {}", [what, value.toString()]);
  }
  return names[value];
}

function mustLoadJob(id: BigInt): Job {
  const job = Job.load(jobId(id));
  if (job == null) {
    log.critical("event for job {}, which no JobPosted created (wrong startBlock?)", [
      id.toString(),
    ]);
  }
  return job as Job;
}

function mustLoadBid(job: BigInt, provider: Address): Bid {
  const bid = Bid.load(bidId(job, provider));
  if (bid == null) {
    log.critical("no bid of {} on job {}", [provider.toHexString(), job.toString()]);
  }
  return bid as Bid;
}

function mustLoadGroup(job: BigInt, group: i32): ReplicaGroup {
  const entity = ReplicaGroup.load(groupId(job, group));
  if (entity == null) {
    log.critical("no group {} in job {}", [group.toString(), job.toString()]);
  }
  return entity as ReplicaGroup;
}

function mustLoadMember(job: BigInt, group: i32, provider: Address): GroupMember {
  const member = GroupMember.load(memberId(job, group, provider));
  if (member == null) {
    log.critical("{} is not a member of group {} in job {}", [
      provider.toHexString(),
      group.toString(),
      job.toString(),
    ]);
  }
  return member as GroupMember;
}

function recordFlow(
  event: ethereum.Event,
  direction: string,
  kind: string,
  account: Address,
  job: string | null,
  amount: BigInt,
): void {
  const flow = new TokenFlow(eventId(event));
  flow.direction = direction;
  flow.kind = kind;
  flow.account = account;
  flow.job = job;
  flow.amount = amount;
  flow.blockNumber = event.block.number;
  flow.blockTimestamp = event.block.timestamp;
  flow.transactionHash = event.transaction.hash;
  flow.save();
}

/** Credits refunded escrow to the job's requester and the network's totals. */
function countRefund(event: ethereum.Event, job: Job, refund: BigInt): void {
  job.refunded = job.refunded.plus(refund);
  job.escrowHeld = job.escrowHeld.minus(refund);
  const requester = loadRequester(Address.fromBytes(job.requester));
  requester.refunded = requester.refunded.plus(refund);
  requester.save();
  const network = loadNetwork();
  network.volumeRefunded = network.volumeRefunded.plus(refund);
  network.escrowHeld = network.escrowHeld.minus(refund);
  network.save();
  const day = loadNetworkDay(event);
  day.volumeRefunded = day.volumeRefunded.plus(refund);
  day.save();
}

// ----------------------------------------------------------------------------- requesters

export function handleJobPosted(event: JobPosted): void {
  const params = event.params;
  const spec = params.spec;
  const network = loadNetwork();
  network.market = event.address;

  const requester = loadRequester(params.requester);
  if (requester.jobCount === 0) network.requesterCount += 1;
  requester.jobCount += 1;
  requester.escrowed = requester.escrowed.plus(params.escrow);
  requester.save();

  const job = new Job(jobId(params.jobId));
  job.jobId = params.jobId;
  job.requester = accountId(params.requester);
  job.status = "Open";
  job.manifestCid = spec.manifestCid;
  job.manifestDigest = spec.manifestDigest;
  job.imageRef = spec.imageRef;
  job.imageDigest = spec.imageDigest;
  job.taskCount = spec.taskCount.toI32();
  job.replication = spec.replication;
  job.quorum = spec.quorum;
  job.maxPrice = spec.maxPrice;
  job.stakePerTaskReplica = spec.stakePerTaskReplica;
  job.biddingWindow = spec.biddingWindow.toI32();
  job.executionWindow = spec.executionWindow.toI32();
  job.revealWindow = spec.revealWindow.toI32();
  job.cpuMillicores = spec.cpuMillicores;
  job.memoryMiB = spec.memoryMiB;
  job.gpuCount = spec.gpuCount;
  job.feeBps = params.feeBps;
  job.biddingDeadline = params.biddingDeadline;
  job.escrow = params.escrow;
  job.escrowHeld = params.escrow;
  job.refunded = BigInt.zero();
  job.slashed = BigInt.zero();
  job.paid = BigInt.zero();
  job.fees = BigInt.zero();
  job.standingBidCount = 0;
  job.groupCount = 0;
  job.winners = [];
  job.postedAtBlock = event.block.number;
  job.postedAt = event.block.timestamp;
  job.postedTx = event.transaction.hash;
  job.save();

  const replicas = spec.taskCount.times(BigInt.fromI32(spec.replication));
  network.jobCount += 1;
  network.taskCount = network.taskCount.plus(spec.taskCount);
  network.taskReplicaCount = network.taskReplicaCount.plus(replicas);
  network.volumeEscrowed = network.volumeEscrowed.plus(params.escrow);
  network.escrowHeld = network.escrowHeld.plus(params.escrow);
  network.save();

  const day = loadNetworkDay(event);
  day.jobsPosted += 1;
  day.tasksPosted = day.tasksPosted.plus(spec.taskCount);
  day.taskReplicasPosted = day.taskReplicasPosted.plus(replicas);
  day.volumeEscrowed = day.volumeEscrowed.plus(params.escrow);
  day.save();

  recordFlow(event, "In", "EscrowDeposit", params.requester, job.id, params.escrow);
}

export function handleJobCancelled(event: JobCancelled): void {
  const job = mustLoadJob(event.params.jobId);
  job.status = "Cancelled";
  job.closedAt = event.block.timestamp;
  countRefund(event, job, event.params.refund);
  job.save();

  const network = loadNetwork();
  network.jobsCancelled += 1;
  network.save();
}

// ------------------------------------------------------------------------------- bidding

export function handleBidPlaced(event: BidPlaced): void {
  const params = event.params;
  const job = mustLoadJob(params.jobId);
  job.standingBidCount += 1;
  job.save();

  // A provider may bid again after withdrawing: the entity is reset to the new bid.
  const id = bidId(params.jobId, params.provider);
  let bid = Bid.load(id);
  if (bid == null) bid = new Bid(id);
  bid.job = job.id;
  bid.provider = accountId(params.provider);
  bid.price = params.price;
  bid.capacity = params.capacity.toI32();
  bid.stakeLocked = params.stakeLocked;
  bid.allotted = 0;
  bid.segmentStart = null;
  bid.stakeReleased = BigInt.zero();
  bid.status = "Placed";
  bid.releaseReason = null;
  bid.placedAt = event.block.timestamp;
  bid.placedTx = event.transaction.hash;
  bid.updatedAt = event.block.timestamp;
  bid.save();

  const provider = loadProvider(params.provider);
  provider.bidCount += 1;
  provider.save();

  const network = loadNetwork();
  network.bidCount += 1;
  network.save();

  const day = loadNetworkDay(event);
  day.bidsPlaced += 1;
  const providerDay = loadProviderDay(provider.id, event);
  markActive(providerDay, day);
  providerDay.bids += 1;
  providerDay.save();
  day.save();
}

export function handleBidWithdrawn(event: BidWithdrawn): void {
  const params = event.params;
  const job = mustLoadJob(params.jobId);
  job.standingBidCount -= 1;
  job.save();

  const bid = mustLoadBid(params.jobId, params.provider);
  bid.status = "Withdrawn";
  bid.stakeReleased = params.stakeUnlocked;
  bid.updatedAt = event.block.timestamp;
  bid.save();

  const provider = loadProvider(params.provider);
  provider.withdrawnBidCount += 1;
  provider.save();
}

export function handleBidEvicted(event: BidEvicted): void {
  const params = event.params;
  const job = mustLoadJob(params.jobId);
  job.standingBidCount -= 1;
  job.save();

  const bid = mustLoadBid(params.jobId, params.provider);
  bid.status = "Evicted";
  bid.stakeReleased = params.stakeUnlocked;
  bid.evictedBy = loadProvider(params.by).id;
  bid.updatedAt = event.block.timestamp;
  bid.save();

  const provider = loadProvider(params.provider);
  provider.evictedBidCount += 1;
  provider.save();
}

export function handleBidReleased(event: BidReleased): void {
  const params = event.params;
  const job = mustLoadJob(params.jobId);
  const bid = mustLoadBid(params.jobId, params.provider);
  bid.status = "Released";
  bid.stakeReleased = params.stakeReleased;
  bid.updatedAt = event.block.timestamp;
  // At an award the losers are released before JobAwarded, while the job is still Open;
  // cancel and unfilled release every bid after the status event.
  if (sameString(job.status, "Open")) {
    bid.releaseReason = "LostAtAward";
    const provider = loadProvider(params.provider);
    provider.jobsLost += 1;
    provider.save();
  } else if (sameString(job.status, "Cancelled")) {
    bid.releaseReason = "JobCancelled";
  } else {
    bid.releaseReason = "JobUnfilled";
  }
  bid.save();
}

export function handleJobUnfilled(event: JobUnfilled): void {
  const job = mustLoadJob(event.params.jobId);
  job.status = "Unfilled";
  job.closedAt = event.block.timestamp;
  countRefund(event, job, event.params.refund);
  job.save();

  const network = loadNetwork();
  network.jobsUnfilled += 1;
  network.save();
}

export function handleBidAccepted(event: BidAccepted): void {
  const params = event.params;
  const job = mustLoadJob(params.jobId);
  const winners = job.winners;
  winners.push(accountId(params.provider));
  job.winners = winners;
  job.save();

  const bid = mustLoadBid(params.jobId, params.provider);
  bid.status = "Accepted";
  bid.allotted = params.allotted.toI32();
  bid.segmentStart = params.segmentStart;
  bid.stakeReleased = params.stakeReleased;
  bid.updatedAt = event.block.timestamp;
  bid.save();

  const provider = loadProvider(params.provider);
  provider.jobsWon += 1;
  provider.tasksAssigned = provider.tasksAssigned.plus(params.allotted);
  provider.save();
}

export function handleGroupFormed(event: GroupFormed): void {
  const params = event.params;
  const group = new ReplicaGroup(groupId(params.jobId, params.groupId));
  group.job = jobId(params.jobId);
  group.groupId = params.groupId;
  group.taskStart = params.taskStart.toI32();
  group.taskCount = params.taskCount.toI32();
  const members: Bytes[] = [];
  for (let lane = 0; lane < params.members.length; lane++) {
    const provider = params.members[lane];
    members.push(accountId(provider));
    const member = new GroupMember(memberId(params.jobId, params.groupId, provider));
    member.job = group.job;
    member.group = group.id;
    member.provider = accountId(provider);
    member.bid = bidId(params.jobId, provider);
    member.lane = lane;
    member.taskCount = group.taskCount;
    member.outcome = "Pending";
    member.payment = BigInt.zero();
    member.slashedAmount = BigInt.zero();
    member.save();
  }
  group.members = members;
  group.commitCount = 0;
  group.revealCount = 0;
  group.outcome = "Pending";
  group.agreeing = 0;
  group.winnersMask = 0;
  group.refund = BigInt.zero();
  group.save();
}

export function handleJobAwarded(event: JobAwarded): void {
  const params = event.params;
  const job = mustLoadJob(params.jobId);
  job.status = "Awarded";
  job.closedAt = event.block.timestamp;
  job.commitDeadline = params.commitDeadline;
  job.revealDeadline = params.revealDeadline;
  job.groupCount = params.groupCount;
  job.cost = params.cost;
  countRefund(event, job, params.refund);
  job.save();

  const network = loadNetwork();
  network.jobsAwarded += 1;
  network.save();
}

// ------------------------------------------------------------------------ commit / reveal

export function handleResultCommitted(event: ResultCommitted): void {
  const params = event.params;
  const group = mustLoadGroup(params.jobId, params.groupId);
  group.commitCount += 1;
  group.save();

  const member = mustLoadMember(params.jobId, params.groupId, params.provider);
  member.commitment = params.commitment;
  member.committedAt = event.block.timestamp;
  member.save();

  const commit = new Commit(eventId(event));
  commit.job = group.job;
  commit.group = group.id;
  commit.member = member.id;
  commit.provider = accountId(params.provider);
  commit.commitment = params.commitment;
  commit.blockNumber = event.block.number;
  commit.blockTimestamp = event.block.timestamp;
  commit.transactionHash = event.transaction.hash;
  commit.save();

  const day = loadNetworkDay(event);
  const providerDay = loadProviderDay(commit.provider, event);
  markActive(providerDay, day);
  providerDay.commits += 1;
  providerDay.save();
  day.save();
}

export function handleResultRevealed(event: ResultRevealed): void {
  const params = event.params;
  const group = mustLoadGroup(params.jobId, params.groupId);
  group.revealCount += 1;
  group.save();

  const member = mustLoadMember(params.jobId, params.groupId, params.provider);
  member.resultRoot = params.resultRoot;
  member.resultsCid = params.resultsCid;
  member.revealedAt = event.block.timestamp;
  member.save();

  const reveal = new Reveal(eventId(event));
  reveal.job = group.job;
  reveal.group = group.id;
  reveal.member = member.id;
  reveal.provider = accountId(params.provider);
  reveal.resultRoot = params.resultRoot;
  reveal.resultsCid = params.resultsCid;
  reveal.blockNumber = event.block.number;
  reveal.blockTimestamp = event.block.timestamp;
  reveal.transactionHash = event.transaction.hash;
  reveal.save();

  const day = loadNetworkDay(event);
  const providerDay = loadProviderDay(reveal.provider, event);
  markActive(providerDay, day);
  providerDay.reveals += 1;
  providerDay.save();
  day.save();
}

// ------------------------------------------------------------------------- finalization

export function handleProviderSlashed(event: ProviderSlashed): void {
  const params = event.params;
  const reason = enumName(SLASH_REASONS, params.reason, "SlashReason");
  const member = mustLoadMember(params.jobId, params.groupId, params.provider);
  member.outcome = "Slashed";
  member.slashReason = reason;
  member.slashedAmount = params.amount;
  member.save();

  const slash = new Slash(eventId(event));
  slash.job = member.job;
  slash.group = member.group;
  slash.member = member.id;
  slash.provider = accountId(params.provider);
  slash.amount = params.amount;
  slash.reason = reason;
  slash.blockNumber = event.block.number;
  slash.blockTimestamp = event.block.timestamp;
  slash.transactionHash = event.transaction.hash;
  slash.save();

  const provider = loadProvider(params.provider);
  provider.slashCount += 1;
  provider.slashedAmount = provider.slashedAmount.plus(params.amount);
  provider.save();

  const network = loadNetwork();
  network.slashCount += 1;
  network.slashedAmount = network.slashedAmount.plus(params.amount);
  network.save();

  const day = loadNetworkDay(event);
  day.slashCount += 1;
  day.slashedAmount = day.slashedAmount.plus(params.amount);
  day.save();
  // Being slashed is not activity of the provider: the day is not marked active.
  const providerDay = loadProviderDay(provider.id, event);
  providerDay.slashCount += 1;
  providerDay.save();

  // The registry sends the slashed stake to the market only for a non-zero amount.
  if (!params.amount.isZero()) {
    recordFlow(event, "In", "SlashedStake", params.provider, member.job, params.amount);
  }
}

export function handleGroupFinalized(event: GroupFinalized): void {
  const params = event.params;
  const group = mustLoadGroup(params.jobId, params.groupId);
  group.outcome = enumName(GROUP_OUTCOMES, params.outcome, "GroupOutcome");
  const agreed = sameString(group.outcome, "Agreed");
  group.winningRoot = agreed ? params.winningRoot : null;
  group.agreeing = params.agreeing;
  group.winnersMask = params.winnersMask;
  group.refund = params.refund;
  group.finalizedAt = event.block.timestamp;
  group.save();

  // winnersMask has bit r set for the paid member of lane r (group.members is in lane
  // order); ProviderSlashed, emitted before this event, already marked the slashed ones; the
  // rest are unpaid (an honest reveal in a group without quorum).
  const taskCount = BigInt.fromI32(group.taskCount);
  const members = group.members;
  for (let lane = 0; lane < members.length; lane++) {
    const address = Address.fromBytes(members[lane]);
    const member = mustLoadMember(params.jobId, params.groupId, address);
    const provider = loadProvider(address);
    const paid = (params.winnersMask & (1 << lane)) !== 0;
    if (paid) {
      if (sameString(member.outcome, "Slashed")) {
        log.critical("member in lane {} of group {} in job {} is both paid and slashed", [
          lane.toString(),
          group.groupId.toString(),
          params.jobId.toString(),
        ]);
      }
      const bid = mustLoadBid(params.jobId, address);
      member.outcome = "Paid";
      member.payment = bid.price.times(taskCount);
      member.save();
      provider.membershipsPaid += 1;
      provider.tasksCompleted = provider.tasksCompleted.plus(taskCount);
    } else if (sameString(member.outcome, "Slashed")) {
      provider.membershipsSlashed += 1;
    } else {
      member.outcome = "Unpaid";
      member.save();
      provider.membershipsUnpaid += 1;
    }
    provider.tasksSettled = provider.tasksSettled.plus(taskCount);
    refreshSuccessRate(provider);
    provider.save();
  }
}

export function handleJobFinalized(event: JobFinalized): void {
  const params = event.params;
  const job = mustLoadJob(params.jobId);
  job.status = "Finalized";
  job.finalizedAt = event.block.timestamp;
  job.slashed = params.slashed;
  countRefund(event, job, params.refund);
  job.save();

  const network = loadNetwork();
  network.jobsFinalized += 1;
  network.save();

  const day = loadNetworkDay(event);
  day.jobsFinalized += 1;
  day.save();
}

// ---------------------------------------------------------------------- claims, balances

export function handleClaimed(event: Claimed): void {
  const params = event.params;
  const net = params.payment.minus(params.fee);
  const job = mustLoadJob(params.jobId);
  job.paid = job.paid.plus(params.payment);
  job.fees = job.fees.plus(params.fee);
  job.escrowHeld = job.escrowHeld.minus(params.payment);
  job.save();

  const claim = new Claim(eventId(event));
  claim.job = job.id;
  claim.provider = accountId(params.provider);
  claim.bid = bidId(params.jobId, params.provider);
  claim.payment = params.payment;
  claim.fee = params.fee;
  claim.net = net;
  claim.stakeReleased = params.stakeReleased;
  claim.blockNumber = event.block.number;
  claim.blockTimestamp = event.block.timestamp;
  claim.transactionHash = event.transaction.hash;
  claim.save();

  const requester = loadRequester(Address.fromBytes(job.requester));
  requester.paid = requester.paid.plus(params.payment);
  requester.save();

  const provider = loadProvider(params.provider);
  provider.grossEarnings = provider.grossEarnings.plus(params.payment);
  provider.feesPaid = provider.feesPaid.plus(params.fee);
  provider.netEarnings = provider.netEarnings.plus(net);
  provider.save();

  const network = loadNetwork();
  network.volumePaid = network.volumePaid.plus(params.payment);
  network.feesCollected = network.feesCollected.plus(params.fee);
  network.escrowHeld = network.escrowHeld.minus(params.payment);
  network.save();

  const day = loadNetworkDay(event);
  day.volumePaid = day.volumePaid.plus(params.payment);
  day.feesCollected = day.feesCollected.plus(params.fee);
  const providerDay = loadProviderDay(provider.id, event);
  markActive(providerDay, day);
  providerDay.earnings = providerDay.earnings.plus(params.payment);
  providerDay.save();
  day.save();

  // The market sends payment - fee only when it is not zero.
  if (!net.isZero()) recordFlow(event, "Out", "Payment", params.provider, job.id, net);
}

export function handleBalanceCredited(event: BalanceCredited): void {
  const params = event.params;
  const job = mustLoadJob(params.jobId);
  const kind = enumName(CREDIT_KINDS, params.kind, "CreditKind");
  recordFlow(event, "Credit", kind, params.account, job.id, params.amount);

  const balance = loadClaimableBalance(params.account);
  balance.credited = balance.credited.plus(params.amount);
  balance.balance = balance.balance.plus(params.amount);
  balance.save();
}

export function handleWithdrawn(event: Withdrawn): void {
  const params = event.params;
  recordFlow(event, "Out", "Withdrawal", params.account, null, params.amount);

  const balance = loadClaimableBalance(params.account);
  balance.withdrawn = balance.withdrawn.plus(params.amount);
  balance.balance = balance.balance.minus(params.amount);
  balance.save();

  const network = loadNetwork();
  network.withdrawn = network.withdrawn.plus(params.amount);
  network.save();
}

// -------------------------------------------------------------------------------- owner

export function handleProtocolFeeSet(event: ProtocolFeeSet): void {
  const network = loadNetwork();
  network.market = event.address;
  network.protocolFeeBps = event.params.feeBps;
  network.save();
}

export function handleTreasurySet(event: TreasurySet): void {
  const network = loadNetwork();
  network.market = event.address;
  network.treasury = event.params.treasury;
  network.save();
}
