// Network-wide queries: totals, daily statistics, and the subgraph's own `_meta` (how far it
// has indexed and whether it hit an indexing error).
import type { SubgraphClient } from "./client.ts";
import { fromWire, type Wire } from "./convert.ts";

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
  const res = await client.request<{ network: Wire<NetworkStats> | null }>(NETWORK_QUERY);
  if (!res.network) return null;
  return fromWire<NetworkStats>(res.network, "Network", {
    taskCount: true,
    taskReplicaCount: true,
    volumeEscrowed: true,
    volumeRefunded: true,
    volumePaid: true,
    feesCollected: true,
    slashedAmount: true,
    withdrawn: true,
    escrowHeld: true,
    totalStaked: true,
    totalLocked: true,
  });
}

export const NETWORK_DAYS_QUERY = `
  query NetworkDays($first: Int!) {
    networkDayDatas(first: $first, orderBy: date, orderDirection: desc) {
      id date jobsPosted tasksPosted taskReplicasPosted jobsFinalized bidsPlaced volumeEscrowed
      volumeRefunded volumePaid feesCollected activeProviders slashCount slashedAmount
    }
  }
`;

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
  const res = await client.request<{
    networkDayDatas: (Wire<Omit<NetworkDay, "day">> & { id: string })[];
  }>(NETWORK_DAYS_QUERY, {
    first: days,
  });
  return res.networkDayDatas.map(({ id, ...d }) => ({
    ...fromWire<Omit<NetworkDay, "day">>(d, "NetworkDayData", {
      date: true,
      tasksPosted: true,
      taskReplicasPosted: true,
      volumeEscrowed: true,
      volumeRefunded: true,
      volumePaid: true,
      feesCollected: true,
      slashedAmount: true,
    }),
    day: Number(id),
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
