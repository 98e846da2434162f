import { anyUint } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import {
  at,
  COOLDOWN,
  contractsNetwork,
  deployProtocol,
  deployWithProviders,
  expectPulledWithPermit,
  ONE,
  permitsTo,
  postJob,
  SMALL_PROVIDER_STAKE,
} from "./support/index.ts";

const { connection, ethers, networkHelpers, time } = await contractsNetwork();

const STAKE = SMALL_PROVIDER_STAKE;

/** A registered provider with `STAKE` tokens in its wallet, none staked and no approval. */
async function registeredWithTokensFixture() {
  const p = await deployProtocol(connection);
  const provider = at(p.providers, 0);
  await p.registry
    .connect(provider)
    .register({ cpuMillicores: 8000, memoryMiB: 16384, gpuCount: 0 }, "");
  await p.token.transfer(provider.address, STAKE);
  const registryAddress = await p.registry.getAddress();
  const permitToRegistry = permitsTo(connection, p.token, registryAddress);
  return { ...p, provider, registryAddress, permitToRegistry };
}

/** A provider with `STAKE` staked. */
async function stakedProviderFixture() {
  const { p, providers } = await deployWithProviders(connection, 1, { stake: STAKE });
  return { ...p, provider: at(providers, 0), registryAddress: await p.registry.getAddress() };
}

describe("ProviderRegistry#stake", () => {
  it("pulls the tokens, adds them to the stake and emits Staked with the new total", async () => {
    const { token, registry, provider, registryAddress } = await networkHelpers.loadFixture(
      registeredWithTokensFixture,
    );
    await token.connect(provider).approve(registryAddress, STAKE);

    const tx = await registry.connect(provider).stake(40n * ONE);
    await expect(tx)
      .to.emit(registry, "Staked")
      .withArgs(provider.address, 40n * ONE, 40n * ONE);
    await expect(tx).to.changeTokenBalances(
      ethers,
      token,
      [provider, registry],
      [-40n * ONE, 40n * ONE],
    );
    await expect(registry.connect(provider).stake(60n * ONE))
      .to.emit(registry, "Staked")
      .withArgs(provider.address, 60n * ONE, STAKE);

    const record = await registry.getProvider(provider.address);
    expect([record.stake, record.locked]).to.deep.equal([STAKE, 0n]);
    expect(await registry.freeStakeOf(provider.address)).to.equal(STAKE);
    expect(await registry.totalStaked()).to.equal(STAKE);
    expect(await token.balanceOf(registryAddress)).to.equal(STAKE);
  });

  it("rejects a zero amount", async () => {
    const { token, registry, provider, registryAddress } = await networkHelpers.loadFixture(
      registeredWithTokensFixture,
    );
    await token.connect(provider).approve(registryAddress, STAKE);

    await expect(registry.connect(provider).stake(0)).to.be.revertedWithCustomError(
      registry,
      "ProviderRegistryZeroAmount",
    );
    expect(await registry.totalStaked()).to.equal(0n);
  });

  it("rejects an account that is not registered", async () => {
    const { token, registry, others, registryAddress } = await networkHelpers.loadFixture(
      registeredWithTokensFixture,
    );
    const stranger = at(others, 0);
    await token.transfer(stranger.address, ONE);
    await token.connect(stranger).approve(registryAddress, ONE);

    await expect(registry.connect(stranger).stake(ONE))
      .to.be.revertedWithCustomError(registry, "ProviderRegistryNotRegistered")
      .withArgs(stranger.address);
    expect(await token.balanceOf(stranger.address)).to.equal(ONE);
  });

  it("reverts with the token's allowance error when the registry is not approved", async () => {
    const { token, registry, provider, registryAddress } = await networkHelpers.loadFixture(
      registeredWithTokensFixture,
    );

    await expect(registry.connect(provider).stake(ONE))
      .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
      .withArgs(registryAddress, 0, ONE);
    expect(await registry.totalStaked()).to.equal(0n);
  });
});

