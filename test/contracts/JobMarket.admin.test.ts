import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import {
  COOLDOWN,
  Credit,
  closeBiddingAfterDeadline,
  commitAll,
  commitThenReveal,
  contractsNetwork,
  deployProtocol,
  equalBids,
  expectNotOwner,
  FEE_BPS,
  feeOn,
  jobSpec,
  ONE,
  openJobWithBids,
  type Protocol,
  postJob,
  resultRoot,
  revealAll,
  SMALL_PROVIDER_STAKE,
  Status,
  SUPPLY,
  take,
} from "./support/index.ts";

const { connection, ethers, networkHelpers } = await contractsNetwork();

const DAY = 24n * 3600n;
const MAX_FEE_BPS = 500n;
const STAKE = SMALL_PROVIDER_STAKE;
const STAKE_PER_TASK_REPLICA = 2n * ONE;
// One task, three replicas at up to 1 CONUN: 3 CONUN of escrow.
const SPEC = {
  taskCount: 1,
  replication: 3,
  quorum: 2,
  maxPrice: ONE,
  stakePerTaskReplica: STAKE_PER_TASK_REPLICA,
};
const ESCROW = 3n * ONE;

async function deployedProtocolFixture() {
  return deployProtocol(connection);
}

/** A job with three winning-to-be bids (1 CONUN each) and four registered providers. */
async function jobWithBidsFixture() {
  const { p, providers, jobId } = await openJobWithBids(connection, {
    providers: 4,
    stake: STAKE,
    spec: SPEC,
    bids: equalBids(3, ONE),
  });
  const [alice, bob, carol, dave] = take(providers, 4);
  return { ...p, alice, bob, carol, dave, jobId };
}

/** Closes bidding, has every winner commit and reveal the same root, and finalizes. */
async function runToFinalized(p: Protocol, jobId: bigint, winners: Protocol["providers"]) {
  await closeBiddingAfterDeadline(connection, p, jobId);
  await commitThenReveal(connection, p, jobId, winners);
  await p.market.finalize(jobId);
}

/** A JobMarket factory linked to a freshly deployed Assignment library. */
async function jobMarketFactory() {
  const assignment = await ethers.deployContract("contracts/libraries/Assignment.sol:Assignment");
  return ethers.getContractFactory("JobMarket", {
    libraries: {
      "project/contracts/libraries/Assignment.sol:Assignment": await assignment.getAddress(),
    },
  });
}

describe("JobMarket#setProtocolFee", () => {
  /** Sets the fee as `asOwner` and asserts the event and the stored fee. */
  async function expectFeeSet(asOwner: Protocol["market"], fee: bigint) {
    await expect(asOwner.setProtocolFee(fee)).to.emit(asOwner, "ProtocolFeeSet").withArgs(fee);
    expect(await asOwner.protocolFeeBps()).to.equal(fee);
  }

  it("sets the fee for future jobs and emits ProtocolFeeSet", async () => {
    const { market, owner } = await networkHelpers.loadFixture(deployedProtocolFixture);
    expect(await market.protocolFeeBps()).to.equal(FEE_BPS);

    await expectFeeSet(market.connect(owner), 250n);
  });

  it("accepts MAX_FEE_BPS and zero", async () => {
    const { market, owner } = await networkHelpers.loadFixture(deployedProtocolFixture);
    expect(await market.MAX_FEE_BPS()).to.equal(MAX_FEE_BPS);

    await expectFeeSet(market.connect(owner), MAX_FEE_BPS);
    await expectFeeSet(market.connect(owner), 0n);
  });

  it("rejects a fee above MAX_FEE_BPS", async () => {
    const { market, owner } = await networkHelpers.loadFixture(deployedProtocolFixture);

    await expect(market.connect(owner).setProtocolFee(MAX_FEE_BPS + 1n))
      .to.be.revertedWithCustomError(market, "JobMarketFeeTooHigh")
      .withArgs(MAX_FEE_BPS + 1n, MAX_FEE_BPS);
    expect(await market.protocolFeeBps()).to.equal(FEE_BPS);
  });

  it("rejects any caller but the owner", async () => {
    const { market, treasury, requester } =
      await networkHelpers.loadFixture(deployedProtocolFixture);

    for (const caller of [treasury, requester]) {
      await expectNotOwner(market.connect(caller).setProtocolFee(0), market, caller);
    }
    expect(await market.protocolFeeBps()).to.equal(FEE_BPS);
  });

  it("charges a job the fee in force when it was posted, not the one at claim time", async () => {
    const p = await networkHelpers.loadFixture(jobWithBidsFixture);
    const { token, market, owner, treasury, alice, bob, carol, jobId } = p;
    await market.connect(owner).setProtocolFee(MAX_FEE_BPS);
    await expect(market.connect(p.requester).postJob(jobSpec(SPEC)))
      .to.emit(market, "JobPosted")
      .withArgs(jobId + 1n, p.requester.address, anyValue, anyValue, ESCROW, MAX_FEE_BPS);
    expect((await market.getJob(jobId)).feeBps).to.equal(FEE_BPS);
    expect((await market.getJob(jobId + 1n)).feeBps).to.equal(MAX_FEE_BPS);

    await runToFinalized(p, jobId, [alice, bob, carol]);
    const fee = feeOn(ONE);
    const tx = await market.connect(alice).claim(jobId);
    await expect(tx)
      .to.emit(market, "Claimed")
      .withArgs(jobId, alice.address, ONE, fee, STAKE_PER_TASK_REPLICA);
    await expect(tx)
      .to.emit(market, "BalanceCredited")
      .withArgs(treasury.address, jobId, fee, Credit.Fee);
    await expect(tx).to.changeTokenBalances(
      ethers,
      token,
      [alice, market],
      [ONE - fee, -(ONE - fee)],
    );
    expect(await market.claimableBalance(treasury.address)).to.equal(fee);
  });
});

