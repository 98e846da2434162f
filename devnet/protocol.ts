// Shared deployment and lifecycle helpers for the contract tests and the gas benchmark.
// One place that knows how to deploy CONUN and drive a job through its phases, so that
// every test file reads as the behaviour it checks.
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { type Provider, type Signer, Wallet } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import { PERMIT_TYPES } from "../sdk/chain/permit.ts";
import { DEPLOY_DEFAULTS, ONE_CONUN, PROTOCOL_LIMITS } from "../sdk/protocol/limits.ts";
import type { ConunToken, JobMarket, ProviderRegistry } from "../types/ethers-contracts/index.js";
import type { IJobMarket } from "../types/ethers-contracts/JobMarket.js";

export type Connection = NetworkConnection<"l1">;

export const ONE = ONE_CONUN;
/** The protocol's deploy defaults (sdk/protocol/limits.ts), which `deployProtocol` uses. */
export const SUPPLY = DEPLOY_DEFAULTS.supply;
export const COOLDOWN = DEPLOY_DEFAULTS.unstakeCooldown;
export const FEE_BPS = DEPLOY_DEFAULTS.feeBps;
/** `jobSpec()`'s stake per task-replica. */
export const DEFAULT_STAKE_PER_TASK_REPLICA = 2n * ONE;
/** What `registerProviders` stakes for each provider unless told otherwise. */
export const DEFAULT_PROVIDER_STAKE = 10_000n * ONE;

export interface Protocol {
  token: ConunToken;
  registry: ProviderRegistry;
  market: JobMarket;
  owner: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  requester: HardhatEthersSigner;
  providers: HardhatEthersSigner[];
  others: HardhatEthersSigner[];
}

/** Deploys token, registry, the Assignment library and the market; wires them together. */
export async function deployProtocol(
  connection: Connection,
  options: { feeBps?: bigint; providerCount?: number } = {},
): Promise<Protocol> {
  const { ethers } = connection;
  const signers = await ethers.getSigners();
  const [owner, treasury, requester] = signers;
  if (owner === undefined || treasury === undefined || requester === undefined) {
    throw new Error("the network must provide at least three accounts");
  }
  const rest = signers.slice(3);
  const providerCount = options.providerCount ?? 6;
  const providers = rest.slice(0, providerCount);
  const others = rest.slice(providerCount);
  const token = await ethers.deployContract("ConunToken", [owner.address, SUPPLY]);
  const registry = await ethers.deployContract("ProviderRegistry", [
    await token.getAddress(),
    COOLDOWN,
    owner.address,
  ]);
  const assignment = await ethers.deployContract("contracts/libraries/Assignment.sol:Assignment");
  const market = await ethers.deployContract(
    "JobMarket",
    [
      await token.getAddress(),
      await registry.getAddress(),
      treasury.address,
      options.feeBps ?? FEE_BPS,
      owner.address,
    ],
    {
      libraries: {
        "project/contracts/libraries/Assignment.sol:Assignment": await assignment.getAddress(),
      },
    },
  );
  await registry.setMarket(await market.getAddress());
  await token.transfer(requester.address, 1_000_000n * ONE);
  await token.connect(requester).approve(await market.getAddress(), ethers.MaxUint256);
  return { token, registry, market, owner, treasury, requester, providers, others };
}

/** Registers and stakes each provider with generous capabilities. */
export async function registerProviders(
  p: Protocol,
  providers: HardhatEthersSigner[],
  stake: bigint = DEFAULT_PROVIDER_STAKE,
): Promise<void> {
  for (const provider of providers) {
    await p.token.transfer(provider.address, stake + ONE);
    await p.registry
      .connect(provider)
      .register({ cpuMillicores: 8000, memoryMiB: 16384, gpuCount: 0 }, "");
    await p.token.connect(provider).approve(await p.registry.getAddress(), stake);
    await p.registry.connect(provider).stake(stake);
  }
}

/** What `fillBidBook` needs of a chain: in-process (`bookChainOf`) or over JSON-RPC. */
export interface BookChain {
  provider: Provider;
  setBalance(address: string, wei: bigint): Promise<void>;
  /** Connected to an account that holds enough CONUN to fund the wallets' stakes. */
  token: ConunToken;
  registry: ProviderRegistry;
  market: JobMarket;
}

/** A `BookChain` on an in-process network, funded by the protocol's owner. */
export function bookChainOf(connection: Connection, p: Protocol): BookChain {
  return {
    provider: connection.ethers.provider,
    setBalance: (address, wei) => connection.networkHelpers.setBalance(address, wei),
    token: p.token,
    registry: p.registry,
    market: p.market,
  };
}

/**
 * Fills the rest of a job's bid book, up to MAX_BIDS_PER_JOB (or places `count` bids), with
 * bids of `capacity` at `price` from fresh wallets: each gets gas and exactly the stake its bid locks, registers and
 * stakes. Wallets set up concurrently; bids go one at a time, so the book's order (the
 * tie-break) is the returned wallets' order.
 */
