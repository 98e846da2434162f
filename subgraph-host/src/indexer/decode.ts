/**
 * Turns raw logs into what handlers receive: the data source and handler a log triggers, its
 * parameters decoded with the ABI into graph-ts `ethereum.Value`s, and the block and
 * transaction as graph-ts describes them.
 */
import { type EventFragment, Interface } from "ethers";
import type { DataSourceSpec } from "../manifest.ts";
import { SubgraphHostError } from "../runtime/errors.ts";
import type { EthBlock, EthTransaction, EthValue } from "../runtime/ethereum.ts";
import { decodeEventInputs, hexToBytes } from "./abi-decode.ts";

export interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  transactionIndex: string;
  logIndex: string;
  removed?: boolean;
}

export interface RawTransaction {
  hash: string;
  transactionIndex: string;
  from: string;
  to: string | null;
  value: string;
  gas: string;
  gasPrice?: string;
  maxFeePerGas?: string;
  input: string;
  nonce: string;
}

export interface RawBlock {
  number: string;
  hash: string;
  parentHash: string;
  sha3Uncles: string;
  miner: string;
  stateRoot: string;
  transactionsRoot: string;
  receiptsRoot: string;
  gasUsed: string;
  gasLimit: string;
  timestamp: string;
  difficulty?: string;
  totalDifficulty?: string;
  size?: string;
  baseFeePerGas?: string;
  transactions: (RawTransaction | string)[];
}

export interface HandlerRoute {
  dataSource: DataSourceSpec;
  handler: string;
  fragment: EventFragment;
}

const big = (hex: string | undefined): bigint =>
  hex === undefined || hex === null ? 0n : BigInt(hex);

export function toEthBlock(raw: RawBlock): EthBlock {
  return {
    hash: hexToBytes(raw.hash),
    parentHash: hexToBytes(raw.parentHash),
    unclesHash: hexToBytes(raw.sha3Uncles),
    author: hexToBytes(raw.miner),
    stateRoot: hexToBytes(raw.stateRoot),
    transactionsRoot: hexToBytes(raw.transactionsRoot),
    receiptsRoot: hexToBytes(raw.receiptsRoot),
    number: big(raw.number),
    gasUsed: big(raw.gasUsed),
    gasLimit: big(raw.gasLimit),
    timestamp: big(raw.timestamp),
    difficulty: big(raw.difficulty),
    totalDifficulty: big(raw.totalDifficulty),
    size: raw.size === undefined ? null : big(raw.size),
    baseFeePerGas: raw.baseFeePerGas === undefined ? null : big(raw.baseFeePerGas),
  };
}

export function toEthTransaction(raw: RawTransaction): EthTransaction {
  return {
    hash: hexToBytes(raw.hash),
    index: big(raw.transactionIndex),
    from: hexToBytes(raw.from),
    to: raw.to === null || raw.to === undefined ? null : hexToBytes(raw.to),
    value: big(raw.value),
    gasLimit: big(raw.gas),
    gasPrice: big(raw.gasPrice ?? raw.maxFeePerGas),
    input: hexToBytes(raw.input),
    nonce: big(raw.nonce),
  };
}

/** Routes logs (by address and topic0) to handlers and decodes them. */
export class LogRouter {
  readonly #routes = new Map<string, HandlerRoute[]>();
  readonly addresses: string[];
  readonly topics: string[];

  constructor(dataSources: DataSourceSpec[]) {
    const addresses = new Set<string>();
    const topics = new Set<string>();
    for (const ds of dataSources) {
      const iface = new Interface(ds.abi as never);
      addresses.add(ds.address);
      for (const h of ds.eventHandlers) {
        const fragment = iface.getEvent(h.topic0);
        if (fragment === null) {
          throw new SubgraphHostError(
            "subgraph-manifest-invalid",
            `data source "${ds.name}": event ${h.signature} of ${h.handler} is not in ABI ${ds.abiName}`,
          );
        }
        topics.add(h.topic0);
        const key = `${ds.address}:${h.topic0}`;
        const list = this.#routes.get(key) ?? [];
        list.push({ dataSource: ds, handler: h.handler, fragment });
        this.#routes.set(key, list);
      }
    }
    this.addresses = [...addresses];
    this.topics = [...topics];
  }

  routes(log: RawLog, blockNumber: number): HandlerRoute[] {
    const topic0 = log.topics[0];
    if (topic0 === undefined) return [];
    const list = this.#routes.get(`${log.address.toLowerCase()}:${topic0}`) ?? [];
    return list.filter((route) => blockNumber >= route.dataSource.startBlock);
  }

  decode(route: HandlerRoute, log: RawLog): { name: string; value: EthValue }[] {
    return decodeEventInputs(route.fragment.inputs, log.topics, hexToBytes(log.data));
  }
}
