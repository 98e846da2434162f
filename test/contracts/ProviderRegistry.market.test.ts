import { expect } from "chai";
import type { ProviderRegistry } from "../../types/ethers-contracts/index.js";
import {
  at,
  awardJob,
  COOLDOWN,
  commitAll,
  contractsNetwork,
  deployProtocol,
  expectNotOwner,
  ONE,
  passTime,
  registerProviders,
  revealAll,
  Slash,
  SMALL_PROVIDER_STAKE,
  SUPPLY,
  take,
} from "./support/index.ts";

const { connection, ethers, networkHelpers } = await contractsNetwork();

const STAKE = SMALL_PROVIDER_STAKE;

/**
 * A registry wired to an externally owned "market" account, so that the market-only functions
 * can be driven directly, with one provider staking `STAKE`.
 */
async function registryWithAccountAsMarketFixture() {
  const [, marketAccount, provider, stranger] = take(await ethers.getSigners(), 4);
  const { token, registry, owner } = await registryWithoutMarketFixture();
  await registry.setMarket(marketAccount.address);
  await token.transfer(provider.address, STAKE);
  await registry
    .connect(provider)
    .register({ cpuMillicores: 8000, memoryMiB: 16384, gpuCount: 0 }, "");
  await token.connect(provider).approve(await registry.getAddress(), STAKE);
  await registry.connect(provider).stake(STAKE);
  const asMarket = registry.connect(marketAccount);
  return { token, registry, owner, marketAccount, asMarket, provider, stranger };
}

/** A registry deployed but not yet connected to any market. */
async function registryWithoutMarketFixture() {
  const [owner, stranger] = take(await ethers.getSigners(), 2);
  const token = await ethers.deployContract("ConunToken", [owner.address, SUPPLY]);
  const registry = await ethers.deployContract("ProviderRegistry", [
    await token.getAddress(),
    COOLDOWN,
    owner.address,
  ]);
  return { token, registry, owner, stranger };
}

describe("ProviderRegistry#lockStake, #unlockStake, #slashStake", () => {
  it("reject every caller but the market, the owner included", async () => {
    const { registry, owner, provider, stranger } = await networkHelpers.loadFixture(
      registryWithAccountAsMarketFixture,
    );

    for (const caller of [owner, stranger, provider]) {
      await expect(registry.connect(caller).lockStake(provider.address, 1, ONE))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryCallerNotMarket")
        .withArgs(caller.address);
      await expect(registry.connect(caller).unlockStake(provider.address, 1, 0))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryCallerNotMarket")
        .withArgs(caller.address);
      await expect(registry.connect(caller).slashStake(provider.address, 1, 0))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryCallerNotMarket")
        .withArgs(caller.address);
    }
    expect((await registry.getProvider(provider.address)).locked).to.equal(0n);
  });

  it("lockStake moves free stake to locked and emits StakeLocked with the new total", async () => {
    const { registry, provider, asMarket } = await networkHelpers.loadFixture(
      registryWithAccountAsMarketFixture,
    );

    await expect(asMarket.lockStake(provider.address, 7, 30n * ONE))
      .to.emit(registry, "StakeLocked")
      .withArgs(provider.address, 7, 30n * ONE, 30n * ONE);
    await expect(asMarket.lockStake(provider.address, 8, 70n * ONE))
      .to.emit(registry, "StakeLocked")
      .withArgs(provider.address, 8, 70n * ONE, STAKE);

    expect(await registry.freeStakeOf(provider.address)).to.equal(0n);
    const record = await registry.getProvider(provider.address);
    expect([record.stake, record.locked]).to.deep.equal([STAKE, STAKE]);
  });

  it("unlockStake returns locked stake to free and emits StakeUnlocked", async () => {
    const { registry, provider, asMarket } = await networkHelpers.loadFixture(
      registryWithAccountAsMarketFixture,
    );
    await asMarket.lockStake(provider.address, 3, 60n * ONE);

    await expect(asMarket.unlockStake(provider.address, 3, 45n * ONE))
      .to.emit(registry, "StakeUnlocked")
      .withArgs(provider.address, 3, 45n * ONE, 15n * ONE);
    expect(await registry.freeStakeOf(provider.address)).to.equal(85n * ONE);
  });

  // Each call after locking `locked` of the 100 staked: one wei more than it may move.
  const overdrafts = [
    { call: "lockStake", locked: 60n * ONE, allowed: 40n * ONE, of: "free" },
    { call: "unlockStake", locked: 10n * ONE, allowed: 10n * ONE, of: "locked" },
    { call: "slashStake", locked: 10n * ONE, allowed: 10n * ONE, of: "locked" },
  ] as const;
  for (const { call, locked, allowed, of } of overdrafts) {
    it(`${call} rejects more than the ${of} stake`, async () => {
      const { registry, provider, asMarket } = await networkHelpers.loadFixture(
        registryWithAccountAsMarketFixture,
      );
      await asMarket.lockStake(provider.address, 3, locked);

      await expect(asMarket[call](provider.address, 3, allowed + 1n))
        .to.be.revertedWithCustomError(
          registry,
          of === "free"
            ? "ProviderRegistryInsufficientFreeStake"
            : "ProviderRegistryInsufficientLockedStake",
        )
        .withArgs(provider.address, allowed + 1n, allowed);
      expect((await registry.getProvider(provider.address)).locked).to.equal(locked);
    });
  }

  it("slashStake removes locked stake, sends the tokens to the market and emits StakeSlashed", async () => {
    const { token, registry, marketAccount, provider, asMarket } = await networkHelpers.loadFixture(
      registryWithAccountAsMarketFixture,
    );
    await asMarket.lockStake(provider.address, 5, 40n * ONE);

    const tx = await asMarket.slashStake(provider.address, 5, 25n * ONE);
    await expect(tx)
      .to.emit(registry, "StakeSlashed")
      .withArgs(provider.address, 5, 25n * ONE, 75n * ONE, 15n * ONE);
    await expect(tx).to.changeTokenBalances(
      ethers,
      token,
      [registry, marketAccount],
      [-25n * ONE, 25n * ONE],
    );

    const record = await registry.getProvider(provider.address);
    expect([record.stake, record.locked]).to.deep.equal([75n * ONE, 15n * ONE]);
    expect(await registry.totalStaked()).to.equal(75n * ONE);
    expect(await token.balanceOf(await registry.getAddress())).to.equal(75n * ONE);
  });
});

