import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import {
  at,
  Credit,
  closeBiddingAfterDeadline,
  contractsNetwork,
  DEFAULT_PROVIDER_STAKE,
  DEFAULT_STAKE_PER_TASK_REPLICA,
  deployWithProviders,
  equalBids,
  groupsOf,
  jobSpec,
  minedAt,
  ONE,
  openJobWithBids,
  type Protocol,
  passTime,
  placeBids,
  postJob,
  Status,
  take,
} from "./support/index.ts";

const { connection, networkHelpers, loadFixture } = await contractsNetwork();

const STAKE = DEFAULT_STAKE_PER_TASK_REPLICA;
const FULL_STAKE = DEFAULT_PROVIDER_STAKE;
const tenth = (n: bigint) => (n * ONE) / 10n;

/** A 1 task x 3 job with four bids of different prices, capacity 1 each. */
async function fourPricedBidsFixture() {
  const { p, providers, jobId } = await openJobWithBids(connection, {
    bids: [5n, 4n, 6n, 3n].map((n) => ({ price: tenth(n), capacity: 1 })),
  });
  const [a, b, c, d] = take(providers, 4);
  return { p, jobId, a, b, c, d };
}

/** A 1 task x 3 job with four bids at the same price. */
async function fourEqualBidsFixture() {
  const { p, providers, jobId } = await openJobWithBids(connection, {
    bids: equalBids(4, tenth(5n)),
  });
  const [a, b, c, d] = take(providers, 4);
  return { p, jobId, a, b, c, d };
}

/** A 3 task x 2 job: cheapest capacities 3 + 2, so the third-cheapest bid gets 1 of its 3. */
async function marginalWinnerFixture() {
  const { p, providers } = await deployWithProviders(connection, 4);
  const [a, b, c, d] = take(providers, 4);
  const jobId = await postJob(p, { taskCount: 3, replication: 2, quorum: 2 });
  await placeBids(p, jobId, [
    { provider: c, price: tenth(3n), capacity: 3 },
    { provider: a, price: tenth(1n), capacity: 3 },
    { provider: d, price: tenth(4n), capacity: 3 },
    { provider: b, price: tenth(2n), capacity: 2 },
  ]);
  return { p, jobId, a, b, c, d };
}

/** A 2 task x 3 job whose three bids offer 5 of the 6 task-replicas needed. */
async function capacityShortFixture() {
  const { p, providers, jobId } = await openJobWithBids(connection, {
    spec: { taskCount: 2 },
    bids: [2, 2, 1].map((capacity) => ({ price: tenth(5n), capacity })),
  });
  return { p, jobId, bidders: providers, capacities: [2n, 2n, 1n] };
}

/** A 5 task x 3 job with two providers bidding their full capacity: k - 1 providers. */
async function tooFewProvidersFixture() {
  const { p, providers, jobId } = await openJobWithBids(connection, {
    spec: { taskCount: 5 },
    bids: equalBids(2, tenth(1n), 5),
  });
  return { p, jobId, bidders: providers };
}

/** A posted job nobody bid on. */
async function noBidsFixture() {
  return openJobWithBids(connection, {});
}

interface LayoutCase {
  name: string;
  taskCount: number;
  replication: number;
  quorum: number;
  bids: { price: bigint; capacity: number }[];
}

