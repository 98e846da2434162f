import { expect } from "chai";
import {
  Credit,
  closeBiddingAfterDeadline,
  contractsNetwork,
  ONE,
  openJobWithBids,
  passTime,
  placeBids,
  postJob,
  SMALL_PROVIDER_STAKE,
  STAKE_PER_TASK_REPLICA,
  Status,
  take,
} from "./support/index.ts";

const { connection, ethers, networkHelpers, time } = await contractsNetwork();

const STAKE = SMALL_PROVIDER_STAKE;
// Two tasks, three replicas, at most 3 CONUN each: 18 CONUN of escrow.
const SPEC = { taskCount: 2, replication: 3, quorum: 2, maxPrice: 3n * ONE };
const ESCROW = 18n * ONE;

/** An open job with two standing bids: alice offers 2 task-replicas, bob 1. */
async function openJobWithBidsFixture() {
  const { p, providers, jobId } = await openJobWithBids(connection, {
    providers: 4,
    stake: STAKE,
    spec: { ...SPEC, stakePerTaskReplica: STAKE_PER_TASK_REPLICA },
    bids: [
      { price: 2n * ONE, capacity: 2 },
      { price: 3n * ONE, capacity: 1 },
    ],
  });
  const [alice, bob, carol, dave] = take(providers, 4);
  return { ...p, alice, bob, carol, dave, jobId };
}