describe("ProviderRegistry#setMarket", () => {
  it("connects the market once and emits MarketSet", async () => {
    const { registry, owner, stranger } = await networkHelpers.loadFixture(
      registryWithoutMarketFixture,
    );
    expect(await registry.market()).to.equal(ethers.ZeroAddress);

    await expect(registry.connect(owner).setMarket(stranger.address))
      .to.emit(registry, "MarketSet")
      .withArgs(stranger.address);
    expect(await registry.market()).to.equal(stranger.address);
  });

  it("rejects a second call, even by the owner", async () => {
    const { registry, market, owner, others } =
      await networkHelpers.loadFixture(deployedProtocolFixture);
    const marketAddress = await market.getAddress();

    await expect(registry.connect(owner).setMarket(at(others, 0).address))
      .to.be.revertedWithCustomError(registry, "ProviderRegistryMarketAlreadySet")
      .withArgs(marketAddress);
    expect(await registry.market()).to.equal(marketAddress);
  });

  it("rejects the zero address", async () => {
    const { registry, owner } = await networkHelpers.loadFixture(registryWithoutMarketFixture);

    await expect(registry.connect(owner).setMarket(ethers.ZeroAddress))
      .to.be.revertedWithCustomError(registry, "ProviderRegistryZeroMarket")
      .withArgs();
    expect(await registry.market()).to.equal(ethers.ZeroAddress);
  });

  it("rejects any caller but the owner", async () => {
    const { registry, stranger } = await networkHelpers.loadFixture(registryWithoutMarketFixture);

    await expectNotOwner(
      registry.connect(stranger).setMarket(stranger.address),
      registry,
      stranger,
    );
    expect(await registry.market()).to.equal(ethers.ZeroAddress);
  });
});

