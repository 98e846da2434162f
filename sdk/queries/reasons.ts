// Why a job did not fill and why its groups had no quorum, from what the subgraph indexes —
// the same diagnosis (sdk/chain/diagnose.ts) the requester tools compute from the chain, for
// the auditor CLI and the dApp. Pure apart from `getJobReasons`, which only fetches.
import {
  type BidFacts,
  type FillDiagnosis,
  type QuorumDiagnosis,
  whyNoQuorum,
  whyUnfillable,
} from "../chain/diagnose.ts";
import type { SubgraphClient } from "./client.ts";
import { getJob, type JobDetails } from "./jobs.ts";
import { listProviders, type ProviderSummary } from "./providers.ts";

export interface JobReasonLines {
  /** Set for an Unfilled job, and for an Open one whose bids do not cover it yet. */
  fill?: FillDiagnosis;
  noQuorum: QuorumDiagnosis[];
  /** One reason per line, no indent; empty when there is nothing to explain. */
  lines: string[];
}

/** Whether the job's state calls for the registered providers (Unfilled, or still Open). */
export function needsProviders(job: Pick<JobDetails, "status">): boolean {
  return job.status === "Unfilled" || job.status === "Open";
}

/**
 * The reasons for `job` as indexed. `providers` are the registered providers as indexed now
 * (listProviders); they matter only for Unfilled and Open jobs (see `needsProviders`).
 */
export function jobReasons(job: JobDetails, providers: readonly ProviderSummary[] = []) {
  const out: JobReasonLines = { noQuorum: [], lines: [] };
  if (needsProviders(job)) {
    // Bids that stood when bidding closed were released with reason JobUnfilled; while Open
    // the standing ones are Placed. Withdrawn and evicted bids offered nothing.
    const standing: BidFacts[] = job.bids
      .filter(
        (b) =>
          b.status === "Placed" || (b.status === "Released" && b.releaseReason === "JobUnfilled"),
      )
      .map((b) => ({ provider: b.provider, price: b.price, capacity: b.capacity }));
    const fill = whyUnfillable(
      {
        taskCount: job.taskCount,
        replication: job.replication,
        maxPrice: job.maxPrice,
        stakePerTaskReplica: job.stakePerTaskReplica,
        cpuMillicores: job.cpuMillicores,
        memoryMiB: job.memoryMiB,
        gpuCount: job.gpuCount,
      },
      providers.map((p) => ({
        address: p.id,
        registered: p.registered,
        cpuMillicores: p.cpuMillicores,
        memoryMiB: p.memoryMiB,
        gpuCount: p.gpuCount,
        freeStake: p.freeStake,
        metadataURI: p.metadataURI,
      })),
      standing,
    );
    if (job.status === "Unfilled" || (fill.bidCapacity ?? 0) < fill.needed) {
      out.fill = fill;
      out.lines.push(
        job.status === "Unfilled"
          ? "Why it did not fill (providers as indexed now):"
          : `Bids so far cover ${fill.bidCapacity} of ${fill.needed} task-replicas:`,
      );
      for (const reason of fill.reasons) {
        // While bidding is open, providers that have not bid yet may still do so.
        if (job.status === "Open" && reason.code === "silent-providers") continue;
        out.lines.push(`- ${reason.message}`);
      }
    }
  }
  for (const g of job.groups) {
    if (g.outcome !== "NoQuorum") continue;
    const diagnosis = whyNoQuorum({
      groupId: g.groupId,
      taskStart: g.taskStart,
      taskCount: g.taskCount,
      quorum: job.quorum,
      members: g.members.map((m) => ({
        provider: m.provider,
        committed: m.committedAt !== null || m.commitment !== null,
        revealed: m.revealedAt !== null || m.resultRoot !== null,
        resultRoot: m.resultRoot,
        resultsCid: m.resultsCid,
      })),
    });
    out.noQuorum.push(diagnosis);
    out.lines.push(...diagnosis.lines.map((line, i) => (i === 0 ? line : `- ${line}`)));
  }
  return out;
}

/** Fetches what `jobReasons` needs: the job and, when it matters, the registered providers. */
export async function getJobReasons(
  client: SubgraphClient,
  id: string | bigint,
): Promise<{ job: JobDetails; reasons: JobReasonLines } | null> {
  const job = await getJob(client, id);
  if (job === null) return null;
  const providers = needsProviders(job)
    ? await listProviders(client, { first: 1000, orderBy: "stake" })
    : [];
  return { job, reasons: jobReasons(job, providers) };
}
