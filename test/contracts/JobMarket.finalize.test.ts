import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import {
  at,
  awardOneTaskJob,
  awardTenTaskJob,
  busiestProvider,
  Credit,
  commitAll,
  commitRoots,
  commitThenReveal,
  contractsNetwork,
  DEFAULT_PROVIDER_STAKE,
  DEFAULT_STAKE_PER_TASK_REPLICA,
  equalBids,
  groupsOf,
  honestRoots,
  lanesWithout,
  ONE,
  Outcome,
  openJobWithBids,
  PRICE,
  type Protocol,
  passTime,
  resultRoot,
  revealAll,
  revealRoots,
  Slash,
  Status,
} from "./support/index.ts";

const { connection, ethers, networkHelpers, loadFixture } = await contractsNetwork();

const STAKE = DEFAULT_STAKE_PER_TASK_REPLICA;
const FULL_STAKE = DEFAULT_PROVIDER_STAKE;

/** A 1 task x 3 job awarded to a, b and c at PRICE; nobody has committed. */
async function awardedFixture() {
  const { p, jobId, a, b, c } = await awardOneTaskJob(connection, PRICE);
  return { p, jobId, a, b, c, root: resultRoot(connection, jobId, 0n) };
}

/** Every member committed and revealed the same root, before the commit deadline. */
async function allRevealedFixture() {
  const f = await awardedFixture();
  await commitThenReveal(connection, f.p, f.jobId, [f.a, f.b, f.c]);
  return f;
}

/** a and b reveal the honest root, c reveals another one. */
async function wrongResultFixture() {
  const f = await awardedFixture();
  await commitThenReveal(connection, f.p, f.jobId, [f.a, f.b, f.c], [0, 0, 1]);
  return f;
}

/** a and b commit the roots of `variants`, c never does; after the commit deadline they reveal. */
async function cNeverCommits(variants: [number, number]) {
  const f = await awardedFixture();
  for (const [i, m] of [f.a, f.b].entries())
    await commitAll(connection, f.p, f.jobId, m, variants[i]);
  await passTime(connection, (await f.p.market.getJob(f.jobId)).commitDeadline);
  for (const [i, m] of [f.a, f.b].entries())
    await revealAll(connection, f.p, f.jobId, m, variants[i]);
  return f;
}

/** a and b agree; c never commits. */
async function noCommitFixture() {
  return cNeverCommits([0, 0]);
}

/** Everyone commits; a and b reveal, c keeps its result to itself. */
async function noRevealFixture() {
  const f = await awardedFixture();
  for (const m of [f.a, f.b, f.c]) await commitAll(connection, f.p, f.jobId, m);
  await revealAll(connection, f.p, f.jobId, f.a);
  await revealAll(connection, f.p, f.jobId, f.b);
  return f;
}

/** Three members reveal three different roots. */
async function allDisagreeFixture() {
  const f = await awardedFixture();
  await commitThenReveal(connection, f.p, f.jobId, [f.a, f.b, f.c], [0, 1, 2]);
  return f;
}

/** a and b reveal different roots and c never commits: no quorum, one no-show. */
async function noQuorumWithNoShowFixture() {
  return cNeverCommits([0, 1]);
}

/** A 10 task x 3 job over four providers; one provider lies in exactly one of its groups. */
async function multiGroupCheaterFixture() {
  const { p, jobId, providers } = await awardTenTaskJob(connection, [PRICE, PRICE, PRICE, PRICE]);
  const cheater = await busiestProvider(p, jobId, providers);
  const cheaterRoots = await honestRoots(connection, p, jobId, cheater);
  cheaterRoots[0] = resultRoot(connection, jobId, 999n);
  const lieGroup = at(await p.market.assignmentsOf(jobId, cheater.address), 0).groupId;
  for (const provider of providers) {
    const roots =
      provider === cheater ? cheaterRoots : await honestRoots(connection, p, jobId, provider);
    await commitRoots(connection, p, jobId, provider, roots);
  }
  for (const provider of providers) {
    const roots =
      provider === cheater ? cheaterRoots : await honestRoots(connection, p, jobId, provider);
    await revealRoots(connection, p, jobId, provider, roots);
  }
  return { p, jobId, providers, cheater, lieGroup };
}

/** An open job with three bids. */
async function openJobFixture() {
  return openJobWithBids(connection, { bids: equalBids(3, PRICE) });
}

/**
 * Asserts that finalizing the 1 task x 3 job agreed on `root` with a and b (c's lane left out of
 * the mask, c's price refunded) and slashed c, alone, one task-replica's stake for `reason`.
 */
