// The auditor's three reports, as pure functions from query results to text (the CLI only
// fetches and prints, so these are what a reader of the code checks against the schema).

import { failureStage } from "../sdk/protocol/index.ts";
import type {
  JobDetails,
  NetworkDay,
  NetworkStats,
  ProviderDetails,
  SubgraphMeta,
} from "../sdk/queries/index.ts";
import { fields, heading, hex, percent, section, table, time, token } from "./format.ts";

export function metaLine(url: string, meta: SubgraphMeta): string {
  const at = meta.block.timestamp === null ? "" : ` (${time(meta.block.timestamp)})`;
  return `Subgraph ${url}\nIndexed up to block ${meta.block.number}${at}, deployment ${meta.deployment}`;
}

export function providerReport(p: ProviderDetails): string {
  const out: string[] = [heading(`Provider ${p.id}`)];
  out.push(
    fields([
      ["Registered", p.registered ? `yes, since ${time(p.registeredAt)}` : "no"],
      [
        "Capabilities",
        `${p.cpuMillicores} millicores CPU, ${p.memoryMiB} MiB memory, ${p.gpuCount} GPU(s)`,
      ],
      ["Metadata", p.metadataURI || "—"],
      ["Stake", token(p.stake)],
      ["  locked", token(p.locked)],
      ["  free", token(p.freeStake)],
      [
        "  unbonding",
        p.unbonding > 0n
          ? `${token(p.unbonding)}, withdrawable from ${time(p.unbondingReleaseAt)}`
          : token(p.unbonding),
      ],
      [
        "Tasks",
        `assigned ${p.tasksAssigned}, settled ${p.tasksSettled}, completed ${p.tasksCompleted}`,
      ],
      ["Success rate", `${percent(p.successRate)} (completed / settled task-replicas)`],
      [
        "Memberships",
        `paid ${p.membershipsPaid}, unpaid ${p.membershipsUnpaid}, slashed ${p.membershipsSlashed}`,
      ],
      ["Gross earnings", token(p.grossEarnings)],
      ["Fees paid", token(p.feesPaid)],
      ["Net earnings", token(p.netEarnings)],
      ["Slashes", `${p.slashCount} (${token(p.slashedAmount)})`],
      [
        "Bids",
        `${p.bidCount} placed, ${p.withdrawnBidCount} withdrawn; jobs won ${p.jobsWon}, lost ${p.jobsLost}`,
      ],
    ]),
  );
  out.push(section(`Recent bids (${p.recentBids.length})`));
  out.push(
    table(
      ["Job", "Job status", "Price / task-replica", "Capacity", "Allotted", "Bid", "Placed"],
      p.recentBids.map((b) => [
        b.jobId,
        b.jobStatus,
        token(b.price),
        b.capacity,
        b.allotted,
        b.status,
        time(b.placedAt),
      ]),
    ),
  );
  if (p.recentSlashes.length > 0) {
    out.push(section(`Recent slashes (${p.recentSlashes.length})`));
    out.push(
      table(
        ["Job", "Group", "Reason", "Amount", "When"],
        p.recentSlashes.map((s) => [
          s.jobId,
          s.groupId,
          s.reason,
          token(s.amount),
          time(s.timestamp),
        ]),
      ),
    );
  }
  return out.join("\n");
}

