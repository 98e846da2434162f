// Helpers for the JobMarket award/commit/reveal/finalize/claim tests: placing a set of bids,
// closing bidding after its deadline, committing and revealing chosen roots, reading a job's
// replica groups back, and the escrow-conservation sum. Built on ./protocol.ts.
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import {
  at,
  type Connection,
  deployProtocol,
  type Protocol,
  passTime,
  postJob,
  registerProviders,
  resultRoot,
  saltOf,
} from "../../devnet/protocol.js";
import { GroupOutcome, JobStatus, SlashReason } from "../../sdk/protocol/states.ts";
import type { IJobMarket } from "../../types/ethers-contracts/JobMarket.js";

/** An enum of sdk/protocol/states.ts as bigints, the way ethers returns enum values. */
function asBigInts<Name extends string>(values: Record<Name, number>): Record<Name, bigint> {
  return Object.fromEntries(
    Object.entries<number>(values).map(([name, value]) => [name, BigInt(value)]),
  ) as Record<Name, bigint>;
}

/** `IJobMarket.JobStatus`, as bigints. */
export const Status = asBigInts(JobStatus);
/** `IJobMarket.GroupOutcome`, as bigints. */
export const Outcome = asBigInts(GroupOutcome);
/** `IJobMarket.SlashReason`, as bigints. */
export const Slash = asBigInts(SlashReason);

export const RESULTS_CID = "bafybeiresults";

type Tuple<T, N extends number, R extends T[] = []> = R["length"] extends N
  ? R
  : Tuple<T, N, [T, ...R]>;

/** The first `n` items as a tuple (throws if there are fewer), for typed destructuring. */
export function take<T, N extends number>(items: readonly T[], n: N): Tuple<T, N> {
  if (items.length < n) throw new Error(`need ${n} items, have ${items.length}`);
  return items.slice(0, n) as unknown as Tuple<T, N>;
}

export interface BidOrder {
  provider: HardhatEthersSigner;
  price: bigint;
  capacity: number;
}

/** Places the bids in order (the order is the tie-break for equal prices). */
export async function placeBids(p: Protocol, jobId: bigint, bids: BidOrder[]): Promise<void> {
  for (const bid of bids) {
    await p.market.connect(bid.provider).placeBid(jobId, bid.price, bid.capacity);
  }
}

/** Moves past the job's bidding deadline and closes bidding; returns the transaction. */
export async function closeBiddingAfterDeadline(
  connection: Connection,
  p: Protocol,
  jobId: bigint,
) {
  await passTime(connection, (await p.market.getJob(jobId)).biddingDeadline);
  return p.market.closeBidding(jobId);
}

/** Posts a job, places the bids and closes bidding; returns the job id. */
export async function awardJob(
  connection: Connection,
  p: Protocol,
  overrides: Partial<IJobMarket.JobSpecStruct>,
  bids: BidOrder[],
): Promise<bigint> {
  const jobId = await postJob(p, overrides);
  await placeBids(p, jobId, bids);
  await closeBiddingAfterDeadline(connection, p, jobId);
  return jobId;
}

/** Deploys, registers three providers and awards them a 1 task x 3 job, each bidding `price`. */
export async function awardOneTaskJob(
  connection: Connection,
  price: bigint,
): Promise<{
  p: Protocol;
  jobId: bigint;
  a: HardhatEthersSigner;
  b: HardhatEthersSigner;
  c: HardhatEthersSigner;
}> {
  const p = await deployProtocol(connection);
  const [a, b, c] = take(p.providers, 3);
  await registerProviders(p, [a, b, c]);
  const jobId = await awardJob(
    connection,
    p,
    {},
    [a, b, c].map((provider) => ({ provider, price, capacity: 1 })),
  );
  return { p, jobId, a, b, c };
}

/**
 * Deploys, registers four providers and awards them a 10 task x 3 job with capacities 10, 8, 7
 * and 5: several groups, and providers in more than one. `prices[i]` is provider i's bid.
 */
export async function awardTenTaskJob(
  connection: Connection,
  prices: readonly bigint[],
): Promise<{ p: Protocol; jobId: bigint; providers: HardhatEthersSigner[] }> {
  const p = await deployProtocol(connection);
  const providers = p.providers.slice(0, 4);
  await registerProviders(p, providers);
  const jobId = await awardJob(
    connection,
    p,
    { taskCount: 10 },
    [10, 8, 7, 5].map((capacity, i) => ({
      provider: at(providers, i),
      price: at(prices, i),
      capacity,
    })),
  );
  return { p, jobId, providers };
}

