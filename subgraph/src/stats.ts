// biome-ignore-all lint/style/useImportType: AssemblyScript 0.19 cannot parse `import type`
// biome-ignore-all lint/suspicious/noShadowRestrictedNames: graph-ts's BigInt is AssemblyScript's big integer
// Shared counters: the Network singleton and the per-day statistics. Loaders create missing
// entities with zeroed counters and never save; the handler that changes an entity saves it.
import { BigInt, Bytes, ethereum } from "@graphprotocol/graph-ts";
import { Network, NetworkDayData, ProviderDayData } from "../generated/schema";
import { dayNumber, dayStart, NETWORK_ID, networkDayId, providerDayId } from "./ids";

export function loadNetwork(): Network {
  let network = Network.load(NETWORK_ID);
  if (network == null) {
    network = new Network(NETWORK_ID);
    network.protocolFeeBps = 0;
    network.jobCount = 0;
    network.jobsCancelled = 0;
    network.jobsUnfilled = 0;
    network.jobsAwarded = 0;
    network.jobsFinalized = 0;
    network.taskCount = BigInt.zero();
    network.taskReplicaCount = BigInt.zero();
    network.bidCount = 0;
    network.providerCount = 0;
    network.requesterCount = 0;
    network.volumeEscrowed = BigInt.zero();
    network.volumeRefunded = BigInt.zero();
    network.volumePaid = BigInt.zero();
    network.feesCollected = BigInt.zero();
    network.slashCount = 0;
    network.slashedAmount = BigInt.zero();
    network.withdrawn = BigInt.zero();
    network.escrowHeld = BigInt.zero();
    network.totalStaked = BigInt.zero();
    network.totalLocked = BigInt.zero();
  }
  return network;
}

/** The NetworkDayData of the event's block. */
export function loadNetworkDay(event: ethereum.Event): NetworkDayData {
  const day = dayNumber(event.block.timestamp);
  const id = networkDayId(day);
  let data = NetworkDayData.load(id);
  if (data == null) {
    data = new NetworkDayData(id);
    data.date = dayStart(day);
    data.jobsPosted = 0;
    data.tasksPosted = BigInt.zero();
    data.taskReplicasPosted = BigInt.zero();
    data.jobsFinalized = 0;
    data.bidsPlaced = 0;
    data.volumeEscrowed = BigInt.zero();
    data.volumeRefunded = BigInt.zero();
    data.volumePaid = BigInt.zero();
    data.feesCollected = BigInt.zero();
    data.activeProviders = 0;
    data.slashCount = 0;
    data.slashedAmount = BigInt.zero();
  }
  return data;
}

/** The ProviderDayData of `provider` on the event's day. */
export function loadProviderDay(provider: Bytes, event: ethereum.Event): ProviderDayData {
  const day = dayNumber(event.block.timestamp);
  const id = providerDayId(provider, day);
  let data = ProviderDayData.load(id);
  if (data == null) {
    data = new ProviderDayData(id);
    data.provider = provider;
    data.date = dayStart(day);
    data.active = false;
    data.bids = 0;
    data.commits = 0;
    data.reveals = 0;
    data.earnings = BigInt.zero();
    data.slashCount = 0;
  }
  return data;
}

/**
 * Marks the provider active on that day: the first time, it counts in the day's
 * activeProviders. `day` must be the NetworkDayData of the same day; the caller saves both.
 */
export function markActive(providerDay: ProviderDayData, day: NetworkDayData): void {
  if (!providerDay.active) {
    providerDay.active = true;
    day.activeProviders += 1;
  }
}
