// The set-ups the contract tests share: a deployed protocol with registered providers, an open
// job with standing bids, and the stakes those files count down from.
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { Connection, Protocol } from "../../../devnet/protocol.ts";
import {
  commitAll,
  DEFAULT_PROVIDER_STAKE,
  deployProtocol,
  FEE_BPS,
  ONE,
  postJob,
  registerProviders,
  revealAll,
} from "../../../devnet/protocol.ts";
import type { IJobMarket } from "../../../types/ethers-contracts/JobMarket.js";
import { placeBids } from "../../helpers/market.ts";

/** The price most settlement tests bid: half of `jobSpec()`'s max price, so the award refunds the rest. */
export const PRICE = ONE / 2n;

/** The protocol fee on `payment` at `feeBps` (FEE_BPS unless told), rounded down as the market does. */
export function feeOn(payment: bigint, feeBps: bigint = FEE_BPS): bigint {
  return (payment * feeBps) / 10_000n;
}

/** A provider stake small enough that a test can follow it down to the last CONUN. */
export const SMALL_PROVIDER_STAKE = 100n * ONE;

/** What the bidding and cancellation tests lock per task-replica (more than `jobSpec()`'s 2). */
export const STAKE_PER_TASK_REPLICA = 5n * ONE;

/**
 * The protocol (deployed with `deployProtocol`'s options) with its first `count` providers
 * registered, each staking `stake`.
 */
export async function deployWithProviders(
  connection: Connection,
  count: number,
  {
    stake = DEFAULT_PROVIDER_STAKE,
    ...deployOptions
  }: { stake?: bigint } & Parameters<typeof deployProtocol>[1] = {},
): Promise<{ p: Protocol; providers: HardhatEthersSigner[] }> {
  const p = await deployProtocol(connection, deployOptions);
  const providers = p.providers.slice(0, count);
  await registerProviders(p, providers, stake);
  return { p, providers };
}

/** A bid by position: the i-th terms are placed by the i-th registered provider. */
export interface BidTerms {
  price: bigint;
  capacity: number;
}

/**
 * Deploys as `deployWithProviders` does (`providers` of them, default one per bid), posts a job
 * with `spec` and places `bids` in order (the order is the tie-break); bidding stays open.
 */
export async function openJobWithBids(
  connection: Connection,
  {
    providers: count,
    spec,
    bids = [],
    ...deployOptions
  }: {
    providers?: number;
    spec?: Partial<IJobMarket.JobSpecStruct>;
    bids?: readonly BidTerms[];
  } & Parameters<typeof deployWithProviders>[2],
): Promise<{ p: Protocol; providers: HardhatEthersSigner[]; jobId: bigint }> {
  const { p, providers } = await deployWithProviders(
    connection,
    count ?? bids.length,
    deployOptions,
  );
  const jobId = await postJob(p, spec);
  await placeBids(
    p,
    jobId,
    bids.map((terms, i) => {
      const provider = providers[i];
      if (provider === undefined) throw new Error(`bid ${i} has no registered provider`);
      return { provider, ...terms };
    }),
  );
  return { p, providers, jobId };
}

/** `count` bids at the same price and capacity, for `openJobWithBids`. */
export function equalBids(count: number, price: bigint, capacity = 1): BidTerms[] {
  return Array.from({ length: count }, () => ({ price, capacity }));
}

/**
 * Has every member commit, then every member reveal, the roots of `variants[i]` (the honest
 * roots, variant 0, unless told): a group that disagrees or cheats in one line.
 */
export async function commitThenReveal(
  connection: Connection,
  p: Protocol,
  jobId: bigint,
  members: readonly HardhatEthersSigner[],
  variants: readonly number[] = [],
): Promise<void> {
  for (const [i, m] of members.entries()) await commitAll(connection, p, jobId, m, variants[i]);
  for (const [i, m] of members.entries()) await revealAll(connection, p, jobId, m, variants[i]);
}