describe("ProviderRegistry#constructor", () => {
  it("records the token, the cooldown and the owner", async () => {
    const { token, registry, owner } = await networkHelpers.loadFixture(
      registryWithoutMarketFixture,
    );

    expect(await registry.token()).to.equal(await token.getAddress());
    expect(await registry.unstakeCooldown()).to.equal(COOLDOWN);
    expect(await registry.owner()).to.equal(owner.address);
    expect(await registry.totalStaked()).to.equal(0n);
  });

  it("rejects a zero unstake cooldown", async () => {
    const { token, owner } = await networkHelpers.loadFixture(registryWithoutMarketFixture);
    const factory = await ethers.getContractFactory("ProviderRegistry");

    await expect(factory.deploy(await token.getAddress(), 0, owner.address))
      .to.be.revertedWithCustomError(factory, "ProviderRegistryInvalidCooldown")
      .withArgs(0);
  });
});

async function deployedProtocolFixture() {
  return deployProtocol(connection);
}

describe("ProviderRegistry#totalStaked", () => {
  /** The registry's token balance, its totalStaked and the sum over providers, all at once. */
  async function stakeAccounting(registry: ProviderRegistry, providers: string[]) {
    const token = await ethers.getContractAt("ConunToken", await registry.token());
    let sum = 0n;
    for (const provider of providers) {
      const record = await registry.getProvider(provider);
      sum += record.stake + record.unbonding;
    }
    return {
      balance: await token.balanceOf(await registry.getAddress()),
      totalStaked: await registry.totalStaked(),
      sum,
    };
  }

  it("equals the registry's token balance through staking, unstaking and a slash by a real job", async () => {
    const p = await networkHelpers.loadFixture(deployedProtocolFixture);
    const [a, b, c, d] = take(p.providers, 4);
    const addresses = [a, b, c, d].map((s) => s.address);
    const expectBalanced = async (expected: bigint) => {
      const accounting = await stakeAccounting(p.registry, addresses);
      expect(accounting).to.deep.equal({ balance: expected, totalStaked: expected, sum: expected });
    };

    await registerProviders(p, [a, b, c, d], STAKE);
    await expectBalanced(4n * STAKE);

    await p.registry.connect(d).requestUnstake(40n * ONE);
    await expectBalanced(4n * STAKE);
    await passTime(connection, (await p.registry.getProvider(d.address)).unbondingReleaseAt);
    await p.registry.connect(d).withdrawUnstaked();
    await expectBalanced(4n * STAKE - 40n * ONE);

    // One task, three replicas, 2 CONUN of stake per task-replica: c never commits.
    const stakePerTaskReplica = 2n * ONE;
    const jobId = await awardJob(connection, p, { stakePerTaskReplica }, [
      { provider: a, price: ONE, capacity: 1 },
      { provider: b, price: ONE, capacity: 1 },
      { provider: c, price: ONE, capacity: 1 },
    ]);
    await expectBalanced(4n * STAKE - 40n * ONE);
    await commitAll(connection, p, jobId, a);
    await commitAll(connection, p, jobId, b);
    const job = await p.market.getJob(jobId);
    await passTime(connection, job.commitDeadline);
    await revealAll(connection, p, jobId, a);
    await revealAll(connection, p, jobId, b);

    await expect(p.market.finalize(jobId))
      .to.emit(p.registry, "StakeSlashed")
      .withArgs(c.address, jobId, stakePerTaskReplica, STAKE - stakePerTaskReplica, 0n)
      .and.to.emit(p.market, "ProviderSlashed")
      .withArgs(jobId, 0, c.address, stakePerTaskReplica, Slash.NoCommit);
    await expectBalanced(4n * STAKE - 40n * ONE - stakePerTaskReplica);
    // The market now also holds the slashed stake, credited to the treasury.
    expect(await p.market.claimableBalance(p.treasury.address)).to.equal(stakePerTaskReplica);
    expect(await p.token.balanceOf(await p.market.getAddress())).to.equal(
      (await p.market.getJob(jobId)).escrow +
        (await p.market.claimableBalance(p.requester.address)) +
        stakePerTaskReplica,
    );

    await p.market.connect(a).claim(jobId);
    await p.market.connect(b).claim(jobId);
    await expectBalanced(4n * STAKE - 40n * ONE - stakePerTaskReplica);
    expect(await p.registry.freeStakeOf(c.address)).to.equal(STAKE - stakePerTaskReplica);
    await p.registry.connect(c).requestUnstake(STAKE - stakePerTaskReplica);
    await expectBalanced(4n * STAKE - 40n * ONE - stakePerTaskReplica);
  });
});
