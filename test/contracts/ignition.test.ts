import path from "node:path";
import type { DeploymentParameters } from "@nomicfoundation/ignition-core";
import { expect } from "chai";
import ConunModule from "../../ignition/modules/conun.js";
import {
  at,
  commitThenReveal,
  contractsNetwork,
  jobSpec,
  ONE,
  type Protocol,
  passTime,
  postJob,
  registerProviders,
} from "./support/index.ts";

const { connection, ethers, ignition, networkHelpers } = await contractsNetwork();

const PARAMETERS_DIR = path.join(import.meta.dirname, "..", "..", "ignition", "parameters");
const DAY = 24n * 60n * 60n;
/** JobMarket requires a cooldown longer than MAX_BIDDING + MAX_EXECUTION + MAX_REVEAL windows. */
const LONGEST_JOB = (7n + 14n + 3n) * DAY;

/** Deploys the Ignition module and returns the typed contracts. */
async function deployModule(parameters: DeploymentParameters | string) {
  const deployed = await ignition.deploy(ConunModule, { parameters });
  const [token, registry, market] = await Promise.all([
    ethers.getContractAt("ConunToken", await deployed.token.getAddress()),
    ethers.getContractAt("ProviderRegistry", await deployed.registry.getAddress()),
    ethers.getContractAt("JobMarket", await deployed.market.getAddress()),
  ]);
  return { token, registry, market, assignment: deployed.assignment };
}

type Deployed = Awaited<ReturnType<typeof deployModule>>;

/** Asserts that the token's whole supply, `supply`, sits with `holder`. */
async function expectWholeSupplyWith(
  token: Deployed["token"],
  holder: { address: string },
  supply: bigint,
) {
  expect(await token.totalSupply()).to.equal(supply);
  expect(await token.balanceOf(holder.address)).to.equal(supply);
}

/** Asserts the registry's unstake cooldown and the market's fee and treasury. */
async function expectSettings(
  { registry, market }: Pick<Deployed, "registry" | "market">,
  expected: { cooldown: bigint; feeBps: bigint; treasury: { address: string } },
) {
  expect(await registry.unstakeCooldown()).to.equal(expected.cooldown);
  expect(await market.protocolFeeBps()).to.equal(expected.feeBps);
  expect(await market.treasury()).to.equal(expected.treasury.address);
}

