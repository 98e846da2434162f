// Network-wide queries: totals, daily statistics, and the subgraph's own `_meta` (how far it
// has indexed and whether it hit an indexing error).
import type { SubgraphClient } from "./client.ts";
import { toBig } from "./convert.ts";

export const NETWORK_QUERY = `
  query Network {
    network(id: "network") {
      market registry treasury protocolFeeBps jobCount jobsCancelled jobsUnfilled jobsAwarded
      jobsFinalized taskCount taskReplicaCount bidCount providerCount requesterCount
      volumeEscrowed volumeRefunded volumePaid feesCollected slashCount slashedAmount withdrawn
      escrowHeld totalStaked totalLocked
    }
  }
`;

interface NetworkRaw {
  market: string | null;
  registry: string | null;
  treasury: string | null;
  protocolFeeBps: number;
  jobCount: number;
  jobsCancelled: number;
  jobsUnfilled: number;
  jobsAwarded: number;
  jobsFinalized: number;
  taskCount: string;
  taskReplicaCount: string;
  bidCount: number;
  providerCount: number;
  requesterCount: number;
  volumeEscrowed: string;
  volumeRefunded: string;
  volumePaid: string;
  feesCollected: string;
  slashCount: number;
  slashedAmount: string;
  withdrawn: string;
  escrowHeld: string;
  totalStaked: string;
  totalLocked: string;
}

export interface NetworkStats {
  market: string | null;
  registry: string | null;
  treasury: string | null;
  protocolFeeBps: number;
  jobCount: number;
  jobsCancelled: number;
  jobsUnfilled: number;
  jobsAwarded: number;
  jobsFinalized: number;
  taskCount: bigint;
  taskReplicaCount: bigint;
  bidCount: number;
  providerCount: number;
  requesterCount: number;
  volumeEscrowed: bigint;
  volumeRefunded: bigint;
  volumePaid: bigint;
  feesCollected: bigint;
  slashCount: number;
  slashedAmount: bigint;
  withdrawn: bigint;
  escrowHeld: bigint;
  totalStaked: bigint;
  totalLocked: bigint;
}

/** Network totals, or null before the first indexed event. */
export async function getNetworkStats(client: SubgraphClient): Promise<NetworkStats | null> {
  const res = await client.request<{ network: NetworkRaw | null }>(NETWORK_QUERY);
  const raw = res.network;
  if (!raw) return null;
  const b = (field: keyof NetworkRaw) => toBig(raw[field] as string, `Network.${field}`);
  return {
    ...raw,
    taskCount: b("taskCount"),
    taskReplicaCount: b("taskReplicaCount"),
    volumeEscrowed: b("volumeEscrowed"),
    volumeRefunded: b("volumeRefunded"),
    volumePaid: b("volumePaid"),
    feesCollected: b("feesCollected"),
    slashedAmount: b("slashedAmount"),
    withdrawn: b("withdrawn"),
    escrowHeld: b("escrowHeld"),
    totalStaked: b("totalStaked"),
    totalLocked: b("totalLocked"),
  };
}

export const NETWORK_DAYS_QUERY = `
  query NetworkDays($first: Int!) {
    networkDayDatas(first: $first, orderBy: date, orderDirection: desc) {
      id date jobsPosted tasksPosted taskReplicasPosted jobsFinalized bidsPlaced volumeEscrowed
      volumeRefunded volumePaid feesCollected activeProviders slashCount slashedAmount
    }
  }
`;

interface NetworkDayRaw {
  id: string;
  date: string;
  jobsPosted: number;
  tasksPosted: string;
  taskReplicasPosted: string;
  jobsFinalized: number;
  bidsPlaced: number;
  volumeEscrowed: string;
  volumeRefunded: string;
  volumePaid: string;
  feesCollected: string;
  activeProviders: number;
  slashCount: number;
  slashedAmount: string;
}

export interface NetworkDay {
  /** Day number: unix time / 86400. */
  day: number;
  /** Unix time of the day's start. */
  date: bigint;
  jobsPosted: number;
  tasksPosted: bigint;
  taskReplicasPosted: bigint;
  jobsFinalized: number;
  bidsPlaced: number;
  volumeEscrowed: bigint;
  volumeRefunded: bigint;
  volumePaid: bigint;
  feesCollected: bigint;
  activeProviders: number;
  slashCount: number;
  slashedAmount: bigint;
}

/** The last `days` days with activity, newest first (days without events have no entity). */
export async function getNetworkDays(client: SubgraphClient, days = 7): Promise<NetworkDay[]> {
  const res = await client.request<{ networkDayDatas: NetworkDayRaw[] }>(NETWORK_DAYS_QUERY, {
    first: days,
  });
  return res.networkDayDatas.map((d) => ({
    ...d,
    day: Number(d.id),
    date: toBig(d.date, "NetworkDayData.date"),
    tasksPosted: toBig(d.tasksPosted, "NetworkDayData.tasksPosted"),
    taskReplicasPosted: toBig(d.taskReplicasPosted, "NetworkDayData.taskReplicasPosted"),
    volumeEscrowed: toBig(d.volumeEscrowed, "NetworkDayData.volumeEscrowed"),
    volumeRefunded: toBig(d.volumeRefunded, "NetworkDayData.volumeRefunded"),
    volumePaid: toBig(d.volumePaid, "NetworkDayData.volumePaid"),
    feesCollected: toBig(d.feesCollected, "NetworkDayData.feesCollected"),
    slashedAmount: toBig(d.slashedAmount, "NetworkDayData.slashedAmount"),
  }));
}

export const META_QUERY = `
  query Meta {
    _meta { block { number hash timestamp } deployment hasIndexingErrors }
  }
`;

export interface SubgraphMeta {
  block: { number: number; hash: string | null; timestamp: number | null };
  deployment: string;
  hasIndexingErrors: boolean;
}

/** How far the subgraph has indexed, its deployment id, and whether indexing failed. */
export async function getMeta(client: SubgraphClient): Promise<SubgraphMeta> {
  const res = await client.request<{ _meta: SubgraphMeta }>(META_QUERY);
  return res._meta;
}