/** The honest root of every membership of `provider`, in `assignmentsOf` order. */
export async function honestRoots(
  connection: Connection,
  p: Protocol,
  jobId: bigint,
  provider: HardhatEthersSigner,
): Promise<string[]> {
  const assignments = await p.market.assignmentsOf(jobId, provider.address);
  return assignments.map((a) => resultRoot(connection, jobId, a.groupId));
}

/** Commits the given roots (one per membership, `assignmentsOf` order) with `salt`. */
export async function commitRoots(
  connection: Connection,
  p: Protocol,
  jobId: bigint,
  provider: HardhatEthersSigner,
  roots: string[],
  salt: string = saltOf(connection, provider.address),
) {
  const assignments = await p.market.assignmentsOf(jobId, provider.address);
  const commitments = await Promise.all(
    assignments.map((a, j) =>
      p.market.commitmentFor(jobId, a.groupId, provider.address, at(roots, j), salt),
    ),
  );
  return p.market.connect(provider).commit(jobId, commitments);
}

/** Reveals the given roots (one per membership, `assignmentsOf` order) with `salt`. */
export async function revealRoots(
  connection: Connection,
  p: Protocol,
  jobId: bigint,
  provider: HardhatEthersSigner,
  roots: string[],
  salt: string = saltOf(connection, provider.address),
) {
  return p.market.connect(provider).reveal(jobId, roots, salt, RESULTS_CID);
}

export interface GroupInfo {
  groupId: bigint;
  taskStart: bigint;
  taskCount: bigint;
  members: string[];
}

/** Every replica group of an awarded job, in id order. */
export async function groupsOf(p: Protocol, jobId: bigint): Promise<GroupInfo[]> {
  const { groupCount } = await p.market.getJob(jobId);
  const groups: GroupInfo[] = [];
  for (let g = 0n; g < groupCount; g++) {
    const group = await p.market.getGroup(jobId, g);
    groups.push({
      groupId: g,
      taskStart: group.taskStart,
      taskCount: group.taskCount,
      members: [...group.members],
    });
  }
  return groups;
}

/** `value`, or a thrown error when it is undefined or null (a lookup that must succeed). */
export function defined<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new Error("expected a value");
  return value;
}

/** The timestamp of the block that mined `tx`. */
export async function minedAt(
  connection: Connection,
  tx: { wait(): Promise<{ blockNumber: number } | null> },
): Promise<bigint> {
  const receipt = defined(await tx.wait());
  const block = defined(await connection.ethers.provider.getBlock(receipt.blockNumber));
  return BigInt(block.timestamp);
}

/** The provider among `providers` with the most group memberships in `jobId` (first on ties). */
export async function busiestProvider(
  p: Protocol,
  jobId: bigint,
  providers: HardhatEthersSigner[],
): Promise<HardhatEthersSigner> {
  let busiest = at(providers, 0);
  let most = -1;
  for (const provider of providers) {
    const count = (await p.market.assignmentsOf(jobId, provider.address)).length;
    if (count > most) [busiest, most] = [provider, count];
  }
  return busiest;
}

/** The signer among `candidates` with this address. */
export function signerOf(candidates: HardhatEthersSigner[], address: string): HardhatEthersSigner {
  const signer = candidates.find((c) => c.address === address);
  if (signer === undefined) throw new Error(`no signer for ${address}`);
  return signer;
}

/**
 * What the market owes: the escrow of every job plus the claimable balance of every account
 * (requester, treasury and anyone else credited). Its token balance must equal this.
 */
export async function marketLiabilities(p: Protocol, accounts: string[]): Promise<bigint> {
  let owed = 0n;
  const jobCount = await p.market.jobCount();
  for (let jobId = 1n; jobId <= jobCount; jobId++) {
    owed += (await p.market.getJob(jobId)).escrow;
  }
  for (const account of accounts) owed += await p.market.claimableBalance(account);
  return owed;
}

/** Token balances of `accounts`, keyed by address. */
export async function balancesOf(p: Protocol, accounts: string[]): Promise<Map<string, bigint>> {
  const balances = new Map<string, bigint>();
  for (const account of accounts) balances.set(account, await p.token.balanceOf(account));
  return balances;
}

/** `IJobMarket.CreditKind`. */
export const Credit = { Refund: 0n, Fee: 1n, Slash: 2n } as const;

/** The lanes of group `groupId` whose member is not in `excluded`, as a mask (bit r = lane r). */
export async function lanesWithout(
  p: Protocol,
  jobId: bigint,
  groupId: bigint,
  excluded: readonly string[] = [],
): Promise<bigint> {
  const { members } = await p.market.getGroup(jobId, groupId);
  return members.reduce(
    (mask, member, lane) => (excluded.includes(member) ? mask : mask | (1n << BigInt(lane))),
    0n,
  );
}
