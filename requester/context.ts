// Everything a requester action needs, resolved once: the signer, the chain it is on, the
// CONUN contracts deployed there and the content store. Built from plain ethers objects so that
// the Hardhat tasks, `npm run demo`, the tests and the dApp share the same code.
import path from "node:path";
import type { Provider, Signer } from "ethers";
import {
  type ContentStoreOptions,
  openContentStore,
  tcpAddressProblem,
} from "../sdk/content/index.ts";
import type { ContentStore } from "../sdk/content/types.ts";
import { type DevnetRecord, readDevnet, sameRpcUrl } from "../sdk/devnet.ts";
import { type Logger, silentLogger } from "../sdk/logger.ts";
import {
  type Deployment,
  DeploymentError,
  deploymentFromAddresses,
  type ReadDeploymentOptions,
  readDeployment,
} from "../sdk/protocol/deployments.ts";
import type { ConunToken } from "../types/ethers-contracts/ConunToken.ts";
import { ConunToken__factory } from "../types/ethers-contracts/factories/ConunToken__factory.ts";
import { JobMarket__factory } from "../types/ethers-contracts/factories/JobMarket__factory.ts";
import { ProviderRegistry__factory } from "../types/ethers-contracts/factories/ProviderRegistry__factory.ts";
import type { JobMarket } from "../types/ethers-contracts/JobMarket.ts";
import type { ProviderRegistry } from "../types/ethers-contracts/ProviderRegistry.ts";
import { RequesterError } from "./errors.ts";

/**
 * Where the content store lives unless `--store`, CONUN_CONTENT_DIR or a running demo's record
 * (on the demo's chain) say otherwise.
 */
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
  /** The Hardhat network the tools were run with, for the commands they suggest. */
  networkName?: string;
  /**
   * The subgraph indexing this deployment, when known: the option, else SUBGRAPH_URL, else the
   * running demo's (on its chain). Read by price guidance (price.ts).
   */
  subgraphUrl?: string;
}

/**
 * A `npx hardhat conun:…` command to suggest, with the `--network` the user ran on: without it
 * Hardhat means its in-process chain, and the suggestion would fail.
 */
export function hardhatCommand(ctx: Pick<RequesterContext, "networkName">, args: string): string {
  return `npx hardhat ${args}${ctx.networkName ? ` --network ${ctx.networkName}` : ""}`;
}

export interface ConnectOptions {
  signer: Signer;
  /** The Hardhat network name, when run as a Hardhat task (see `hardhatCommand`). */
  networkName?: string;
  /**
   * Content store directory (default: CONUN_CONTENT_DIR, then the running demo's store when
   * connected to its chain, then `.conun/content`).
   */
  storeDir?: string;
  /**
   * The JSON-RPC URL the signer's provider talks to, when known (the Hardhat tasks know it):
   * if it is a running demo's chain (sdk/devnet.ts), its deployment and content store are the
   * defaults.
   */
  rpcUrl?: string;
  /** The running demo's record (default: read with readDevnet when `rpcUrl` is given). */
  devnet?: DevnetRecord;
  /**
   * IPFS nodes to connect to (default: CONUN_CONTENT_PEERS, comma-separated). Given peers or
   * listen addresses, the store is the IPFS backend over the same directory.
   */
  storePeers?: readonly string[];
  /** libp2p listen addresses of this node (default: CONUN_CONTENT_LISTEN, comma-separated). */
  storeListen?: readonly string[];
  /** How long a read waits for a block from peers (default: CONUN_CONTENT_FETCH_TIMEOUT_MS). */
  storeFetchTimeoutMs?: number;
  /** An already opened store (the caller keeps ownership and closes it). */
  store?: ContentStore;
  /** The subgraph's GraphQL URL (default: SUBGRAPH_URL, then the running demo's). */
  subgraphUrl?: string;
  /** Use these addresses instead of reading Ignition's records (tests, the dApp). */
  deployment?: Deployment;
  deploymentOptions?: ReadDeploymentOptions;
  log?: Logger;
}

/**
 * The content store directory chosen by flag, then environment, then the running demo's store
 * (`devnet`, given only when connected to the demo's chain), then the default.
 */
export function resolveStoreDir(
  flag?: string,
  env: NodeJS.ProcessEnv = process.env,
  devnet?: DevnetRecord,
): string {
  const chosen =
    flag?.trim() || env.CONUN_CONTENT_DIR?.trim() || devnet?.contentDir || DEFAULT_CONTENT_DIR;
  return path.resolve(chosen);
}

