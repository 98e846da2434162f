// The smaller requester actions: cancel a job, withdraw refunds, show status, and hand out
// tokens on a local chain. Each checks the usual mistakes before sending anything, so the
// error names the fix instead of echoing a revert.
import { isAddress, parseUnits, type Signer } from "ethers";
import { formatConun } from "../sdk/chain/diagnose.ts";
import { chainTime } from "../sdk/chain/index.ts";
import { phaseOf } from "../sdk/protocol/phase.ts";
import { ConunToken__factory } from "../types/ethers-contracts/factories/ConunToken__factory.ts";
import { LOCAL_CHAIN_IDS, type RequesterContext } from "./context.ts";
import { RequesterError } from "./errors.ts";
import { inRanges } from "./logs.ts";
import { explainJob } from "./reasons.ts";
import { send } from "./tx.ts";
import { type JobProgress, readJobProgress } from "./watch.ts";

/** One formatter for amounts shown to people (in sdk/chain/diagnose.ts: the dApp uses it too). */
export { formatConun };

/** Cancels an open job of the caller's; its escrow becomes withdrawable. */
export async function cancelJob(
  ctx: RequesterContext,
  jobId: bigint,
): Promise<{ refund: bigint; txHash: string }> {
  const job = await readJobProgress(ctx.market, jobId);
  if (job.requester.toLowerCase() !== ctx.account.toLowerCase()) {
    throw new RequesterError(
      "not-requester",
      `job ${jobId} was posted by ${job.requester}, not ${ctx.account}: only its requester can cancel it`,
    );
  }
  if (job.status !== "Open") {
    throw new RequesterError(
      "wrong-status",
      `job ${jobId} is ${job.status}; only an Open job can be cancelled` +
        (job.status === "Awarded"
          ? " (it is running now: its unused escrow is refunded at finalization)"
          : ""),
    );
  }
  const now = await chainTime(ctx.provider);
  const wallClock = BigInt(Math.floor(Date.now() / 1000));
  if (phaseOf(job, now > wallClock ? now : wallClock) !== "Bidding") {
    throw new RequesterError(
      "deadline-passed",
      `bidding on job ${jobId} closed at ${new Date(Number(job.biddingDeadline) * 1000).toISOString()}; ` +
        "a job can be cancelled only while bidding is open. If it gets too few bids it ends Unfilled " +
        "and the escrow is refunded: then run conun:withdraw",
    );
  }
  const receipt = await send(ctx, "cancelJob", () => ctx.market.cancelJob(jobId));
  let refund = 0n;
  for (const log of receipt.logs) {
    const parsed = ctx.market.interface.parseLog(log);
    if (parsed?.name === "JobCancelled") refund = parsed.args.refund as bigint;
  }
  return { refund, txHash: receipt.hash };
}

/** Withdraws the caller's claimable balance (refunds) from the market. */
export async function withdraw(ctx: RequesterContext): Promise<{ amount: bigint; txHash: string }> {
  const claimable = await ctx.market.claimableBalance(ctx.account);
  if (claimable === 0n) {
    throw new RequesterError(
      "nothing-to-withdraw",
      `${ctx.account} has nothing to withdraw: refunds appear once a job is cancelled, unfilled ` +
        "or finalized with unused escrow (see conun:status)",
    );
  }
  const receipt = await send(ctx, "withdraw", () => ctx.market.withdraw());
  return { amount: claimable, txHash: receipt.hash };
}

export interface AccountStatus {
  account: string;
  chainId: number;
  balance: bigint;
  allowance: bigint;
  claimable: bigint;
  jobs: { jobId: bigint; status: string }[];
}

/** The caller's balances and jobs. */
export async function accountStatus(ctx: RequesterContext): Promise<AccountStatus> {
  const posted = await inRanges(ctx.provider, ctx.deployment.startBlock, (from, to) =>
    ctx.market.queryFilter(ctx.market.filters.JobPosted(undefined, ctx.account), from, to),
  );
  const jobs = [];
  for (const log of posted) {
    const job = await readJobProgress(ctx.market, log.args.jobId);
    jobs.push({ jobId: log.args.jobId, status: job.status });
  }
  return {
    account: ctx.account,
    chainId: ctx.chainId,
    balance: await ctx.token.balanceOf(ctx.account),
    allowance: await ctx.token.allowance(ctx.account, ctx.deployment.market),
    claimable: await ctx.market.claimableBalance(ctx.account),
    jobs,
  };
}

/** A job's state now, with its groups' members and outcomes, and why it did not fill or a
 * group had no quorum (`reasons`, empty when there is nothing to explain). */
