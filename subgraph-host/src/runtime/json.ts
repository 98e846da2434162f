/**
 * graph-ts `json.*`: JSON text parsed into `JSONValue`s (`{ kind: i32, payload: u64 }` with
 * kinds NULL, BOOL, NUMBER, STRING, ARRAY, OBJECT). As in graph-node, a number keeps its
 * source text (the mapping converts it with json.toI64/toU64/toF64/toBigInt), so big integers
 * lose nothing; objects become `TypedMap<string, JSONValue>` in key order.
 */
import type { AscHeap } from "./asc-heap.ts";

const JsonKind = { NULL: 0, BOOL: 1, NUMBER: 2, STRING: 3, ARRAY: 4, OBJECT: 5 } as const;

class JsonNumber {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
}

class JsonObject {
  readonly entries: [string, JsonTree][];
  constructor(entries: [string, JsonTree][]) {
    this.entries = entries;
  }
}

type JsonTree = null | boolean | string | JsonNumber | JsonObject | JsonTree[];

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses JSON bytes, keeping number source text (V8's JSON.parse source access). */
export function parseJsonTree(bytes: Uint8Array): JsonTree {
  const text = utf8.decode(bytes);
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => {
    if (typeof value === "number") return new JsonNumber(context?.source ?? String(value));
    if (
      value !== null &&
      typeof value === "object" &&
      !Array.isArray(value) &&
      !(value instanceof JsonNumber)
    ) {
      if (value instanceof JsonObject) return value;
      return new JsonObject(Object.entries(value as Record<string, JsonTree>));
    }
    return value;
  }) as JsonTree;
}

export function writeJson(heap: AscHeap, value: JsonTree): number {
  if (value === null) return heap.newEnum("JsonValue", JsonKind.NULL, 0);
  if (typeof value === "boolean") return heap.newEnum("JsonValue", JsonKind.BOOL, value ? 1 : 0);
  if (typeof value === "string")
    return heap.newEnum("JsonValue", JsonKind.STRING, heap.newString(value));
  if (value instanceof JsonNumber)
    return heap.newEnum("JsonValue", JsonKind.NUMBER, heap.newString(value.source));
  if (Array.isArray(value)) {
    const items = value.map((item) => writeJson(heap, item));
    return heap.newEnum("JsonValue", JsonKind.ARRAY, heap.newPointerArray(items, "ArrayJsonValue"));
  }
  const entries = value.entries.map(([key, item]) =>
    heap.newObject("TypedMapEntryStringJsonValue", [heap.newString(key), writeJson(heap, item)]),
  );
  const map = heap.newObject("TypedMapStringJsonValue", [
    heap.newPointerArray(entries, "ArrayTypedMapEntryStringJsonValue"),
  ]);
  return heap.newEnum("JsonValue", JsonKind.OBJECT, map);
}
