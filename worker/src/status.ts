// `conun-worker status`: what the worker is doing and has earned, from its journal (no running
// worker needed) and the chain: balances (ETH for gas, CONUN), stake (free, locked, unbonding),
// every slash with its reason (the market's ProviderSlashed events), and each journaled job's
// on-chain state next to the journal's phase.
import { formatEther, formatUnits } from "ethers";
import { connectContracts, connectRpc, type ProtocolContracts } from "../../sdk/chain/index.ts";
import {
  JOB_STATUS_NAMES,
  SLASH_REASON_NAMES,
  type SlashReasonName,
} from "../../sdk/protocol/index.ts";
import { diskFacts } from "./bidding/bidder.ts";
import type { WorkerConfig } from "./config/index.ts";
import { journalPath, loadWallet, resolveAddresses } from "./daemon.ts";
import { reduceJournal, replayJournal } from "./journal/index.ts";

/** `IJobMarket.SlashReason` (sdk/protocol), as people read it. */
export const SLASH_REASONS: Record<SlashReasonName, string> = {
  None: "none",
  WrongResult: "wrong result",
  NoCommit: "no commit",
  NoReveal: "no reveal",
};

/** The reader's name of an on-chain slash reason; an unknown value is shown as a number. */
function slashReasonText(value: bigint): string {
  const name = SLASH_REASON_NAMES[Number(value)];
  return name === undefined ? `reason ${value}` : SLASH_REASONS[name];
}

export interface SlashRecord {
  jobId: string;
  groupId: number;
  /** CONUN, decimal. */
  amount: string;
  reason: string;
  block: number;
  tx: string;
}

/** Amounts are decimal strings: CONUN, except `ethBalance` (ETH). */
export interface WorkerStatus {
  address: string;
  chainId: number;
  registered: boolean;
  ethBalance: string;
  walletBalance: string;
  stake: {
    total: string;
    locked: string;
    free: string;
    unbonding: string;
    /** ISO time from which `unbonding` can be withdrawn (only when something unbonds). */
    unbondingReleaseAt?: string;
  };
  earnings: { paid: string; fees: string; jobsPaid: number };
  /** How the last start held task outputs to their caps (absent before the first start). */
  outputBound?: string;
  /** MiB: the data directory's free space, and what active jobs' bids reserve of the budget. */
  disk: { freeMiB?: number; reservedMiB: number; budgetMiB: number };
  slashes: SlashRecord[];
  slashedTotal: string;
  jobs: {
    jobId: string;
    phase: string;
    onChain: string;
    tasks: number;
    succeeded: number;
    payment?: string;
    reason?: string;
    /** CONUN slashed from this worker in the job, with the reasons. */
    slashed?: string;
  }[];
}

const MIB = 1024 * 1024;

/** Blocks per eth_getLogs request (public endpoints cap the range). */
const LOG_RANGE = 5000;

export async function readStatus(config: WorkerConfig): Promise<WorkerStatus> {
  const entries = await replayJournal(journalPath(config));
  const jobs = reduceJournal(entries);
  const lastStart = entries.findLast((entry) => entry.type === "started");
  const outputBound = lastStart?.type === "started" ? lastStart.outputBound : undefined;
  // Before the first start the data directory may not exist yet: nothing is reserved then.
  const disk = await diskFacts({ config, jobs }).catch(() => undefined);
  const provider = connectRpc(config.rpcUrl, config.chainId, { timeoutMs: config.rpcTimeoutMs });
  try {
    const addresses = await resolveAddresses(config);
    const wallet = await loadWallet(config);
    const contracts = connectContracts(addresses, provider);
    const me = wallet.address;
    const registration = await contracts.registry.getProvider(me);
    const free = await contracts.registry.freeStakeOf(me);
    const balance = await contracts.token.balanceOf(me);
    const eth = await provider.getBalance(me);
    const head = await provider.getBlockNumber();
    const slashes = await slashesOf(contracts, me, addresses.startBlock ?? 0, head);
    let paid = 0n;
    let fees = 0n;
    let jobsPaid = 0;
    const rows: WorkerStatus["jobs"] = [];
    for (const state of jobs.values()) {
      if (state.payment !== undefined && state.payment !== "0") {
        paid += BigInt(state.payment) - BigInt(state.fee ?? "0");
        fees += BigInt(state.fee ?? "0");
        jobsPaid++;
      }
      // Every journaled job, finished or not: the chain's word next to the journal's.
      const onChain =
        JOB_STATUS_NAMES[Number((await contracts.market.getJob(BigInt(state.jobId))).status)] ??
        "?";
      const tasks = (state.memberships ?? []).reduce((sum, m) => sum + m.taskCount, 0);
      const inJob = slashes.filter((s) => s.record.jobId === state.jobId);
      rows.push({
        jobId: state.jobId,
        phase: state.phase,
        onChain,
        tasks,
        succeeded: (state.tasks ?? []).filter((t) => t.status === "succeeded").length,
        ...(state.payment !== undefined ? { payment: fmt(BigInt(state.payment)) } : {}),
        ...(state.closedReason !== undefined ? { reason: state.closedReason } : {}),
        ...(inJob.length > 0
          ? {
              slashed: `${fmt(inJob.reduce((sum, s) => sum + s.wei, 0n))} (${[...new Set(inJob.map((s) => s.record.reason))].join(", ")})`,
            }
          : {}),
      });
    }
    const unbonding = registration.unbonding;
    return {
      address: me,
      chainId: config.chainId,
      registered: registration.registered,
      ethBalance: formatEther(eth),
      walletBalance: fmt(balance),
      stake: {
        total: fmt(registration.stake),
        locked: fmt(registration.locked),
        free: fmt(free),
        unbonding: fmt(unbonding),
        ...(unbonding > 0n
          ? {
              unbondingReleaseAt: new Date(
                Number(registration.unbondingReleaseAt) * 1000,
              ).toISOString(),
            }
          : {}),
      },
      earnings: { paid: fmt(paid), fees: fmt(fees), jobsPaid },
      ...(outputBound === undefined ? {} : { outputBound }),
      disk: {
        ...(disk === undefined ? {} : { freeMiB: Math.floor(disk.freeBytes / MIB) }),
        reservedMiB: Math.ceil((disk?.reservedBytes ?? 0) / MIB),
        budgetMiB: config.limits.diskBudgetMiB,
      },
      slashes: slashes.map((s) => s.record),
      slashedTotal: fmt(slashes.reduce((sum, s) => sum + s.wei, 0n)),
      jobs: rows,
    };
  } finally {
    provider.destroy();
  }
}