describe("ProviderRegistry#stakeWithPermit", () => {
  /**
   * The provider signs a permit for STAKE (`options` as for `permitToRegistry`) and stakes with
   * it: Staked with the new total, and the tokens move in.
   */
  async function expectStakesWithPermit(
    f: Awaited<ReturnType<typeof registeredWithTokensFixture>>,
    options?: Parameters<typeof f.permitToRegistry>[2],
  ) {
    const { deadline, v, r, s } = await f.permitToRegistry(f.provider, STAKE, options);
    const tx = await f.registry.connect(f.provider).stakeWithPermit(STAKE, deadline, v, r, s);
    await expect(tx).to.emit(f.registry, "Staked").withArgs(f.provider.address, STAKE, STAKE);
    await expectPulledWithPermit(connection, tx, f.token, f.provider, f.registry, STAKE);
  }

  it("stakes in one transaction without a prior approval", async () => {
    const f = await networkHelpers.loadFixture(registeredWithTokensFixture);
    await expectStakesWithPermit(f);
    expect(await f.registry.freeStakeOf(f.provider.address)).to.equal(STAKE);
  });

  it("still stakes when a front-runner has already submitted the permit", async () => {
    const f = await networkHelpers.loadFixture(registeredWithTokensFixture);
    // The permit is copied from the mempool and submitted first.
    await expectStakesWithPermit(f, { submittedFirstBy: at(f.others, 0) });
    expect(await f.registry.totalStaked()).to.equal(STAKE);
  });

  it("reverts with the token's allowance error when the permit is invalid and nothing is approved", async () => {
    const { token, registry, provider, registryAddress, permitToRegistry } =
      await networkHelpers.loadFixture(registeredWithTokensFixture);
    // Signed for a smaller amount than the one staked: the permit fails and is ignored.
    const { deadline, v, r, s } = await permitToRegistry(provider, ONE);

    await expect(registry.connect(provider).stakeWithPermit(STAKE, deadline, v, r, s))
      .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
      .withArgs(registryAddress, 0, STAKE);
    expect(await token.nonces(provider.address)).to.equal(0n);
  });

  it("rejects a zero amount", async () => {
    const { token, registry, provider, permitToRegistry } = await networkHelpers.loadFixture(
      registeredWithTokensFixture,
    );
    const { deadline, v, r, s } = await permitToRegistry(provider, 0n);

    await expect(
      registry.connect(provider).stakeWithPermit(0, deadline, v, r, s),
    ).to.be.revertedWithCustomError(registry, "ProviderRegistryZeroAmount");
    expect(await token.nonces(provider.address)).to.equal(0n);
  });

  it("rejects an account that is not registered", async () => {
    const { token, registry, others, permitToRegistry } = await networkHelpers.loadFixture(
      registeredWithTokensFixture,
    );
    const stranger = at(others, 0);
    await token.transfer(stranger.address, ONE);
    const { deadline, v, r, s } = await permitToRegistry(stranger, ONE);

    await expect(registry.connect(stranger).stakeWithPermit(ONE, deadline, v, r, s))
      .to.be.revertedWithCustomError(registry, "ProviderRegistryNotRegistered")
      .withArgs(stranger.address);
    expect(await token.balanceOf(stranger.address)).to.equal(ONE);
  });
});

describe("ProviderRegistry#requestUnstake", () => {
  /** A staked provider whose stake is partly locked behind a bid on an open job. */
  async function stakeLockedByBidFixture() {
    const f = await stakedProviderFixture();
    // 3 task-replicas at 20 CONUN each: 60 of the 100 staked are locked.
    const jobId = await postJob(f, { taskCount: 3, stakePerTaskReplica: 20n * ONE });
    await f.market.connect(f.provider).placeBid(jobId, ONE, 3);
    return { ...f, jobId };
  }

  it("moves free stake into unbonding, starts the cooldown and emits UnstakeRequested", async () => {
    const { token, registry, provider, registryAddress } =
      await networkHelpers.loadFixture(stakedProviderFixture);
    const requestedAt = BigInt(await time.latest()) + 1n;
    await time.setNextBlockTimestamp(requestedAt);

    const tx = await registry.connect(provider).requestUnstake(30n * ONE);
    await expect(tx)
      .to.emit(registry, "UnstakeRequested")
      .withArgs(provider.address, 30n * ONE, 70n * ONE, 30n * ONE, requestedAt + COOLDOWN);
    await expect(tx).to.changeTokenBalances(ethers, token, [provider, registry], [0n, 0n]);

    const record = await registry.getProvider(provider.address);
    expect(record.stake).to.equal(70n * ONE);
    expect(record.unbonding).to.equal(30n * ONE);
    expect(record.unbondingReleaseAt).to.equal(requestedAt + COOLDOWN);
    expect(await registry.freeStakeOf(provider.address)).to.equal(70n * ONE);
    // Unbonding tokens are still held, and still counted, by the registry.
    expect(await registry.totalStaked()).to.equal(STAKE);
    expect(await token.balanceOf(registryAddress)).to.equal(STAKE);
  });

  it("rejects a zero amount", async () => {
    const { registry, provider } = await networkHelpers.loadFixture(stakedProviderFixture);

    await expect(registry.connect(provider).requestUnstake(0)).to.be.revertedWithCustomError(
      registry,
      "ProviderRegistryZeroAmount",
    );
    expect((await registry.getProvider(provider.address)).unbonding).to.equal(0n);
  });

  it("rejects more than the free stake", async () => {
    const { registry, provider } = await networkHelpers.loadFixture(stakedProviderFixture);

    await expect(registry.connect(provider).requestUnstake(STAKE + 1n))
      .to.be.revertedWithCustomError(registry, "ProviderRegistryInsufficientFreeStake")
      .withArgs(provider.address, STAKE + 1n, STAKE);
    expect((await registry.getProvider(provider.address)).stake).to.equal(STAKE);
  });

  it("rejects stake that is locked behind a bid but allows the free remainder", async () => {
    const { registry, provider } = await networkHelpers.loadFixture(stakeLockedByBidFixture);
    expect(await registry.freeStakeOf(provider.address)).to.equal(40n * ONE);

    await expect(registry.connect(provider).requestUnstake(STAKE))
      .to.be.revertedWithCustomError(registry, "ProviderRegistryInsufficientFreeStake")
      .withArgs(provider.address, STAKE, 40n * ONE);
    await expect(registry.connect(provider).requestUnstake(40n * ONE))
      .to.emit(registry, "UnstakeRequested")
      .withArgs(provider.address, 40n * ONE, 60n * ONE, 40n * ONE, anyUint);

    const record = await registry.getProvider(provider.address);
    expect([record.stake, record.locked, record.unbonding]).to.deep.equal([
      60n * ONE,
      60n * ONE,
      40n * ONE,
    ]);
    expect(await registry.freeStakeOf(provider.address)).to.equal(0n);
  });

  it("restarts the cooldown for the whole unbonding amount on a second request", async () => {
    const { registry, provider } = await networkHelpers.loadFixture(stakedProviderFixture);
    await registry.connect(provider).requestUnstake(30n * ONE);
    const firstReleaseAt = (await registry.getProvider(provider.address)).unbondingReleaseAt;
    await time.increase(COOLDOWN / 2n);
    const secondRequestAt = BigInt(await time.latest()) + 1n;
    await time.setNextBlockTimestamp(secondRequestAt);

    await expect(registry.connect(provider).requestUnstake(20n * ONE))
      .to.emit(registry, "UnstakeRequested")
      .withArgs(provider.address, 20n * ONE, 50n * ONE, 50n * ONE, secondRequestAt + COOLDOWN);

    // The first request's release time no longer applies to any of the 50.
    await time.setNextBlockTimestamp(firstReleaseAt);
    await expect(registry.connect(provider).withdrawUnstaked())
      .to.be.revertedWithCustomError(registry, "ProviderRegistryUnbondingNotReleased")
      .withArgs(provider.address, secondRequestAt + COOLDOWN);
    await time.increaseTo(secondRequestAt + COOLDOWN);
    await expect(registry.connect(provider).withdrawUnstaked())
      .to.emit(registry, "Unstaked")
      .withArgs(provider.address, 50n * ONE);
  });
});

