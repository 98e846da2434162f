// The requester tools' side of sdk/chain/diagnose.ts: reads the facts from the chain — the
// registered providers (ProviderRegistered logs, then each one's current record), a job's
// standing bids, its groups' commits and reveals (ResultCommitted / ResultRevealed logs carry
// the bundle CIDs) — and turns the diagnosis into lines for conun:post, conun:watch and
// conun:status.
import {
  type BidFacts,
  type FillDiagnosis,
  type GroupFacts,
  type JobRequirements,
  type ProviderFacts,
  type QuorumDiagnosis,
  whyNoQuorum,
  whyUnfillable,
} from "../sdk/chain/diagnose.ts";
import { readPostedJob } from "../sdk/chain/index.ts";
import { publishedPricing } from "../sdk/chain/pricing.ts";
import type { ContentStore } from "../sdk/content/types.ts";
import {
  failureStage,
  type GroupOutcomeName,
  groupOutcomeName,
  type JobStatusName,
  jobStatusName,
} from "../sdk/protocol/index.ts";
import type { RequesterContext } from "./context.ts";
import { inRanges } from "./logs.ts";

/** What the readers need of a requester context (conun:watch has no signer of its own). */
export type ChainFacts = Pick<RequesterContext, "provider" | "registry" | "market" | "deployment">;

/** Every provider that ever registered, with its record as it is now. */
export async function readProviders(ctx: ChainFacts): Promise<ProviderFacts[]> {
  const logs = await inRanges(ctx.provider, ctx.deployment.startBlock, (from, to) =>
    ctx.registry.queryFilter(ctx.registry.filters.ProviderRegistered(), from, to),
  );
  const addresses = [...new Set(logs.map((log) => log.args.provider))];
  return Promise.all(
    addresses.map(async (address): Promise<ProviderFacts> => {
      const p = await ctx.registry.getProvider(address);
      return {
        address,
        registered: p.registered,
        cpuMillicores: p.capabilities.cpuMillicores,
        memoryMiB: p.capabilities.memoryMiB,
        gpuCount: Number(p.capabilities.gpuCount),
        freeStake: p.stake - p.locked,
        metadataURI: p.metadataURI,
      };
    }),
  );
}

/** The job's standing bids (after bidding closed: those that stood at the close). */
export async function readBids(ctx: ChainFacts, jobId: bigint): Promise<BidFacts[]> {
  const bidders = await ctx.market.biddersOf(jobId);
  return Promise.all(
    bidders.map(async (provider) => {
      const bid = await ctx.market.getBid(jobId, provider);
      return { provider, price: bid.price, capacity: Number(bid.capacity) };
    }),
  );
}

/** The job's groups with each member's commit, reveal, root and bundle CID. */
export async function readGroups(
  ctx: ChainFacts,
  jobId: bigint,
): Promise<(GroupFacts & { outcome: GroupOutcomeName })[]> {
  const job = await ctx.market.getJob(jobId);
  const fromBlock = ctx.deployment.startBlock;
  const [commits, reveals] = await Promise.all([
    inRanges(ctx.provider, fromBlock, (from, to) =>
      ctx.market.queryFilter(ctx.market.filters.ResultCommitted(jobId), from, to),
    ),
    inRanges(ctx.provider, fromBlock, (from, to) =>
      ctx.market.queryFilter(ctx.market.filters.ResultRevealed(jobId), from, to),
    ),
  ]);
  const key = (groupId: bigint | number, provider: string) =>
    `${groupId}:${provider.toLowerCase()}`;
  const committed = new Set(commits.map((l) => key(l.args.groupId, l.args.provider)));
  const revealed = new Map(
    reveals.map((l) => [
      key(l.args.groupId, l.args.provider),
      { resultRoot: l.args.resultRoot, resultsCid: l.args.resultsCid },
    ]),
  );
  const groups = [];
  for (let g = 0; g < Number(job.groupCount); g++) {
    const group = await ctx.market.getGroup(jobId, g);
    const outcome = groupOutcomeName(group.outcome);
    groups.push({
      groupId: g,
      taskStart: Number(group.taskStart),
      taskCount: Number(group.taskCount),
      quorum: Number(job.quorum),
      outcome,
      members: group.members.map((provider) => {
        const reveal = revealed.get(key(g, provider));
        return {
          provider,
          committed: committed.has(key(g, provider)) || reveal !== undefined,
          revealed: reveal !== undefined,
          resultRoot: reveal?.resultRoot ?? null,
          resultsCid: reveal?.resultsCid ?? null,
        };
      }),
    });
  }
  return groups;
}

