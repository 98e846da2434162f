// biome-ignore-all lint/style/useImportType: AssemblyScript 0.19 cannot parse `import type`
// biome-ignore-all lint/suspicious/noShadowRestrictedNames: graph-ts's BigInt is AssemblyScript's big integer
// Loaders and derived fields of the domain entities that more than one data source touches.
// Loaders create missing entities with zeroed fields and never save.
import { Address, BigDecimal, BigInt } from "@graphprotocol/graph-ts";
import { ClaimableBalance, Provider, Requester } from "../generated/schema";
import { accountId } from "./ids";

/**
 * String equality by content. In AssemblyScript `===` compares references, so `==` is the
 * only content comparison; this is the one place that uses it on strings.
 */
export function sameString(a: string, b: string): boolean {
  // biome-ignore lint/suspicious/noDoubleEquals: AssemblyScript's === compares string references
  return a == b;
}

export function loadProvider(address: Address): Provider {
  const id = accountId(address);
  let provider = Provider.load(id);
  if (provider == null) {
    provider = new Provider(id);
    provider.registered = false;
    provider.cpuMillicores = BigInt.zero();
    provider.memoryMiB = BigInt.zero();
    provider.gpuCount = 0;
    provider.metadataURI = "";
    provider.stake = BigInt.zero();
    provider.locked = BigInt.zero();
    provider.freeStake = BigInt.zero();
    provider.unbonding = BigInt.zero();
    provider.unbondingReleaseAt = BigInt.zero();
    provider.bidCount = 0;
    provider.withdrawnBidCount = 0;
    provider.evictedBidCount = 0;
    provider.jobsWon = 0;
    provider.jobsLost = 0;
    provider.tasksAssigned = BigInt.zero();
    provider.tasksSettled = BigInt.zero();
    provider.tasksCompleted = BigInt.zero();
    provider.successRate = BigDecimal.zero();
    provider.membershipsPaid = 0;
    provider.membershipsUnpaid = 0;
    provider.membershipsSlashed = 0;
    provider.grossEarnings = BigInt.zero();
    provider.feesPaid = BigInt.zero();
    provider.netEarnings = BigInt.zero();
    provider.slashCount = 0;
    provider.slashedAmount = BigInt.zero();
  }
  return provider;
}

/** Recomputes freeStake after stake or locked changed. */
export function refreshFreeStake(provider: Provider): void {
  provider.freeStake = provider.stake.minus(provider.locked);
}

/** Recomputes successRate after tasksSettled or tasksCompleted changed. */
export function refreshSuccessRate(provider: Provider): void {
  provider.successRate = provider.tasksSettled.isZero()
    ? BigDecimal.zero()
    : provider.tasksCompleted.toBigDecimal().div(provider.tasksSettled.toBigDecimal());
}

/** The requester; a new one has jobCount 0 (the caller counts it in Network.requesterCount). */
export function loadRequester(address: Address): Requester {
  const id = accountId(address);
  let requester = Requester.load(id);
  if (requester == null) {
    requester = new Requester(id);
    requester.jobCount = 0;
    requester.escrowed = BigInt.zero();
    requester.refunded = BigInt.zero();
    requester.paid = BigInt.zero();
  }
  return requester;
}

export function loadClaimableBalance(address: Address): ClaimableBalance {
  const id = accountId(address);
  let balance = ClaimableBalance.load(id);
  if (balance == null) {
    balance = new ClaimableBalance(id);
    balance.credited = BigInt.zero();
    balance.withdrawn = BigInt.zero();
    balance.balance = BigInt.zero();
  }
  return balance;
}