async function expectAgreedWithoutC(
  tx: ReturnType<Protocol["market"]["finalize"]>,
  { p, jobId, c, root }: { p: Protocol; jobId: bigint; c: HardhatEthersSigner; root: string },
  reason: bigint,
) {
  const lanes = await lanesWithout(p, jobId, 0n, [c.address]);
  await expect(tx)
    .to.emit(p.market, "GroupFinalized")
    .withArgs(jobId, 0n, Outcome.Agreed, root, 2n, lanes, PRICE);
  await expect(tx)
    .to.emit(p.market, "ProviderSlashed")
    .withArgs(jobId, 0n, c.address, STAKE, reason);
  await expect(tx)
    .to.emit(p.registry, "StakeSlashed")
    .withArgs(c.address, jobId, STAKE, FULL_STAKE - STAKE, 0n);
  const slashes = await p.market.queryFilter(p.market.filters.ProviderSlashed(jobId));
  expect(slashes.map((e) => e.args.provider)).to.deep.equal([c.address]);
}

/**
 * Asserts that the 1 task x 3 group found no quorum: no winning root, all three payments refunded
 * to the requester, the escrow emptied, and `slashed` taken in total.
 */
async function expectNoQuorumRefund(
  tx: ReturnType<Protocol["market"]["finalize"]>,
  { p, jobId }: { p: Protocol; jobId: bigint },
  slashed: bigint,
) {
  await expect(tx)
    .to.emit(p.market, "GroupFinalized")
    .withArgs(jobId, 0n, Outcome.NoQuorum, ethers.ZeroHash, 0n, 0n, 3n * PRICE);
  await expect(tx)
    .to.emit(p.market, "JobFinalized")
    .withArgs(jobId, 3n * PRICE, slashed);
  await expect(tx)
    .to.emit(p.market, "BalanceCredited")
    .withArgs(p.requester.address, jobId, 3n * PRICE, Credit.Refund);
  const group = await p.market.getGroup(jobId, 0n);
  expect([group.outcome, group.winningRoot]).to.deep.equal([Outcome.NoQuorum, ethers.ZeroHash]);
  expect((await p.market.getJob(jobId)).escrow).to.equal(0n);
}

