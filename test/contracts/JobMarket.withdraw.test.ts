import { expect } from "chai";
import {
  awardOneTaskJob,
  commitThenReveal,
  contractsNetwork,
  DEFAULT_STAKE_PER_TASK_REPLICA,
  deployProtocol,
  feeOn,
  ONE,
  PRICE,
  postJob,
} from "./support/index.ts";

const { connection, loadFixture } = await contractsNetwork();

const STAKE = DEFAULT_STAKE_PER_TASK_REPLICA;

/** A 1 task x 3 job awarded at PRICE (below the max price of ONE): the requester is owed 1.5. */
async function awardedFixture() {
  const { p, jobId, a, b, c } = await awardOneTaskJob(connection, PRICE);
  return { p, jobId, a, b, c, awardRefund: 3n * (ONE - PRICE) };
}

/** c cheats; everyone claims: the treasury holds c's slashed stake and the winners' fees. */
async function treasuryCreditedFixture() {
  const f = await awardedFixture();
  const { p, jobId, a, b, c } = f;
  await commitThenReveal(connection, p, jobId, [a, b, c], [0, 0, 1]);
  await p.market.finalize(jobId);
  for (const m of [a, b, c]) await p.market.connect(m).claim(jobId);
  const fees = 2n * feeOn(PRICE);
  return { ...f, treasuryOwed: STAKE + fees };
}

/** Two open jobs the requester cancels: two refunds credited to one account. */
async function twoCancelledJobsFixture() {
  const p = await deployProtocol(connection);
  const first = await postJob(p);
  const second = await postJob(p, { taskCount: 2 });
  await p.market.connect(p.requester).cancelJob(first);
  await p.market.connect(p.requester).cancelJob(second);
  return { p, refund: 3n * ONE + 6n * ONE };
}

describe("JobMarket#withdraw", () => {
  it("sends the requester its claimable refund and zeroes its balance", async () => {
    const { p, awardRefund } = await loadFixture(awardedFixture);
    expect(await p.market.claimableBalance(p.requester.address)).to.equal(awardRefund);
    const requesterBalance = await p.token.balanceOf(p.requester.address);
    const marketBalance = await p.token.balanceOf(p.market);
    expect(await p.market.connect(p.requester).withdraw.staticCall()).to.equal(awardRefund);
    await expect(p.market.connect(p.requester).withdraw())
      .to.emit(p.market, "Withdrawn")
      .withArgs(p.requester.address, awardRefund);
    expect(await p.token.balanceOf(p.requester.address)).to.equal(requesterBalance + awardRefund);
    expect(await p.token.balanceOf(p.market)).to.equal(marketBalance - awardRefund);
    expect(await p.market.claimableBalance(p.requester.address)).to.equal(0n);
  });

  it("sends the treasury the slashed stake and the fees credited to it", async () => {
    const { p, treasuryOwed } = await loadFixture(treasuryCreditedFixture);
    expect(await p.market.claimableBalance(p.treasury.address)).to.equal(treasuryOwed);
    const before = await p.token.balanceOf(p.treasury.address);
    await expect(p.market.connect(p.treasury).withdraw())
      .to.emit(p.market, "Withdrawn")
      .withArgs(p.treasury.address, treasuryOwed);
    expect(await p.token.balanceOf(p.treasury.address)).to.equal(before + treasuryOwed);
    expect(await p.market.claimableBalance(p.treasury.address)).to.equal(0n);
  });

  it("pays refunds credited by several jobs in one withdrawal", async () => {
    const { p, refund } = await loadFixture(twoCancelledJobsFixture);
    const before = await p.token.balanceOf(p.requester.address);
    await expect(p.market.connect(p.requester).withdraw())
      .to.emit(p.market, "Withdrawn")
      .withArgs(p.requester.address, refund);
    expect(await p.token.balanceOf(p.requester.address)).to.equal(before + refund);
    expect(await p.token.balanceOf(p.market)).to.equal(0n);
  });

  it("rejects a withdrawal by an account that is owed nothing", async () => {
    const { p, a } = await loadFixture(awardedFixture);
    await expect(p.market.connect(a).withdraw())
      .to.be.revertedWithCustomError(p.market, "JobMarketNothingToWithdraw")
      .withArgs(a.address);
  });

  it("rejects a second withdrawal once the balance has been paid out", async () => {
    const { p } = await loadFixture(awardedFixture);
    await p.market.connect(p.requester).withdraw();
    const balance = await p.token.balanceOf(p.requester.address);
    await expect(p.market.connect(p.requester).withdraw())
      .to.be.revertedWithCustomError(p.market, "JobMarketNothingToWithdraw")
      .withArgs(p.requester.address);
    expect(await p.token.balanceOf(p.requester.address)).to.equal(balance);
  });

  it("keeps working while the market is paused", async () => {
    const { p, awardRefund } = await loadFixture(awardedFixture);
    await p.market.connect(p.owner).pause();
    await expect(p.market.connect(p.requester).withdraw())
      .to.emit(p.market, "Withdrawn")
      .withArgs(p.requester.address, awardRefund);
  });
});
