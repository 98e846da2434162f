import { expect } from "chai";
import type { ProviderRegistry } from "../../types/ethers-contracts/index.js";
import {
  at,
  contractsNetwork,
  deployProtocol,
  deployWithProviders,
  ONE,
  postJob,
  SMALL_PROVIDER_STAKE,
} from "./support/index.ts";

const { connection, networkHelpers } = await contractsNetwork();

const CAPABILITIES = { cpuMillicores: 4000, memoryMiB: 8192, gpuCount: 1 };
const METADATA_URI = "ipfs://bafkreiprovidermetadata";

/**
 * Asserts that `tx` emitted `event` for `provider` with CAPABILITIES and METADATA_URI, and that the
 * registry now reports them; returns the provider's record.
 */
async function expectRecorded(
  registry: ProviderRegistry,
  tx: Promise<unknown>,
  event: "ProviderRegistered" | "ProviderUpdated",
  provider: string,
) {
  await expect(tx).to.emit(registry, event).withArgs(provider, [4000n, 8192n, 1n], METADATA_URI);
  const record = await registry.getProvider(provider);
  expect(record.registered).to.equal(true);
  expect([...record.capabilities]).to.deep.equal([4000n, 8192n, 1n]);
  expect(record.metadataURI).to.equal(METADATA_URI);
  const [registered, capabilities] = await registry.capabilitiesOf(provider);
  expect([registered, [...capabilities]]).to.deep.equal([true, [4000n, 8192n, 1n]]);
  return record;
}

/** A provider registered with `registerProviders`' capabilities and SMALL_PROVIDER_STAKE. */
async function registeredProviderFixture() {
  const { p, providers } = await deployWithProviders(connection, 1, {
    stake: SMALL_PROVIDER_STAKE,
  });
  return { ...p, provider: at(providers, 0) };
}

/** Capabilities the registry rejects, with the error's arguments. */
const capabilitiesWithout = [
  {
    what: "CPU",
    capabilities: { cpuMillicores: 0, memoryMiB: 8192, gpuCount: 1 },
    args: [0, 8192],
  },
  {
    what: "memory",
    capabilities: { cpuMillicores: 4000, memoryMiB: 0, gpuCount: 1 },
    args: [4000, 0],
  },
];

describe("ProviderRegistry#register", () => {
  async function unregisteredProviderFixture() {
    const p = await deployProtocol(connection);
    return { ...p, provider: at(p.providers, 0) };
  }

  it("records the caller's capabilities and metadata URI and emits ProviderRegistered", async () => {
    const { registry, provider } = await networkHelpers.loadFixture(unregisteredProviderFixture);

    const tx = registry.connect(provider).register(CAPABILITIES, METADATA_URI);
    const record = await expectRecorded(registry, tx, "ProviderRegistered", provider.address);
    expect([
      record.stake,
      record.locked,
      record.unbonding,
      record.unbondingReleaseAt,
    ]).to.deep.equal([0n, 0n, 0n, 0n]);
  });

  it("accepts an empty metadata URI and no GPU", async () => {
    const { registry, provider } = await networkHelpers.loadFixture(unregisteredProviderFixture);

    await expect(
      registry.connect(provider).register({ cpuMillicores: 1, memoryMiB: 1, gpuCount: 0 }, ""),
    )
      .to.emit(registry, "ProviderRegistered")
      .withArgs(provider.address, [1n, 1n, 0n], "");
    expect((await registry.getProvider(provider.address)).registered).to.equal(true);
  });

  it("reports an unknown account as unregistered with all-zero fields", async () => {
    const { registry, provider } = await networkHelpers.loadFixture(unregisteredProviderFixture);

    const record = await registry.getProvider(provider.address);
    expect(record.registered).to.equal(false);
    expect([...record.capabilities]).to.deep.equal([0n, 0n, 0n]);
    expect(record.metadataURI).to.equal("");
    const [registered] = await registry.capabilitiesOf(provider.address);
    expect(registered).to.equal(false);
  });

  for (const { what, capabilities, args } of capabilitiesWithout) {
    it(`rejects capabilities without ${what}`, async () => {
      const { registry, provider } = await networkHelpers.loadFixture(unregisteredProviderFixture);

      await expect(registry.connect(provider).register(capabilities, ""))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryInvalidCapabilities")
        .withArgs(...args);
      expect((await registry.getProvider(provider.address)).registered).to.equal(false);
    });
  }

  it("rejects a second registration of the same account and keeps the first", async () => {
    const { registry, provider } = await networkHelpers.loadFixture(registeredProviderFixture);

    await expect(registry.connect(provider).register(CAPABILITIES, METADATA_URI))
      .to.be.revertedWithCustomError(registry, "ProviderRegistryAlreadyRegistered")
      .withArgs(provider.address);
    const record = await registry.getProvider(provider.address);
    expect(record.capabilities.cpuMillicores).to.equal(8000n);
    expect(record.stake).to.equal(SMALL_PROVIDER_STAKE);
  });
});

