import { expect } from "chai";
import type { Result } from "ethers";
import {
  at,
  bookChainOf,
  contractsNetwork,
  fillBidBook,
  ONE,
  openJobWithBids,
  passTime,
  postJob,
  SMALL_PROVIDER_STAKE,
  STAKE_PER_TASK_REPLICA,
  Status,
  take,
} from "./support/index.ts";

const { connection, ethers, networkHelpers, time } = await contractsNetwork();

const STAKE = SMALL_PROVIDER_STAKE;
const MAX_PRICE = 2n * ONE;
const TASK_COUNT = 4;

/** An open job (4 tasks, 3 replicas) and three registered providers with `STAKE` each. */
async function openJobFixture() {
  const { p, providers, jobId } = await openJobWithBids(connection, {
    providers: 3,
    stake: STAKE,
    spec: {
      taskCount: TASK_COUNT,
      replication: 3,
      quorum: 2,
      maxPrice: MAX_PRICE,
      stakePerTaskReplica: STAKE_PER_TASK_REPLICA,
      cpuMillicores: 4000,
      memoryMiB: 8192,
    },
  });
  const [alice, bob, carol] = take(providers, 3);
  return { ...p, alice, bob, carol, jobId };
}

const MAX_BIDS = 64;
/** The full book's job: 10 tasks x 3 replicas, so bids of capacity 1 are allowed and 64 of them could jam it. */
const FULL_TASKS = 10;

/**
 * Attack 6 of protocol v2: a job whose book is filled with MAX_BIDS_PER_JOB capacity-1 bids at
 * the job's max price, each from a fresh, funded, staked identity. `honest` are two registered
 * providers that come after.
 */
async function fullJobFixture() {
  const { p, providers, jobId } = await openJobWithBids(connection, {
    providers: 2,
    stake: STAKE,
    spec: { taskCount: FULL_TASKS, replication: 3, quorum: 2, stakePerTaskReplica: ONE },
  });
  const wallets = await fillBidBook(bookChainOf(connection, p), jobId, { price: ONE, capacity: 1 });
  return { ...p, jobId, wallets, honest: take(providers, 2) };
}

