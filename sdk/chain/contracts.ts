// Typed handles on the deployed protocol, and the reads every off-chain part needs that the
// contracts only expose through events (a job's full spec lives only in its JobPosted log).
import type { ContractRunner, Provider } from "ethers";
import type { ConunToken } from "../../types/ethers-contracts/ConunToken.ts";
import { ConunToken__factory } from "../../types/ethers-contracts/factories/ConunToken__factory.ts";
import { JobMarket__factory } from "../../types/ethers-contracts/factories/JobMarket__factory.ts";
import { ProviderRegistry__factory } from "../../types/ethers-contracts/factories/ProviderRegistry__factory.ts";
import type { IJobMarket, JobMarket } from "../../types/ethers-contracts/JobMarket.ts";
import type { ProviderRegistry } from "../../types/ethers-contracts/ProviderRegistry.ts";

export interface ProtocolAddresses {
  token: string;
  registry: string;
  market: string;
}

export interface ProtocolContracts {
  token: ConunToken;
  registry: ProviderRegistry;
  market: JobMarket;
}

export function connectContracts(
  addresses: ProtocolAddresses,
  runner: ContractRunner,
): ProtocolContracts {
  return {
    token: ConunToken__factory.connect(addresses.token, runner),
    registry: ProviderRegistry__factory.connect(addresses.registry, runner),
    market: JobMarket__factory.connect(addresses.market, runner),
  };
}

/** IJobMarket.JobSpec as passed to `postJob` (ethers accepts numbers and bigints). */
export interface JobSpec {
  manifestCid: string;
  /** 0x-prefixed 32-byte hex. */
  manifestDigest: string;
  imageRef: string;
  /** 0x-prefixed 32-byte hex: the digest part of `image.id`. */
  imageDigest: string;
  taskCount: number;
  replication: number;
  quorum: number;
  maxPrice: bigint;
  stakePerTaskReplica: bigint;
  biddingWindow: number;
  executionWindow: number;
  revealWindow: number;
  cpuMillicores: number;
  memoryMiB: number;
  gpuCount: number;
}

/** A job spec as posted, with plain JS types. */
export interface PostedJob {
  jobId: bigint;
  requester: string;
  blockNumber: number;
  biddingDeadline: bigint;
  spec: JobSpec;
}

/** Converts the decoded `JobSpec` struct of a JobPosted log. */
export function postedJobFromEvent(
  args: {
    jobId: bigint;
    requester: string;
    spec: IJobMarket.JobSpecStructOutput;
    biddingDeadline: bigint;
  },
  blockNumber: number,
): PostedJob {
  const s = args.spec;
  return {
    jobId: args.jobId,
    requester: args.requester,
    blockNumber,
    biddingDeadline: args.biddingDeadline,
    spec: {
      manifestCid: s.manifestCid,
      manifestDigest: s.manifestDigest,
      imageRef: s.imageRef,
      imageDigest: s.imageDigest,
      taskCount: Number(s.taskCount),
      replication: Number(s.replication),
      quorum: Number(s.quorum),
      maxPrice: s.maxPrice,
      stakePerTaskReplica: s.stakePerTaskReplica,
      biddingWindow: Number(s.biddingWindow),
      executionWindow: Number(s.executionWindow),
      revealWindow: Number(s.revealWindow),
      cpuMillicores: Number(s.cpuMillicores),
      memoryMiB: Number(s.memoryMiB),
      gpuCount: Number(s.gpuCount),
    },
  };
}

/**
 * The JobPosted record of `jobId`, read from the chain (the spec is stored nowhere else), or
 * undefined when no such log exists between `fromBlock` and the head.
 */
export async function readPostedJob(
  market: JobMarket,
  jobId: bigint,
  fromBlock: number,
): Promise<PostedJob | undefined> {
  const logs = await market.queryFilter(market.filters.JobPosted(jobId), fromBlock, "latest");
  const log = logs[0];
  if (log === undefined) return undefined;
  return postedJobFromEvent(log.args, log.blockNumber);
}

/** The chain's notion of "now": the latest block's timestamp (what `block.timestamp` compares). */
export async function chainTime(provider: Provider): Promise<bigint> {
  const block = await provider.getBlock("latest");
  if (block === null) throw new Error("the node returned no latest block");
  return BigInt(block.timestamp);
}