describe("JobMarket#setTreasury", () => {
  it("sets the treasury and emits TreasurySet", async () => {
    const { market, owner, others } = await networkHelpers.loadFixture(deployedProtocolFixture);
    const [newTreasury] = take(others, 1);

    await expect(market.connect(owner).setTreasury(newTreasury.address))
      .to.emit(market, "TreasurySet")
      .withArgs(newTreasury.address);
    expect(await market.treasury()).to.equal(newTreasury.address);
  });

  it("credits later fees to the new treasury", async () => {
    const p = await networkHelpers.loadFixture(jobWithBidsFixture);
    const { market, owner, treasury, others, alice, bob, carol, jobId } = p;
    const [newTreasury] = take(others, 1);
    await runToFinalized(p, jobId, [alice, bob, carol]);
    await market.connect(owner).setTreasury(newTreasury.address);
    const fee = feeOn(ONE);

    await expect(market.connect(alice).claim(jobId))
      .to.emit(market, "BalanceCredited")
      .withArgs(newTreasury.address, jobId, fee, Credit.Fee);
    expect(await market.claimableBalance(newTreasury.address)).to.equal(fee);
    expect(await market.claimableBalance(treasury.address)).to.equal(0n);
  });

  it("rejects the zero address", async () => {
    const { market, owner, treasury } = await networkHelpers.loadFixture(deployedProtocolFixture);

    await expect(
      market.connect(owner).setTreasury(ethers.ZeroAddress),
    ).to.be.revertedWithCustomError(market, "JobMarketZeroTreasury");
    expect(await market.treasury()).to.equal(treasury.address);
  });

  it("rejects any caller but the owner", async () => {
    const { market, treasury } = await networkHelpers.loadFixture(deployedProtocolFixture);

    await expectNotOwner(market.connect(treasury).setTreasury(treasury.address), market, treasury);
  });
});