describe("ProviderRegistry#updateProvider", () => {
  async function standingBidFixture() {
    const f = await registeredProviderFixture();
    const jobId = await postJob(f, { cpuMillicores: 4000, memoryMiB: 4096 });
    await f.market.connect(f.provider).placeBid(jobId, ONE, 1);
    return { ...f, jobId };
  }

  it("replaces capabilities and metadata URI, keeps the stake and emits ProviderUpdated", async () => {
    const { registry, provider } = await networkHelpers.loadFixture(registeredProviderFixture);

    const tx = registry.connect(provider).updateProvider(CAPABILITIES, METADATA_URI);
    const record = await expectRecorded(registry, tx, "ProviderUpdated", provider.address);
    expect(record.stake).to.equal(SMALL_PROVIDER_STAKE);
    expect(await registry.totalStaked()).to.equal(SMALL_PROVIDER_STAKE);
  });

  it("rejects capabilities without CPU or memory and keeps the old ones", async () => {
    const { registry, provider } = await networkHelpers.loadFixture(registeredProviderFixture);

    for (const { capabilities, args } of capabilitiesWithout) {
      await expect(registry.connect(provider).updateProvider(capabilities, ""))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryInvalidCapabilities")
        .withArgs(...args);
    }
    const record = await registry.getProvider(provider.address);
    expect([...record.capabilities]).to.deep.equal([8000n, 16384n, 0n]);
  });

  it("rejects an account that is not registered", async () => {
    const { registry, others } = await networkHelpers.loadFixture(registeredProviderFixture);
    const stranger = at(others, 0);

    await expect(registry.connect(stranger).updateProvider(CAPABILITIES, METADATA_URI))
      .to.be.revertedWithCustomError(registry, "ProviderRegistryNotRegistered")
      .withArgs(stranger.address);
    expect((await registry.getProvider(stranger.address)).registered).to.equal(false);
  });

  it("does not re-check a standing bid when capabilities shrink below the job's needs", async () => {
    const fixture = await networkHelpers.loadFixture(standingBidFixture);
    const { registry, market, provider, jobId } = fixture;

    await expect(
      registry
        .connect(provider)
        .updateProvider({ cpuMillicores: 1000, memoryMiB: 1024, gpuCount: 0 }, ""),
    ).to.emit(registry, "ProviderUpdated");

    expect(await market.biddersOf(jobId)).to.deep.equal([provider.address]);
    expect((await market.getBid(jobId, provider.address)).capacity).to.equal(1n);
    // A new bid, on the other hand, is checked against the new capabilities.
    const otherJob = await postJob(fixture, { cpuMillicores: 4000, memoryMiB: 4096 });
    await expect(market.connect(provider).placeBid(otherJob, ONE, 1))
      .to.be.revertedWithCustomError(market, "JobMarketInsufficientCapabilities")
      .withArgs(otherJob, provider.address);
  });
});