describe("JobMarket#cancelJob", () => {
  it("credits the whole escrow back to the requester and emits JobCancelled", async () => {
    const { token, market, requester, jobId } =
      await networkHelpers.loadFixture(openJobWithBidsFixture);

    const tx = await market.connect(requester).cancelJob(jobId);
    await expect(tx).to.emit(market, "JobCancelled").withArgs(jobId, ESCROW);
    await expect(tx)
      .to.emit(market, "BalanceCredited")
      .withArgs(requester.address, jobId, ESCROW, Credit.Refund);
    // Pull payments: nothing moves until the requester withdraws.
    await expect(tx).to.changeTokenBalances(ethers, token, [requester, market], [0n, 0n]);

    const job = await market.getJob(jobId);
    expect(job.status).to.equal(Status.Cancelled);
    expect(job.escrow).to.equal(0n);
    expect(await market.claimableBalance(requester.address)).to.equal(ESCROW);
  });

  it("lets the requester withdraw the refund afterwards", async () => {
    const { token, market, requester, jobId } =
      await networkHelpers.loadFixture(openJobWithBidsFixture);
    await market.connect(requester).cancelJob(jobId);

    const tx = await market.connect(requester).withdraw();
    await expect(tx).to.emit(market, "Withdrawn").withArgs(requester.address, ESCROW);
    await expect(tx).to.changeTokenBalances(ethers, token, [requester, market], [ESCROW, -ESCROW]);
    expect(await market.claimableBalance(requester.address)).to.equal(0n);
  });

  it("unlocks every standing bid's stake in the registry", async () => {
    const { registry, market, requester, alice, bob, jobId } =
      await networkHelpers.loadFixture(openJobWithBidsFixture);
    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE - 2n * STAKE_PER_TASK_REPLICA);
    expect(await registry.freeStakeOf(bob.address)).to.equal(STAKE - STAKE_PER_TASK_REPLICA);

    const tx = await market.connect(requester).cancelJob(jobId);
    await expect(tx)
      .to.emit(registry, "StakeUnlocked")
      .withArgs(alice.address, jobId, 2n * STAKE_PER_TASK_REPLICA, 0n);
    await expect(tx)
      .to.emit(registry, "StakeUnlocked")
      .withArgs(bob.address, jobId, STAKE_PER_TASK_REPLICA, 0n);
    await expect(tx)
      .to.emit(market, "BidReleased")
      .withArgs(jobId, alice.address, 2n * STAKE_PER_TASK_REPLICA);
    await expect(tx)
      .to.emit(market, "BidReleased")
      .withArgs(jobId, bob.address, STAKE_PER_TASK_REPLICA);

    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE);
    expect(await registry.freeStakeOf(bob.address)).to.equal(STAKE);
    expect((await registry.getProvider(alice.address)).locked).to.equal(0n);
  });

  it("does not unlock a withdrawn bid's stake a second time", async () => {
    const p = await networkHelpers.loadFixture(openJobWithBidsFixture);
    const { registry, market, requester, alice, bob, jobId } = p;
    // Bob also backs a bid on another job; that lock must survive the cancellation.
    const otherJob = await postJob(p, { ...SPEC, stakePerTaskReplica: STAKE_PER_TASK_REPLICA });
    await market.connect(bob).placeBid(otherJob, ONE, 2);
    await market.connect(bob).withdrawBid(jobId);
    expect(await registry.freeStakeOf(bob.address)).to.equal(STAKE - 2n * STAKE_PER_TASK_REPLICA);

    const tx = await market.connect(requester).cancelJob(jobId);
    await expect(tx).to.emit(market, "JobCancelled").withArgs(jobId, ESCROW);
    const receipt = await tx.wait();
    const unlockedFor = (receipt?.logs ?? [])
      .map((log) => registry.interface.parseLog(log))
      .filter((event) => event?.name === "StakeUnlocked")
      .map((event) => event?.args.provider);
    expect(unlockedFor).to.deep.equal([alice.address]);

    expect(await registry.freeStakeOf(bob.address)).to.equal(STAKE - 2n * STAKE_PER_TASK_REPLICA);
    expect((await registry.getProvider(bob.address)).locked).to.equal(2n * STAKE_PER_TASK_REPLICA);
  });

  it("rejects anyone but the requester", async () => {
    const { market, owner, alice, jobId } =
      await networkHelpers.loadFixture(openJobWithBidsFixture);

    for (const caller of [owner, alice]) {
      await expect(market.connect(caller).cancelJob(jobId))
        .to.be.revertedWithCustomError(market, "JobMarketNotRequester")
        .withArgs(jobId, caller.address);
    }
    expect((await market.getJob(jobId)).status).to.equal(Status.Open);
  });

  it("accepts a cancellation at the bidding deadline itself", async () => {
    const { market, requester, jobId } = await networkHelpers.loadFixture(openJobWithBidsFixture);
    const { biddingDeadline } = await market.getJob(jobId);
    await time.setNextBlockTimestamp(biddingDeadline);

    await expect(market.connect(requester).cancelJob(jobId))
      .to.emit(market, "JobCancelled")
      .withArgs(jobId, ESCROW);
    expect((await market.getJob(jobId)).status).to.equal(Status.Cancelled);
  });

  it("rejects a cancellation after the bidding deadline, even before bidding is closed", async () => {
    const { market, requester, jobId } = await networkHelpers.loadFixture(openJobWithBidsFixture);
    const { biddingDeadline } = await market.getJob(jobId);
    await passTime(connection, biddingDeadline);

    await expect(market.connect(requester).cancelJob(jobId))
      .to.be.revertedWithCustomError(market, "JobMarketDeadlinePassed")
      .withArgs(jobId, biddingDeadline);
    const job = await market.getJob(jobId);
    expect([job.status, job.escrow]).to.deep.equal([Status.Open, ESCROW]);
  });

  it("rejects an awarded job", async () => {
    const p = await networkHelpers.loadFixture(openJobWithBidsFixture);
    const { market, requester, carol, dave, jobId } = p;
    await placeBids(p, jobId, [
      { provider: carol, price: 3n * ONE, capacity: 2 },
      { provider: dave, price: 3n * ONE, capacity: 1 },
    ]);
    await closeBiddingAfterDeadline(connection, p, jobId);

    await expect(market.connect(requester).cancelJob(jobId))
      .to.be.revertedWithCustomError(market, "JobMarketWrongStatus")
      .withArgs(jobId, Status.Awarded, Status.Open);
    expect((await market.getJob(jobId)).status).to.equal(Status.Awarded);
  });

  it("rejects a job that went unfilled", async () => {
    const p = await networkHelpers.loadFixture(openJobWithBidsFixture);
    const { market, requester, jobId } = p;
    await closeBiddingAfterDeadline(connection, p, jobId);
    const refunded = await market.claimableBalance(requester.address);

    await expect(market.connect(requester).cancelJob(jobId))
      .to.be.revertedWithCustomError(market, "JobMarketWrongStatus")
      .withArgs(jobId, Status.Unfilled, Status.Open);
    expect(await market.claimableBalance(requester.address)).to.equal(refunded);
  });

  it("cannot cancel the same job twice", async () => {
    const { market, requester, jobId } = await networkHelpers.loadFixture(openJobWithBidsFixture);
    await market.connect(requester).cancelJob(jobId);

    await expect(market.connect(requester).cancelJob(jobId))
      .to.be.revertedWithCustomError(market, "JobMarketWrongStatus")
      .withArgs(jobId, Status.Cancelled, Status.Open);
    expect(await market.claimableBalance(requester.address)).to.equal(ESCROW);
  });

  it("rejects an unknown job", async () => {
    const { market, requester } = await networkHelpers.loadFixture(openJobWithBidsFixture);

    await expect(market.connect(requester).cancelJob(99))
      .to.be.revertedWithCustomError(market, "JobMarketUnknownJob")
      .withArgs(99);
  });

  it("leaves bidders nothing to claim: claim rejects a cancelled job (their stake is already free)", async () => {
    const { registry, market, requester, alice, jobId } =
      await networkHelpers.loadFixture(openJobWithBidsFixture);
    await market.connect(requester).cancelJob(jobId);

    // IJobMarket's NatSpec says bidders "can claim their stake"; in fact cancelJob already
    // released it and claim only accepts finalized jobs.
    await expect(market.connect(alice).claim(jobId))
      .to.be.revertedWithCustomError(market, "JobMarketWrongStatus")
      .withArgs(jobId, Status.Cancelled, Status.Finalized);
    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE);
  });
});