describe("JobMarket#pause, #unpause", () => {
  it("pause and unpause toggle the paused flag and emit Paused and Unpaused", async () => {
    const { market, owner } = await networkHelpers.loadFixture(deployedProtocolFixture);

    await expect(market.connect(owner).pause()).to.emit(market, "Paused").withArgs(owner.address);
    expect(await market.paused()).to.equal(true);
    await expect(market.connect(owner).unpause())
      .to.emit(market, "Unpaused")
      .withArgs(owner.address);
    expect(await market.paused()).to.equal(false);
  });

  it("reject any caller but the owner", async () => {
    const { market, owner, requester } = await networkHelpers.loadFixture(deployedProtocolFixture);

    await expectNotOwner(market.connect(requester).pause(), market, requester);
    await market.connect(owner).pause();
    await expectNotOwner(market.connect(requester).unpause(), market, requester);
    expect(await market.paused()).to.equal(true);
  });

  it("reject pausing twice and unpausing a running market", async () => {
    const { market, owner } = await networkHelpers.loadFixture(deployedProtocolFixture);

    await expect(market.connect(owner).unpause()).to.be.revertedWithCustomError(
      market,
      "ExpectedPause",
    );
    await market.connect(owner).pause();
    await expect(market.connect(owner).pause()).to.be.revertedWithCustomError(
      market,
      "EnforcedPause",
    );
  });

  it("stops new jobs and bids while paused, and lets them through again after unpause", async () => {
    const { token, market, owner, requester, dave, jobId } =
      await networkHelpers.loadFixture(jobWithBidsFixture);
    await market.connect(owner).pause();
    const balanceBefore = await token.balanceOf(requester.address);

    await expect(market.connect(requester).postJob(jobSpec(SPEC))).to.be.revertedWithCustomError(
      market,
      "EnforcedPause",
    );
    await expect(
      market
        .connect(requester)
        .postJobWithPermit(jobSpec(SPEC), 0, 0, ethers.ZeroHash, ethers.ZeroHash),
    ).to.be.revertedWithCustomError(market, "EnforcedPause");
    await expect(market.connect(dave).placeBid(jobId, ONE, 1)).to.be.revertedWithCustomError(
      market,
      "EnforcedPause",
    );
    expect(await market.jobCount()).to.equal(jobId);
    expect(await token.balanceOf(requester.address)).to.equal(balanceBefore);

    await market.connect(owner).unpause();
    await expect(market.connect(dave).placeBid(jobId, ONE, 1))
      .to.emit(market, "BidPlaced")
      .withArgs(jobId, dave.address, ONE, 1, STAKE_PER_TASK_REPLICA);
    await expect(market.connect(requester).postJob(jobSpec(SPEC)))
      .to.emit(market, "JobPosted")
      .withArgs(jobId + 1n, requester.address, anyValue, anyValue, ESCROW, FEE_BPS);
  });

  it("keeps every exit open while paused: cancel, withdraw a bid, close, commit, reveal, finalize, claim, withdraw", async () => {
    const p = await networkHelpers.loadFixture(jobWithBidsFixture);
    const { token, registry, market, owner, treasury, requester, alice, bob, carol, dave, jobId } =
      p;
    const jobToCancel = await postJob(p, SPEC);
    await market.connect(dave).placeBid(jobId, ONE, 1);
    await market.connect(owner).pause();

    await expect(market.connect(requester).cancelJob(jobToCancel))
      .to.emit(market, "JobCancelled")
      .withArgs(jobToCancel, ESCROW);
    await expect(market.connect(dave).withdrawBid(jobId))
      .to.emit(market, "BidWithdrawn")
      .withArgs(jobId, dave.address, STAKE_PER_TASK_REPLICA);
    expect(await registry.freeStakeOf(dave.address)).to.equal(STAKE);

    await expect(closeBiddingAfterDeadline(connection, p, jobId))
      .to.emit(market, "JobAwarded")
      .withArgs(jobId, anyValue, anyValue, 1, ESCROW, 0);
    for (const provider of [alice, bob, carol]) {
      await expect(commitAll(connection, p, jobId, provider))
        .to.emit(market, "ResultCommitted")
        .withArgs(jobId, 0, provider.address, anyValue);
    }
    for (const provider of [alice, bob, carol]) {
      await expect(revealAll(connection, p, jobId, provider))
        .to.emit(market, "ResultRevealed")
        .withArgs(jobId, 0, provider.address, resultRoot(connection, jobId, 0), "bafybeiresults");
    }
    await expect(market.finalize(jobId)).to.emit(market, "JobFinalized").withArgs(jobId, 0, 0);
    expect((await market.getJob(jobId)).status).to.equal(Status.Finalized);

    const fee = feeOn(ONE);
    for (const provider of [alice, bob, carol]) {
      const tx = await market.connect(provider).claim(jobId);
      await expect(tx)
        .to.emit(market, "Claimed")
        .withArgs(jobId, provider.address, ONE, fee, STAKE_PER_TASK_REPLICA);
      await expect(tx).to.changeTokenBalance(ethers, token, provider, ONE - fee);
      expect(await registry.freeStakeOf(provider.address)).to.equal(STAKE);
    }
    const treasuryTx = await market.connect(treasury).withdraw();
    await expect(treasuryTx)
      .to.emit(market, "Withdrawn")
      .withArgs(treasury.address, 3n * fee);
    await expect(treasuryTx).to.changeTokenBalance(ethers, token, treasury, 3n * fee);
    const requesterTx = await market.connect(requester).withdraw();
    await expect(requesterTx).to.emit(market, "Withdrawn").withArgs(requester.address, ESCROW);
    await expect(requesterTx).to.changeTokenBalance(ethers, token, requester, ESCROW);

    expect(await market.paused()).to.equal(true);
    expect(await token.balanceOf(await market.getAddress())).to.equal(0n);
  });
});

