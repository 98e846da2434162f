// Deploying the protocol with ethers alone, for places that cannot go through Ignition: local
// nodes started by tests, benchmarks and the demo on a free port (Ignition's CLI only knows the
// networks of hardhat.config.ts). It deploys exactly what ignition/modules/conun.ts deploys,
// with the same defaults (sdk/protocol/limits.ts); production deployments use the Ignition module.
import type { Signer } from "ethers";
import { ConunToken__factory } from "../../types/ethers-contracts/factories/ConunToken__factory.ts";
import { JobMarket__factory } from "../../types/ethers-contracts/factories/JobMarket__factory.ts";
import { Assignment__factory } from "../../types/ethers-contracts/factories/libraries/Assignment__factory.ts";
import { ProviderRegistry__factory } from "../../types/ethers-contracts/factories/ProviderRegistry__factory.ts";
import { DEPLOY_DEFAULTS } from "../protocol/limits.ts";
import { ChainError } from "./errors.ts";

/** Hardhat's link key for the external Assignment library JobMarket uses. */
const ASSIGNMENT_LINK = "project/contracts/libraries/Assignment.sol:Assignment";

export interface DeployProtocolOptions {
  /** Receives the whole supply; default the deployer. */
  tokenHolder?: string;
  /** Receives fees and slashed stake; default the deployer. */
  treasury?: string;
  /** Fixed token supply in wei; default 1,000,000,000 CONUN. */
  supply?: bigint;
  /** Registry unstake cooldown in seconds; default 28 days (must outlast any job). */
  unstakeCooldown?: bigint;
  /** Protocol fee in basis points; default 100 (1 %). */
  feeBps?: bigint;
}

export interface DeployedProtocol {
  token: string;
  registry: string;
  market: string;
  assignment: string;
  /** The first block an indexer must scan (the token's deployment block). */
  startBlock: number;
}

/**
 * Deploys token, registry, the Assignment library and the market, then connects the registry
 * to the market. The deployer becomes the owner of both (ownership can be handed over later
 * with `transferOwnership`), since only the owner may connect them.
 */
export async function deployProtocol(
  deployer: Signer,
  options: DeployProtocolOptions = {},
): Promise<DeployedProtocol> {
  const provider = deployer.provider;
  if (provider === null) {
    throw new ChainError("rpc-unavailable", "deployProtocol: the deployer has no provider");
  }
  const owner = await deployer.getAddress();
  const startBlock = (await provider.getBlockNumber()) + 1;
  const token = await new ConunToken__factory(deployer).deploy(
    options.tokenHolder ?? owner,
    options.supply ?? DEPLOY_DEFAULTS.supply,
  );
  await token.waitForDeployment();
  const registry = await new ProviderRegistry__factory(deployer).deploy(
    await token.getAddress(),
    options.unstakeCooldown ?? DEPLOY_DEFAULTS.unstakeCooldown,
    owner,
  );
  await registry.waitForDeployment();
  const assignment = await new Assignment__factory(deployer).deploy();
  await assignment.waitForDeployment();
  const market = await new JobMarket__factory(
    { [ASSIGNMENT_LINK]: await assignment.getAddress() },
    deployer,
  ).deploy(
    await token.getAddress(),
    await registry.getAddress(),
    options.treasury ?? owner,
    options.feeBps ?? DEPLOY_DEFAULTS.feeBps,
    owner,
  );
  await market.waitForDeployment();
  await (await registry.setMarket(await market.getAddress())).wait(1, 60_000);
  return {
    token: await token.getAddress(),
    registry: await registry.getAddress(),
    market: await market.getAddress(),
    assignment: await assignment.getAddress(),
    startBlock,
  };
}