/**
 * The per-task timeout from the job's manifest, when the store holds it: it turns a published
 * floor per CPU-second into a price per task-replica. Undefined when the manifest is not here.
 */
export async function manifestTimeout(
  store: ContentStore,
  manifestCid: string,
): Promise<number | undefined> {
  try {
    if (!(await store.has(manifestCid))) return undefined;
    const bytes = await store.getBytes(manifestCid, { maxBytes: 1 << 20 });
    const timeout = JSON.parse(new TextDecoder().decode(bytes))?.resources?.timeoutSeconds;
    return typeof timeout === "number" ? timeout : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the registered providers can fill `job` (the pre-post check of conun:post). */
export async function checkFillable(ctx: ChainFacts, job: JobRequirements): Promise<FillDiagnosis> {
  return whyUnfillable(job, await readProviders(ctx));
}

export interface JobReasons {
  status: JobStatusName;
  /** Set for an Unfilled job, and for an Open one whose bids do not cover it yet. */
  fill?: FillDiagnosis;
  noQuorum: QuorumDiagnosis[];
  /** Human-readable, one reason per line, no leading indent. */
  lines: string[];
}

/**
 * Why `jobId` ended Unfilled (or, while Open, what its bids still lack), and why each of its
 * groups without quorum had none. Providers are read as they are now, which the lines say.
 */
export async function explainJob(
  ctx: ChainFacts & { store?: ContentStore },
  jobId: bigint,
): Promise<JobReasons> {
  const job = await ctx.market.getJob(jobId);
  const status = jobStatusName(job.status);
  const lines: string[] = [];
  const result: JobReasons = { status, noQuorum: [], lines };
  const stage = failureStage(status);
  if (stage === "fill") {
    const [providers, bids] = await Promise.all([readProviders(ctx), readBids(ctx, jobId)]);
    let timeoutSeconds: number | undefined;
    if (ctx.store !== undefined && providers.some((p) => publishedPricing(p.metadataURI))) {
      const posted = await readPostedJob(ctx.market, jobId, ctx.deployment.startBlock);
      if (posted !== undefined) {
        timeoutSeconds = await manifestTimeout(ctx.store, posted.spec.manifestCid);
      }
    }
    const fill = whyUnfillable(
      {
        taskCount: Number(job.taskCount),
        replication: Number(job.replication),
        maxPrice: job.maxPrice,
        stakePerTaskReplica: job.stakePerTaskReplica,
        cpuMillicores: job.cpuMillicores,
        memoryMiB: job.memoryMiB,
        gpuCount: Number(job.gpuCount),
        ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
      },
      providers,
      bids,
    );
    if (status === "Unfilled" || (fill.bidCapacity ?? 0) < fill.needed) {
      result.fill = fill;
      lines.push(
        status === "Unfilled"
          ? "why it did not fill (providers as registered now):"
          : `bids so far cover ${fill.bidCapacity} of ${fill.needed} task-replicas:`,
      );
      for (const reason of fill.reasons) {
        // While bidding is open, providers that have not bid yet may still do so.
        if (status === "Open" && reason.code === "silent-providers") continue;
        lines.push(`- ${reason.message}`);
      }
    }
  }
  if (stage === "quorum") {
    for (const group of await readGroups(ctx, jobId)) {
      if (group.outcome !== "NoQuorum") continue;
      const diagnosis = whyNoQuorum(group);
      result.noQuorum.push(diagnosis);
      lines.push(...diagnosis.lines.map((line, i) => (i === 0 ? line : `- ${line}`)));
    }
  }
  return result;
}

/** The pre-post warning: one line per reason, the blocking ones first. */
export function describeFillCheck(d: FillDiagnosis): string[] {
  const ordered = [...d.reasons].sort((a, b) => Number(b.blocking) - Number(a.blocking));
  const head = d.canFill
    ? `${d.eligible.length} registered provider(s) can bid (their free stake backs ${d.eligibleCapacity} of the ${d.needed} task-replicas needed)`
    : `this job cannot fill with the providers registered now (${d.registered} registered, ${d.eligible.length} eligible, ${d.eligibleCapacity} of ${d.needed} task-replicas backed by free stake); it would end Unfilled and refund the escrow unless more providers register or stake before bidding closes`;
  return [head, ...ordered.map((r) => `${r.blocking ? "✗" : "·"} ${r.message}`)];
}
