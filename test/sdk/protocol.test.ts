// sdk/protocol against the contract it models: at every deadline and the second after it, what
// phaseOf (and mayRevealAt, isFinalizableAt) says is exactly what JobMarket lets through — each
// action is sent in a block stamped at that second, from a snapshot, and must succeed or revert
// as the phase says. Then the states' names and the limits against the compiled contract.
import { expect } from "chai";
import { network } from "hardhat";
import {
  commitAll,
  deployProtocol,
  postJob,
  registerProviders,
  revealAll,
} from "../../devnet/protocol.ts";
import {
  DEPLOY_DEFAULTS,
  GROUP_OUTCOME_NAMES,
  groupOutcomeName,
  isFinalizableAt,
  isTerminalStatus,
  JOB_STATUS_NAMES,
  type JobPhase,
  JobStatus,
  type JobTiming,
  jobStatusName,
  mayRevealAt,
  minBidCapacity,
  PROTOCOL_LIMITS,
  phaseOf,
  SLASH_REASON_NAMES,
  slashReasonName,
  TERMINAL_STATUSES,
} from "../../sdk/protocol/index.ts";
import { awardOneTaskJob, placeBids, take } from "../helpers/market.ts";

const connection = await network.create({ chainType: "l1" });
const { networkHelpers } = connection;
const PRICE = 10n ** 17n;

/** The fields of a `getJob` result phaseOf reads (an ethers Result does not spread). */
function timingOf(job: JobTiming): JobTiming {
  const { status, biddingDeadline, commitDeadline, revealDeadline } = job;
  return { status, biddingDeadline, commitDeadline, revealDeadline };
}

/** Runs `send` in a block stamped exactly `timestamp`, then rewinds; true when it succeeded. */
async function passesAt(timestamp: bigint, send: () => Promise<unknown>): Promise<boolean> {
  const snapshot = await networkHelpers.takeSnapshot();
  try {
    await networkHelpers.time.setNextBlockTimestamp(timestamp);
    await send();
    return true;
  } catch (error) {
    if (!String(error).includes("reverted")) throw error;
    return false;
  } finally {
    await snapshot.restore();
  }
}

describe("sdk/protocol#phaseOf", () => {
  const awarded = { status: "Awarded", biddingDeadline: 100n, commitDeadline: 200n } as const;

  it("refines Open and Awarded by inclusive deadlines", () => {
    const job = { ...awarded, revealDeadline: 300n };
    const cases: [typeof job.status | "Open", bigint, JobPhase][] = [
      ["Open", 100n, "Bidding"],
      ["Open", 101n, "BiddingClosed"],
      ["Awarded", 200n, "Committing"],
      ["Awarded", 201n, "Revealing"],
      ["Awarded", 300n, "Revealing"],
      ["Awarded", 301n, "RevealClosed"],
    ];
    for (const [status, time, phase] of cases) {
      expect(phaseOf({ ...job, status }, time), `${status} at ${time}`).to.equal(phase);
    }
  });

  it("takes the on-chain enum value as well as the name", () => {
    expect(phaseOf({ status: 1n, biddingDeadline: 100n }, 100n)).to.equal("Bidding");
    expect(phaseOf({ status: JobStatus.Finalized, biddingDeadline: 100n }, 0n)).to.equal(
      "Finalized",
    );
    expect(() => phaseOf({ status: 6n, biddingDeadline: 0n }, 0n)).to.throw(RangeError);
  });

  it("refuses an Awarded job without its deadlines", () => {
    expect(() => phaseOf({ ...awarded, revealDeadline: null }, 250n)).to.throw(/revealDeadline/);
  });
});