/** `reasons`: why it did not fill / groups had no quorum (sdk/queries/reasons.ts), if any. */
export function jobReport(j: JobDetails, reasons: readonly string[] = []): string {
  const out: string[] = [heading(`Job ${j.id} — ${j.status}`)];
  out.push(
    fields([
      ["Requester", j.requester],
      ["Manifest", `${j.manifestCid} (sha256 ${hex(j.manifestDigest)})`],
      ["Image", `${j.imageRef} (digest ${hex(j.imageDigest)})`],
      [
        "Work",
        `${j.taskCount} task(s) × replication ${j.replication}, quorum ${j.quorum} → ${j.taskCount * j.replication} task-replicas`,
      ],
      [
        "Resources / task",
        `${j.cpuMillicores} millicores CPU, ${j.memoryMiB} MiB memory, ${j.gpuCount} GPU(s)`,
      ],
      ["Max price", `${token(j.maxPrice)} per task-replica`],
      ["Stake", `${token(j.stakePerTaskReplica)} per task-replica`],
      ["Protocol fee", `${j.feeBps / 100}%`],
      ["Posted", `${time(j.postedAt)} (block ${j.postedAtBlock}, tx ${hex(j.postedTx)})`],
      ["Bidding until", time(j.biddingDeadline)],
      ["Commit until", time(j.commitDeadline)],
      ["Reveal until", time(j.revealDeadline)],
      ["Closed", time(j.closedAt)],
      ["Finalized", time(j.finalizedAt)],
    ]),
  );
  if (reasons.length > 0) {
    out.push(section(failureStage(j.status) === "fill" ? "Why not filled" : "Why no quorum"));
    out.push(reasons.map((line) => `  ${line}`).join("\n"));
  }
  out.push(section("Money"));
  out.push(
    fields([
      ["Escrow", token(j.escrow)],
      ["Cost of winning bids", token(j.cost)],
      ["Paid to providers", `${token(j.paid)} (before fees)`],
      ["Fees", token(j.fees)],
      ["Refunded", token(j.refunded)],
      ["Slashed stake", token(j.slashed)],
      ["Escrow still held", token(j.escrowHeld)],
    ]),
  );
  out.push(section(`Bids (${j.bids.length})`));
  out.push(
    table(
      ["Provider", "Price / task-replica", "Capacity", "Allotted", "Status", "Placed"],
      j.bids.map((b) => [
        b.provider,
        token(b.price),
        b.capacity,
        b.allotted,
        b.releaseReason ? `${b.status} (${b.releaseReason})` : b.status,
        time(b.placedAt),
      ]),
    ),
  );
  out.push(section(`Winners (${j.winners.length})`));
  out.push(j.winners.length === 0 ? "  none" : j.winners.map((w) => `  ${w}`).join("\n"));
  for (const g of j.groups) {
    const last = g.taskStart + g.taskCount - 1;
    const agreement =
      g.outcome === "Agreed"
        ? `, ${g.agreeing} of ${g.members.length} agree on ${hex(g.winningRoot)}`
        : "";
    out.push(
      section(
        `Group ${g.groupId}: tasks ${g.taskStart}–${last}, ${g.outcome}${agreement}, commits ${g.commitCount}, reveals ${g.revealCount}`,
      ),
    );
    out.push(
      table(
        [
          "Lane",
          "Provider",
          "Commitment",
          "Committed",
          "Revealed root",
          "Outcome",
          "Payment",
          "Slashed",
        ],
        g.members.map((m) => [
          m.lane,
          m.provider,
          hex(m.commitment),
          time(m.committedAt),
          hex(m.resultRoot),
          m.slashReason ? `${m.outcome} (${m.slashReason})` : m.outcome,
          token(m.payment),
          token(m.slashedAmount),
        ]),
      ),
    );
    if (g.refund > 0n) out.push(`  Refunded to the requester for this group: ${token(g.refund)}`);
  }
  if (j.claims.length > 0) {
    out.push(section(`Claims (${j.claims.length})`));
    out.push(
      table(
        ["Provider", "Payment", "Fee", "Net", "Stake released", "When"],
        j.claims.map((c) => [
          c.provider,
          token(c.payment),
          token(c.fee),
          token(c.net),
          token(c.stakeReleased),
          time(c.timestamp),
        ]),
      ),
    );
  }
  if (j.slashes.length > 0) {
    out.push(section(`Slashes (${j.slashes.length})`));
    out.push(
      table(
        ["Provider", "Group", "Reason", "Amount", "When"],
        j.slashes.map((s) => [s.provider, s.groupId, s.reason, token(s.amount), time(s.timestamp)]),
      ),
    );
  }
  out.push(section(`Token flows (${j.flows.length})`));
  out.push(
    table(
      ["Block", "Direction", "Kind", "Account", "Amount", "Tx"],
      j.flows.map((f) => [
        String(f.blockNumber),
        f.direction,
        f.kind,
        f.account,
        token(f.amount),
        hex(f.transactionHash),
      ]),
    ),
  );
  return out.join("\n");
}

export function networkReport(stats: NetworkStats | null, days: NetworkDay[]): string {
  const out: string[] = [heading("CONUN network")];
  if (!stats) out.push("  No network activity indexed yet.");
  else
    out.push(
      fields([
        ["Market", stats.market ?? "—"],
        ["Registry", stats.registry ?? "—"],
        ["Treasury", stats.treasury ?? "—"],
        ["Protocol fee", `${stats.protocolFeeBps / 100}%`],
        [
          "Jobs",
          `${stats.jobCount} posted: ${stats.jobsAwarded} awarded, ${stats.jobsFinalized} finalized, ${stats.jobsCancelled} cancelled, ${stats.jobsUnfilled} unfilled`,
        ],
        ["Tasks", `${stats.taskCount} (${stats.taskReplicaCount} task-replicas)`],
        ["Bids", String(stats.bidCount)],
        ["Providers", String(stats.providerCount)],
        ["Requesters", String(stats.requesterCount)],
        ["Volume escrowed", token(stats.volumeEscrowed)],
        ["Volume refunded", token(stats.volumeRefunded)],
        ["Volume paid", token(stats.volumePaid)],
        ["Fees collected", token(stats.feesCollected)],
        ["Slashes", `${stats.slashCount} (${token(stats.slashedAmount)})`],
        ["Withdrawn", token(stats.withdrawn)],
        ["Escrow held", token(stats.escrowHeld)],
        ["Total staked", token(stats.totalStaked)],
        ["Total locked", token(stats.totalLocked)],
      ]),
    );
  out.push(section(`Last ${days.length} day(s) with activity`));
  out.push(
    table(
      [
        "Day (UTC)",
        "Jobs posted",
        "Tasks",
        "Bids",
        "Finalized",
        "Escrowed",
        "Paid",
        "Fees",
        "Active providers",
        "Slashes",
      ],
      days.map((d) => [
        time(d.date).slice(0, 10),
        d.jobsPosted,
        String(d.tasksPosted),
        d.bidsPlaced,
        d.jobsFinalized,
        token(d.volumeEscrowed),
        token(d.volumePaid),
        token(d.feesCollected),
        d.activeProviders,
        d.slashCount,
      ]),
    ),
  );
  return out.join("\n");
}
