/**
 * A small Solidity ABI decoder for event logs, producing graph-ts `ethereum.Value`s directly.
 * ethers' decoder builds Result objects and checksums every address (a keccak per address);
 * on the indexing hot path that cost more than running the handlers, so the host decodes the
 * head/tail encoding itself. The ABI's types still come from ethers' ParamType.
 */
import type { ParamType } from "ethers";
import { SubgraphHostError } from "../runtime/errors.ts";
import type { EthValue } from "../runtime/ethereum.ts";

const utf8 = new TextDecoder("utf-8");

export function hexToBytes(hex: string): Uint8Array {
  const buffer = Buffer.from(hex.length >= 2 && hex[1] === "x" ? hex.slice(2) : hex, "hex");
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function word(data: Uint8Array, pos: number): bigint {
  if (pos + 32 > data.length)
    throw new SubgraphHostError("abi-decode-failed", "log data is too short for its ABI");
  return BigInt(`0x${Buffer.from(data.buffer, data.byteOffset + pos, 32).toString("hex")}`);
}

function smallWord(data: Uint8Array, pos: number): number {
  const value = word(data, pos);
  if (value > BigInt(data.length))
    throw new SubgraphHostError("abi-decode-failed", "ABI offset or length out of range");
  return Number(value);
}

function isDynamic(param: ParamType): boolean {
  if (param.type === "string" || param.type === "bytes") return true;
  if (param.isArray())
    return param.arrayLength === -1 || isDynamic(param.arrayChildren as ParamType);
  if (param.isTuple()) return (param.components as readonly ParamType[]).some(isDynamic);
  return false;
}

function headSize(param: ParamType): number {
  if (isDynamic(param)) return 32;
  if (param.isArray()) return param.arrayLength * headSize(param.arrayChildren as ParamType);
  if (param.isTuple())
    return (param.components as readonly ParamType[]).reduce((n, c) => n + headSize(c), 0);
  return 32;
}

function decodeSequence(params: readonly ParamType[], data: Uint8Array, base: number): EthValue[] {
  const out: EthValue[] = [];
  let head = base;
  for (const param of params) {
    const at = isDynamic(param) ? base + smallWord(data, head) : head;
    out.push(decodeAt(param, data, at));
    head += headSize(param);
  }
  return out;
}

/** Decodes the value of `param` whose encoding starts at `pos`. */
export function decodeAt(param: ParamType, data: Uint8Array, pos: number): EthValue {
  if (param.isTuple())
    return {
      kind: "tuple",
      value: decodeSequence(param.components as readonly ParamType[], data, pos),
    };
  if (param.isArray()) {
    const child = param.arrayChildren as ParamType;
    if (param.arrayLength === -1) {
      const length = smallWord(data, pos);
      return {
        kind: "array",
        value: decodeSequence(new Array<ParamType>(length).fill(child), data, pos + 32),
      };
    }
    return {
      kind: "fixedArray",
      value: decodeSequence(new Array<ParamType>(param.arrayLength).fill(child), data, pos),
    };
  }
  const type = param.type;
  if (type === "address") return { kind: "address", value: data.slice(pos + 12, pos + 32) };
  if (type === "bool") return { kind: "bool", value: word(data, pos) !== 0n };
  if (type === "string" || type === "bytes") {
    const length = smallWord(data, pos);
    const bytes = data.slice(pos + 32, pos + 32 + length);
    return type === "string"
      ? { kind: "string", value: utf8.decode(bytes) }
      : { kind: "bytes", value: bytes };
  }
  if (type.startsWith("bytes"))
    return { kind: "fixedBytes", value: data.slice(pos, pos + Number(type.slice(5))) };
  if (type.startsWith("uint")) return { kind: "uint", value: word(data, pos) };
  if (type.startsWith("int")) {
    const bits = type === "int" ? 256 : Number(type.slice(3));
    return { kind: "int", value: BigInt.asIntN(bits, word(data, pos)) };
  }
  throw new SubgraphHostError("subgraph-manifest-unsupported", `ABI type ${type} is not supported`);
}

/**
 * Decodes an event's inputs from its topics (indexed ones) and data (the rest), in ABI
 * order. Indexed dynamic values are only present as a hash: they decode as bytes32, as in
 * graph-node.
 */
export function decodeEventInputs(
  inputs: readonly ParamType[],
  topics: readonly string[],
  data: Uint8Array,
): { name: string; value: EthValue }[] {
  const unindexed = inputs.filter((input) => input.indexed !== true);
  const decoded = decodeSequence(unindexed, data, 0);
  let topic = 1;
  let next = 0;
  return inputs.map((input) => {
    if (input.indexed !== true) return { name: input.name, value: decoded[next++] as EthValue };
    const hex = topics[topic++];
    if (hex === undefined)
      throw new SubgraphHostError("abi-decode-failed", `missing topic for ${input.name}`);
    const bytes = hexToBytes(hex);
    const value: EthValue = isDynamic(input)
      ? { kind: "fixedBytes", value: bytes }
      : decodeAt(input, bytes, 0);
    return { name: input.name, value };
  });
}
