// biome-ignore-all lint/style/useImportType: AssemblyScript 0.19 cannot parse `import type`
// biome-ignore-all lint/suspicious/noShadowRestrictedNames: graph-ts's BigInt is AssemblyScript's big integer
// Mappings of the ProviderRegistry data source: profiles and stake. Slash counts and reasons
// come from the market's ProviderSlashed (src/job-market.ts); StakeSlashed here only moves
// the stake figures, so nothing is counted twice.
import { BigInt, ethereum } from "@graphprotocol/graph-ts";
import {
  ProviderRegistered,
  ProviderUpdated,
  Staked,
  StakeLocked,
  StakeSlashed,
  StakeUnlocked,
  Unstaked,
  UnstakeRequested,
} from "../generated/ProviderRegistry/ProviderRegistry";
import { Provider, StakeEvent } from "../generated/schema";
import { loadProvider, refreshFreeStake } from "./entities";
import { eventId } from "./ids";
import { loadNetwork } from "./stats";

/** Saves the provider and the StakeEvent recording its stake figures after `event`. */
function recordStake(
  event: ethereum.Event,
  provider: Provider,
  kind: string,
  amount: BigInt,
  jobId: BigInt | null,
): void {
  refreshFreeStake(provider);
  provider.save();

  const entry = new StakeEvent(eventId(event));
  entry.provider = provider.id;
  entry.kind = kind;
  entry.amount = amount;
  entry.jobId = jobId;
  entry.stakeAfter = provider.stake;
  entry.lockedAfter = provider.locked;
  entry.unbondingAfter = provider.unbonding;
  entry.blockNumber = event.block.number;
  entry.blockTimestamp = event.block.timestamp;
  entry.transactionHash = event.transaction.hash;
  entry.save();
}

/** Adds `stakedDelta` and `lockedDelta` to the network's totals. */
function countStake(event: ethereum.Event, stakedDelta: BigInt, lockedDelta: BigInt): void {
  const network = loadNetwork();
  network.registry = event.address;
  network.totalStaked = network.totalStaked.plus(stakedDelta);
  network.totalLocked = network.totalLocked.plus(lockedDelta);
  network.save();
}

export function handleProviderRegistered(event: ProviderRegistered): void {
  const params = event.params;
  const provider = loadProvider(params.provider);
  provider.registered = true;
  provider.registeredAt = event.block.timestamp;
  provider.cpuMillicores = params.capabilities.cpuMillicores;
  provider.memoryMiB = params.capabilities.memoryMiB;
  provider.gpuCount = params.capabilities.gpuCount;
  provider.metadataURI = params.metadataURI;
  provider.save();

  const network = loadNetwork();
  network.registry = event.address;
  network.providerCount += 1;
  network.save();
}

export function handleProviderUpdated(event: ProviderUpdated): void {
  const params = event.params;
  const provider = loadProvider(params.provider);
  provider.cpuMillicores = params.capabilities.cpuMillicores;
  provider.memoryMiB = params.capabilities.memoryMiB;
  provider.gpuCount = params.capabilities.gpuCount;
  provider.metadataURI = params.metadataURI;
  provider.save();
}

export function handleStaked(event: Staked): void {
  const params = event.params;
  const provider = loadProvider(params.provider);
  provider.stake = params.stake;
  recordStake(event, provider, "Staked", params.amount, null);
  countStake(event, params.amount, BigInt.zero());
}

export function handleUnstakeRequested(event: UnstakeRequested): void {
  const params = event.params;
  const provider = loadProvider(params.provider);
  // Stake excludes unbonding: the requested amount moves from one to the other, and the
  // registry's holdings (Network.totalStaked) do not change.
  provider.stake = params.stake;
  provider.unbonding = params.unbonding;
  provider.unbondingReleaseAt = params.releaseAt;
  recordStake(event, provider, "UnstakeRequested", params.amount, null);
}

export function handleUnstaked(event: Unstaked): void {
  const params = event.params;
  const provider = loadProvider(params.provider);
  // withdrawUnstaked always sends the whole unbonding amount.
  provider.unbonding = BigInt.zero();
  provider.unbondingReleaseAt = BigInt.zero();
  recordStake(event, provider, "Unstaked", params.amount, null);
  countStake(event, params.amount.neg(), BigInt.zero());
}

export function handleStakeLocked(event: StakeLocked): void {
  const params = event.params;
  const provider = loadProvider(params.provider);
  provider.locked = params.locked;
  recordStake(event, provider, "Locked", params.amount, params.jobId);
  countStake(event, BigInt.zero(), params.amount);
}

export function handleStakeUnlocked(event: StakeUnlocked): void {
  const params = event.params;
  const provider = loadProvider(params.provider);
  provider.locked = params.locked;
  recordStake(event, provider, "Unlocked", params.amount, params.jobId);
  countStake(event, BigInt.zero(), params.amount.neg());
}

export function handleStakeSlashed(event: StakeSlashed): void {
  const params = event.params;
  const provider = loadProvider(params.provider);
  // A slash takes the amount from the locked stake, and so from the stake too.
  provider.stake = params.stake;
  provider.locked = params.locked;
  recordStake(event, provider, "Slashed", params.amount, params.jobId);
  countStake(event, params.amount.neg(), params.amount.neg());
}
