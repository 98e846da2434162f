// Re-entrancy through the token. The market only ever talks to CONUN, which has no hooks, but
// its guards must not depend on that: here the registry and the market are deployed on a
// malicious ERC-20 (contracts/mocks/ReentrantToken.sol) whose transfer calls back into the
// market in the middle of withdraw, claim, finalize (via the registry's slash transfer) and
// postJob. A mock is the only way to get a token that calls back; CONUN itself cannot.
import { expect } from "chai";
import type {
  ConunToken,
  JobMarket,
  ProviderRegistry,
} from "../../types/ethers-contracts/index.js";
import type { ReentrantToken } from "../../types/ethers-contracts/mocks/ReentrantToken.js";
import {
  awardJob,
  COOLDOWN,
  commitAll,
  contractsNetwork,
  defined,
  FEE_BPS,
  feeOn,
  jobSpec,
  ONE,
  PRICE,
  type Protocol,
  registerProviders,
  revealAll,
  SUPPLY,
  take,
} from "./support/index.ts";

const { connection, ethers, loadFixture } = await contractsNetwork();

const STAKE = 2n * ONE;
const Reentry = { None: 0n, Withdraw: 1n, Claim: 2n, Finalize: 3n };

/** The protocol deployed on ReentrantToken instead of CONUN. */
async function deployOnReentrantToken(): Promise<{ p: Protocol; token: ReentrantToken }> {
  const signers = await ethers.getSigners();
  const [owner, treasury, requester] = take(signers, 3);
  const rest = signers.slice(3);
  const token = (await ethers.deployContract("ReentrantToken", [
    owner.address,
    SUPPLY,
  ])) as unknown as ReentrantToken;
  const registry = (await ethers.deployContract("ProviderRegistry", [
    await token.getAddress(),
    COOLDOWN,
    owner.address,
  ])) as unknown as ProviderRegistry;
  const assignment = await ethers.deployContract("Assignment");
  const market = (await ethers.deployContract(
    "JobMarket",
    [
      await token.getAddress(),
      await registry.getAddress(),
      treasury.address,
      FEE_BPS,
      owner.address,
    ],
    { libraries: { Assignment: await assignment.getAddress() } },
  )) as unknown as JobMarket;
  await registry.setMarket(await market.getAddress());
  await token.transfer(requester.address, 1_000_000n * ONE);
  await token.connect(requester).approve(await market.getAddress(), ethers.MaxUint256);
  const p: Protocol = {
    token: token as unknown as ConunToken,
    registry,
    market,
    owner,
    treasury,
    requester,
    providers: rest.slice(0, 3),
    others: rest.slice(3),
  };
  return { p, token };
}

/** A 1 task x 3 job on the malicious token, awarded below max price, c revealed a wrong root. */
async function revealedWithCheaterFixture() {
  const { p, token } = await deployOnReentrantToken();
  const [a, b, c] = take(p.providers, 3);
  await registerProviders(p, [a, b, c]);
  const jobId = await awardJob(
    connection,
    p,
    {},
    [a, b, c].map((provider) => ({ provider, price: PRICE, capacity: 1 })),
  );
  for (const [i, m] of [a, b, c].entries())
    await commitAll(connection, p, jobId, m, i === 2 ? 1 : 0);
  for (const [i, m] of [a, b, c].entries())
    await revealAll(connection, p, jobId, m, i === 2 ? 1 : 0);
  return { p, token, jobId, a, b, c };
}

/** The same job finalized: a and b are owed PRICE, the treasury c's slashed stake. */
async function finalizedFixture() {
  const f = await revealedWithCheaterFixture();
  await f.p.market.finalize(f.jobId);
  return f;
}

const reentrancySelector = (market: JobMarket) =>
  defined(market.interface.getError("ReentrancyGuardReentrantCall")).selector;

