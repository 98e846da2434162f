import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import {
  at,
  awardJob,
  awardOneTaskJob,
  awardTenTaskJob,
  busiestProvider,
  Credit,
  closeBiddingAfterDeadline,
  commitRoots,
  commitThenReveal,
  contractsNetwork,
  DEFAULT_PROVIDER_STAKE,
  DEFAULT_STAKE_PER_TASK_REPLICA,
  deployWithProviders,
  FEE_BPS,
  feeOn,
  groupsOf,
  honestRoots,
  ONE,
  PRICE,
  placeBids,
  postJob,
  resultRoot,
  revealRoots,
  Status,
  take,
} from "./support/index.ts";

const { connection, loadFixture } = await contractsNetwork();

const STAKE = DEFAULT_STAKE_PER_TASK_REPLICA;
const FULL_STAKE = DEFAULT_PROVIDER_STAKE;

/**
 * Awards a 1 task x 3 job to a, b, c at PRICE (d bids higher and loses), has them reveal the roots
 * of `variants` and finalizes; `feeBps` is the market's fee (FEE_BPS unless told).
 */
async function finalizeOneTask(variants: [number, number, number], feeBps?: bigint) {
  const { p, providers } = await deployWithProviders(connection, 4, { feeBps });
  const [a, b, c, d] = take(providers, 4);
  const jobId = await awardJob(connection, p, {}, [
    ...[a, b, c].map((provider) => ({ provider, price: PRICE, capacity: 1 })),
    { provider: d, price: ONE, capacity: 1 },
  ]);
  await commitThenReveal(connection, p, jobId, [a, b, c], variants);
  await p.market.finalize(jobId);
  return { p, jobId, a, b, c, loser: d };
}

/** All three members agreed; the protocol fee is FEE_BPS. */
async function finalizedHonestFixture() {
  return finalizeOneTask([0, 0, 0]);
}

/** c revealed a losing root and was slashed. */
async function finalizedCheaterFixture() {
  return finalizeOneTask([0, 0, 1]);
}

/** All three disagreed: no quorum, nobody paid, nobody slashed. */
async function finalizedNoQuorumFixture() {
  return finalizeOneTask([0, 1, 2]);
}

/** The market charges no fee. */
async function finalizedZeroFeeFixture() {
  return finalizeOneTask([0, 0, 0], 0n);
}

/** The job is posted at FEE_BPS; the owner raises the fee to the maximum before the award. */
async function feeRaisedAfterPostingFixture() {
  const { p, providers } = await deployWithProviders(connection, 3);
  const [a, b, c] = take(providers, 3);
  const jobId = await postJob(p);
  await p.market.connect(p.owner).setProtocolFee(500);
  await placeBids(
    p,
    jobId,
    [a, b, c].map((provider) => ({ provider, price: PRICE, capacity: 1 })),
  );
  await closeBiddingAfterDeadline(connection, p, jobId);
  await commitThenReveal(connection, p, jobId, [a, b, c]);
  await p.market.finalize(jobId);
  return { p, jobId, a };
}

/** A 10 task x 3 job over four providers; one lies in exactly one of its groups. Finalized. */
async function finalizedMultiGroupCheaterFixture() {
  const prices = [1n, 2n, 3n, 4n].map((n) => (n * ONE) / 10n);
  const { p, jobId, providers } = await awardTenTaskJob(connection, prices);
  const cheater = await busiestProvider(p, jobId, providers);
  const rootsOf = async (provider: HardhatEthersSigner) => {
    const roots = await honestRoots(connection, p, jobId, provider);
    if (provider === cheater) roots[0] = resultRoot(connection, jobId, 999n);
    return roots;
  };
  for (const provider of providers) {
    await commitRoots(connection, p, jobId, provider, await rootsOf(provider));
  }
  for (const provider of providers) {
    await revealRoots(connection, p, jobId, provider, await rootsOf(provider));
  }
  await p.market.finalize(jobId);
  const lieGroup = at(await p.market.assignmentsOf(jobId, cheater.address), 0).groupId;
  const lieTasks = at(await groupsOf(p, jobId), Number(lieGroup)).taskCount;
  return { p, jobId, providers, cheater, lieTasks };
}

/** The 1 task x 3 job awarded but not finalized. */
async function awardedFixture() {
  const { p, jobId, a } = await awardOneTaskJob(connection, PRICE);
  return { p, jobId, a };
}

/** A 1 task x 3 job with only two bids: unfilled at closeBidding. */
async function unfilledFixture() {
  const { p, providers } = await deployWithProviders(connection, 2);
  const [a, b] = take(providers, 2);
  const jobId = await awardJob(
    connection,
    p,
    {},
    [a, b].map((provider) => ({ provider, price: PRICE, capacity: 1 })),
  );
  return { p, jobId, a };
}

