/**
 * Reading and writing AssemblyScript objects in a mapping's linear memory (graph-ts on the
 * AssemblyScript ≥ 0.19 "incremental" runtime, apiVersion ≥ 0.0.5).
 *
 * Layout, as graph-node's asc_abi documents it and graph-ts declares it:
 * - every managed object is preceded by a 20-byte header whose last two words are the
 *   runtime type id (`ptr - 8`) and the payload size in bytes (`ptr - 4`);
 * - `String`: UTF-16LE code units, length = rtSize / 2;
 * - `ArrayBuffer`: raw bytes, length = rtSize;
 * - typed arrays (`Uint8Array`, and so graph-ts's Bytes, Address, BigInt): 12 bytes —
 *   buffer pointer, dataStart pointer, byteLength; BigInt bytes are little-endian two's
 *   complement;
 * - `Array<T>`: 16 bytes — buffer, dataStart, byteLength, length;
 * - classes: their fields in declaration order, each aligned to its size (pointers are u32);
 *   the Value enums are `{ kind: i32, (4 bytes padding), payload: u64 }`.
 *
 * Objects are created with the module's `__new(size, rtId)`, where rtId comes from the
 * module's `id_of_type(TypeId)` export. The incremental GC may run inside any `__new`, and
 * objects the host builds are reachable from no root until the mapping stores them, so every
 * object made here is pinned at once and unpinned by `releasePins()` when the handler call
 * that needed it is over.
 */
import { type Decimal, format as formatDecimal } from "./big-decimal.ts";
import type { WasmMemory } from "./wasm.ts";

/** graph-ts `TypeId` discriminants (identical to graph-node's IndexForAscTypeId). */
export const TypeId = {
  String: 0,
  ArrayBuffer: 1,
  Uint8Array: 6,
  BigDecimal: 12,
  ArrayBool: 13,
  ArrayUint8Array: 14,
  ArrayEthereumValue: 15,
  ArrayStoreValue: 16,
  ArrayJsonValue: 17,
  ArrayString: 18,
  ArrayEventParam: 19,
  ArrayTypedMapEntryStringJsonValue: 20,
  ArrayTypedMapEntryStringStoreValue: 21,
  EventParam: 23,
  EthereumTransaction: 24,
  EthereumBlock: 25,
  WrappedBool: 28,
  WrappedJsonValue: 29,
  EthereumValue: 30,
  StoreValue: 31,
  JsonValue: 32,
  EthereumEvent: 33,
  TypedMapEntryStringStoreValue: 34,
  TypedMapEntryStringJsonValue: 35,
  TypedMapStringStoreValue: 36,
  TypedMapStringJsonValue: 37,
  ResultJsonValueBool: 40,
} as const;

export type TypeIdName = keyof typeof TypeId;

export interface AscExports {
  memory: WasmMemory;
  __new(size: number, rtId: number): number;
  __pin(ptr: number): number;
  __unpin(ptr: number): void;
  id_of_type(typeId: number): number;
}

const utf16 = new TextDecoder("utf-16le");

export function bigIntFromSignedLE(bytes: Uint8Array): bigint {
  const n = bytes.length;
  if (n === 0) return 0n;
  let hex = "";
  for (let i = n - 1; i >= 0; i--) hex += (bytes[i] as number).toString(16).padStart(2, "0");
  const unsigned = BigInt(`0x${hex}`);
  return ((bytes[n - 1] as number) & 0x80) !== 0 ? unsigned - (1n << BigInt(8 * n)) : unsigned;
}

/** Minimal two's-complement little-endian bytes (0 → [0]), as num-bigint writes them. */
export function bigIntToSignedLE(value: bigint): Uint8Array {
  // Width: enough bytes that the top bit is the sign bit.
  const magnitudeBits = (value < 0n ? -value - 1n : value).toString(2).length;
  const width = value === 0n ? 1 : Math.floor(magnitudeBits / 8) + 1;
  const unsigned = value < 0n ? (1n << BigInt(width * 8)) + value : value;
  const hex = unsigned.toString(16).padStart(width * 2, "0");
  const out = new Uint8Array(width);
  for (let i = 0; i < width; i++)
    out[i] = Number.parseInt(hex.slice(hex.length - 2 * i - 2, hex.length - 2 * i), 16);
  return out;
}

export class AscHeap {
  readonly #exports: AscExports;
  #bytes: Uint8Array;
  #view: DataView;
  readonly #rtIds = new Map<number, number>();
  #pinned: number[] = [];

  constructor(exports: AscExports) {
    this.#exports = exports;
    this.#bytes = new Uint8Array(exports.memory.buffer);
    this.#view = new DataView(exports.memory.buffer);
  }

