// biome-ignore-all lint/style/useImportType: AssemblyScript 0.19 cannot parse `import type`
// biome-ignore-all lint/suspicious/noShadowRestrictedNames: graph-ts's BigInt is AssemblyScript's big integer
// Every entity id of the subgraph is built here, and only here, so the formats documented in
// schema.graphql cannot drift from the code.
import { Address, BigInt, Bytes, ethereum } from "@graphprotocol/graph-ts";

const SECONDS_PER_DAY = 86400;

/** Id of the singleton Network entity. */
export const NETWORK_ID = "network";

/** Event-log entities: transaction hash followed by the log index (4 bytes, big-endian). */
export function eventId(event: ethereum.Event): Bytes {
  return event.transaction.hash.concatI32(event.logIndex.toI32());
}

/** Job: the on-chain job id in decimal ("1", "2", …). */
export function jobId(id: BigInt): string {
  return id.toString();
}

/** Provider, Requester, ClaimableBalance: the account's address. */
export function accountId(account: Address): Bytes {
  return account;
}

/** Bid: "<jobId>-<provider address>". */
export function bidId(job: BigInt, provider: Address): string {
  return `${jobId(job)}-${provider.toHexString()}`;
}

/** ReplicaGroup: "<jobId>-<groupId>". */
export function groupId(job: BigInt, group: i32): string {
  return `${jobId(job)}-${group.toString()}`;
}

/** GroupMember: "<jobId>-<groupId>-<provider address>" (a group's members are distinct). */
export function memberId(job: BigInt, group: i32, provider: Address): string {
  return `${groupId(job, group)}-${provider.toHexString()}`;
}

/** Day number of a block timestamp: unix time / 86400 (UTC days; fits i32 for 5 million years). */
export function dayNumber(timestamp: BigInt): i32 {
  return timestamp.div(BigInt.fromI32(SECONDS_PER_DAY)).toI32();
}

/** Unix time at which a day starts (a BigInt: seconds outgrow i32 in 2038). */
export function dayStart(day: i32): BigInt {
  return BigInt.fromI32(day).times(BigInt.fromI32(SECONDS_PER_DAY));
}

/** NetworkDayData: the day number in decimal. */
export function networkDayId(day: i32): string {
  return day.toString();
}

/** ProviderDayData: "<provider address>-<day number>". */
export function providerDayId(provider: Bytes, day: i32): string {
  return `${provider.toHexString()}-${day.toString()}`;
}