describe("JobMarket#placeBid", () => {
  it("stores the bid, lists the bidder and emits BidPlaced", async () => {
    const { market, alice, jobId } = await networkHelpers.loadFixture(openJobFixture);

    await expect(market.connect(alice).placeBid(jobId, ONE, 3))
      .to.emit(market, "BidPlaced")
      .withArgs(jobId, alice.address, ONE, 3, 3n * STAKE_PER_TASK_REPLICA);

    const bid = await market.getBid(jobId, alice.address);
    expect((bid as unknown as Result).toObject()).to.deep.equal({
      price: ONE,
      capacity: 3n,
      allotted: 0n,
      segmentStart: 0n,
      firstGroup: 0n,
      groupCount: 0n,
      claimed: false,
    });
    expect(await market.biddersOf(jobId)).to.deep.equal([alice.address]);
    expect((await market.getJob(jobId)).bidCount).to.equal(1n);
  });

  it("locks capacity * stakePerTaskReplica of the provider's stake in the registry", async () => {
    const { token, registry, market, alice, jobId } =
      await networkHelpers.loadFixture(openJobFixture);

    const tx = await market.connect(alice).placeBid(jobId, ONE, 3);
    await expect(tx)
      .to.emit(registry, "StakeLocked")
      .withArgs(alice.address, jobId, 3n * STAKE_PER_TASK_REPLICA, 3n * STAKE_PER_TASK_REPLICA);
    // The stake stays in the registry: no token moves.
    await expect(tx).to.changeTokenBalances(ethers, token, [alice, registry, market], [0n, 0n, 0n]);

    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE - 3n * STAKE_PER_TASK_REPLICA);
    expect((await registry.getProvider(alice.address)).locked).to.equal(
      3n * STAKE_PER_TASK_REPLICA,
    );
  });

  it("accepts a bid at exactly the max price for every task", async () => {
    const { registry, market, alice, jobId } = await networkHelpers.loadFixture(openJobFixture);

    await expect(market.connect(alice).placeBid(jobId, MAX_PRICE, TASK_COUNT))
      .to.emit(market, "BidPlaced")
      .withArgs(jobId, alice.address, MAX_PRICE, TASK_COUNT, 4n * STAKE_PER_TASK_REPLICA);
    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE - 4n * STAKE_PER_TASK_REPLICA);
  });

  it("keeps the bidders in bid order", async () => {
    const { market, alice, bob, carol, jobId } = await networkHelpers.loadFixture(openJobFixture);

    await market.connect(carol).placeBid(jobId, ONE, 1);
    await market.connect(alice).placeBid(jobId, ONE, 2);
    await market.connect(bob).placeBid(jobId, ONE, 3);

    expect(await market.biddersOf(jobId)).to.deep.equal([
      carol.address,
      alice.address,
      bob.address,
    ]);
    expect((await market.getJob(jobId)).bidCount).to.equal(3n);
  });

  it("rejects a price above the job's max price", async () => {
    const { registry, market, alice, jobId } = await networkHelpers.loadFixture(openJobFixture);

    await expect(market.connect(alice).placeBid(jobId, MAX_PRICE + 1n, 1))
      .to.be.revertedWithCustomError(market, "JobMarketBidTooHigh")
      .withArgs(jobId, MAX_PRICE + 1n, MAX_PRICE);
    expect(await market.biddersOf(jobId)).to.deep.equal([]);
    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE);
  });

  it("rejects a zero price", async () => {
    const { market, alice, jobId } = await networkHelpers.loadFixture(openJobFixture);

    await expect(market.connect(alice).placeBid(jobId, 0, 1))
      .to.be.revertedWithCustomError(market, "JobMarketZeroPrice")
      .withArgs(jobId);
    expect(await market.biddersOf(jobId)).to.deep.equal([]);
  });

  it("rejects a zero capacity", async () => {
    const { market, alice, jobId } = await networkHelpers.loadFixture(openJobFixture);

    await expect(market.connect(alice).placeBid(jobId, ONE, 0))
      .to.be.revertedWithCustomError(market, "JobMarketInvalidCapacity")
      .withArgs(jobId, 0, 1, TASK_COUNT);
    expect(await market.biddersOf(jobId)).to.deep.equal([]);
  });

  it("rejects a capacity above the task count (a provider never holds two replicas of a task)", async () => {
    const { market, alice, jobId } = await networkHelpers.loadFixture(openJobFixture);

    await expect(market.connect(alice).placeBid(jobId, ONE, TASK_COUNT + 1))
      .to.be.revertedWithCustomError(market, "JobMarketInvalidCapacity")
      .withArgs(jobId, TASK_COUNT + 1, 1, TASK_COUNT);
    expect(await market.biddersOf(jobId)).to.deep.equal([]);
  });

  // Attack 6 on a larger job: bids of capacity 1 would need only 64 identities to fill the book
  // of a 100 x 3 job with 64 of its 300 task-replicas. A bid must offer ceil(300 / 64) = 5, so
  // a full book always covers the job.
  it("rejects a capacity below minBidCapacity, the share that lets a full book cover the job", async () => {
    const p = await networkHelpers.loadFixture(openJobFixture);
    const { registry, market, alice } = p;
    const jobId = await postJob(p, { taskCount: 100, replication: 3, quorum: 2 });
    expect(await market.minBidCapacity(jobId)).to.equal(5n);

    await expect(market.connect(alice).placeBid(jobId, ONE, 4))
      .to.be.revertedWithCustomError(market, "JobMarketInvalidCapacity")
      .withArgs(jobId, 4, 5, 100);
    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE);
    await expect(market.connect(alice).placeBid(jobId, ONE, 5)).to.emit(market, "BidPlaced");
    await expect(market.minBidCapacity(jobId + 1n))
      .to.be.revertedWithCustomError(market, "JobMarketUnknownJob")
      .withArgs(jobId + 1n);
  });

  it("rejects a second bid by the same provider and keeps the first", async () => {
    const { registry, market, alice, jobId } = await networkHelpers.loadFixture(openJobFixture);
    await market.connect(alice).placeBid(jobId, ONE, 1);

    await expect(market.connect(alice).placeBid(jobId, ONE / 2n, 2))
      .to.be.revertedWithCustomError(market, "JobMarketDuplicateBid")
      .withArgs(jobId, alice.address);
    expect((await market.getBid(jobId, alice.address)).price).to.equal(ONE);
    expect(await market.biddersOf(jobId)).to.deep.equal([alice.address]);
    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE - STAKE_PER_TASK_REPLICA);
  });

  it("rejects an account that is not a registered provider", async () => {
    const { market, others, jobId } = await networkHelpers.loadFixture(openJobFixture);
    const stranger = at(others, 0);

    await expect(market.connect(stranger).placeBid(jobId, ONE, 1))
      .to.be.revertedWithCustomError(market, "JobMarketNotProvider")
      .withArgs(stranger.address);
    expect(await market.biddersOf(jobId)).to.deep.equal([]);
  });

  for (const [need, overrides] of [
    ["more CPU", { cpuMillicores: 8001, memoryMiB: 512, gpuCount: 0 }],
    ["more memory", { cpuMillicores: 1000, memoryMiB: 16385, gpuCount: 0 }],
    ["a GPU", { cpuMillicores: 1000, memoryMiB: 512, gpuCount: 1 }],
  ] as const) {
    it(`rejects a provider whose machine offers less than the job's need for ${need}`, async () => {
      const p = await networkHelpers.loadFixture(openJobFixture);
      const { registry, market, alice } = p;
      // alice offers 8000 millicores, 16384 MiB and no GPU.
      const jobId = await postJob(p, overrides);

      await expect(market.connect(alice).placeBid(jobId, ONE, 1))
        .to.be.revertedWithCustomError(market, "JobMarketInsufficientCapabilities")
        .withArgs(jobId, alice.address);
      expect(await market.biddersOf(jobId)).to.deep.equal([]);
      expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE);
    });
  }

  it("accepts a provider whose machine exactly meets the job's needs", async () => {
    const p = await networkHelpers.loadFixture(openJobFixture);
    const jobId = await postJob(p, { cpuMillicores: 8000, memoryMiB: 16384, gpuCount: 0 });

    await expect(p.market.connect(p.alice).placeBid(jobId, ONE, 1))
      .to.emit(p.market, "BidPlaced")
      .withArgs(jobId, p.alice.address, ONE, 1, 2n * ONE);
  });

  it("rejects a bid whose stake exceeds the provider's free stake, with the registry's error", async () => {
    const p = await networkHelpers.loadFixture(openJobFixture);
    const { registry, market, alice, jobId } = p;
    // 4 x 5 = 20 of alice's 100 are locked on the first job; the second job needs 3 x 30 = 90.
    await market.connect(alice).placeBid(jobId, ONE, 4);
    const secondJob = await postJob(p, { taskCount: 3, stakePerTaskReplica: 30n * ONE });

    await expect(market.connect(alice).placeBid(secondJob, ONE, 3))
      .to.be.revertedWithCustomError(registry, "ProviderRegistryInsufficientFreeStake")
      .withArgs(alice.address, 90n * ONE, STAKE - 4n * STAKE_PER_TASK_REPLICA);
    expect(await market.biddersOf(secondJob)).to.deep.equal([]);
    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE - 4n * STAKE_PER_TASK_REPLICA);
  });

  it("accepts a bid at the bidding deadline itself", async () => {
    const { market, alice, jobId } = await networkHelpers.loadFixture(openJobFixture);
    const { biddingDeadline } = await market.getJob(jobId);
    await time.setNextBlockTimestamp(biddingDeadline);

    await expect(market.connect(alice).placeBid(jobId, ONE, 1))
      .to.emit(market, "BidPlaced")
      .withArgs(jobId, alice.address, ONE, 1, STAKE_PER_TASK_REPLICA);
  });

  it("rejects a bid after the bidding deadline", async () => {
    const { registry, market, alice, jobId } = await networkHelpers.loadFixture(openJobFixture);
    const { biddingDeadline } = await market.getJob(jobId);
    await passTime(connection, biddingDeadline);

    await expect(market.connect(alice).placeBid(jobId, ONE, 1))
      .to.be.revertedWithCustomError(market, "JobMarketDeadlinePassed")
      .withArgs(jobId, biddingDeadline);
    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE);
  });

  it("rejects a bid on a job that is no longer open", async () => {
    const { market, requester, alice, jobId } = await networkHelpers.loadFixture(openJobFixture);
    await market.connect(requester).cancelJob(jobId);

    await expect(market.connect(alice).placeBid(jobId, ONE, 1))
      .to.be.revertedWithCustomError(market, "JobMarketWrongStatus")
      .withArgs(jobId, Status.Cancelled, Status.Open);
  });

  it("rejects a bid on an unknown job", async () => {
    const { market, alice, jobId } = await networkHelpers.loadFixture(openJobFixture);

    await expect(market.connect(alice).placeBid(jobId + 1n, ONE, 1))
      .to.be.revertedWithCustomError(market, "JobMarketUnknownJob")
      .withArgs(jobId + 1n);
  });

  it("rejects bids while the market is paused", async () => {
    const { registry, market, owner, alice, jobId } =
      await networkHelpers.loadFixture(openJobFixture);
    await market.connect(owner).pause();

    await expect(market.connect(alice).placeBid(jobId, ONE, 1)).to.be.revertedWithCustomError(
      market,
      "EnforcedPause",
    );
    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE);
    expect(await market.biddersOf(jobId)).to.deep.equal([]);
  });

  it("holds at most MAX_BIDS_PER_JOB bids: a bid that does not beat the worst is refused with the price to beat", async () => {
    const { market, registry, jobId, wallets, honest } =
      await networkHelpers.loadFixture(fullJobFixture);
    const [alice] = honest;
    expect(await market.MAX_BIDS_PER_JOB()).to.equal(BigInt(MAX_BIDS));
    expect(await market.biddersOf(jobId)).to.deep.equal(wallets.map((w) => w.address));

    await expect(market.connect(alice).placeBid(jobId, ONE, 1))
      .to.be.revertedWithCustomError(market, "JobMarketBookFull")
      .withArgs(jobId, ONE);
    expect((await market.getBid(jobId, alice.address)).capacity).to.equal(0n);
    expect(await registry.freeStakeOf(alice.address)).to.equal(STAKE);
  });

  // Attack 6: 64 dear capacity-1 bids filled the book and honest bids were refused, so the job
  // ended Unfilled and the attacker's stake came back. Now a cheaper bid takes the worst slot.
  it("lets a cheaper bid on a full book evict the worst one (the latest of the dearest), releasing its stake", async () => {
    const { market, registry, jobId, wallets, honest } =
      await networkHelpers.loadFixture(fullJobFixture);
    const [alice, bob] = honest;
    const last = at(wallets, MAX_BIDS - 1);
    const nextToLast = at(wallets, MAX_BIDS - 2);

    await expect(market.connect(alice).placeBid(jobId, ONE / 2n, 4))
      .to.emit(market, "BidEvicted")
      .withArgs(jobId, last.address, alice.address, ONE)
      .and.to.emit(registry, "StakeUnlocked")
      .withArgs(last.address, jobId, ONE, 0n);
    await expect(market.connect(bob).placeBid(jobId, ONE / 2n, 4))
      .to.emit(market, "BidEvicted")
      .withArgs(jobId, nextToLast.address, bob.address, ONE);

    expect(await market.biddersOf(jobId)).to.deep.equal([
      ...wallets.slice(0, MAX_BIDS - 2).map((w) => w.address),
      alice.address,
      bob.address,
    ]);
    expect((await market.getBid(jobId, last.address)).capacity).to.equal(0n);
    expect(await registry.freeStakeOf(last.address)).to.equal(ONE);
    // An evicted provider may bid again, like one that withdrew, if it beats the worst.
    await expect(market.connect(last).placeBid(jobId, ONE, 1)).to.be.revertedWithCustomError(
      market,
      "JobMarketBookFull",
    );
    await expect(market.connect(last).placeBid(jobId, ONE - 1n, 1))
      .to.emit(market, "BidEvicted")
      .withArgs(jobId, at(wallets, MAX_BIDS - 3).address, last.address, ONE);

    // The cheaper honest bids win their whole capacity at the award.
    await passTime(connection, (await market.getJob(jobId)).biddingDeadline);
    await market.closeBidding(jobId);
    expect((await market.getJob(jobId)).status).to.equal(Status.Awarded);
    expect((await market.getBid(jobId, alice.address)).allotted).to.equal(4n);
    expect((await market.getBid(jobId, bob.address)).allotted).to.equal(4n);
    expect((await market.getBid(jobId, last.address)).allotted).to.equal(1n);
  });

  // A withdrawn bid frees its slot: otherwise one provider could fill every slot by
  // withdrawing and bidding again at no cost but gas, and lock every other provider out.
  it("still accepts other providers' bids after one provider withdrew and re-bid MAX_BIDS_PER_JOB times", async () => {
    const { registry, market, alice, bob, jobId } =
      await networkHelpers.loadFixture(openJobFixture);
    for (let placed = 1; placed < MAX_BIDS; placed++) {
      await market.connect(alice).placeBid(jobId, ONE, 1);
      await market.connect(alice).withdrawBid(jobId);
    }
    await market.connect(alice).placeBid(jobId, ONE, 1);
    // The job holds a single bid...
    expect(await market.biddersOf(jobId)).to.deep.equal([alice.address]);
    expect((await market.getJob(jobId)).bidCount).to.equal(1n);

    // ...so bob's bid must be accepted.
    await expect(market.connect(bob).placeBid(jobId, ONE, 1))
      .to.emit(market, "BidPlaced")
      .withArgs(jobId, bob.address, ONE, 1, STAKE_PER_TASK_REPLICA);
    expect(await registry.freeStakeOf(bob.address)).to.equal(STAKE - STAKE_PER_TASK_REPLICA);
  });
});