/**
 * The content store a requester opens: the local directory, or — when peers or listen
 * addresses are given by option or by CONUN_CONTENT_PEERS / CONUN_CONTENT_LISTEN — an IPFS
 * node over that directory, which fetches what it lacks from its peers (the providers' nodes,
 * for results bundles) and serves what it holds (the manifest, image and inputs you upload).
 * Every address is checked here, so a typo is an error naming the setting, not a node that
 * silently never connects.
 */
export function resolveStoreOptions(
  options: Pick<
    ConnectOptions,
    "storeDir" | "storePeers" | "storeListen" | "storeFetchTimeoutMs" | "devnet"
  > & {
    log?: Logger;
  } = {},
  env: NodeJS.ProcessEnv = process.env,
): ContentStoreOptions {
  const dir = resolveStoreDir(options.storeDir, env, options.devnet);
  const peers = addressList(options.storePeers, env, "CONUN_CONTENT_PEERS", "peer");
  const listen = addressList(options.storeListen, env, "CONUN_CONTENT_LISTEN", "listen");
  const timeoutText = env.CONUN_CONTENT_FETCH_TIMEOUT_MS?.trim();
  const timeoutSource =
    options.storeFetchTimeoutMs !== undefined
      ? "storeFetchTimeoutMs"
      : "CONUN_CONTENT_FETCH_TIMEOUT_MS";
  const fetchTimeoutMs =
    options.storeFetchTimeoutMs ?? (timeoutText ? Number(timeoutText) : undefined);
  if (
    fetchTimeoutMs !== undefined &&
    (!Number.isSafeInteger(fetchTimeoutMs) || fetchTimeoutMs < 100)
  ) {
    throw new RequesterError(
      "invalid-argument",
      `${timeoutSource}: must be a whole number of milliseconds ≥ 100, got "${options.storeFetchTimeoutMs ?? timeoutText}"`,
    );
  }
  if (peers.length === 0 && listen.length === 0) {
    if (fetchTimeoutMs !== undefined) {
      throw new RequesterError(
        "invalid-argument",
        `${timeoutSource} is only used with the IPFS store: give CONUN_CONTENT_PEERS or CONUN_CONTENT_LISTEN`,
      );
    }
    return { kind: "local", dir };
  }
  return {
    kind: "ipfs",
    dir,
    ...(peers.length > 0 ? { peers } : {}),
    ...(listen.length > 0 ? { listen } : {}),
    ...(fetchTimeoutMs !== undefined ? { fetchTimeoutMs } : {}),
    ...(options.log !== undefined ? { log: options.log } : {}),
  };
}

function addressList(
  given: readonly string[] | undefined,
  env: NodeJS.ProcessEnv,
  variable: string,
  what: "peer" | "listen",
): string[] {
  const source = given !== undefined ? (what === "peer" ? "storePeers" : "storeListen") : variable;
  const items = (given ?? (env[variable] ?? "").split(","))
    .map((item) => item.trim())
    .filter((item) => item !== "");
  for (const item of items) {
    const problem = tcpAddressProblem(item, what);
    if (problem !== undefined) {
      throw new RequesterError("invalid-argument", `${source}: ${problem}`, {
        details: { [source]: item },
      });
    }
  }
  return items;
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
  const devnet = devnetOf(options, chainId);
  const deployment =
    options.deployment ??
    (devnet
      ? deploymentFromAddresses(devnet.chainId, devnet.deployment)
      : await findDeployment(chainId, options));
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
    (await openContentStore(
      resolveStoreOptions({
        ...options,
        devnet,
        ...(options.log ? { log: options.log } : {}),
      }),
    ));
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
    ...(options.networkName ? { networkName: options.networkName } : {}),
    ...subgraphOf(options.subgraphUrl, devnet),
  };
}

function subgraphOf(
  given: string | undefined,
  devnet: DevnetRecord | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { subgraphUrl?: string } {
  const url = given?.trim() || env.SUBGRAPH_URL?.trim() || devnet?.subgraphUrl;
  return url ? { subgraphUrl: url } : {};
}

/** The running demo's record, when `options.rpcUrl` is its chain (same URL and chain id). */
function devnetOf(options: ConnectOptions, chainId: number): DevnetRecord | undefined {
  if (options.rpcUrl === undefined) return undefined;
  const record = options.devnet ?? readDevnet();
  if (record === undefined || record.chainId !== chainId) return undefined;
  return sameRpcUrl(record.rpcUrl, options.rpcUrl) ? record : undefined;
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