describe("sdk/protocol against JobMarket, at each boundary second", function () {
  this.timeout(120_000);

  it("bidding: place, withdraw and cancel up to the deadline, close bidding only after it", async () => {
    const p = await deployProtocol(connection);
    const [a, b, c] = take(p.providers, 3);
    await registerProviders(p, [a, b, c]);
    const jobId = await postJob(p);
    await placeBids(p, jobId, [{ provider: a, price: PRICE, capacity: 1 }]);
    const job = await p.market.getJob(jobId);
    for (const time of [job.biddingDeadline, job.biddingDeadline + 1n]) {
      const phase = phaseOf(job, time);
      expect(phase).to.equal(time === job.biddingDeadline ? "Bidding" : "BiddingClosed");
      const bidding = phase === "Bidding";
      const market = p.market;
      expect(await passesAt(time, () => market.connect(b).placeBid(jobId, PRICE, 1))).to.equal(
        bidding,
      );
      expect(await passesAt(time, () => market.connect(a).withdrawBid(jobId))).to.equal(bidding);
      expect(await passesAt(time, () => market.connect(p.requester).cancelJob(jobId))).to.equal(
        bidding,
      );
      expect(await passesAt(time, () => market.connect(c).closeBidding(jobId))).to.equal(!bidding);
    }
  });

  it("commit up to the commit deadline; reveal before it only in a fully committed group", async () => {
    const { p, jobId, a, b } = await awardOneTaskJob(connection, PRICE);
    await commitAll(connection, p, jobId, a);
    const job = await p.market.getJob(jobId);
    const group = await p.market.getGroup(jobId, 0);
    const counts = { commitCount: Number(group.commitCount) };
    const facts = { ...timingOf(job), replication: Number(job.replication) };
    for (const time of [job.commitDeadline, job.commitDeadline + 1n]) {
      const phase = phaseOf(job, time);
      expect(phase).to.equal(time === job.commitDeadline ? "Committing" : "Revealing");
      expect(await passesAt(time, () => commitAll(connection, p, jobId, b))).to.equal(
        phase === "Committing",
      );
      expect(await passesAt(time, () => revealAll(connection, p, jobId, a))).to.equal(
        mayRevealAt(facts, counts, time),
      );
    }
    expect(mayRevealAt(facts, { commitCount: 3 }, job.commitDeadline)).to.equal(true);
  });

  it("reveal up to the reveal deadline; finalize a job still missing reveals only after it", async () => {
    const { p, jobId, a, b, c } = await awardOneTaskJob(connection, PRICE);
    for (const member of [a, b, c]) await commitAll(connection, p, jobId, member);
    await revealAll(connection, p, jobId, a);
    const job = await p.market.getJob(jobId);
    const group = await p.market.getGroup(jobId, 0);
    const facts = {
      ...timingOf(job),
      replication: Number(job.replication),
      groups: [{ commitCount: Number(group.commitCount), revealCount: Number(group.revealCount) }],
    };
    for (const time of [job.revealDeadline, job.revealDeadline + 1n]) {
      const phase = phaseOf(job, time);
      expect(phase).to.equal(time === job.revealDeadline ? "Revealing" : "RevealClosed");
      expect(await passesAt(time, () => revealAll(connection, p, jobId, b))).to.equal(
        phase === "Revealing",
      );
      expect(await passesAt(time, () => p.market.finalize(jobId))).to.equal(
        isFinalizableAt(facts, time),
      );
      expect(isFinalizableAt(facts, time)).to.equal(phase === "RevealClosed");
    }
  });

  it("finalize before the deadlines once every member revealed, as isFinalizable says", async () => {
    const { p, jobId, a, b, c } = await awardOneTaskJob(connection, PRICE);
    for (const member of [a, b, c]) await commitAll(connection, p, jobId, member);
    for (const member of [a, b, c]) await revealAll(connection, p, jobId, member);
    const job = await p.market.getJob(jobId);
    const facts = {
      ...timingOf(job),
      replication: 3,
      groups: [{ commitCount: 3, revealCount: 3 }],
    };
    const now = BigInt((await connection.ethers.provider.getBlock("latest"))?.timestamp ?? 0);
    expect(isFinalizableAt(facts, now)).to.equal(await p.market.isFinalizable(jobId));
    expect(isFinalizableAt(facts, now)).to.equal(true);
    expect(phaseOf(job, now)).to.equal("Committing");
  });
});