describe("JobMarket#finalize", () => {
  describe("when it may be called", () => {
    it("is finalizable early, by anyone, once every member of every group has revealed", async () => {
      const { p, jobId, root } = await loadFixture(allRevealedFixture);
      const job = await p.market.getJob(jobId);
      expect(BigInt(await networkHelpers.time.latest()) < job.commitDeadline).to.equal(true);
      expect(await p.market.isFinalizable(jobId)).to.equal(true);
      const marketBalance = await p.token.balanceOf(p.market);
      const tx = p.market.connect(at(p.others, 0)).finalize(jobId);
      await expect(tx)
        .to.emit(p.market, "GroupFinalized")
        .withArgs(jobId, 0n, Outcome.Agreed, root, 3n, 7n, 0n);
      await expect(tx).to.emit(p.market, "JobFinalized").withArgs(jobId, 0n, 0n);
      await expect(tx).not.to.emit(p.market, "ProviderSlashed");
      await expect(tx).not.to.emit(p.market, "BalanceCredited");
      const after = await p.market.getJob(jobId);
      expect(after.status).to.equal(Status.Finalized);
      expect(after.escrow).to.equal(3n * PRICE);
      expect(await p.token.balanceOf(p.market)).to.equal(marketBalance);
      expect(await p.market.isFinalizable(jobId)).to.equal(false);
    });

    it("is not finalizable during the commit window while a member has not committed", async () => {
      const { p, jobId, a, b } = await loadFixture(awardedFixture);
      await commitAll(connection, p, jobId, a);
      await commitAll(connection, p, jobId, b);
      expect(await p.market.isFinalizable(jobId)).to.equal(false);
      await expect(p.market.finalize(jobId))
        .to.be.revertedWithCustomError(p.market, "JobMarketNotFinalizable")
        .withArgs(jobId);
    });

    it("waits for the reveal deadline while a committed member has not revealed", async () => {
      const { p, jobId } = await loadFixture(noRevealFixture);
      const { commitDeadline, revealDeadline } = await p.market.getJob(jobId);
      await passTime(connection, commitDeadline);
      expect(await p.market.isFinalizable(jobId)).to.equal(false);
      await expect(p.market.finalize(jobId))
        .to.be.revertedWithCustomError(p.market, "JobMarketNotFinalizable")
        .withArgs(jobId);
      await networkHelpers.time.setNextBlockTimestamp(revealDeadline);
      await expect(p.market.finalize(jobId))
        .to.be.revertedWithCustomError(p.market, "JobMarketNotFinalizable")
        .withArgs(jobId);
      await passTime(connection, revealDeadline);
      expect(await p.market.isFinalizable(jobId)).to.equal(true);
      await expect(p.market.finalize(jobId)).to.emit(p.market, "JobFinalized");
    });

    it("is finalizable after the commit deadline once every member that committed has revealed", async () => {
      const { p, jobId } = await loadFixture(noCommitFixture);
      const { revealDeadline } = await p.market.getJob(jobId);
      expect(BigInt(await networkHelpers.time.latest()) < revealDeadline).to.equal(true);
      expect(await p.market.isFinalizable(jobId)).to.equal(true);
      await expect(p.market.finalize(jobId)).to.emit(p.market, "JobFinalized");
    });

    it("can always be finalized after the reveal deadline, even when nobody committed", async () => {
      const { p, jobId, a, b, c } = await loadFixture(awardedFixture);
      await passTime(connection, (await p.market.getJob(jobId)).revealDeadline);
      expect(await p.market.isFinalizable(jobId)).to.equal(true);
      const marketBalance = await p.token.balanceOf(p.market);
      const registryBalance = await p.token.balanceOf(p.registry);
      const tx = p.market.finalize(jobId);
      await expectNoQuorumRefund(tx, { p, jobId }, 3n * STAKE);
      for (const m of [a, b, c]) {
        await expect(tx)
          .to.emit(p.market, "ProviderSlashed")
          .withArgs(jobId, 0n, m.address, STAKE, Slash.NoCommit);
        await expect(tx)
          .to.emit(p.registry, "StakeSlashed")
          .withArgs(m.address, jobId, STAKE, FULL_STAKE - STAKE, 0n);
      }
      await expect(tx)
        .to.emit(p.market, "BalanceCredited")
        .withArgs(p.treasury.address, jobId, 3n * STAKE, Credit.Slash);
      expect(await p.token.balanceOf(p.market)).to.equal(marketBalance + 3n * STAKE);
      expect(await p.token.balanceOf(p.registry)).to.equal(registryBalance - 3n * STAKE);
      expect((await p.market.getJob(jobId)).escrow).to.equal(0n);
    });

    it("rejects finalizing twice", async () => {
      const { p, jobId } = await loadFixture(allRevealedFixture);
      await p.market.finalize(jobId);
      await expect(p.market.finalize(jobId))
        .to.be.revertedWithCustomError(p.market, "JobMarketWrongStatus")
        .withArgs(jobId, Status.Finalized, Status.Awarded);
    });

    it("rejects finalizing a job that was never awarded, and reports it as not finalizable", async () => {
      const { p, jobId } = await loadFixture(openJobFixture);
      expect(await p.market.isFinalizable(jobId)).to.equal(false);
      expect(await p.market.isFinalizable(77n)).to.equal(false);
      await expect(p.market.finalize(jobId))
        .to.be.revertedWithCustomError(p.market, "JobMarketWrongStatus")
        .withArgs(jobId, Status.Open, Status.Awarded);
      await expect(p.market.finalize(77n))
        .to.be.revertedWithCustomError(p.market, "JobMarketUnknownJob")
        .withArgs(77n);
    });
  });

  describe("outcomes and slashing", () => {
    it("slashes a member that revealed a losing root and refunds the requester its price", async () => {
      const { p, jobId, c, root } = await loadFixture(wrongResultFixture);
      const marketBalance = await p.token.balanceOf(p.market);
      const tx = p.market.finalize(jobId);
      await expectAgreedWithoutC(tx, { p, jobId, c, root }, Slash.WrongResult);
      await expect(tx).to.emit(p.market, "JobFinalized").withArgs(jobId, PRICE, STAKE);
      await expect(tx)
        .to.emit(p.market, "BalanceCredited")
        .withArgs(p.treasury.address, jobId, STAKE, Credit.Slash);
      await expect(tx)
        .to.emit(p.market, "BalanceCredited")
        .withArgs(p.requester.address, jobId, PRICE, Credit.Refund);

      expect(await p.token.balanceOf(p.market)).to.equal(marketBalance + STAKE);
      expect(await p.market.claimableBalance(p.treasury.address)).to.equal(STAKE);
      const slashed = await p.registry.getProvider(c.address);
      expect([slashed.stake, slashed.locked]).to.deep.equal([FULL_STAKE - STAKE, 0n]);
      const group = await p.market.getGroup(jobId, 0n);
      expect([group.outcome, group.winningRoot]).to.deep.equal([Outcome.Agreed, root]);
      // What stays in escrow is exactly the two winners' pay.
      expect((await p.market.getJob(jobId)).escrow).to.equal(2n * PRICE);
    });

    it("slashes a member that never committed, with reason NoCommit", async () => {
      const { p, jobId, c, root } = await loadFixture(noCommitFixture);
      const tx = p.market.finalize(jobId);
      await expectAgreedWithoutC(tx, { p, jobId, c, root }, Slash.NoCommit);
      expect(await p.market.claimableBalance(p.treasury.address)).to.equal(STAKE);
    });

    it("slashes a member that committed but never revealed, with reason NoReveal", async () => {
      const { p, jobId, c, root } = await loadFixture(noRevealFixture);
      await passTime(connection, (await p.market.getJob(jobId)).revealDeadline);
      const tx = p.market.finalize(jobId);
      await expectAgreedWithoutC(tx, { p, jobId, c, root }, Slash.NoReveal);
      await expect(tx).to.emit(p.market, "JobFinalized").withArgs(jobId, PRICE, STAKE);
      expect(await p.market.claimableBalance(p.treasury.address)).to.equal(STAKE);
    });

    it("refunds a group without quorum in full and slashes nobody when all members showed up", async () => {
      const { p, jobId, a, b, c } = await loadFixture(allDisagreeFixture);
      const tx = p.market.finalize(jobId);
      await expectNoQuorumRefund(tx, { p, jobId }, 0n);
      await expect(tx).not.to.emit(p.market, "ProviderSlashed");
      await expect(tx).not.to.emit(p.registry, "StakeSlashed");
      expect(await p.market.claimableBalance(p.treasury.address)).to.equal(0n);
      for (const m of [a, b, c]) {
        expect((await p.registry.getProvider(m.address)).stake).to.equal(FULL_STAKE);
      }
    });

    it("refunds a group without quorum in full and slashes only the member that did not show up", async () => {
      const { p, jobId, a, b, c } = await loadFixture(noQuorumWithNoShowFixture);
      const tx = p.market.finalize(jobId);
      await expectNoQuorumRefund(tx, { p, jobId }, STAKE);
      await expect(tx)
        .to.emit(p.market, "ProviderSlashed")
        .withArgs(jobId, 0n, c.address, STAKE, Slash.NoCommit);
      const slashes = await p.market.queryFilter(p.market.filters.ProviderSlashed(jobId));
      expect(slashes.map((e) => e.args.provider)).to.deep.equal([c.address]);
      for (const m of [a, b]) {
        expect((await p.registry.getProvider(m.address)).stake).to.equal(FULL_STAKE);
      }
      expect(await p.market.claimableBalance(p.treasury.address)).to.equal(STAKE);
      // The award already credited the unused escrow (3 x (maxPrice - PRICE)); now the rest.
      const awardRefund = 3n * (ONE - PRICE);
      expect(await p.market.claimableBalance(p.requester.address)).to.equal(
        awardRefund + 3n * PRICE,
      );
    });

    it("settles each group of a multi-group job on its own, slashing per task of the lying group", async () => {
      const { p, jobId, cheater, lieGroup } = await loadFixture(multiGroupCheaterFixture);
      const groups = await groupsOf(p, jobId);
      const lieTasks = at(groups, Number(lieGroup)).taskCount;
      const tx = p.market.finalize(jobId);
      for (const group of groups) {
        const root = resultRoot(connection, jobId, group.groupId);
        // The lying group agrees without the cheater and refunds its pay; the others agree in full.
        const [agreeing, lanes, refund] =
          group.groupId === lieGroup
            ? [2n, await lanesWithout(p, jobId, group.groupId, [cheater.address]), lieTasks * PRICE]
            : [3n, 7n, 0n];
        await expect(tx)
          .to.emit(p.market, "GroupFinalized")
          .withArgs(jobId, group.groupId, Outcome.Agreed, root, agreeing, lanes, refund);
      }
      await expect(tx)
        .to.emit(p.market, "ProviderSlashed")
        .withArgs(jobId, lieGroup, cheater.address, lieTasks * STAKE, Slash.WrongResult);
      await expect(tx)
        .to.emit(p.market, "JobFinalized")
        .withArgs(jobId, lieTasks * PRICE, lieTasks * STAKE);
      const slashes = await p.market.queryFilter(p.market.filters.ProviderSlashed(jobId));
      expect(slashes).to.have.length(1);
      const { stake, locked } = await p.registry.getProvider(cheater.address);
      const { allotted } = await p.market.getBid(jobId, cheater.address);
      expect(stake).to.equal(FULL_STAKE - lieTasks * STAKE);
      expect(locked).to.equal((allotted - lieTasks) * STAKE);
    });
  });
});
