// Provider queries: a provider's track record (stake, capabilities, work done, earnings,
// slashes, recent bids) and provider rankings.

import type { AppliedSlashReason as SlashReason } from "../protocol/states.ts";
import type { SubgraphClient } from "./client.ts";
import { fromWire, toBig, type Wire } from "./convert.ts";
import type { BidStatus } from "./jobs.ts";

const PROVIDER_SUMMARY_FIELDS = `
  id registered registeredAt cpuMillicores memoryMiB gpuCount metadataURI stake locked
  freeStake unbonding unbondingReleaseAt bidCount withdrawnBidCount jobsWon jobsLost
  tasksAssigned tasksSettled tasksCompleted successRate membershipsPaid membershipsUnpaid
  membershipsSlashed grossEarnings feesPaid netEarnings slashCount slashedAmount
`;

export interface ProviderSummary {
  id: string;
  registered: boolean;
  registeredAt: bigint | null;
  cpuMillicores: bigint;
  memoryMiB: bigint;
  gpuCount: number;
  metadataURI: string;
  stake: bigint;
  locked: bigint;
  freeStake: bigint;
  unbonding: bigint;
  unbondingReleaseAt: bigint;
  bidCount: number;
  withdrawnBidCount: number;
  jobsWon: number;
  jobsLost: number;
  tasksAssigned: bigint;
  tasksSettled: bigint;
  tasksCompleted: bigint;
  /** tasksCompleted / tasksSettled as a decimal string ("0.75"); "0" before any settlement. */
  successRate: string;
  membershipsPaid: number;
  membershipsUnpaid: number;
  membershipsSlashed: number;
  grossEarnings: bigint;
  feesPaid: bigint;
  netEarnings: bigint;
  slashCount: number;
  slashedAmount: bigint;
}

type ProviderSummaryRaw = Wire<ProviderSummary>;

function providerSummary(raw: ProviderSummaryRaw): ProviderSummary {
  return fromWire<ProviderSummary>(raw, "Provider", {
    registeredAt: true,
    cpuMillicores: true,
    memoryMiB: true,
    stake: true,
    locked: true,
    freeStake: true,
    unbonding: true,
    unbondingReleaseAt: true,
    tasksAssigned: true,
    tasksSettled: true,
    tasksCompleted: true,
    grossEarnings: true,
    feesPaid: true,
    netEarnings: true,
    slashedAmount: true,
  });
}

export const PROVIDER_QUERY = `
  query Provider($id: ID!, $recent: Int!) {
    provider(id: $id) {
      ${PROVIDER_SUMMARY_FIELDS}
      bids(first: $recent, orderBy: placedAt, orderDirection: desc) {
        id job { id status } price capacity allotted status placedAt
      }
      slashes(first: $recent, orderBy: blockNumber, orderDirection: desc) {
        job { id } group { groupId } amount reason blockTimestamp
      }
    }
  }
`;

interface ProviderRaw extends ProviderSummaryRaw {
  bids: {
    id: string;
    job: { id: string; status: string };
    price: string;
    capacity: number;
    allotted: number;
    status: BidStatus;
    placedAt: string;
  }[];
  slashes: {
    job: { id: string };
    group: { groupId: number };
    amount: string;
    reason: SlashReason;
    blockTimestamp: string;
  }[];
}

export interface ProviderBid {
  id: string;
  jobId: string;
  jobStatus: string;
  price: bigint;
  capacity: number;
  allotted: number;
  status: BidStatus;
  placedAt: bigint;
}

export interface ProviderSlash {
  jobId: string;
  groupId: number;
  amount: bigint;
  reason: SlashReason;
  timestamp: bigint;
}

export interface ProviderDetails extends ProviderSummary {
  /** The most recent bids, newest first. */
  recentBids: ProviderBid[];
  /** The most recent slashes, newest first. */
  recentSlashes: ProviderSlash[];
}

/** A provider's record by address (any case), or null if the subgraph has never seen it. */
export async function getProvider(
  client: SubgraphClient,
  address: string,
  options: { recent?: number } = {},
): Promise<ProviderDetails | null> {
  const res = await client.request<{ provider: ProviderRaw | null }>(PROVIDER_QUERY, {
    id: address.toLowerCase(),
    recent: options.recent ?? 10,
  });
  if (!res.provider) return null;
  const { bids, slashes, ...summary } = res.provider;
  return {
    ...providerSummary(summary),
    recentBids: bids.map((b) => ({
      id: b.id,
      jobId: b.job.id,
      jobStatus: b.job.status,
      price: toBig(b.price, "Bid.price"),
      capacity: b.capacity,
      allotted: b.allotted,
      status: b.status,
      placedAt: toBig(b.placedAt, "Bid.placedAt"),
    })),
    recentSlashes: slashes.map((s) => ({
      jobId: s.job.id,
      groupId: s.group.groupId,
      amount: toBig(s.amount, "Slash.amount"),
      reason: s.reason,
      timestamp: toBig(s.blockTimestamp, "Slash.blockTimestamp"),
    })),
  };
}

export type ProviderOrder =
  | "stake"
  | "tasksCompleted"
  | "netEarnings"
  | "grossEarnings"
  | "successRate"
  | "slashedAmount"
  | "jobsWon"
  | "registeredAt";

export const PROVIDERS_QUERY = `
  query Providers($where: Provider_filter, $first: Int!, $skip: Int!, $orderBy: Provider_orderBy!,
      $orderDirection: OrderDirection!) {
    providers(where: $where, first: $first, skip: $skip, orderBy: $orderBy,
        orderDirection: $orderDirection) {
      ${PROVIDER_SUMMARY_FIELDS}
    }
  }
`;

export interface ListProvidersOptions {
  /** Default: stake. */
  orderBy?: ProviderOrder;
  /** Default: desc (largest first). */
  orderDirection?: "asc" | "desc";
  /** Only providers whose ProviderRegistered event was seen; default true. */
  registeredOnly?: boolean;
  first?: number;
  skip?: number;
}

export async function listProviders(
  client: SubgraphClient,
  options: ListProvidersOptions = {},
): Promise<ProviderSummary[]> {
  const res = await client.request<{ providers: ProviderSummaryRaw[] }>(PROVIDERS_QUERY, {
    where: options.registeredOnly === false ? {} : { registered: true },
    first: options.first ?? 100,
    skip: options.skip ?? 0,
    orderBy: options.orderBy ?? "stake",
    orderDirection: options.orderDirection ?? "desc",
  });
  return res.providers.map(providerSummary);
}
