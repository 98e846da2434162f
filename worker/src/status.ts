// `conun-worker status`: what the worker is doing and has earned, from its journal (no running
// worker needed) and the chain (stake, balances, each active job's on-chain state).
import { formatUnits } from "ethers";
import { connectContracts, connectRpc, JOB_STATUS_NAMES } from "../../sdk/chain/index.ts";
import type { WorkerConfig } from "./config/index.ts";
import { journalPath, loadWallet, resolveAddresses } from "./daemon.ts";
import { isActive, reduceJournal, replayJournal } from "./journal/index.ts";

export interface WorkerStatus {
  address: string;
  chainId: number;
  stake: { total: string; locked: string; free: string };
  walletBalance: string;
  earnings: { paid: string; fees: string; jobsPaid: number };
  jobs: {
    jobId: string;
    phase: string;
    onChain: string;
    tasks: number;
    succeeded: number;
    payment?: string;
    reason?: string;
  }[];
}

export async function readStatus(config: WorkerConfig): Promise<WorkerStatus> {
  const entries = await replayJournal(journalPath(config));
  const jobs = reduceJournal(entries);
  const provider = connectRpc(config.rpcUrl, config.chainId, { timeoutMs: config.rpcTimeoutMs });
  try {
    const addresses = await resolveAddresses(config);
    const wallet = await loadWallet(config);
    const contracts = connectContracts(addresses, provider);
    const me = wallet.address;
    const registration = await contracts.registry.getProvider(me);
    const free = await contracts.registry.freeStakeOf(me);
    const balance = await contracts.token.balanceOf(me);
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
      const onChain = isActive(state)
        ? (JOB_STATUS_NAMES[Number((await contracts.market.getJob(BigInt(state.jobId))).status)] ??
          "?")
        : "-";
      const tasks = (state.memberships ?? []).reduce((sum, m) => sum + m.taskCount, 0);
      rows.push({
        jobId: state.jobId,
        phase: state.phase,
        onChain,
        tasks,
        succeeded: (state.tasks ?? []).filter((t) => t.status === "succeeded").length,
        ...(state.payment !== undefined ? { payment: fmt(BigInt(state.payment)) } : {}),
        ...(state.closedReason !== undefined ? { reason: state.closedReason } : {}),
      });
    }
    return {
      address: me,
      chainId: config.chainId,
      stake: {
        total: fmt(registration.stake),
        locked: fmt(registration.locked),
        free: fmt(free),
      },
      walletBalance: fmt(balance),
      earnings: { paid: fmt(paid), fees: fmt(fees), jobsPaid },
      jobs: rows,
    };
  } finally {
    provider.destroy();
  }
}

function fmt(wei: bigint): string {
  return formatUnits(wei, 18);
}

export function formatStatus(status: WorkerStatus): string {
  const lines = [
    `provider   ${status.address} (chain ${status.chainId})`,
    `stake      ${status.stake.total} CONUN (locked ${status.stake.locked}, free ${status.stake.free})`,
    `wallet     ${status.walletBalance} CONUN`,
    `earnings   ${status.earnings.paid} CONUN net over ${status.earnings.jobsPaid} job(s), fees ${status.earnings.fees}`,
    "",
    "job     phase        on chain    tasks  ok  payment  note",
  ];
  for (const job of status.jobs) {
    lines.push(
      [
        job.jobId.padEnd(7),
        job.phase.padEnd(12),
        job.onChain.padEnd(11),
        String(job.tasks).padStart(5),
        String(job.succeeded).padStart(3),
        (job.payment ?? "-").padStart(8),
        job.reason ?? "",
      ].join(" "),
    );
  }
  if (status.jobs.length === 0) lines.push("(no jobs yet)");
  return lines.join("\n");
}
