/**
 * Turns raw logs into what handlers receive: the data source and handler a log triggers, its
 * parameters decoded with the ABI into graph-ts `ethereum.Value`s, and the block and
 * transaction as graph-ts describes them.
 */
import { type EventFragment, Interface, type ParamType } from "ethers";
import type { DataSourceSpec } from "../manifest.ts";
import { SubgraphHostError } from "../runtime/errors.ts";
import type { EthBlock, EthTransaction, EthValue } from "../runtime/ethereum.ts";

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
    hash: raw.hash,
    parentHash: raw.parentHash,
    unclesHash: raw.sha3Uncles,
    author: raw.miner,
    stateRoot: raw.stateRoot,
    transactionsRoot: raw.transactionsRoot,
    receiptsRoot: raw.receiptsRoot,
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
    hash: raw.hash,
    index: big(raw.transactionIndex),
    from: raw.from,
    to: raw.to ?? null,
    value: big(raw.value),
    gasLimit: big(raw.gas),
    gasPrice: big(raw.gasPrice ?? raw.maxFeePerGas),
    input: raw.input,
    nonce: big(raw.nonce),
  };
}

function toEthValue(param: ParamType, value: unknown, indexed: boolean): EthValue {
  // Indexed dynamic values are only present as the keccak hash of their encoding.
  if (
    indexed &&
    (param.isArray() || param.isTuple() || param.type === "string" || param.type === "bytes")
  ) {
    const hash = (value as { hash: string }).hash;
    return { kind: "fixedBytes", value: Uint8Array.from(Buffer.from(hash.slice(2), "hex")) };
  }
  if (param.isArray()) {
    const child = param.arrayChildren as ParamType;
    const items = (value as unknown[]).map((item) => toEthValue(child, item, false));
    return { kind: param.arrayLength === -1 ? "array" : "fixedArray", value: items };
  }
  if (param.isTuple()) {
    const values = value as unknown[];
    return {
      kind: "tuple",
      value: (param.components as readonly ParamType[]).map((c, i) =>
        toEthValue(c, values[i], false),
      ),
    };
  }
  const type = param.type;
  if (type === "address") return { kind: "address", value: (value as string).toLowerCase() };
  if (type === "bool") return { kind: "bool", value: value as boolean };
  if (type === "string") return { kind: "string", value: value as string };
  if (type === "bytes")
    return {
      kind: "bytes",
      value: Uint8Array.from(Buffer.from((value as string).slice(2), "hex")),
    };
  if (type.startsWith("bytes")) {
    return {
      kind: "fixedBytes",
      value: Uint8Array.from(Buffer.from((value as string).slice(2), "hex")),
    };
  }
  if (type.startsWith("uint")) return { kind: "uint", value: value as bigint };
  if (type.startsWith("int")) return { kind: "int", value: value as bigint };
  throw new SubgraphHostError("manifest-unsupported", `ABI type ${type} is not supported`);
}

/** Routes logs (by address and topic0) to handlers and decodes them. */
export class LogRouter {
  readonly #routes = new Map<string, HandlerRoute[]>();
  readonly #interfaces = new Map<string, Interface>();
  readonly addresses: string[];
  readonly topics: string[];

  constructor(dataSources: DataSourceSpec[]) {
    const addresses = new Set<string>();
    const topics = new Set<string>();
    for (const ds of dataSources) {
      const iface = new Interface(ds.abi as never);
      this.#interfaces.set(ds.name, iface);
      addresses.add(ds.address);
      for (const h of ds.eventHandlers) {
        const fragment = iface.getEvent(h.topic0);
        if (fragment === null) {
          throw new SubgraphHostError(
            "manifest-invalid",
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
    const iface = this.#interfaces.get(route.dataSource.name) as Interface;
    const result = iface.decodeEventLog(route.fragment, log.data, log.topics);
    return route.fragment.inputs.map((input, i) => ({
      name: input.name,
      value: toEthValue(input, result[i], input.indexed === true),
    }));
  }
}