describe("ProviderRegistry#withdrawUnstaked", () => {
  async function unbondingFixture() {
    const f = await stakedProviderFixture();
    await f.registry.connect(f.provider).requestUnstake(30n * ONE);
    const { unbondingReleaseAt } = await f.registry.getProvider(f.provider.address);
    return { ...f, releaseAt: unbondingReleaseAt };
  }

  it("rejects a withdrawal one second before the cooldown ends", async () => {
    const { registry, provider, releaseAt } = await networkHelpers.loadFixture(unbondingFixture);
    await time.setNextBlockTimestamp(releaseAt - 1n);

    await expect(registry.connect(provider).withdrawUnstaked())
      .to.be.revertedWithCustomError(registry, "ProviderRegistryUnbondingNotReleased")
      .withArgs(provider.address, releaseAt);
    expect((await registry.getProvider(provider.address)).unbonding).to.equal(30n * ONE);
  });

  it("sends the unbonded stake back once the cooldown has ended and emits Unstaked", async () => {
    const { token, registry, provider, releaseAt } =
      await networkHelpers.loadFixture(unbondingFixture);
    await time.setNextBlockTimestamp(releaseAt);

    const tx = await registry.connect(provider).withdrawUnstaked();
    await expect(tx)
      .to.emit(registry, "Unstaked")
      .withArgs(provider.address, 30n * ONE);
    await expect(tx).to.changeTokenBalances(
      ethers,
      token,
      [provider, registry],
      [30n * ONE, -30n * ONE],
    );

    const record = await registry.getProvider(provider.address);
    expect([record.stake, record.unbonding, record.unbondingReleaseAt]).to.deep.equal([
      70n * ONE,
      0n,
      0n,
    ]);
    expect(await registry.totalStaked()).to.equal(70n * ONE);
    expect(await token.balanceOf(await registry.getAddress())).to.equal(70n * ONE);
  });

  it("rejects a second withdrawal, and a withdrawal with nothing unbonding", async () => {
    const { registry, provider, releaseAt, others } =
      await networkHelpers.loadFixture(unbondingFixture);
    await time.increaseTo(releaseAt);
    await registry.connect(provider).withdrawUnstaked();

    await expect(registry.connect(provider).withdrawUnstaked())
      .to.be.revertedWithCustomError(registry, "ProviderRegistryUnbondingNotReleased")
      .withArgs(provider.address, 0);
    const stranger = at(others, 0);
    await expect(registry.connect(stranger).withdrawUnstaked())
      .to.be.revertedWithCustomError(registry, "ProviderRegistryUnbondingNotReleased")
      .withArgs(stranger.address, 0);
    expect(await registry.totalStaked()).to.equal(70n * ONE);
  });
});