  /**
   * Views must be renewed after the memory grows: the old ArrayBuffer is then detached, which
   * shows as a zero length (cheaper to test than fetching `memory.buffer` on every access).
   */
  #fresh(): void {
    if (this.#bytes.byteLength === 0) {
      this.#bytes = new Uint8Array(this.#exports.memory.buffer);
      this.#view = new DataView(this.#exports.memory.buffer);
    }
  }

  u32(ptr: number): number {
    this.#fresh();
    return this.#view.getUint32(ptr, true);
  }

  i32(ptr: number): number {
    this.#fresh();
    return this.#view.getInt32(ptr, true);
  }

  i64(ptr: number): bigint {
    this.#fresh();
    return this.#view.getBigInt64(ptr, true);
  }

  /** Current size of the linear memory in bytes. */
  memorySize(): number {
    this.#fresh();
    return this.#bytes.byteLength;
  }

  rtSize(ptr: number): number {
    return this.u32(ptr - 4);
  }

  readString(ptr: number): string {
    if (ptr === 0) throw new TypeError("null string pointer");
    const size = this.rtSize(ptr);
    return utf16.decode(this.#bytes.subarray(ptr, ptr + size));
  }

  readNullableString(ptr: number): string | null {
    return ptr === 0 ? null : this.readString(ptr);
  }

  /** A copy of a Uint8Array (Bytes, Address, BigInt) payload. */
  readBytes(ptr: number): Uint8Array {
    if (ptr === 0) throw new TypeError("null bytes pointer");
    const dataStart = this.u32(ptr + 4);
    const length = this.u32(ptr + 8);
    return this.#bytes.slice(dataStart, dataStart + length);
  }

  readBigInt(ptr: number): bigint {
    return bigIntFromSignedLE(this.readBytes(ptr));
  }

  readBigDecimal(ptr: number): Decimal {
    const digits = this.readBigInt(this.u32(ptr));
    const exp = this.readBigInt(this.u32(ptr + 4));
    return { digits, exp: Number(exp) };
  }

  /** Element pointers of an Array<T> whose T is a managed reference. */
  readPointerArray(ptr: number): number[] {
    const dataStart = this.u32(ptr + 4);
    const length = this.i32(ptr + 12);
    const out = new Array<number>(length);
    for (let i = 0; i < length; i++) out[i] = this.u32(dataStart + 4 * i);
    return out;
  }

  rtId(name: TypeIdName): number {
    const typeId = TypeId[name];
    let id = this.#rtIds.get(typeId);
    if (id === undefined) {
      id = this.#exports.id_of_type(typeId);
      this.#rtIds.set(typeId, id);
    }
    return id;
  }

  /** Allocates a zeroed object of the given class and pins it until releasePins(). */
  alloc(size: number, type: TypeIdName): number {
    const ptr = this.#exports.__new(size, this.rtId(type));
    this.#exports.__pin(ptr);
    this.#pinned.push(ptr);
    return ptr;
  }

  /** Unpins everything allocated since the last call; the mapping's own references now decide. */
  releasePins(): void {
    const pinned = this.#pinned;
    this.#pinned = [];
    for (const ptr of pinned) this.#exports.__unpin(ptr);
  }

  setU32(ptr: number, value: number): void {
    this.#fresh();
    this.#view.setUint32(ptr, value, true);
  }

  setI32(ptr: number, value: number): void {
    this.#fresh();
    this.#view.setInt32(ptr, value, true);
  }

  setI64(ptr: number, value: bigint): void {
    this.#fresh();
    this.#view.setBigInt64(ptr, value, true);
  }

  newString(value: string): number {
    const ptr = this.alloc(value.length * 2, "String");
    this.#fresh();
    for (let i = 0; i < value.length; i++)
      this.#view.setUint16(ptr + 2 * i, value.charCodeAt(i), true);
    return ptr;
  }

  newArrayBuffer(bytes: Uint8Array): number {
    const ptr = this.alloc(bytes.length, "ArrayBuffer");
    this.#fresh();
    this.#bytes.set(bytes, ptr);
    return ptr;
  }

  /** A Uint8Array — graph-ts's Bytes, Address and BigInt share this layout and class id. */
  newBytes(bytes: Uint8Array): number {
    const buffer = this.newArrayBuffer(bytes);
    const ptr = this.alloc(12, "Uint8Array");
    this.setU32(ptr, buffer);
    this.setU32(ptr + 4, buffer);
    this.setU32(ptr + 8, bytes.length);
    return ptr;
  }

  newBigInt(value: bigint): number {
    return this.newBytes(bigIntToSignedLE(value));
  }

  newBigDecimal(value: Decimal): number {
    const digits = this.newBigInt(value.digits);
    const exp = this.newBigInt(BigInt(value.exp));
    const ptr = this.alloc(8, "BigDecimal");
    this.setU32(ptr, digits);
    this.setU32(ptr + 4, exp);
    return ptr;
  }

  /** An Array<T> of managed references, allocated with the class id of `type`. */
  newPointerArray(pointers: readonly number[], type: TypeIdName): number {
    const byteLength = pointers.length * 4;
    const buffer = this.alloc(byteLength, "ArrayBuffer");
    for (let i = 0; i < pointers.length; i++) this.setU32(buffer + 4 * i, pointers[i] as number);
    const ptr = this.alloc(16, type);
    this.setU32(ptr, buffer);
    this.setU32(ptr + 4, buffer);
    this.setU32(ptr + 8, byteLength);
    this.setI32(ptr + 12, pointers.length);
    return ptr;
  }

  /** A `{ kind: i32, payload: u64 }` enum object (store Value, ethereum.Value, JSONValue). */
  newEnum(
    type: "StoreValue" | "EthereumValue" | "JsonValue",
    kind: number,
    payload: number | bigint,
  ): number {
    const ptr = this.alloc(16, type);
    this.setI32(ptr, kind);
    if (typeof payload === "bigint") this.setI64(ptr + 8, payload);
    else this.setU32(ptr + 8, payload >>> 0);
    return ptr;
  }

  /** A class instance whose fields are all pointers (or null), in declaration order. */
  newObject(type: TypeIdName, fields: readonly number[]): number {
    const ptr = this.alloc(fields.length * 4, type);
    for (let i = 0; i < fields.length; i++) this.setU32(ptr + 4 * i, fields[i] as number);
    return ptr;
  }

  decimalString(ptr: number): string {
    return formatDecimal(this.readBigDecimal(ptr));
  }
}
