import { anyUint } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import {
  closeBiddingAfterDeadline,
  contractsNetwork,
  groupsOf,
  ONE,
  openJobWithBids,
  passTime,
  SMALL_PROVIDER_STAKE,
  STAKE_PER_TASK_REPLICA,
  Status,
  take,
} from "./support/index.ts";

const { connection, ethers, networkHelpers } = await contractsNetwork();

const STAKE = SMALL_PROVIDER_STAKE;

/** An open job (1 task, 3 replicas, max price 1 CONUN) with bids from alice, bob and carol. */
async function openJobWithBidsFixture() {
  const { p, providers, jobId } = await openJobWithBids(connection, {
    providers: 4,
    stake: STAKE,
    spec: {
      taskCount: 1,
      replication: 3,
      quorum: 2,
      maxPrice: ONE,
      stakePerTaskReplica: STAKE_PER_TASK_REPLICA,
    },
    bids: [ONE, (8n * ONE) / 10n, (9n * ONE) / 10n].map((price) => ({ price, capacity: 1 })),
  });
  const [alice, bob, carol, dave] = take(providers, 4);
  return { ...p, alice, bob, carol, dave, jobId };
}

describe("JobMarket#withdrawBid", () => {
  it("removes the bid, unlocks its stake and emits BidWithdrawn", async () => {
    const { token, registry, market, alice, bob, carol, jobId } =
      await networkHelpers.loadFixture(openJobWithBidsFixture);
    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE - STAKE_PER_TASK_REPLICA);

    const tx = await market.connect(alice).withdrawBid(jobId);
    await expect(tx)
      .to.emit(market, "BidWithdrawn")
      .withArgs(jobId, alice.address, STAKE_PER_TASK_REPLICA);
    await expect(tx)
      .to.emit(registry, "StakeUnlocked")
      .withArgs(alice.address, jobId, STAKE_PER_TASK_REPLICA, 0n);
    await expect(tx).to.changeTokenBalances(ethers, token, [alice, registry, market], [0n, 0n, 0n]);

    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE);
    expect(await market.biddersOf(jobId)).to.deep.equal([bob.address, carol.address]);
    expect((await market.getBid(jobId, alice.address)).capacity).to.equal(0n);
    expect((await market.getJob(jobId)).bidCount).to.equal(2n);
  });

  it("lets the provider bid again, at a new price, with its stake locked once", async () => {
    const { registry, market, alice, bob, carol, jobId } =
      await networkHelpers.loadFixture(openJobWithBidsFixture);
    await market.connect(alice).withdrawBid(jobId);
    const newPrice = ONE / 2n;

    await expect(market.connect(alice).placeBid(jobId, newPrice, 1))
      .to.emit(market, "BidPlaced")
      .withArgs(jobId, alice.address, newPrice, 1, STAKE_PER_TASK_REPLICA);

    expect(await market.biddersOf(jobId)).to.deep.equal([
      bob.address,
      carol.address,
      alice.address,
    ]);
    expect((await market.getBid(jobId, alice.address)).price).to.equal(newPrice);
    expect((await market.getJob(jobId)).bidCount).to.equal(3n);
    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE - STAKE_PER_TASK_REPLICA);
  });

  it("does not count the stale entry of a withdrawn bid again when bidding closes", async () => {
    const p = await networkHelpers.loadFixture(openJobWithBidsFixture);
    const { registry, market, alice, bob, carol, jobId } = p;
    // alice re-bids as the cheapest. Were her stale first entry still counted, she would win
    // two replicas of the only task and carol none.
    await market.connect(alice).withdrawBid(jobId);
    const alicePrice = ONE / 2n;
    await market.connect(alice).placeBid(jobId, alicePrice, 1);
    const cost = alicePrice + (8n * ONE) / 10n + (9n * ONE) / 10n;

    const tx = await closeBiddingAfterDeadline(connection, p, jobId);
    await expect(tx)
      .to.emit(market, "JobAwarded")
      .withArgs(jobId, anyUint, anyUint, 1, cost, 3n * ONE - cost);

    const groups = await groupsOf(p, jobId);
    expect(groups).to.have.length(1);
    expect([...(groups[0]?.members ?? [])].sort()).to.deep.equal(
      [alice.address, bob.address, carol.address].sort(),
    );
    for (const provider of [alice, bob, carol]) {
      const bid = await market.getBid(jobId, provider.address);
      expect([bid.allotted, bid.groupCount]).to.deep.equal([1n, 1n]);
      expect(await registry.freeStakeOf(provider.address)).to.equal(STAKE - STAKE_PER_TASK_REPLICA);
    }
  });

  it("rejects a provider without a standing bid, including a second withdrawal", async () => {
    const { registry, market, alice, dave, jobId } =
      await networkHelpers.loadFixture(openJobWithBidsFixture);
    await market.connect(alice).withdrawBid(jobId);

    for (const provider of [dave, alice]) {
      await expect(market.connect(provider).withdrawBid(jobId))
        .to.be.revertedWithCustomError(market, "JobMarketNoBid")
        .withArgs(jobId, provider.address);
    }
    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE);
  });

  it("rejects a withdrawal after the bidding deadline, even before bidding is closed", async () => {
    const { registry, market, alice, jobId } =
      await networkHelpers.loadFixture(openJobWithBidsFixture);
    const { biddingDeadline } = await market.getJob(jobId);
    await passTime(connection, biddingDeadline);

    await expect(market.connect(alice).withdrawBid(jobId))
      .to.be.revertedWithCustomError(market, "JobMarketDeadlinePassed")
      .withArgs(jobId, biddingDeadline);
    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE - STAKE_PER_TASK_REPLICA);
    expect((await market.getBid(jobId, alice.address)).capacity).to.equal(1n);
  });

  it("rejects a withdrawal once the job is awarded", async () => {
    const p = await networkHelpers.loadFixture(openJobWithBidsFixture);
    await closeBiddingAfterDeadline(connection, p, p.jobId);

    await expect(p.market.connect(p.alice).withdrawBid(p.jobId))
      .to.be.revertedWithCustomError(p.market, "JobMarketWrongStatus")
      .withArgs(p.jobId, Status.Awarded, Status.Open);
    expect((await p.market.getBid(p.jobId, p.alice.address)).allotted).to.equal(1n);
  });

  it("rejects an unknown job", async () => {
    const { market, alice, jobId } = await networkHelpers.loadFixture(openJobWithBidsFixture);

    await expect(market.connect(alice).withdrawBid(jobId + 1n))
      .to.be.revertedWithCustomError(market, "JobMarketUnknownJob")
      .withArgs(jobId + 1n);
  });
});
