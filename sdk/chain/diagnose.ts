// Why a job cannot fill, why it ended Unfilled, and why a replica group had no quorum — from
// plain facts (a job's requirements, the registered providers, the bids, a group's commits and
// reveals), with the numbers, amounts in CONUN. Pure and free of Node built-ins: the requester
// tools feed it from the chain, the auditor CLI and the dApp from the subgraph.
//
// What the market decides (see IJobMarket): a job fills when its standing bids cover
// taskCount × k task-replicas; a bid needs a registered provider whose capabilities meet the
// job's resources and whose free stake covers stakePerTaskReplica per task-replica offered, and
// no bid may offer more than taskCount (a provider never holds two replicas of one task), so k
// distinct providers are the minimum. A bid above maxPrice is refused on chain, so a price
// that is too low shows up only as providers that do not bid — unless they publish their
// pricing (`publishedPricing`), which lets the floor be compared before they decide.
import { formatUnits } from "ethers";
import { escapeUntrusted } from "../text.ts";
import { type PricingPolicy, publishedPricing, quotePerTaskReplica } from "./pricing.ts";

/** A token amount in token wei as "1.5 CONUN" (exact, 18 decimals). */
export const formatConun = (wei: bigint): string => `${formatUnits(wei, 18)} CONUN`;

/** What a job asks of its providers (IJobMarket.JobSpec's numbers). */
export interface JobRequirements {
  taskCount: number;
  /** k: distinct providers per task. */
  replication: number;
  maxPrice: bigint;
  stakePerTaskReplica: bigint;
  cpuMillicores: number | bigint;
  memoryMiB: number | bigint;
  gpuCount: number;
  /** The manifest's per-task timeout, when known: needed to turn a published floor per
   * CPU-second into a price per task-replica. */
  timeoutSeconds?: number;
}

/** One provider as the registry knows it. */
export interface ProviderFacts {
  address: string;
  /** Default true. */
  registered?: boolean;
  cpuMillicores: number | bigint;
  memoryMiB: number | bigint;
  gpuCount: number;
  /** stake − locked, token wei. */
  freeStake: bigint;
  /** The registry's metadata URI, where a provider may publish its pricing. */
  metadataURI?: string;
}

/** A standing bid (withdrawn bids left out). */
export interface BidFacts {
  provider: string;
  price: bigint;
  capacity: number;
}

export type ReasonCode =
  | "no-providers"
  | "too-few-providers"
  | "capabilities"
  | "stake"
  | "price-floor"
  | "price-unpublished"
  | "too-few-eligible"
  | "capacity"
  | "bids-short"
  | "silent-providers";

export interface Reason {
  code: ReasonCode;
  /** True when, on these facts, the job cannot fill because of it. */
  blocking: boolean;
  message: string;
}

export interface FillDiagnosis {
  /** taskCount × k. */
  needed: number;
  registered: number;
  /** Providers that could bid now: resources, free stake and any published floor fit. */
  eligible: string[];
  /** Task-replicas the eligible providers' free stake covers, each at most taskCount. */
  eligibleCapacity: number;
  /** Task-replicas the bids offer (when bids were given). */
  bidCapacity?: number;
  /** False when some reason is blocking. True does not promise a fill: providers decide. */
  canFill: boolean;
  reasons: Reason[];
}

/**
 * The least a provider with `pricing` asks per task-replica of `job` — the worker's quote
 * (worker/src/bidding/pricing.ts): cores × timeout × floor per CPU-second, plus the margin,
 * never below the minimum per task. Without the job's timeout only the minimum is known;
 * `exact` says which.
 */
export function floorForJob(
  pricing: PricingPolicy,
  job: Pick<JobRequirements, "cpuMillicores" | "timeoutSeconds">,
): { floor: bigint; exact: boolean } {
  if (job.timeoutSeconds === undefined) return { floor: pricing.minPerTaskWei, exact: false };
  const { cpuMillicores, timeoutSeconds } = job;
  return { floor: quotePerTaskReplica(pricing, { cpuMillicores, timeoutSeconds }), exact: true };
}

