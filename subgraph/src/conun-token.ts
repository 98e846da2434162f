// biome-ignore-all lint/style/useImportType: AssemblyScript 0.19 cannot parse `import type`
// biome-ignore-all lint/suspicious/noShadowRestrictedNames: graph-ts's BigInt is AssemblyScript's big integer
// Mapping of the ConunToken data source. Only transfers to or from the market or the
// registry are kept: the manifest passes both addresses in the data source context, and
// every other Transfer returns before touching the store.
import { Address, Bytes, dataSource } from "@graphprotocol/graph-ts";
import { Transfer } from "../generated/ConunToken/ConunToken";
import { TokenTransfer } from "../generated/schema";
import { eventId } from "./ids";

function holder(address: Address, market: Bytes, registry: Bytes): string {
  if (address.equals(market)) return "Market";
  if (address.equals(registry)) return "Registry";
  return "Account";
}

function isProtocol(address: Address, market: Bytes, registry: Bytes): boolean {
  return address.equals(market) || address.equals(registry);
}

export function handleTransfer(event: Transfer): void {
  const context = dataSource.context();
  const market = context.getBytes("market");
  const registry = context.getBytes("registry");
  const from = event.params.from;
  const to = event.params.to;
  if (!isProtocol(from, market, registry) && !isProtocol(to, market, registry)) return;
  const fromHolder = holder(from, market, registry);
  const toHolder = holder(to, market, registry);

  const transfer = new TokenTransfer(eventId(event));
  transfer.from = from;
  transfer.to = to;
  transfer.fromHolder = fromHolder;
  transfer.toHolder = toHolder;
  transfer.amount = event.params.value;
  transfer.blockNumber = event.block.number;
  transfer.blockTimestamp = event.block.timestamp;
  transfer.transactionHash = event.transaction.hash;
  transfer.save();
}