describe("JobMarket#claim", () => {
  describe("payment", () => {
    it("pays the bid price for each task of its won groups minus the fee, and releases its stake", async () => {
      const { p, jobId, a } = await loadFixture(finalizedHonestFixture);
      const fee = feeOn(PRICE);
      const providerBalance = await p.token.balanceOf(a.address);
      const marketBalance = await p.token.balanceOf(p.market);
      const escrow = (await p.market.getJob(jobId)).escrow;

      const tx = p.market.connect(a).claim(jobId);
      await expect(tx).to.emit(p.market, "Claimed").withArgs(jobId, a.address, PRICE, fee, STAKE);
      await expect(tx)
        .to.emit(p.market, "BalanceCredited")
        .withArgs(p.treasury.address, jobId, fee, Credit.Fee);
      await expect(tx).to.emit(p.registry, "StakeUnlocked").withArgs(a.address, jobId, STAKE, 0n);

      expect(await p.token.balanceOf(a.address)).to.equal(providerBalance + PRICE - fee);
      expect(await p.token.balanceOf(p.market)).to.equal(marketBalance - (PRICE - fee));
      expect(await p.market.claimableBalance(p.treasury.address)).to.equal(fee);
      expect((await p.market.getJob(jobId)).escrow).to.equal(escrow - PRICE);
      expect(await p.registry.freeStakeOf(a.address)).to.equal(FULL_STAKE);
      expect((await p.market.getBid(jobId, a.address)).claimed).to.equal(true);
    });

    it("returns the payment before the fee, the same figure claimableFor and Claimed report", async () => {
      const { p, jobId, a } = await loadFixture(finalizedHonestFixture);
      const [payment] = await p.market.claimableFor(jobId, a.address);
      expect(await p.market.connect(a).claim.staticCall(jobId)).to.equal(payment);
      expect(payment).to.equal(PRICE);
    });

    it("charges the fee fixed when the job was posted, not the fee at claim time", async () => {
      const { p, jobId, a } = await loadFixture(feeRaisedAfterPostingFixture);
      expect(await p.market.protocolFeeBps()).to.equal(500n);
      expect((await p.market.getJob(jobId)).feeBps).to.equal(FEE_BPS);
      const fee = feeOn(PRICE);
      const before = await p.token.balanceOf(a.address);
      await expect(p.market.connect(a).claim(jobId))
        .to.emit(p.market, "Claimed")
        .withArgs(jobId, a.address, PRICE, fee, STAKE);
      expect(await p.token.balanceOf(a.address)).to.equal(before + PRICE - fee);
    });

    it("pays the whole price and credits the treasury nothing when the fee is zero", async () => {
      const { p, jobId, a } = await loadFixture(finalizedZeroFeeFixture);
      const before = await p.token.balanceOf(a.address);
      const tx = p.market.connect(a).claim(jobId);
      await expect(tx).to.emit(p.market, "Claimed").withArgs(jobId, a.address, PRICE, 0n, STAKE);
      await expect(tx).not.to.emit(p.market, "BalanceCredited");
      expect(await p.token.balanceOf(a.address)).to.equal(before + PRICE);
      expect(await p.market.claimableBalance(p.treasury.address)).to.equal(0n);
    });

    it("empties the job's escrow once every winner has claimed", async () => {
      const { p, jobId, a, b, c } = await loadFixture(finalizedHonestFixture);
      for (const m of [a, b, c]) await p.market.connect(m).claim(jobId);
      expect((await p.market.getJob(jobId)).escrow).to.equal(0n);
      expect(await p.market.claimableBalance(p.treasury.address)).to.equal(3n * feeOn(PRICE));
    });
  });

  describe("slashed and unpaid members", () => {
    it("gives a fully slashed member nothing and releases none of its slashed stake", async () => {
      const { p, jobId, c } = await loadFixture(finalizedCheaterFixture);
      const balance = await p.token.balanceOf(c.address);
      const marketBalance = await p.token.balanceOf(p.market);
      const tx = p.market.connect(c).claim(jobId);
      await expect(tx).to.emit(p.market, "Claimed").withArgs(jobId, c.address, 0n, 0n, 0n);
      await expect(tx).not.to.emit(p.registry, "StakeUnlocked");
      await expect(tx).not.to.emit(p.market, "BalanceCredited");
      expect(await p.token.balanceOf(c.address)).to.equal(balance);
      expect(await p.token.balanceOf(p.market)).to.equal(marketBalance);
      const { stake, locked } = await p.registry.getProvider(c.address);
      expect([stake, locked]).to.deep.equal([FULL_STAKE - STAKE, 0n]);
    });

    it("pays a partly slashed member for its honest groups and releases only its unslashed stake", async () => {
      const { p, jobId, cheater, lieTasks } = await loadFixture(finalizedMultiGroupCheaterFixture);
      const { allotted, price } = await p.market.getBid(jobId, cheater.address);
      const honestTasks = allotted - lieTasks;
      const payment = honestTasks * price;
      const fee = feeOn(payment);
      const before = await p.token.balanceOf(cheater.address);
      const tx = p.market.connect(cheater).claim(jobId);
      await expect(tx)
        .to.emit(p.market, "Claimed")
        .withArgs(jobId, cheater.address, payment, fee, honestTasks * STAKE);
      await expect(tx)
        .to.emit(p.registry, "StakeUnlocked")
        .withArgs(cheater.address, jobId, honestTasks * STAKE, 0n);
      expect(await p.token.balanceOf(cheater.address)).to.equal(before + payment - fee);
      const { stake, locked } = await p.registry.getProvider(cheater.address);
      expect([stake, locked]).to.deep.equal([FULL_STAKE - lieTasks * STAKE, 0n]);
    });

    it("releases the whole stake of a member of a group without quorum, without paying it", async () => {
      const { p, jobId, a } = await loadFixture(finalizedNoQuorumFixture);
      const before = await p.token.balanceOf(a.address);
      const tx = p.market.connect(a).claim(jobId);
      await expect(tx).to.emit(p.market, "Claimed").withArgs(jobId, a.address, 0n, 0n, STAKE);
      await expect(tx).to.emit(p.registry, "StakeUnlocked").withArgs(a.address, jobId, STAKE, 0n);
      expect(await p.token.balanceOf(a.address)).to.equal(before);
      expect(await p.registry.freeStakeOf(a.address)).to.equal(FULL_STAKE);
    });
  });

  describe("claimableFor", () => {
    it("previews exactly what claim then pays, credits and releases, for every provider", async () => {
      const { p, jobId, providers } = await loadFixture(finalizedMultiGroupCheaterFixture);
      for (const provider of providers) {
        const [payment, fee, stakeReleased] = await p.market.claimableFor(jobId, provider.address);
        if ((await p.market.getBid(jobId, provider.address)).allotted === 0n) {
          expect([payment, fee, stakeReleased]).to.deep.equal([0n, 0n, 0n]);
          continue;
        }
        const balance = await p.token.balanceOf(provider.address);
        const treasuryOwed = await p.market.claimableBalance(p.treasury.address);
        const free = await p.registry.freeStakeOf(provider.address);
        await expect(p.market.connect(provider).claim(jobId))
          .to.emit(p.market, "Claimed")
          .withArgs(jobId, provider.address, payment, fee, stakeReleased);
        expect(await p.token.balanceOf(provider.address)).to.equal(balance + payment - fee);
        expect(await p.market.claimableBalance(p.treasury.address)).to.equal(treasuryOwed + fee);
        expect(await p.registry.freeStakeOf(provider.address)).to.equal(free + stakeReleased);
        expect(await p.market.claimableFor(jobId, provider.address)).to.deep.equal([0n, 0n, 0n]);
      }
      expect((await p.market.getJob(jobId)).escrow).to.equal(0n);
    });

    it("previews nothing before the job is finalized", async () => {
      const { p, jobId, a } = await loadFixture(awardedFixture);
      expect(await p.market.claimableFor(jobId, a.address)).to.deep.equal([0n, 0n, 0n]);
    });
  });

  describe("rejections", () => {
    it("rejects a second claim", async () => {
      const { p, jobId, a } = await loadFixture(finalizedHonestFixture);
      await p.market.connect(a).claim(jobId);
      const balance = await p.token.balanceOf(a.address);
      await expect(p.market.connect(a).claim(jobId))
        .to.be.revertedWithCustomError(p.market, "JobMarketAlreadyClaimed")
        .withArgs(jobId, a.address);
      expect(await p.token.balanceOf(a.address)).to.equal(balance);
    });

    it("rejects a provider whose bid lost and an account that never bid", async () => {
      const { p, jobId, loser } = await loadFixture(finalizedHonestFixture);
      await expect(p.market.connect(loser).claim(jobId))
        .to.be.revertedWithCustomError(p.market, "JobMarketNoBid")
        .withArgs(jobId, loser.address);
      const outsider = at(p.others, 0);
      await expect(p.market.connect(outsider).claim(jobId))
        .to.be.revertedWithCustomError(p.market, "JobMarketNoBid")
        .withArgs(jobId, outsider.address);
    });

    it("rejects claims before the job is finalized", async () => {
      const { p, jobId, a } = await loadFixture(awardedFixture);
      await expect(p.market.connect(a).claim(jobId))
        .to.be.revertedWithCustomError(p.market, "JobMarketWrongStatus")
        .withArgs(jobId, Status.Awarded, Status.Finalized);
    });

    it("rejects claims on an unfilled job, whose stakes were already released at closeBidding", async () => {
      const { p, jobId, a } = await loadFixture(unfilledFixture);
      expect(await p.registry.freeStakeOf(a.address)).to.equal(FULL_STAKE);
      await expect(p.market.connect(a).claim(jobId))
        .to.be.revertedWithCustomError(p.market, "JobMarketWrongStatus")
        .withArgs(jobId, Status.Unfilled, Status.Finalized);
    });
  });
});
