// Everything a requester action needs, resolved once: the signer, the chain it is on, the
// CONUN contracts deployed there and the content store. Built from plain ethers objects so that
// the Hardhat tasks, `npm run demo`, the tests and the dApp share the same code.
import path from "node:path";
import type { Provider, Signer } from "ethers";
import {
  type Deployment,
  DeploymentError,
  type ReadDeploymentOptions,
  readDeployment,
} from "../../scripts/deployments.ts";
import { openContentStore } from "../../sdk/content/index.ts";
import type { ContentStore } from "../../sdk/content/types.ts";
import { type Logger, silentLogger } from "../../sdk/logger.ts";
import type { ConunToken } from "../../types/ethers-contracts/ConunToken.ts";
import { ConunToken__factory } from "../../types/ethers-contracts/factories/ConunToken__factory.ts";
import { JobMarket__factory } from "../../types/ethers-contracts/factories/JobMarket__factory.ts";
import { ProviderRegistry__factory } from "../../types/ethers-contracts/factories/ProviderRegistry__factory.ts";
import type { JobMarket } from "../../types/ethers-contracts/JobMarket.ts";
import type { ProviderRegistry } from "../../types/ethers-contracts/ProviderRegistry.ts";
import { RequesterError } from "./errors.ts";

/** Where the content store lives unless `--store` or CONUN_CONTENT_DIR say otherwise. */
export const DEFAULT_CONTENT_DIR = ".conun/content";

/** Chains on which the faucet may hand out the deployer's tokens. */
export const LOCAL_CHAIN_IDS: readonly number[] = [31337, 1337];

export interface RequesterContext {
  signer: Signer;
  account: string;
  provider: Provider;
  chainId: number;
  deployment: Deployment;
  market: JobMarket;
  token: ConunToken;
  registry: ProviderRegistry;
  store: ContentStore;
  log: Logger;
}

export interface ConnectOptions {
  signer: Signer;
  /** Content store directory (default: CONUN_CONTENT_DIR, then `.conun/content`). */
  storeDir?: string;
  /** An already opened store (the caller keeps ownership and closes it). */
  store?: ContentStore;
  /** Use these addresses instead of reading Ignition's records (tests, the dApp). */
  deployment?: Deployment;
  deploymentOptions?: ReadDeploymentOptions;
  log?: Logger;
}

/** The content store directory chosen by flag, then environment, then default. */
export function resolveStoreDir(flag?: string): string {
  const chosen = flag?.trim() || process.env.CONUN_CONTENT_DIR?.trim() || DEFAULT_CONTENT_DIR;
  return path.resolve(chosen);
}

/**
 * Connects a requester: checks the signer's chain has a CONUN deployment whose contracts are
 * really there (a restarted local node leaves stale records behind) and opens the store.
 */
export async function connectRequester(options: ConnectOptions): Promise<RequesterContext> {
  const { signer } = options;
  const provider = signer.provider;
  if (provider === null) {
    throw new RequesterError("invalid-argument", "the signer has no provider attached");
  }
  const chainId = Number((await provider.getNetwork()).chainId);
  const deployment = options.deployment ?? (await findDeployment(chainId, options));
  const code = await provider.getCode(deployment.market);
  if (code === "0x") {
    throw new RequesterError(
      "wrong-network",
      `no JobMarket contract at ${deployment.market} on chain ${chainId}: the deployment record ` +
        "is stale (was the local node restarted?). Redeploy with `npm run deploy:local`, or " +
        "pick the right network with --network.",
      { details: { chainId, market: deployment.market } },
    );
  }
  const store =
    options.store ??
    (await openContentStore({ kind: "local", dir: resolveStoreDir(options.storeDir) }));
  return {
    signer,
    account: await signer.getAddress(),
    provider,
    chainId,
    deployment,
    market: JobMarket__factory.connect(deployment.market, signer),
    token: ConunToken__factory.connect(deployment.token, signer),
    registry: ProviderRegistry__factory.connect(deployment.registry, signer),
    store,
    log: options.log ?? silentLogger,
  };
}

async function findDeployment(chainId: number, options: ConnectOptions): Promise<Deployment> {
  try {
    return await readDeployment(chainId, options.deploymentOptions);
  } catch (cause) {
    if (cause instanceof DeploymentError) {
      throw new RequesterError(
        "wrong-network",
        `CONUN is not deployed on chain ${chainId} (${cause.message}). Use --network with a ` +
          "network where it is deployed (e.g. --network localhost after `npm run deploy:local`).",
        { cause, details: { chainId } },
      );
    }
    throw cause;
  }
}