const LAYOUT_CASES: LayoutCase[] = [
  {
    name: "1 task x 3 replicas among 3 providers",
    taskCount: 1,
    replication: 3,
    quorum: 2,
    bids: [1, 1, 1].map((capacity) => ({ price: tenth(5n), capacity })),
  },
  {
    name: "10 tasks x 3 replicas among 4 providers of capacities 10, 8, 7 and 5",
    taskCount: 10,
    replication: 3,
    quorum: 2,
    bids: [10, 8, 7, 5].map((capacity, i) => ({ price: tenth(BigInt(i + 1)), capacity })),
  },
  {
    name: "7 tasks x 2 replicas with capacities 4, 5, 3 and 6 that do not divide 7",
    taskCount: 7,
    replication: 2,
    quorum: 2,
    bids: [4, 5, 3, 6].map((capacity) => ({ price: tenth(5n), capacity })),
  },
  {
    name: "5 tasks x 4 replicas among 6 providers of mixed prices and capacities",
    taskCount: 5,
    replication: 4,
    quorum: 3,
    bids: [
      { price: tenth(3n), capacity: 5 },
      { price: tenth(1n), capacity: 2 },
      { price: tenth(2n), capacity: 3 },
      { price: tenth(9n), capacity: 4 },
      { price: tenth(1n), capacity: 5 },
      { price: tenth(4n), capacity: 3 },
    ],
  },
  {
    name: "4 tasks x 1 replica among 3 providers (one lane, groups are segments)",
    taskCount: 4,
    replication: 1,
    quorum: 1,
    bids: [3, 2, 4].map((capacity) => ({ price: tenth(5n), capacity })),
  },
  {
    name: "3 tasks x 5 replicas among 8 providers of capacities 1 to 3",
    taskCount: 3,
    replication: 5,
    quorum: 3,
    bids: [2, 3, 1, 2, 3, 1, 2, 3].map((capacity, i) => ({
      price: tenth(BigInt(1 + (i % 3))),
      capacity,
    })),
  },
];

// One named fixture per layout case, so that loadFixture snapshots each one separately.
const layoutFixtures = LAYOUT_CASES.map((layout) => {
  const fixture = async function layoutCaseFixture() {
    const { taskCount, replication, quorum, bids } = layout;
    const { p, jobId } = await openJobWithBids(connection, {
      providerCount: bids.length,
      spec: { taskCount, replication, quorum },
      bids,
    });
    return { p, jobId };
  };
  Object.defineProperty(fixture, "name", {
    value: `layout${layout.taskCount}x${layout.replication}Fixture`,
  });
  return fixture;
});

/** Checks every layout property the assignment model promises for an awarded job. */
async function expectValidLayout(p: Protocol, jobId: bigint): Promise<void> {
  const job = await p.market.getJob(jobId);
  const k = Number(job.replication);
  const groups = await groupsOf(p, jobId);

  // Groups are contiguous, non-empty and cover [0, taskCount) exactly.
  let nextTask = 0n;
  for (const group of groups) {
    expect(group.taskStart).to.equal(nextTask);
    expect(group.taskCount > 0n).to.equal(true);
    nextTask += group.taskCount;
  }
  expect(nextTask).to.equal(job.taskCount);

  // Every task of every group has exactly k distinct members (so nobody holds two replicas).
  for (const group of groups) {
    expect(group.members).to.have.length(k);
    expect(new Set(group.members).size).to.equal(k);
  }

  let totalAllotted = 0n;
  for (const provider of await p.market.biddersOf(jobId)) {
    const bid = await p.market.getBid(jobId, provider);
    const assignments = await p.market.assignmentsOf(jobId, provider);
    totalAllotted += bid.allotted;
    expect(assignments).to.have.length(Number(bid.allotted === 0n ? 0n : bid.groupCount));

    // Each provider's memberships add up to what it was allotted...
    expect(assignments.reduce((sum, a) => sum + a.taskCount, 0n)).to.equal(bid.allotted);
    // ...match the groups' member lists, once per group...
    const memberOf = groups.filter((g) => g.members.includes(provider)).map((g) => g.groupId);
    expect(assignments.map((a) => a.groupId).sort()).to.deep.equal(memberOf.sort());
    for (const a of assignments) {
      const group = at(groups, Number(a.groupId));
      expect(at(group.members, Number(a.lane))).to.equal(provider);
      expect([a.taskStart, a.taskCount]).to.deep.equal([group.taskStart, group.taskCount]);
    }
    // ...never cover one task twice...
    const tasks = assignments.flatMap((a) =>
      Array.from({ length: Number(a.taskCount) }, (_, i) => a.taskStart + BigInt(i)),
    );
    expect(new Set(tasks).size).to.equal(tasks.length);
    // ...and form one contiguous segment of lanes laid end to end.
    const offsetOf = (a: { lane: bigint; taskStart: bigint }) =>
      a.lane * job.taskCount + a.taskStart;
    const inSegmentOrder = [...assignments].sort((x, y) =>
      offsetOf(x) < offsetOf(y) ? -1 : offsetOf(x) > offsetOf(y) ? 1 : 0,
    );
    let expected = bid.segmentStart;
    for (const a of inSegmentOrder) {
      expect(offsetOf(a)).to.equal(expected);
      expected += a.taskCount;
    }
    if (bid.allotted > 0n) expect(expected).to.equal(bid.segmentStart + bid.allotted);
  }
  expect(totalAllotted).to.equal(job.taskCount * job.replication);
}