export async function jobStatus(
  ctx: RequesterContext,
  jobId: bigint,
): Promise<JobProgress & { escrow: bigint; reasons: string[] }> {
  const progress = await readJobProgress(ctx.market, jobId);
  const job = await ctx.market.getJob(jobId);
  for (let g = 0; g < Number(job.groupCount); g++) {
    const group = await ctx.market.getGroup(jobId, g);
    const outcome = Number(group.outcome);
    progress.groups.push({
      groupId: g,
      taskStart: Number(group.taskStart),
      taskCount: Number(group.taskCount),
      members: [...group.members],
      committed: new Set(),
      revealed: new Map(),
      ...(outcome === 0
        ? {}
        : { outcome: outcome === 1 ? "Agreed" : "NoQuorum", winningRoot: group.winningRoot }),
    });
  }
  for (const bidder of await ctx.market.biddersOf(jobId)) {
    const bid = await ctx.market.getBid(jobId, bidder);
    progress.bids.set(bidder, { price: bid.price, capacity: Number(bid.capacity) });
  }
  if (job.commitDeadline > 0n) {
    progress.commitDeadline = job.commitDeadline;
    progress.revealDeadline = job.revealDeadline;
  }
  const { lines: reasons } = await explainJob(ctx, jobId);
  return { ...progress, escrow: job.escrow, reasons };
}

/** Human-readable lines for conun:status --job. */
export function describeJob(
  status: JobProgress & { escrow: bigint; reasons?: string[] },
): string[] {
  const when = (t: bigint | undefined) =>
    t === undefined ? "-" : new Date(Number(t) * 1000).toISOString();
  const lines = [
    `job ${status.jobId}: ${status.status}`,
    `  requester ${status.requester}`,
    `  ${status.taskCount} task(s) × k=${status.replication}, quorum ${status.quorum}; escrow held ${formatConun(status.escrow)}`,
    `  bidding deadline ${when(status.biddingDeadline)}; commit by ${when(status.commitDeadline)}; reveal by ${when(status.revealDeadline)}`,
    `  bids: ${status.bids.size}`,
  ];
  for (const g of status.groups) {
    lines.push(
      `  group ${g.groupId}: tasks ${g.taskStart}..${g.taskStart + g.taskCount - 1}, ${g.outcome ?? "pending"}, members ${g.members.join(", ")}`,
    );
  }
  for (const reason of status.reasons ?? []) lines.push(`  ${reason}`);
  return lines;
}

/** What the faucet gives a recipient that holds less ETH than this, for gas. */
export const FAUCET_GAS_ETH = 10n ** 18n;

export interface FaucetResult {
  txHash: string;
  amount: bigint;
  balance: bigint;
  /** The ETH sent for gas (0 when the recipient already held FAUCET_GAS_ETH or more). */
  gas: { sent: bigint; txHash?: string; balance: bigint };
}

/**
 * Local chains only: sends `amount` CONUN from `holder` (the deployer, who holds the supply),
 * and 1 ETH for gas when the recipient holds less — a provider needs both to register and stake.
 */
export async function faucet(
  holder: Signer,
  tokenAddress: string,
  to: string,
  amount: string,
): Promise<FaucetResult> {
  const provider = holder.provider;
  if (provider === null) throw new RequesterError("invalid-argument", "the holder has no provider");
  const chainId = Number((await provider.getNetwork()).chainId);
  if (!LOCAL_CHAIN_IDS.includes(chainId)) {
    throw new RequesterError(
      "not-local-chain",
      `the faucet works only on local development chains (ids ${LOCAL_CHAIN_IDS.join(", ")}), not chain ${chainId}`,
    );
  }
  if (!isAddress(to)) throw new RequesterError("invalid-argument", `--to ${to} is not an address`);
  let wei: bigint;
  try {
    wei = parseUnits(amount, 18);
  } catch (cause) {
    throw new RequesterError(
      "invalid-argument",
      `--amount ${amount} is not a CONUN amount (e.g. 100 or 2.5)`,
      { cause },
    );
  }
  if (wei <= 0n) throw new RequesterError("invalid-argument", "--amount must be positive");
  const token = ConunToken__factory.connect(tokenAddress, holder);
  const holderAddress = await holder.getAddress();
  const available = await token.balanceOf(holderAddress);
  if (available < wei) {
    throw new RequesterError(
      "insufficient-tokens",
      `the faucet account ${holderAddress} holds only ${formatConun(available)}`,
    );
  }
  const tx = await token.transfer(to, wei);
  const receipt = await tx.wait(1, 60_000);
  // Balances are read at a given block: ethers answers an identical "latest" read made in the
  // last 250 ms from its cache, which would miss a transfer just mined.
  const gas: FaucetResult["gas"] = {
    sent: 0n,
    balance: await provider.getBalance(to, receipt?.blockNumber ?? "latest"),
  };
  if (gas.balance < FAUCET_GAS_ETH) {
    const gasTx = await holder.sendTransaction({ to, value: FAUCET_GAS_ETH });
    const gasReceipt = await gasTx.wait(1, 60_000);
    gas.sent = FAUCET_GAS_ETH;
    gas.txHash = gasReceipt?.hash ?? gasTx.hash;
    gas.balance = await provider.getBalance(to, gasReceipt?.blockNumber ?? "latest");
  }
  return {
    txHash: receipt?.hash ?? tx.hash,
    amount: wei,
    balance: await token.balanceOf(to),
    gas,
  };
}
