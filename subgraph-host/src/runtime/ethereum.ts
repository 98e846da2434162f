/**
 * Builds graph-ts's `ethereum.Event` in WASM memory: the event with its Block, Transaction and
 * decoded parameters, in the layout of the mapping's apiVersion. Field order mirrors graph-node's
 * chain/ethereum/src/runtime/abi.rs (AscEthereumBlock, AscEthereumBlock_0_0_6,
 * AscEthereumTransaction_0_0_2, AscEthereumTransaction_0_0_6, AscEthereumEvent,
 * AscEthereumEvent_0_0_7), and the choice per version its chain/ethereum/src/trigger.rs
 * (`MappingTrigger::Log` in `to_asc_ptr`):
 *
 * | apiVersion | Event                 | Transaction                    | Block                    |
 * | ---------- | --------------------- | ------------------------------ | ------------------------ |
 * | ≥ 0.0.7    | 8 fields, + `receipt` | 0_0_6: 9 fields, + `nonce`     | 0_0_6: + `baseFeePerGas` |
 * | 0.0.6      | 7 fields              | 0_0_6                          | 0_0_6                    |
 * | 0.0.5      | 7 fields              | 0_0_2: 8 fields (… `input`)    | 14 fields (… `size`)     |
 */
import { apiVersionAtLeast, LATEST_API_VERSION } from "./api-version.ts";
import type { AscHeap } from "./asc-heap.ts";

/** Which of graph-node's Ethereum class versions a mapping's apiVersion gets. */
export interface EthereumLayout {
  /** Transaction_0_0_6 (with `nonce`) and Block_0_0_6 (with `baseFeePerGas`): apiVersion ≥ 0.0.6. */
  nonceAndBaseFee: boolean;
  /** AscEthereumEvent_0_0_7 (with `receipt`): apiVersion ≥ 0.0.7. */
  receipt: boolean;
}

export function ethereumLayout(apiVersion: string = LATEST_API_VERSION): EthereumLayout {
  return {
    nonceAndBaseFee: apiVersionAtLeast(apiVersion, "0.0.6"),
    receipt: apiVersionAtLeast(apiVersion, "0.0.7"),
  };
}

const LATEST_LAYOUT = ethereumLayout();

/** Hashes and addresses are raw bytes: they are converted once per block, not per event. */
export interface EthBlock {
  hash: Uint8Array;
  parentHash: Uint8Array;
  unclesHash: Uint8Array;
  author: Uint8Array;
  stateRoot: Uint8Array;
  transactionsRoot: Uint8Array;
  receiptsRoot: Uint8Array;
  number: bigint;
  gasUsed: bigint;
  gasLimit: bigint;
  timestamp: bigint;
  difficulty: bigint;
  totalDifficulty: bigint;
  size: bigint | null;
  baseFeePerGas: bigint | null;
}

export interface EthTransaction {
  hash: Uint8Array;
  index: bigint;
  from: Uint8Array;
  to: Uint8Array | null;
  value: bigint;
  gasLimit: bigint;
  gasPrice: bigint;
  input: Uint8Array;
  nonce: bigint;
}

/** A decoded ABI value, tagged with graph-ts's `ethereum.ValueKind`. */
export type EthValue =
  | { kind: "address"; value: Uint8Array }
  | { kind: "fixedBytes" | "bytes"; value: Uint8Array }
  | { kind: "int" | "uint"; value: bigint }
  | { kind: "bool"; value: boolean }
  | { kind: "string"; value: string }
  | { kind: "fixedArray" | "array" | "tuple"; value: EthValue[] };

export interface EthEvent {
  address: Uint8Array;
  logIndex: bigint;
  transactionLogIndex: bigint;
  logType: string | null;
  block: EthBlock;
  transaction: EthTransaction;
  params: { name: string; value: EthValue }[];
}

const EthValueKind = {
  address: 0,
  fixedBytes: 1,
  bytes: 2,
  int: 3,
  uint: 4,
  bool: 5,
  string: 6,
  fixedArray: 7,
  array: 8,
  tuple: 9,
} as const;

function hexBytes(heap: AscHeap, bytes: Uint8Array): number {
  return heap.newBytes(bytes);
}

export function writeEthValue(heap: AscHeap, value: EthValue): number {
  const kind = EthValueKind[value.kind];
  switch (value.kind) {
    case "address":
      return heap.newEnum("EthereumValue", kind, hexBytes(heap, value.value));
    case "fixedBytes":
    case "bytes":
      return heap.newEnum("EthereumValue", kind, heap.newBytes(value.value));
    case "int":
    case "uint":
      return heap.newEnum("EthereumValue", kind, heap.newBigInt(value.value));
    case "bool":
      return heap.newEnum("EthereumValue", kind, value.value ? 1 : 0);
    case "string":
      return heap.newEnum("EthereumValue", kind, heap.newString(value.value));
    case "fixedArray":
    case "array":
    case "tuple": {
      const items = value.value.map((item) => writeEthValue(heap, item));
      return heap.newEnum("EthereumValue", kind, heap.newPointerArray(items, "ArrayEthereumValue"));
    }
  }
}

function writeBlock(heap: AscHeap, block: EthBlock, layout: EthereumLayout): number {
  const fields = [
    hexBytes(heap, block.hash),
    hexBytes(heap, block.parentHash),
    hexBytes(heap, block.unclesHash),
    hexBytes(heap, block.author),
    hexBytes(heap, block.stateRoot),
    hexBytes(heap, block.transactionsRoot),
    hexBytes(heap, block.receiptsRoot),
    heap.newBigInt(block.number),
    heap.newBigInt(block.gasUsed),
    heap.newBigInt(block.gasLimit),
    heap.newBigInt(block.timestamp),
    heap.newBigInt(block.difficulty),
    heap.newBigInt(block.totalDifficulty),
    block.size === null ? 0 : heap.newBigInt(block.size),
  ];
  if (layout.nonceAndBaseFee)
    fields.push(block.baseFeePerGas === null ? 0 : heap.newBigInt(block.baseFeePerGas));
  return heap.newObject("EthereumBlock", fields);
}

function writeTransaction(heap: AscHeap, tx: EthTransaction, layout: EthereumLayout): number {
  const fields = [
    hexBytes(heap, tx.hash),
    heap.newBigInt(tx.index),
    hexBytes(heap, tx.from),
    tx.to === null ? 0 : hexBytes(heap, tx.to),
    heap.newBigInt(tx.value),
    heap.newBigInt(tx.gasLimit),
    heap.newBigInt(tx.gasPrice),
    hexBytes(heap, tx.input),
  ];
  if (layout.nonceAndBaseFee) fields.push(heap.newBigInt(tx.nonce));
  return heap.newObject("EthereumTransaction", fields);
}

export function writeEvent(
  heap: AscHeap,
  event: EthEvent,
  layout: EthereumLayout = LATEST_LAYOUT,
): number {
  const params = event.params.map((param) =>
    heap.newObject("EventParam", [heap.newString(param.name), writeEthValue(heap, param.value)]),
  );
  const fields = [
    hexBytes(heap, event.address),
    heap.newBigInt(event.logIndex),
    heap.newBigInt(event.transactionLogIndex),
    event.logType === null ? 0 : heap.newString(event.logType),
    writeBlock(heap, event.block, layout),
    writeTransaction(heap, event.transaction, layout),
    heap.newPointerArray(params, "ArrayEventParam"),
  ];
  // receipt: null, since `receipt: true` is refused by the manifest loader
  if (layout.receipt) fields.push(0);
  return heap.newObject("EthereumEvent", fields);
}