describe("JobMarket#closeBidding", () => {
  describe("timing and access", () => {
    it("rejects closing before the bidding deadline", async () => {
      const { p, jobId } = await loadFixture(fourPricedBidsFixture);
      const { biddingDeadline } = await p.market.getJob(jobId);
      await expect(p.market.closeBidding(jobId))
        .to.be.revertedWithCustomError(p.market, "JobMarketDeadlineNotReached")
        .withArgs(jobId, biddingDeadline);
    });

    it("rejects closing in the block whose timestamp is the bidding deadline itself", async () => {
      const { p, jobId } = await loadFixture(fourPricedBidsFixture);
      const { biddingDeadline } = await p.market.getJob(jobId);
      await networkHelpers.time.setNextBlockTimestamp(biddingDeadline);
      await expect(p.market.closeBidding(jobId))
        .to.be.revertedWithCustomError(p.market, "JobMarketDeadlineNotReached")
        .withArgs(jobId, biddingDeadline);
    });

    it("lets anyone, not only the requester or a bidder, close bidding after the deadline", async () => {
      const { p, jobId } = await loadFixture(fourPricedBidsFixture);
      await passTime(connection, (await p.market.getJob(jobId)).biddingDeadline);
      const stranger = at(p.others, 0);
      await expect(p.market.connect(stranger).closeBidding(jobId)).to.emit(p.market, "JobAwarded");
      expect((await p.market.getJob(jobId)).status).to.equal(Status.Awarded);
    });

    it("rejects an unknown job id", async () => {
      const { p } = await loadFixture(fourPricedBidsFixture);
      await expect(p.market.closeBidding(99n))
        .to.be.revertedWithCustomError(p.market, "JobMarketUnknownJob")
        .withArgs(99n);
    });
  });

  describe("choosing winners", () => {
    it("awards the cheapest bids and releases the whole stake of the losing bid", async () => {
      const { p, jobId, a, b, c, d } = await loadFixture(fourPricedBidsFixture);
      const tx = await closeBiddingAfterDeadline(connection, p, jobId);
      for (const winner of [a, b, d]) {
        await expect(tx)
          .to.emit(p.market, "BidAccepted")
          .withArgs(jobId, winner.address, 1n, anyValue, 0n);
        expect((await p.market.getBid(jobId, winner.address)).allotted).to.equal(1n);
        expect(await p.registry.freeStakeOf(winner.address)).to.equal(FULL_STAKE - STAKE);
      }
      await expect(tx).to.emit(p.registry, "StakeUnlocked").withArgs(c.address, jobId, STAKE, 0n);
      await expect(tx).to.emit(p.market, "BidReleased").withArgs(jobId, c.address, STAKE);
      expect((await p.market.getBid(jobId, c.address)).allotted).to.equal(0n);
      expect(await p.registry.freeStakeOf(c.address)).to.equal(FULL_STAKE);
      expect(await p.market.assignmentsOf(jobId, c.address)).to.have.length(0);

      const accepted = await p.market.queryFilter(p.market.filters.BidAccepted(jobId));
      expect(accepted.map((e) => e.args.provider).sort()).to.deep.equal(
        [a.address, b.address, d.address].sort(),
      );
      // The three segments of one task each start at lane 0, 1 and 2 in some shuffled order.
      expect(accepted.map((e) => e.args.segmentStart).sort()).to.deep.equal([0n, 1n, 2n]);
    });

    it("gives equal prices to the earlier bid", async () => {
      const { p, jobId, a, b, c, d } = await loadFixture(fourEqualBidsFixture);
      const tx = await closeBiddingAfterDeadline(connection, p, jobId);
      for (const winner of [a, b, c]) {
        expect((await p.market.getBid(jobId, winner.address)).allotted).to.equal(1n);
      }
      expect((await p.market.getBid(jobId, d.address)).allotted).to.equal(0n);
      await expect(tx).to.emit(p.registry, "StakeUnlocked").withArgs(d.address, jobId, STAKE, 0n);
    });

    it("allots the marginal winner only what is still needed and releases the rest of its stake", async () => {
      const { p, jobId, a, b, c, d } = await loadFixture(marginalWinnerFixture);
      const tx = await closeBiddingAfterDeadline(connection, p, jobId);
      // 6 task-replicas needed: a (0.1) takes 3, b (0.2) takes 2, c (0.3) gets 1 of its 3.
      await expect(tx)
        .to.emit(p.market, "BidAccepted")
        .withArgs(jobId, a.address, 3n, anyValue, 0n);
      await expect(tx)
        .to.emit(p.market, "BidAccepted")
        .withArgs(jobId, b.address, 2n, anyValue, 0n);
      await expect(tx)
        .to.emit(p.market, "BidAccepted")
        .withArgs(jobId, c.address, 1n, anyValue, 2n * STAKE);
      await expect(tx)
        .to.emit(p.registry, "StakeUnlocked")
        .withArgs(c.address, jobId, 2n * STAKE, STAKE);
      await expect(tx)
        .to.emit(p.registry, "StakeUnlocked")
        .withArgs(d.address, jobId, 3n * STAKE, 0n);
      await expect(tx)
        .to.emit(p.market, "BidReleased")
        .withArgs(jobId, d.address, 3n * STAKE);
      const released = await p.market.queryFilter(p.market.filters.BidReleased(jobId));
      expect(released.map((e) => e.args.provider)).to.deep.equal([d.address]);
      expect((await p.market.getBid(jobId, c.address)).allotted).to.equal(1n);
      expect((await p.registry.getProvider(c.address)).locked).to.equal(STAKE);
      expect((await p.registry.getProvider(a.address)).locked).to.equal(3n * STAKE);
      expect((await p.registry.getProvider(d.address)).locked).to.equal(0n);
    });

    it("credits the unused escrow to the requester and keeps only the winners' cost", async () => {
      const { p, jobId } = await loadFixture(marginalWinnerFixture);
      const escrow = 3n * 2n * ONE;
      const cost = 3n * tenth(1n) + 2n * tenth(2n) + 1n * tenth(3n);
      const marketBalance = await p.token.balanceOf(p.market);
      const tx = await closeBiddingAfterDeadline(connection, p, jobId);
      const job = await p.market.getJob(jobId);
      await expect(tx)
        .to.emit(p.market, "JobAwarded")
        .withArgs(
          jobId,
          job.commitDeadline,
          job.revealDeadline,
          job.groupCount,
          cost,
          escrow - cost,
        );
      await expect(tx)
        .to.emit(p.market, "BalanceCredited")
        .withArgs(p.requester.address, jobId, escrow - cost, Credit.Refund);
      expect(job.escrow).to.equal(cost);
      expect(await p.market.claimableBalance(p.requester.address)).to.equal(escrow - cost);
      // Credits are pull payments: no token moves at the award.
      expect(await p.token.balanceOf(p.market)).to.equal(marketBalance);
    });

    it("sets the commit and reveal deadlines from the award time", async () => {
      const { p, jobId } = await loadFixture(fourPricedBidsFixture);
      const tx = await closeBiddingAfterDeadline(connection, p, jobId);
      const awardedAt = await minedAt(connection, tx);
      const spec = jobSpec();
      const job = await p.market.getJob(jobId);
      expect(job.status).to.equal(Status.Awarded);
      expect(job.commitDeadline).to.equal(awardedAt + BigInt(spec.executionWindow));
      expect(job.revealDeadline).to.equal(job.commitDeadline + BigInt(spec.revealWindow));
      expect(job.groupCount).to.equal(1n);
    });

    it("ignores a bid that was withdrawn before the deadline", async () => {
      const { p, jobId, a, b, c, d } = await loadFixture(fourPricedBidsFixture);
      await p.market.connect(d).withdrawBid(jobId); // the cheapest bid leaves
      await closeBiddingAfterDeadline(connection, p, jobId);
      for (const winner of [a, b, c]) {
        expect((await p.market.getBid(jobId, winner.address)).allotted).to.equal(1n);
      }
      expect((await p.market.getBid(jobId, d.address)).allotted).to.equal(0n);
      expect(await p.registry.freeStakeOf(d.address)).to.equal(FULL_STAKE);
    });
  });

  describe("replica groups", () => {
    it("emits one GroupFormed per group, with the stored range and members in lane order", async () => {
      const { p, jobId } = await loadFixture(at(layoutFixtures, 1));
      const tx = await closeBiddingAfterDeadline(connection, p, jobId);
      const groups = await groupsOf(p, jobId);
      expect(groups.length).to.be.greaterThan(1);
      for (const group of groups) {
        await expect(tx)
          .to.emit(p.market, "GroupFormed")
          .withArgs(jobId, group.groupId, group.taskStart, group.taskCount, group.members);
      }
      const formed = await p.market.queryFilter(p.market.filters.GroupFormed(jobId));
      expect(formed).to.have.length(groups.length);
    });

    for (const [i, layout] of LAYOUT_CASES.entries()) {
      it(`lays out ${layout.name} into valid groups for every random seed`, async () => {
        for (const seed of [1n, 2n, 3n, 0xc0ffeen, 2n ** 255n + 7n]) {
          const { p, jobId } = await loadFixture(at(layoutFixtures, i));
          await networkHelpers.setPrevRandao(seed);
          await closeBiddingAfterDeadline(connection, p, jobId);
          await expectValidLayout(p, jobId);
        }
      });
    }

    it("shuffles the winners' lane positions with block.prevrandao", async () => {
      const orders = new Set<string>();
      for (const seed of [1n, 2n, 3n, 4n, 5n, 6n]) {
        const { p, jobId } = await loadFixture(at(layoutFixtures, 1));
        await networkHelpers.setPrevRandao(seed);
        await closeBiddingAfterDeadline(connection, p, jobId);
        const bidders = await p.market.biddersOf(jobId);
        const starts = await Promise.all(
          bidders.map(async (b) => (await p.market.getBid(jobId, b)).segmentStart),
        );
        orders.add(starts.join(","));
      }
      expect(orders.size).to.be.greaterThan(1);
    });
  });

  describe("unfilled jobs", () => {
    it("marks a job whose bids fall short as unfilled, refunds the escrow and releases every stake", async () => {
      const { p, jobId, bidders, capacities } = await loadFixture(capacityShortFixture);
      const escrow = 2n * 3n * ONE;
      const marketBalance = await p.token.balanceOf(p.market);
      const tx = await closeBiddingAfterDeadline(connection, p, jobId);
      await expect(tx).to.emit(p.market, "JobUnfilled").withArgs(jobId, escrow);
      await expect(tx)
        .to.emit(p.market, "BalanceCredited")
        .withArgs(p.requester.address, jobId, escrow, Credit.Refund);
      await expect(tx).not.to.emit(p.market, "JobAwarded");
      await expect(tx).not.to.emit(p.market, "GroupFormed");
      for (const [i, provider] of bidders.entries()) {
        await expect(tx)
          .to.emit(p.registry, "StakeUnlocked")
          .withArgs(provider.address, jobId, at(capacities, i) * STAKE, 0n);
        await expect(tx)
          .to.emit(p.market, "BidReleased")
          .withArgs(jobId, provider.address, at(capacities, i) * STAKE);
        expect(await p.registry.freeStakeOf(provider.address)).to.equal(FULL_STAKE);
        expect((await p.market.getBid(jobId, provider.address)).allotted).to.equal(0n);
      }
      const job = await p.market.getJob(jobId);
      expect(job.status).to.equal(Status.Unfilled);
      expect(job.escrow).to.equal(0n);
      expect(job.groupCount).to.equal(0n);
      expect(await p.market.claimableBalance(p.requester.address)).to.equal(escrow);
      expect(await p.token.balanceOf(p.market)).to.equal(marketBalance);
    });

    it("never fills a job with fewer than k providers, however much capacity they offer", async () => {
      const { p, jobId, bidders } = await loadFixture(tooFewProvidersFixture);
      const tx = await closeBiddingAfterDeadline(connection, p, jobId);
      await expect(tx)
        .to.emit(p.market, "JobUnfilled")
        .withArgs(jobId, 5n * 3n * ONE);
      for (const provider of bidders) {
        await expect(tx)
          .to.emit(p.registry, "StakeUnlocked")
          .withArgs(provider.address, jobId, 5n * STAKE, 0n);
      }
      // A bid above taskCount, the only way two providers could cover 15 task-replicas, is refused.
      const jobId2 = await postJob(p, { taskCount: 5 });
      await expect(p.market.connect(at(bidders, 0)).placeBid(jobId2, tenth(1n), 8))
        .to.be.revertedWithCustomError(p.market, "JobMarketInvalidCapacity")
        .withArgs(jobId2, 8n, 1n, 5n);
    });

    it("marks a job without any bid as unfilled and refunds the requester in full", async () => {
      const { p, jobId } = await loadFixture(noBidsFixture);
      await expect(closeBiddingAfterDeadline(connection, p, jobId))
        .to.emit(p.market, "JobUnfilled")
        .withArgs(jobId, 3n * ONE);
      expect(await p.market.claimableBalance(p.requester.address)).to.equal(3n * ONE);
    });
  });

  describe("status", () => {
    const closedOnce: {
      what: string;
      fixture: () => Promise<{ p: Protocol; jobId: bigint }>;
      status: bigint;
    }[] = [
      { what: "an awarded", fixture: fourPricedBidsFixture, status: Status.Awarded },
      { what: "an unfilled", fixture: capacityShortFixture, status: Status.Unfilled },
    ];
    for (const { what, fixture, status } of closedOnce) {
      it(`rejects closing ${what} job a second time`, async () => {
        const { p, jobId } = await loadFixture(fixture);
        await closeBiddingAfterDeadline(connection, p, jobId);
        await expect(p.market.closeBidding(jobId))
          .to.be.revertedWithCustomError(p.market, "JobMarketWrongStatus")
          .withArgs(jobId, status, Status.Open);
      });
    }

    it("rejects closing a cancelled job", async () => {
      const { p, jobId } = await loadFixture(fourPricedBidsFixture);
      await p.market.connect(p.requester).cancelJob(jobId);
      await passTime(connection, (await p.market.getJob(jobId)).biddingDeadline);
      await expect(p.market.closeBidding(jobId))
        .to.be.revertedWithCustomError(p.market, "JobMarketWrongStatus")
        .withArgs(jobId, Status.Cancelled, Status.Open);
    });
  });
});
