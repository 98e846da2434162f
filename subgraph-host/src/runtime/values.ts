/**
 * Conversions between graph-ts's store `Value` enum / `Entity` map in WASM memory and the
 * store contract's `EntityValue` / `EntityData`.
 */
import type { EntityData, EntityValue } from "../store/types.ts";
import type { AscHeap } from "./asc-heap.ts";
import { format as formatDecimal, parse as parseDecimal } from "./big-decimal.ts";

/** graph-ts `ValueKind`. */
export const ValueKind = {
  STRING: 0,
  INT: 1,
  BIGDECIMAL: 2,
  BOOL: 3,
  ARRAY: 4,
  NULL: 5,
  BYTES: 6,
  BIGINT: 7,
  INT8: 8,
  TIMESTAMP: 9,
} as const;

export function readStoreValue(heap: AscHeap, ptr: number): EntityValue {
  const kind = heap.i32(ptr);
  const payload = ptr + 8;
  switch (kind) {
    case ValueKind.STRING:
      return { kind: "string", value: heap.readString(heap.u32(payload)) };
    case ValueKind.INT:
      return { kind: "int", value: heap.i32(payload) };
    case ValueKind.BIGDECIMAL:
      return { kind: "bigdecimal", value: formatDecimal(heap.readBigDecimal(heap.u32(payload))) };
    case ValueKind.BOOL:
      return { kind: "bool", value: heap.u32(payload) !== 0 };
    case ValueKind.ARRAY:
      return {
        kind: "array",
        value: heap.readPointerArray(heap.u32(payload)).map((item) => readStoreValue(heap, item)),
      };
    case ValueKind.NULL:
      return { kind: "null" };
    case ValueKind.BYTES:
      return { kind: "bytes", value: heap.readBytes(heap.u32(payload)) };
    case ValueKind.BIGINT:
      return { kind: "bigint", value: heap.readBigInt(heap.u32(payload)) };
    // Timestamps are microseconds since the epoch in an i64, stored like Int8.
    case ValueKind.INT8:
    case ValueKind.TIMESTAMP:
      return { kind: "int8", value: heap.i64(payload) };
    default:
      throw new TypeError(`unknown store value kind ${kind}`);
  }
}

export function writeStoreValue(heap: AscHeap, value: EntityValue): number {
  switch (value.kind) {
    case "string":
      return heap.newEnum("StoreValue", ValueKind.STRING, heap.newString(value.value));
    case "int":
      return heap.newEnum("StoreValue", ValueKind.INT, value.value);
    case "int8":
      return heap.newEnum("StoreValue", ValueKind.INT8, value.value);
    case "bigint":
      return heap.newEnum("StoreValue", ValueKind.BIGINT, heap.newBigInt(value.value));
    case "bigdecimal":
      return heap.newEnum(
        "StoreValue",
        ValueKind.BIGDECIMAL,
        heap.newBigDecimal(parseDecimal(value.value)),
      );
    case "bytes":
      return heap.newEnum("StoreValue", ValueKind.BYTES, heap.newBytes(value.value));
    case "bool":
      return heap.newEnum("StoreValue", ValueKind.BOOL, value.value ? 1 : 0);
    case "array": {
      const items = value.value.map((item) => writeStoreValue(heap, item));
      return heap.newEnum(
        "StoreValue",
        ValueKind.ARRAY,
        heap.newPointerArray(items, "ArrayStoreValue"),
      );
    }
    case "null":
      return heap.newEnum("StoreValue", ValueKind.NULL, 0);
  }
}

/** Reads a `TypedMap<string, Value>` (graph-ts `Entity`). */
export function readEntity(heap: AscHeap, ptr: number): EntityData {
  const data: EntityData = new Map();
  for (const entry of heap.readPointerArray(heap.u32(ptr))) {
    data.set(heap.readString(heap.u32(entry)), readStoreValue(heap, heap.u32(entry + 4)));
  }
  return data;
}

export function writeEntity(heap: AscHeap, data: EntityData): number {
  const entries: number[] = [];
  for (const [key, value] of data) {
    const keyPtr = heap.newString(key);
    const valuePtr = writeStoreValue(heap, value);
    entries.push(heap.newObject("TypedMapEntryStringStoreValue", [keyPtr, valuePtr]));
  }
  const array = heap.newPointerArray(entries, "ArrayTypedMapEntryStringStoreValue");
  return heap.newObject("TypedMapStringStoreValue", [array]);
}