/** Every ProviderSlashed event naming `provider`, oldest first. */
async function slashesOf(
  contracts: ProtocolContracts,
  provider: string,
  startBlock: number,
  head: number,
): Promise<{ record: SlashRecord; wei: bigint }[]> {
  const { market } = contracts;
  const filter = market.filters.ProviderSlashed(undefined, undefined, provider);
  const found: { record: SlashRecord; wei: bigint }[] = [];
  for (let from = startBlock; from <= head; from += LOG_RANGE) {
    const logs = await market.queryFilter(filter, from, Math.min(head, from + LOG_RANGE - 1));
    for (const log of logs) {
      const { jobId, groupId, amount, reason } = log.args;
      found.push({
        wei: amount,
        record: {
          jobId: jobId.toString(),
          groupId: Number(groupId),
          amount: fmt(amount),
          reason: slashReasonText(reason),
          block: log.blockNumber,
          tx: log.transactionHash,
        },
      });
    }
  }
  return found;
}

function fmt(wei: bigint): string {
  return formatUnits(wei, 18);
}

export function formatStatus(status: WorkerStatus): string {
  const { stake } = status;
  const unbonding =
    stake.unbondingReleaseAt === undefined
      ? `unbonding ${stake.unbonding}`
      : `unbonding ${stake.unbonding} until ${stake.unbondingReleaseAt}`;
  const lines = [
    `provider   ${status.address} (chain ${status.chainId})${status.registered ? "" : ", not registered yet"}`,
    `gas        ${status.ethBalance} ETH`,
    `wallet     ${status.walletBalance} CONUN`,
    `stake      ${stake.total} CONUN (free ${stake.free}, locked ${stake.locked}, ${unbonding})`,
    `earnings   ${status.earnings.paid} CONUN net over ${status.earnings.jobsPaid} job(s), fees ${status.earnings.fees}`,
    `disk       ${status.disk.reservedMiB} of ${status.disk.budgetMiB} MiB reserved by active jobs${status.disk.freeMiB === undefined ? "" : `, ${status.disk.freeMiB} MiB free`}`,
    `output     ${status.outputBound ?? "not known until the worker has started"}`,
    status.slashes.length === 0
      ? "slashes    none"
      : `slashes    ${status.slashes.length}, ${status.slashedTotal} CONUN in all`,
  ];
  for (const slash of status.slashes) {
    lines.push(
      `  job ${slash.jobId} group ${slash.groupId}: ${slash.amount} CONUN, ${slash.reason} (block ${slash.block}, tx ${slash.tx})`,
    );
  }
  lines.push("", "job     phase        on chain    tasks  ok  payment  note");
  for (const job of status.jobs) {
    const note = [job.reason, job.slashed === undefined ? undefined : `slashed ${job.slashed}`]
      .filter((part) => part !== undefined)
      .join("; ");
    lines.push(
      [
        job.jobId.padEnd(7),
        job.phase.padEnd(12),
        job.onChain.padEnd(11),
        String(job.tasks).padStart(5),
        String(job.succeeded).padStart(3),
        (job.payment ?? "-").padStart(8),
        note,
      ].join(" "),
    );
  }
  if (status.jobs.length === 0) lines.push("(no jobs yet)");
  return lines.join("\n");
}