describe("sdk/protocol#states", () => {
  it("names every enum value in IJobMarket's order", () => {
    expect(JOB_STATUS_NAMES).to.deep.equal([
      "None",
      "Open",
      "Cancelled",
      "Unfilled",
      "Awarded",
      "Finalized",
    ]);
    expect(GROUP_OUTCOME_NAMES).to.deep.equal(["Pending", "Agreed", "NoQuorum"]);
    expect(SLASH_REASON_NAMES).to.deep.equal(["None", "WrongResult", "NoCommit", "NoReveal"]);
    expect(jobStatusName(4n)).to.equal("Awarded");
    expect(groupOutcomeName(2n)).to.equal("NoQuorum");
    expect(slashReasonName(1)).to.equal("WrongResult");
    expect(TERMINAL_STATUSES).to.deep.equal(["Cancelled", "Unfilled", "Finalized"]);
    expect(isTerminalStatus("Awarded")).to.equal(false);
  });
});

describe("sdk/protocol#limits", () => {
  it("match JobMarket's constants and the deployed defaults", async () => {
    const p = await deployProtocol(connection);
    const m = p.market;
    expect(PROTOCOL_LIMITS.maxTaskCount).to.equal(Number(await m.MAX_TASK_COUNT()));
    expect(PROTOCOL_LIMITS.maxReplication).to.equal(Number(await m.MAX_REPLICATION()));
    expect(PROTOCOL_LIMITS.maxBidsPerJob).to.equal(Number(await m.MAX_BIDS_PER_JOB()));
    expect(PROTOCOL_LIMITS.maxBiddingWindow).to.equal(Number(await m.MAX_BIDDING_WINDOW()));
    expect(PROTOCOL_LIMITS.maxExecutionWindow).to.equal(Number(await m.MAX_EXECUTION_WINDOW()));
    expect(PROTOCOL_LIMITS.maxRevealWindow).to.equal(Number(await m.MAX_REVEAL_WINDOW()));
    expect(PROTOCOL_LIMITS.maxFeeBps).to.equal(Number(await m.MAX_FEE_BPS()));
    // devnet's deployer uses the protocol's defaults.
    expect(await p.token.totalSupply()).to.equal(DEPLOY_DEFAULTS.supply);
    expect(await p.registry.unstakeCooldown()).to.equal(DEPLOY_DEFAULTS.unstakeCooldown);
    expect(await m.protocolFeeBps()).to.equal(DEPLOY_DEFAULTS.feeBps);
  });

  it("minBidCapacity is JobMarket's, and a full book of minimum bids always covers the job", async () => {
    const p = await deployProtocol(connection);
    const shapes = [
      [1, 1],
      [1, 3],
      [10, 3],
      [21, 3],
      [64, 1],
      [65, 1],
      [100, 5],
      [1000, 8],
      [PROTOCOL_LIMITS.maxTaskCount, PROTOCOL_LIMITS.maxReplication],
    ] as const;
    for (const [taskCount, replication] of shapes) {
      const jobId = await postJob(p, {
        taskCount,
        replication,
        quorum: Math.floor(replication / 2) + 1,
        // 1 wei, so the largest job's escrow fits the requester's balance.
        maxPrice: 1n,
        stakePerTaskReplica: 1n,
      });
      const least = minBidCapacity(taskCount, replication);
      expect(
        Number(await p.market.minBidCapacity(jobId)),
        `${taskCount} x ${replication}`,
      ).to.equal(least);
      expect(least * PROTOCOL_LIMITS.maxBidsPerJob).to.be.at.least(taskCount * replication);
      expect(least).to.be.within(1, taskCount);
    }
  });
});