function short(address: string): string {
  return address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

/** "a, b, c and 4 more": long provider lists stay readable. */
function list(items: string[], limit = 4): string {
  if (items.length <= limit) return items.join("; ");
  return `${items.slice(0, limit).join("; ")}; and ${items.length - limit} more`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Task-replicas `freeStake` can back for this job (at most taskCount per provider). */
export function stakeCapacity(job: JobRequirements, freeStake: bigint): number {
  if (job.stakePerTaskReplica === 0n) return job.taskCount;
  const byStake = freeStake / job.stakePerTaskReplica;
  return byStake > BigInt(job.taskCount) ? job.taskCount : Number(byStake);
}

function resourceShortfalls(job: JobRequirements, p: ProviderFacts): string[] {
  const out: string[] = [];
  if (BigInt(p.cpuMillicores) < BigInt(job.cpuMillicores)) {
    out.push(`${p.cpuMillicores} of ${job.cpuMillicores} millicores`);
  }
  if (BigInt(p.memoryMiB) < BigInt(job.memoryMiB)) {
    out.push(`${p.memoryMiB} of ${job.memoryMiB} MiB`);
  }
  if (p.gpuCount < job.gpuCount) out.push(`${p.gpuCount} of ${job.gpuCount} GPUs`);
  return out;
}

/**
 * Why `job` cannot fill, or did not: checks the registered providers (enough of them for k,
 * resources, free stake, published price floors) and, when `bids` are given, whether the bids
 * cover taskCount × k task-replicas and which eligible providers stayed away.
 */
export function whyUnfillable(
  job: JobRequirements,
  providers: readonly ProviderFacts[],
  bids?: readonly BidFacts[],
): FillDiagnosis {
  const k = job.replication;
  const needed = job.taskCount * k;
  const work = `${plural(job.taskCount, "task")} × k=${k}`;
  const reasons: Reason[] = [];
  const registered = providers.filter((p) => p.registered !== false);

  const lacking: string[] = [];
  const poor: string[] = [];
  const dear: string[] = [];
  const eligible: { address: string; capacity: number }[] = [];
  let published = 0;
  // A bidder's stake for this job is locked behind its bid: count what it offered too.
  const offered = new Map((bids ?? []).map((b) => [b.provider.toLowerCase(), b.capacity]));
  for (const p of registered) {
    const shortfalls = resourceShortfalls(job, p);
    const bid = offered.get(p.address.toLowerCase()) ?? 0;
    const capacity = Math.min(job.taskCount, stakeCapacity(job, p.freeStake) + bid);
    const pricing = publishedPricing(p.metadataURI);
    // A bid is a price the provider accepted, whatever it publishes.
    const floor = pricing === undefined || bid > 0 ? undefined : floorForJob(pricing, job);
    if (pricing !== undefined) published++;
    if (shortfalls.length > 0) lacking.push(`${short(p.address)} offers ${shortfalls.join(", ")}`);
    if (capacity < 1) poor.push(`${short(p.address)} has ${formatConun(p.freeStake)} free`);
    if (floor !== undefined && floor.floor > job.maxPrice) {
      dear.push(
        `${short(p.address)} asks ${floor.exact ? "" : "at least "}${formatConun(floor.floor)}`,
      );
    }
    const priced = floor === undefined || floor.floor <= job.maxPrice;
    if (shortfalls.length === 0 && capacity >= 1 && priced) {
      eligible.push({ address: p.address, capacity });
    }
  }
  const eligibleCapacity = eligible.reduce((sum, e) => sum + e.capacity, 0);

  if (registered.length === 0) {
    reasons.push({
      code: "no-providers",
      blocking: true,
      message: `no provider is registered with the market, so nobody can bid: the job needs ${needed} task-replicas (${work}) from at least ${k} distinct providers`,
    });
  } else if (registered.length < k) {
    reasons.push({
      code: "too-few-providers",
      blocking: true,
      message: `k=${k} needs ${k} distinct providers (no provider runs two replicas of a task), but only ${plural(registered.length, "provider is", "providers are")} registered: lower replication.k to ${registered.length} or wait for more providers`,
    });
  }
  if (lacking.length > 0) {
    reasons.push({
      code: "capabilities",
      blocking: false,
      message: `${lacking.length} of ${registered.length} registered providers cannot meet each task's resources (${job.cpuMillicores} millicores, ${job.memoryMiB} MiB, ${job.gpuCount} GPUs): ${list(lacking)}`,
    });
  }
  if (poor.length > 0) {
    reasons.push({
      code: "stake",
      blocking: false,
      message: `${poor.length} of ${registered.length} registered providers have less free stake than one task-replica locks (${formatConun(job.stakePerTaskReplica)}): ${list(poor)}; lower price.stakePerTaskReplica or wait for them to stake`,
    });
  }
  if (dear.length > 0) {
    reasons.push({
      code: "price-floor",
      blocking: false,
      message: `${dear.length} of ${registered.length} registered providers publish a price floor above the max price of ${formatConun(job.maxPrice)} per task-replica: ${list(dear)}; raise price.maxPerTaskReplica`,
    });
  } else if (registered.length > 0 && published === 0) {
    reasons.push({
      code: "price-unpublished",
      blocking: false,
      message: `no provider publishes a price floor in its registry metadata, so whether ${formatConun(job.maxPrice)} per task-replica is enough shows only in their bids`,
    });
  }
  if (registered.length >= k && eligible.length < k) {
    reasons.push({
      code: "too-few-eligible",
      blocking: true,
      message: `only ${plural(eligible.length, "provider")} of the ${k} distinct ones k=${k} needs can bid (resources, free stake${dear.length > 0 ? " and price" : ""})`,
    });
  } else if (eligible.length >= k && eligibleCapacity < needed) {
    reasons.push({
      code: "capacity",
      blocking: true,
      message: `the eligible providers' free stake backs ${eligibleCapacity} task-replicas at ${formatConun(job.stakePerTaskReplica)} each (${list(eligible.map((e) => `${short(e.address)}: ${e.capacity}`))}), the job needs ${needed} (${work}, at most ${job.taskCount} per provider)`,
    });
  }

  let bidCapacity: number | undefined;
  if (bids !== undefined) {
    bidCapacity = bids.reduce((sum, b) => sum + Math.min(b.capacity, job.taskCount), 0);
    if (bidCapacity < needed) {
      const offered =
        bids.length === 0
          ? "no provider bid"
          : `${plural(bids.length, "bid")} offered ${bidCapacity} (${list(
              bids.map((b) => `${short(b.provider)}: ${b.capacity} at ${formatConun(b.price)}`),
            )})`;
      reasons.push({
        code: "bids-short",
        blocking: true,
        message: `the bids cover ${bidCapacity} of the ${needed} task-replicas needed (${work}): ${offered}`,
      });
      const bidders = new Set(bids.map((b) => b.provider.toLowerCase()));
      const silent = eligible.filter((e) => !bidders.has(e.address.toLowerCase()));
      if (silent.length > 0) {
        reasons.push({
          code: "silent-providers",
          blocking: false,
          message: `${plural(silent.length, "provider")} whose resources and free stake fit did not bid (${list(silent.map((e) => short(e.address)))}): a worker skips a job whose max price (${formatConun(job.maxPrice)} per task-replica) is below its pricing floor — the usual reason — or whose task timeout does not fit the execution window, or when it is busy or offline`,
        });
      }
    }
  }
  return {
    needed,
    registered: registered.length,
    eligible: eligible.map((e) => e.address),
    eligibleCapacity,
    ...(bidCapacity === undefined ? {} : { bidCapacity }),
    canFill: !reasons.some((r) => r.blocking),
    reasons,
  };
}

/** One member of a replica group, as the commits and reveals left it. */
export interface GroupMemberFacts {
  provider: string;
  committed: boolean;
  revealed: boolean;
  resultRoot?: string | null;
  /** The results bundle CID logged with the reveal (ResultRevealed). */
  resultsCid?: string | null;
}

export interface GroupFacts {
  groupId: number;
  taskStart: number;
  taskCount: number;
  quorum: number;
  /** In lane order. */
  members: readonly GroupMemberFacts[];
}

export interface RevealedRoot {
  root: string;
  providers: string[];
  /** The bundle CID each of `providers` revealed, in the same order ("" when none logged). */
  bundles: string[];
}

export interface QuorumDiagnosis {
  groupId: number;
  quorum: number;
  /** Members that revealed the most common root. */
  agreeing: number;
  roots: RevealedRoot[];
  notCommitted: string[];
  notRevealed: string[];
  /** One sentence with every number; `lines` is the same, one fact per line. */
  message: string;
  lines: string[];
}

/**
 * Why a group had no quorum: each distinct root revealed, by whom and where each bundle is,
 * who did not commit or reveal, and the q needed.
 */
export function whyNoQuorum(group: GroupFacts): QuorumDiagnosis {
  const byRoot = new Map<string, RevealedRoot>();
  const notCommitted: string[] = [];
  const notRevealed: string[] = [];
  for (const m of group.members) {
    if (m.revealed && m.resultRoot) {
      const key = m.resultRoot.toLowerCase();
      const entry = byRoot.get(key) ?? { root: m.resultRoot, providers: [], bundles: [] };
      entry.providers.push(m.provider);
      // A revealed CID is whatever string the provider sent: never shown raw (sdk/text.ts).
      entry.bundles.push(escapeUntrusted(m.resultsCid ?? ""));
      byRoot.set(key, entry);
    } else if (m.committed) notRevealed.push(m.provider);
    else notCommitted.push(m.provider);
  }
  const roots = [...byRoot.values()].sort((a, b) => b.providers.length - a.providers.length);
  const agreeing = roots[0]?.providers.length ?? 0;
  const k = group.members.length;
  const last = group.taskStart + group.taskCount - 1;
  const head = `group ${group.groupId} (tasks ${group.taskStart}–${last}) had no quorum: it needs ${group.quorum} of ${k} members to reveal the same result root, the most that agreed was ${agreeing}`;
  const lines = [head];
  roots.forEach((r, i) => {
    const who = r.providers
      .map((p, j) => `${p} (bundle ${r.bundles[j] || "not logged"})`)
      .join(", ");
    lines.push(`root ${i + 1} ${r.root} revealed by ${who}`);
  });
  if (notCommitted.length > 0) lines.push(`did not commit: ${notCommitted.join(", ")}`);
  if (notRevealed.length > 0) lines.push(`committed but did not reveal: ${notRevealed.join(", ")}`);
  if (roots.length > 1) {
    lines.push(
      `the outputs differ between replicas: the job is probably not deterministic (timestamps, randomness, thread order) — fetch the ${roots.length} bundles and compare them; nobody is slashed for dissent and the group's tasks are refunded`,
    );
  } else if (roots.length <= 1 && notCommitted.length + notRevealed.length > 0) {
    lines.push(
      "too few members reported a result in time; the absent ones are slashed and the group's tasks are refunded",
    );
  }
  return {
    groupId: group.groupId,
    quorum: group.quorum,
    agreeing,
    roots,
    notCommitted,
    notRevealed,
    message: lines.join("; "),
    lines,
  };
}