describe("JobMarket re-entrancy", () => {
  describe("JobMarket#withdraw", () => {
    it("rejects a withdraw re-entered from the token transfer, and the whole call reverts", async () => {
      const { p, token } = await loadFixture(finalizedFixture);
      const owed = await p.market.claimableBalance(p.requester.address);
      expect(owed).to.equal(3n * (ONE - PRICE) + PRICE);
      const requesterBalance = await token.balanceOf(p.requester.address);
      const marketBalance = await token.balanceOf(p.market);
      await token.arm(p.market, Reentry.Withdraw, 0n, false);
      await expect(p.market.connect(p.requester).withdraw())
        .to.be.revertedWithCustomError(p.market, "ReentrancyGuardReentrantCall")
        .withArgs();
      expect(await token.balanceOf(p.requester.address)).to.equal(requesterBalance);
      expect(await token.balanceOf(p.market)).to.equal(marketBalance);
      expect(await p.market.claimableBalance(p.requester.address)).to.equal(owed);
    });

    it("pays exactly once when the token swallows the rejected re-entry", async () => {
      const { p, token } = await loadFixture(finalizedFixture);
      const owed = await p.market.claimableBalance(p.requester.address);
      const requesterBalance = await token.balanceOf(p.requester.address);
      const marketBalance = await token.balanceOf(p.market);
      await token.arm(p.market, Reentry.Withdraw, 0n, true);
      const tx = p.market.connect(p.requester).withdraw();
      await expect(tx).to.emit(p.market, "Withdrawn").withArgs(p.requester.address, owed);
      await expect(tx)
        .to.emit(token, "ReentryAttempted")
        .withArgs(Reentry.Withdraw, false, reentrancySelector(p.market));
      const withdrawals = await p.market.queryFilter(p.market.filters.Withdrawn());
      expect(withdrawals).to.have.length(1);
      expect(await token.attempts()).to.equal(1n);
      expect(await token.balanceOf(p.requester.address)).to.equal(requesterBalance + owed);
      expect(await token.balanceOf(p.market)).to.equal(marketBalance - owed);
      expect(await p.market.claimableBalance(p.requester.address)).to.equal(0n);
    });
  });

  describe("JobMarket#claim", () => {
    it("rejects a claim re-entered from the payment transfer, leaving the claim open", async () => {
      const { p, token, jobId, a } = await loadFixture(finalizedFixture);
      const balance = await token.balanceOf(a.address);
      const marketBalance = await token.balanceOf(p.market);
      await token.arm(p.market, Reentry.Claim, jobId, false);
      await expect(p.market.connect(a).claim(jobId))
        .to.be.revertedWithCustomError(p.market, "ReentrancyGuardReentrantCall")
        .withArgs();
      expect(await token.balanceOf(a.address)).to.equal(balance);
      expect(await token.balanceOf(p.market)).to.equal(marketBalance);
      expect((await p.market.getBid(jobId, a.address)).claimed).to.equal(false);
    });

    it("pays a claim exactly once when the token swallows the rejected re-entry", async () => {
      const { p, token, jobId, a } = await loadFixture(finalizedFixture);
      const fee = feeOn(PRICE);
      const balance = await token.balanceOf(a.address);
      const marketBalance = await token.balanceOf(p.market);
      await token.arm(p.market, Reentry.Claim, jobId, true);
      const tx = p.market.connect(a).claim(jobId);
      await expect(tx).to.emit(p.market, "Claimed").withArgs(jobId, a.address, PRICE, fee, STAKE);
      await expect(tx)
        .to.emit(token, "ReentryAttempted")
        .withArgs(Reentry.Claim, false, reentrancySelector(p.market));
      expect(await p.market.queryFilter(p.market.filters.Claimed(jobId))).to.have.length(1);
      expect(await token.balanceOf(a.address)).to.equal(balance + PRICE - fee);
      expect(await token.balanceOf(p.market)).to.equal(marketBalance - (PRICE - fee));
    });
  });

  describe("JobMarket#finalize", () => {
    it("rejects a finalize re-entered from the registry's slash transfer", async () => {
      const { p, token, jobId } = await loadFixture(revealedWithCheaterFixture);
      const marketBalance = await token.balanceOf(p.market);
      const registryBalance = await token.balanceOf(p.registry);
      await token.arm(p.market, Reentry.Finalize, jobId, false);
      await expect(p.market.finalize(jobId))
        .to.be.revertedWithCustomError(p.market, "ReentrancyGuardReentrantCall")
        .withArgs();
      expect(await token.balanceOf(p.market)).to.equal(marketBalance);
      expect(await token.balanceOf(p.registry)).to.equal(registryBalance);
      expect(await p.market.isFinalizable(jobId)).to.equal(true);
    });

    it("slashes exactly once when the token swallows the rejected re-entry", async () => {
      const { p, token, jobId, c } = await loadFixture(revealedWithCheaterFixture);
      const marketBalance = await token.balanceOf(p.market);
      const registryBalance = await token.balanceOf(p.registry);
      await token.arm(p.market, Reentry.Finalize, jobId, true);
      const tx = p.market.finalize(jobId);
      await expect(tx).to.emit(p.market, "JobFinalized").withArgs(jobId, PRICE, STAKE);
      await expect(tx)
        .to.emit(token, "ReentryAttempted")
        .withArgs(Reentry.Finalize, false, reentrancySelector(p.market));
      expect(await p.market.queryFilter(p.market.filters.JobFinalized(jobId))).to.have.length(1);
      expect(
        await p.registry.queryFilter(p.registry.filters.StakeSlashed(c.address)),
      ).to.have.length(1);
      expect(await token.balanceOf(p.market)).to.equal(marketBalance + STAKE);
      expect(await token.balanceOf(p.registry)).to.equal(registryBalance - STAKE);
      expect(await p.market.claimableBalance(p.treasury.address)).to.equal(STAKE);
    });
  });

  describe("JobMarket#postJob", () => {
    it("rejects a withdraw re-entered from the escrow pull, so no job is posted", async () => {
      const { p, token } = await loadFixture(finalizedFixture);
      const jobCount = await p.market.jobCount();
      const requesterBalance = await token.balanceOf(p.requester.address);
      await token.arm(p.market, Reentry.Withdraw, 0n, false);
      await expect(p.market.connect(p.requester).postJob(jobSpec()))
        .to.be.revertedWithCustomError(p.market, "ReentrancyGuardReentrantCall")
        .withArgs();
      expect(await p.market.jobCount()).to.equal(jobCount);
      expect(await token.balanceOf(p.requester.address)).to.equal(requesterBalance);
    });
  });
});