describe("Ignition module Conun", () => {
  async function defaultDeploymentFixture() {
    const deployer = at(await ethers.getSigners(), 0);
    return { deployer, ...(await deployModule({})) };
  }

  async function customDeploymentFixture() {
    const signers = await ethers.getSigners();
    const holder = at(signers, 5);
    const treasury = at(signers, 6);
    const parameters = {
      Conun: {
        supply: 5_000_000n * ONE,
        tokenHolder: holder.address,
        unstakeCooldown: 30n * DAY,
        feeBps: 250n,
        treasury: treasury.address,
      },
    };
    return { holder, treasury, ...(await deployModule(parameters)) };
  }

  describe("with default parameters", () => {
    it("mints 1e9 CONUN to the deployer", async () => {
      const { token, deployer } = await networkHelpers.loadFixture(defaultDeploymentFixture);
      await expectWholeSupplyWith(token, deployer, 1_000_000_000n * ONE);
    });

    it("connects the registry to the market, once and for good", async () => {
      const { registry, market, token } =
        await networkHelpers.loadFixture(defaultDeploymentFixture);
      const marketAddress = await market.getAddress();
      expect(await registry.market()).to.equal(marketAddress);
      expect(await registry.token()).to.equal(await token.getAddress());
      await expect(registry.setMarket(marketAddress))
        .to.be.revertedWithCustomError(registry, "ProviderRegistryMarketAlreadySet")
        .withArgs(marketAddress);
    });

    it("points the market at the token and the registry", async () => {
      const { registry, market, token } =
        await networkHelpers.loadFixture(defaultDeploymentFixture);
      expect(await market.token()).to.equal(await token.getAddress());
      expect(await market.registry()).to.equal(await registry.getAddress());
    });

    it("sets a 28-day cooldown, a 1% fee, and the deployer as treasury and owner", async () => {
      const { registry, market, deployer } =
        await networkHelpers.loadFixture(defaultDeploymentFixture);
      await expectSettings(
        { registry, market },
        { cooldown: 28n * DAY, feeBps: 100n, treasury: deployer },
      );
      expect(await market.owner()).to.equal(deployer.address);
      expect(await registry.owner()).to.equal(deployer.address);
    });

    it("links the market against the deployed Assignment library", async () => {
      const { market, assignment } = await networkHelpers.loadFixture(defaultDeploymentFixture);
      const code = await ethers.provider.getCode(await market.getAddress());
      const libraryAddress = (await assignment.getAddress()).slice(2).toLowerCase();
      expect(code.toLowerCase()).to.contain(libraryAddress);
    });
  });

  describe("with custom parameters", () => {
    it("mints the chosen supply to the chosen holder", async () => {
      const { token, holder } = await networkHelpers.loadFixture(customDeploymentFixture);
      await expectWholeSupplyWith(token, holder, 5_000_000n * ONE);
    });

    it("applies the cooldown, the fee and the treasury", async () => {
      const { registry, market, treasury } =
        await networkHelpers.loadFixture(customDeploymentFixture);
      await expectSettings({ registry, market }, { cooldown: 30n * DAY, feeBps: 250n, treasury });
    });

    it("runs a job end to end, paying the fee to the configured treasury", async () => {
      const { token, registry, market, holder, treasury } =
        await networkHelpers.loadFixture(customDeploymentFixture);
      const signers = await ethers.getSigners();
      const [owner, requester] = [at(signers, 0), at(signers, 7)];
      const providers = [at(signers, 8), at(signers, 9), at(signers, 10)];
      // The helpers fund providers from `owner`, so give it the supply the module minted.
      await token.connect(holder).transfer(owner.address, 1_000_000n * ONE);
      await token.connect(owner).transfer(requester.address, 100n * ONE);
      await token.connect(requester).approve(await market.getAddress(), ethers.MaxUint256);
      const p: Protocol = {
        token,
        registry,
        market,
        owner,
        treasury,
        requester,
        providers,
        others: [],
      };
      await registerProviders(p, providers);

      const jobId = await postJob(p);
      const price = ONE / 2n;
      for (const provider of providers) {
        await market.connect(provider).placeBid(jobId, price, 1);
      }
      await passTime(connection, (await market.getJob(jobId)).biddingDeadline);
      await market.closeBidding(jobId);
      await commitThenReveal(connection, p, jobId, providers);
      await market.finalize(jobId);

      const replication = BigInt(jobSpec().replication);
      const fee = (price * 250n) / 10_000n;
      for (const provider of providers) {
        await expect(market.connect(provider).claim(jobId)).to.changeTokenBalances(
          ethers,
          token,
          [provider, market],
          [price - fee, -(price - fee)],
        );
      }
      expect(await market.claimableBalance(treasury.address)).to.equal(fee * replication);
    });
  });

  describe("with the per-network parameter files", () => {
    it("deploys localhost.json with the deployer as owner and Hardhat account #1 as treasury", async () => {
      const { registry, market } = await deployModule(path.join(PARAMETERS_DIR, "localhost.json"));
      const signers = await ethers.getSigners();
      expect(await registry.market()).to.equal(await market.getAddress());
      expect(await registry.unstakeCooldown()).to.equal(28n * DAY);
      expect(await market.protocolFeeBps()).to.equal(100n);
      expect(await market.treasury()).to.equal(at(signers, 1).address);
      expect(await market.owner()).to.equal(at(signers, 0).address);
    });

    it("deploys sepolia.json with a cooldown that outlasts every job's windows", async () => {
      const { registry, market } = await deployModule(path.join(PARAMETERS_DIR, "sepolia.json"));
      const deployer = at(await ethers.getSigners(), 0);
      expect(await registry.market()).to.equal(await market.getAddress());
      expect(await registry.unstakeCooldown()).to.be.greaterThan(LONGEST_JOB);
      expect(await market.treasury()).to.equal(deployer.address);
      expect(await market.owner()).to.equal(deployer.address);
    });
  });

  it("fails at the market when the cooldown does not outlast the longest job", async () => {
    const error = await deployModule({ Conun: { unstakeCooldown: LONGEST_JOB } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.match(/Conun#JobMarket/);
    expect((error as Error).message).to.contain(
      `JobMarketCooldownTooShort(${LONGEST_JOB}, ${LONGEST_JOB})`,
    );
  });
});