export async function fillBidBook(
  chain: BookChain,
  jobId: bigint,
  {
    price,
    capacity,
    count,
  }: {
    price: bigint;
    capacity: number;
    /** How many bids to place (default: as many as the book has room for). */
    count?: number;
  },
): Promise<Wallet[]> {
  const { token, registry, market } = chain;
  const job = await market.getJob(jobId);
  const free = count ?? PROTOCOL_LIMITS.maxBidsPerJob - Number(job.bidCount);
  const stake = BigInt(capacity) * job.stakePerTaskReplica;
  const wallets = Array.from(
    { length: free },
    () => new Wallet(Wallet.createRandom().privateKey, chain.provider),
  );
  await Promise.all(wallets.map((w) => chain.setBalance(w.address, ONE)));
  for (const w of wallets) await (await token.transfer(w.address, stake)).wait();
  const capabilities = { cpuMillicores: 8000, memoryMiB: 16384, gpuCount: 0 };
  const registryAddress = await registry.getAddress();
  // Fresh wallets: nonces from 0, given explicitly so that no provider's nonce cache is asked.
  await Promise.all(
    wallets.map(async (w) => {
      await (await registry.connect(w).register(capabilities, "", { nonce: 0 })).wait();
      await (await token.connect(w).approve(registryAddress, stake, { nonce: 1 })).wait();
      await (await registry.connect(w).stake(stake, { nonce: 2 })).wait();
    }),
  );
  for (const w of wallets) {
    await (await market.connect(w).placeBid(jobId, price, capacity, { nonce: 3 })).wait();
  }
  return wallets;
}

export function jobSpec(
  overrides: Partial<IJobMarket.JobSpecStruct> = {},
): IJobMarket.JobSpecStruct {
  return {
    manifestCid: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
    manifestDigest: `0x${"11".repeat(32)}`,
    imageRef: `conun/demo@sha256:${"22".repeat(32)}`,
    imageDigest: `0x${"22".repeat(32)}`,
    taskCount: 1,
    replication: 3,
    quorum: 2,
    maxPrice: ONE,
    stakePerTaskReplica: DEFAULT_STAKE_PER_TASK_REPLICA,
    biddingWindow: 600,
    executionWindow: 3600,
    revealWindow: 600,
    cpuMillicores: 1000,
    memoryMiB: 512,
    gpuCount: 0,
    ...overrides,
  };
}

/** Posts a job as the requester and returns its id. */
export async function postJob(
  p: Protocol,
  overrides: Partial<IJobMarket.JobSpecStruct> = {},
): Promise<bigint> {
  await p.market.connect(p.requester).postJob(jobSpec(overrides));
  return p.market.jobCount();
}

/** A provider's result root for a group; honest providers agree, `variant` makes it differ. */
export function resultRoot(
  connection: Connection,
  jobId: bigint,
  groupId: bigint | number,
  variant = 0,
): string {
  const { ethers } = connection;
  return ethers.keccak256(
    ethers.AbiCoder.defaultAbiCoder().encode(
      ["string", "uint256", "uint256", "uint256"],
      ["result", jobId, groupId, variant],
    ),
  );
}

export function saltOf(connection: Connection, provider: string): string {
  return connection.ethers.keccak256(connection.ethers.toUtf8Bytes(`salt:${provider}`));
}

/** The result root `provider` holds for each group it is assigned in `jobId`, by `variant`. */
async function rootsOf(
  connection: Connection,
  p: Protocol,
  jobId: bigint,
  provider: HardhatEthersSigner,
  variant: number,
): Promise<{ groupId: bigint; root: string }[]> {
  const assignments = await p.market.assignmentsOf(jobId, provider.address);
  return assignments.map((a) => ({
    groupId: a.groupId,
    root: resultRoot(connection, jobId, a.groupId, variant),
  }));
}

/** Commits every membership of `provider` with the roots of `variant` (0: the honest one). */
export async function commitAll(
  connection: Connection,
  p: Protocol,
  jobId: bigint,
  provider: HardhatEthersSigner,
  variant = 0,
) {
  const salt = saltOf(connection, provider.address);
  const commitments = await Promise.all(
    (await rootsOf(connection, p, jobId, provider, variant)).map(({ groupId, root }) =>
      p.market.commitmentFor(jobId, groupId, provider.address, root, salt),
    ),
  );
  return p.market.connect(provider).commit(jobId, commitments);
}

export async function revealAll(
  connection: Connection,
  p: Protocol,
  jobId: bigint,
  provider: HardhatEthersSigner,
  variant = 0,
) {
  const roots = (await rootsOf(connection, p, jobId, provider, variant)).map((r) => r.root);
  return p.market
    .connect(provider)
    .reveal(jobId, roots, saltOf(connection, provider.address), "bafybeiresults");
}

/** Advances the chain past `timestamp`. */
export async function passTime(connection: Connection, timestamp: bigint): Promise<void> {
  await connection.networkHelpers.time.increaseTo(timestamp + 1n);
}

/** An EIP-2612 permit signature, split the way `permit` and the `...WithPermit` calls take it. */
export interface PermitSignature {
  deadline: bigint;
  v: number;
  r: string;
  s: string;
}

/**
 * Signs a CONUN permit (domain name "CONUN", version "1") letting `spender` pull `value` of
 * `owner`'s tokens until `deadline`, with the owner's current nonce. `claimedOwner` makes
 * `owner` sign on behalf of another address: a forged permit.
 */
export async function signPermit(
  connection: Connection,
  token: ConunToken,
  owner: Signer,
  spender: string,
  value: bigint,
  deadline: bigint,
  claimedOwner?: string,
): Promise<PermitSignature> {
  const { chainId } = await connection.ethers.provider.getNetwork();
  const ownerAddress = claimedOwner ?? (await owner.getAddress());
  const signature = await owner.signTypedData(
    { name: "CONUN", version: "1", chainId, verifyingContract: await token.getAddress() },
    PERMIT_TYPES,
    { owner: ownerAddress, spender, value, nonce: await token.nonces(ownerAddress), deadline },
  );
  const { v, r, s } = connection.ethers.Signature.from(signature);
  return { deadline, v, r, s };
}

/** `items[index]`, or a thrown error: spares `T | undefined` under noUncheckedIndexedAccess. */
export function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no item at index ${index} (length ${items.length})`);
  return item;
}