describe("JobMarket#constructor", () => {
  it("records its token, registry, treasury, fee and owner and emits TreasurySet and ProtocolFeeSet", async () => {
    const { token, registry, market, owner, treasury } =
      await networkHelpers.loadFixture(deployedProtocolFixture);

    expect(await market.token()).to.equal(await token.getAddress());
    expect(await market.registry()).to.equal(await registry.getAddress());
    expect(await market.treasury()).to.equal(treasury.address);
    expect(await market.protocolFeeBps()).to.equal(FEE_BPS);
    expect(await market.owner()).to.equal(owner.address);
    expect(await market.paused()).to.equal(false);
    const deployment = market.deploymentTransaction();
    await expect(deployment).to.emit(market, "TreasurySet").withArgs(treasury.address);
    await expect(deployment).to.emit(market, "ProtocolFeeSet").withArgs(FEE_BPS);
  });

  it("rejects a registry that stakes another token", async () => {
    const { token, owner, treasury } = await networkHelpers.loadFixture(deployedProtocolFixture);
    const otherToken = await ethers.deployContract("ConunToken", [owner.address, SUPPLY]);
    const otherRegistry = await ethers.deployContract("ProviderRegistry", [
      await otherToken.getAddress(),
      COOLDOWN,
      owner.address,
    ]);
    const factory = await jobMarketFactory();

    await expect(factory.deploy(token, otherRegistry, treasury.address, FEE_BPS, owner.address))
      .to.be.revertedWithCustomError(factory, "JobMarketTokenMismatch")
      .withArgs(await token.getAddress(), await otherToken.getAddress());
  });

  it("rejects a registry whose cooldown does not outlast the longest bidding, execution and reveal windows", async () => {
    const { token, owner, treasury } = await networkHelpers.loadFixture(deployedProtocolFixture);
    // 7 + 14 + 3 days; the cooldown must be strictly longer.
    const required = 24n * DAY;
    const factory = await jobMarketFactory();
    const deployRegistry = (cooldown: bigint) =>
      ethers.deployContract("ProviderRegistry", [token, cooldown, owner.address]);

    const tooShort = await deployRegistry(required);
    await expect(factory.deploy(token, tooShort, treasury.address, FEE_BPS, owner.address))
      .to.be.revertedWithCustomError(factory, "JobMarketCooldownTooShort")
      .withArgs(required, required);

    const longEnough = await deployRegistry(required + 1n);
    const market = await factory.deploy(
      token,
      longEnough,
      treasury.address,
      FEE_BPS,
      owner.address,
    );
    expect(await market.registry()).to.equal(await longEnough.getAddress());
  });

  it("rejects a zero treasury", async () => {
    const { token, registry, owner } = await networkHelpers.loadFixture(deployedProtocolFixture);
    const factory = await jobMarketFactory();

    await expect(
      factory.deploy(token, registry, ethers.ZeroAddress, FEE_BPS, owner.address),
    ).to.be.revertedWithCustomError(factory, "JobMarketZeroTreasury");
  });

  it("rejects an initial fee above MAX_FEE_BPS", async () => {
    const { token, registry, owner, treasury } =
      await networkHelpers.loadFixture(deployedProtocolFixture);
    const factory = await jobMarketFactory();

    await expect(factory.deploy(token, registry, treasury.address, MAX_FEE_BPS + 1n, owner.address))
      .to.be.revertedWithCustomError(factory, "JobMarketFeeTooHigh")
      .withArgs(MAX_FEE_BPS + 1n, MAX_FEE_BPS);
  });
});

describe("JobMarket ownership (Ownable2Step)", () => {
  it("moves only when the new owner accepts, and only the pending owner may accept", async () => {
    const { market, owner, treasury, others } =
      await networkHelpers.loadFixture(deployedProtocolFixture);
    const [newOwner, stranger] = take(others, 2);

    await expect(market.connect(owner).transferOwnership(newOwner.address))
      .to.emit(market, "OwnershipTransferStarted")
      .withArgs(owner.address, newOwner.address);
    expect(await market.owner()).to.equal(owner.address);
    expect(await market.pendingOwner()).to.equal(newOwner.address);
    // Until it accepts, the pending owner has no power.
    await expectNotOwner(market.connect(newOwner).setTreasury(newOwner.address), market, newOwner);
    await expectNotOwner(market.connect(stranger).acceptOwnership(), market, stranger);

    await expect(market.connect(newOwner).acceptOwnership())
      .to.emit(market, "OwnershipTransferred")
      .withArgs(owner.address, newOwner.address);
    expect(await market.owner()).to.equal(newOwner.address);
    expect(await market.pendingOwner()).to.equal(ethers.ZeroAddress);
    await expectNotOwner(market.connect(owner).pause(), market, owner);
    await expect(market.connect(newOwner).setTreasury(treasury.address))
      .to.emit(market, "TreasurySet")
      .withArgs(treasury.address);
  });

  it("lets the owner replace a pending transfer before it is accepted", async () => {
    const { market, owner, others } = await networkHelpers.loadFixture(deployedProtocolFixture);
    const [first, second] = take(others, 2);
    await market.connect(owner).transferOwnership(first.address);

    await expect(market.connect(owner).transferOwnership(second.address))
      .to.emit(market, "OwnershipTransferStarted")
      .withArgs(owner.address, second.address);
    await expectNotOwner(market.connect(first).acceptOwnership(), market, first);
    expect(await market.owner()).to.equal(owner.address);
  });
});
