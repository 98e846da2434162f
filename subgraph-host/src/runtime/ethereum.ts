/**
 * Builds graph-ts's `ethereum.Event` (apiVersion 0.0.9 layout) in WASM memory: the event
 * with its Block, Transaction and decoded parameters. Field order mirrors the classes in
 * graph-ts chain/ethereum.ts, which graph-node's chain/ethereum runtime also writes.
 */
import type { AscHeap } from "./asc-heap.ts";

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

function writeBlock(heap: AscHeap, block: EthBlock): number {
  return heap.newObject("EthereumBlock", [
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
    block.baseFeePerGas === null ? 0 : heap.newBigInt(block.baseFeePerGas),
  ]);
}

function writeTransaction(heap: AscHeap, tx: EthTransaction): number {
  return heap.newObject("EthereumTransaction", [
    hexBytes(heap, tx.hash),
    heap.newBigInt(tx.index),
    hexBytes(heap, tx.from),
    tx.to === null ? 0 : hexBytes(heap, tx.to),
    heap.newBigInt(tx.value),
    heap.newBigInt(tx.gasLimit),
    heap.newBigInt(tx.gasPrice),
    hexBytes(heap, tx.input),
    heap.newBigInt(tx.nonce),
  ]);
}

export function writeEvent(heap: AscHeap, event: EthEvent): number {
  const params = event.params.map((param) =>
    heap.newObject("EventParam", [heap.newString(param.name), writeEthValue(heap, param.value)]),
  );
  return heap.newObject("EthereumEvent", [
    hexBytes(heap, event.address),
    heap.newBigInt(event.logIndex),
    heap.newBigInt(event.transactionLogIndex),
    event.logType === null ? 0 : heap.newString(event.logType),
    writeBlock(heap, event.block),
    writeTransaction(heap, event.transaction),
    heap.newPointerArray(params, "ArrayEventParam"),
    0, // receipt: only with `receipt: true`, which the manifest loader refuses
  ]);
}
