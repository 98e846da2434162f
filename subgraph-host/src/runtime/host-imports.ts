/**
 * The host functions a graph-ts mapping may import, keyed by import name as graph-node keys
 * them (the module part — "index", "numbers", "conversion" ... — is not significant). Each
 * function takes and returns WASM values (i32 pointers, i32 booleans); `HostCallContext`
 * supplies the heap of the calling instance, the store of the open block and the data source.
 */
import { encodeBase58, hexlify, keccak256 } from "ethers";
import type { Logger } from "../../../sdk/logger.ts";
import type { ContextValue } from "../manifest.ts";
import type { EntityData, EntityStore, EntityValue } from "../store/types.ts";
import { apiVersionAtLeast, LATEST_API_VERSION } from "./api-version.ts";
import type { AscHeap } from "./asc-heap.ts";
import * as decimal from "./big-decimal.ts";
import { SubgraphHostError } from "./errors.ts";
import { parseJsonTree, writeJson } from "./json.ts";
import type { EntitySchema } from "./schema.ts";
import { readEntity, writeEntity } from "./values.ts";

export interface DataSourceInfo {
  name: string;
  address: string;
  network: string;
  context: Record<string, ContextValue>;
  /** The mapping's apiVersion (see api-version.ts); default the latest. */
  apiVersion?: string;
}

export interface HostCallContext {
  heap(): AscHeap;
  /** The store of the block being processed; throws outside a handler call. */
  store(): EntityStore;
  schema: EntitySchema;
  dataSource: DataSourceInfo;
  logger: Logger;
  /** Throws once the running handler has used up its time. */
  checkDeadline(): void;
}

/** Why a handler stopped: the message graph-node would record as the indexing error. */
export class MappingAbort extends SubgraphHostError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("mapping-failed", message, { details });
  }
}

/** Lossy, like graph-node's from_utf8_lossy. */
const utf8 = new TextDecoder("utf-8");

/** Fixed-size string fields are NUL-padded; graph-node strips the padding. */
function trimTrailingNuls(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0) end -= 1;
  return text.slice(0, end);
}

/** Arguments and results are WASM values: i32/f64 as numbers, i64 as bigints. */
export type HostFunction = (...args: number[]) => number | bigint | undefined;

function contextValue(value: ContextValue): EntityValue {
  switch (value.type) {
    case "Bytes":
      return {
        kind: "bytes",
        value: Uint8Array.from(Buffer.from(value.data.replace(/^0x/, ""), "hex")),
      };
    case "String":
      return { kind: "string", value: value.data };
    case "Bool":
      return { kind: "bool", value: value.data };
    case "Int":
      return { kind: "int", value: value.data };
    case "Int8":
      return { kind: "int8", value: BigInt(value.data) };
    case "BigInt":
      return { kind: "bigint", value: BigInt(value.data) };
    case "BigDecimal":
      return { kind: "bigdecimal", value: decimal.format(decimal.parse(value.data)) };
  }
}

/**
 * graph-node's `store.set` semantics (runtime/wasm/src/host_exports.rs `store_set`): the new
 * data is merged into the current version (a null removes a field), then checked against the
 * schema — derived fields and missing required fields are errors that fail the handler. A
 * field the schema does not define fails it from apiVersion 0.0.8 on, with graph-node's
 * message (`check_invalid_fields`); before 0.0.8 graph-node drops such fields silently.
 */
function mergeAndValidate(
  schema: EntitySchema,
  store: EntityStore,
  entityType: string,
  id: string,
  given: EntityData,
  rejectUndefinedFields: boolean,
): EntityData {
  const info = schema.get(entityType);
  if (info === undefined) throw new MappingAbort(`store.set: unknown entity type ${entityType}`);
  const undefinedFields = [...given.keys()].filter((key) => !info.fields.has(key));
  let data = given;
  if (undefinedFields.length > 0) {
    if (rejectUndefinedFields) {
      throw new MappingAbort(
        `Attempted to set undefined fields [${undefinedFields.sort().join(", ")}] for the entity type \`${entityType}\`. Make sure those fields are defined in the schema.`,
      );
    }
    data = new Map([...given].filter(([key]) => info.fields.has(key)));
  }
  // Generated entity classes save every field they hold; only a partial update needs the
  // current version to merge into (a read saved on the hot path).
  let complete = true;
  for (const field of info.fields.values()) {
    if (field.derivedFrom === undefined && !data.has(field.name)) {
      complete = false;
      break;
    }
  }
  const current = complete ? null : store.get(entityType, id);
  const merged: EntityData = current === null ? new Map() : new Map(current);
  for (const [key, value] of data) {
    const field = info.fields.get(key);
    if (field === undefined) continue; // dropped above
    if (field.derivedFrom !== undefined) {
      throw new MappingAbort(
        `entity ${entityType}[${id}]: field "${key}" is derived and cannot be set`,
      );
    }
    if (value.kind === "null") merged.delete(key);
    else merged.set(key, value);
  }
  if (!merged.has("id")) merged.set("id", { kind: "string", value: id });
  const missing = [...info.fields.values()]
    .filter((f) => f.required && f.derivedFrom === undefined && !merged.has(f.name))
    .map((f) => f.name);
  if (missing.length > 0) {
    throw new MappingAbort(
      `entity ${entityType}[${id}]: missing value for non-nullable field(s) ${missing.join(", ")}`,
    );
  }
  return merged;
}

function toHexString(bytes: Uint8Array): string {
  return hexlify(bytes);
}

export function createHostFunctions(ctx: HostCallContext): Map<string, HostFunction> {
  const h = () => ctx.heap();
  const str = (ptr: number) => h().readString(ptr);
  const big = (ptr: number) => h().readBigInt(ptr);
  const dec = (ptr: number) => h().readBigDecimal(ptr);
  const newBig = (value: bigint) => h().newBigInt(value);
  const newDec = (value: decimal.Decimal) => h().newBigDecimal(value);
  const rejectUndefinedFields = apiVersionAtLeast(
    ctx.dataSource.apiVersion ?? LATEST_API_VERSION,
    "0.0.8",
  );
  const fns = new Map<string, HostFunction>();
  const def = (name: string, fn: HostFunction) => {
    fns.set(name, (...args: number[]) => {
      ctx.checkDeadline();
      return fn(...args);
    });
  };

  def("abort", (message, file, line, column) => {
    const heap = h();
    const text = heap.readNullableString(message as number) ?? "(no message)";
    const where = heap.readNullableString(file as number);
    throw new MappingAbort(where === null ? text : `${text} in ${where} (${line}:${column})`, {
      file: where,
      line,
      column,
    });
  });

  // --- store
  def("store.get", (entity, id) => {
    const data = ctx.store().get(str(entity as number), str(id as number));
    return data === null ? 0 : writeEntity(h(), data);
  });
  def("store.get_in_block", (entity, id) => {
    const data = ctx.store().getInBlock(str(entity as number), str(id as number));
    return data === null ? 0 : writeEntity(h(), data);
  });
  def("store.set", (entity, id, data) => {
    const type = str(entity as number);
    const key = str(id as number);
    const store = ctx.store();
    store.set(
      type,
      key,
      mergeAndValidate(
        ctx.schema,
        store,
        type,
        key,
        readEntity(h(), data as number),
        rejectUndefinedFields,
      ),
    );
    return undefined;
  });
  def("store.remove", (entity, id) => {
    ctx.store().remove(str(entity as number), str(id as number));
    return undefined;
  });
  def("store.loadRelated", (entity, id, field) => {
    const type = str(entity as number);
    const fieldName = str(field as number);
    const info = ctx.schema.get(type)?.fields.get(fieldName);
    if (info?.derivedFrom === undefined) {
      throw new MappingAbort(`store.loadRelated: ${type}.${fieldName} is not a @derivedFrom field`);
    }
    const related = ctx.store().loadRelated(info.type, info.derivedFrom, str(id as number));
    const heap = h();
    return heap.newPointerArray(
      related.map((data) => writeEntity(heap, data)),
      "ArrayTypedMapEntryStringStoreValue",
    );
  });

  // --- log
  def("log.log", (level, message) => {
    const text = str(message as number);
    const log = ctx.logger;
    switch (level) {
      case 0:
        throw new MappingAbort(`critical: ${text}`);
      case 1:
        log.error(text);
        break;
      case 2:
        log.warn(text);
        break;
      case 3:
        log.info(text);
        break;
      default:
        log.debug(text);
    }
    return undefined;
  });

  // --- BigInt
  const divide = (a: bigint, b: bigint) => {
    if (b === 0n) throw new MappingAbort("BigInt division by zero");
    return a / b;
  };
  def("bigInt.plus", (a, b) => newBig(big(a as number) + big(b as number)));
  def("bigInt.minus", (a, b) => newBig(big(a as number) - big(b as number)));
  def("bigInt.times", (a, b) => newBig(big(a as number) * big(b as number)));
  def("bigInt.dividedBy", (a, b) => newBig(divide(big(a as number), big(b as number))));
  def("bigInt.dividedByDecimal", (a, b) => {
    const divisor = dec(b as number);
    if (divisor.digits === 0n) throw new MappingAbort("BigDecimal division by zero");
    return newDec(decimal.dividedBy(decimal.fromBigInt(big(a as number)), divisor));
  });
  def("bigInt.mod", (a, b) => {
    const divisor = big(b as number);
    if (divisor === 0n) throw new MappingAbort("BigInt modulo by zero");
    return newBig(big(a as number) % divisor);
  });
  def("bigInt.pow", (a, exponent) =>
    newBig(big(a as number) ** BigInt((exponent as number) & 0xff)),
  );
  def("bigInt.fromString", (s) => {
    const text = str(s as number);
    if (!/^[+-]?\d+$/.test(text))
      throw new MappingAbort(`BigInt.fromString: invalid number "${text}"`);
    return newBig(BigInt(text));
  });
  def("bigInt.bitOr", (a, b) => newBig(big(a as number) | big(b as number)));
  def("bigInt.bitAnd", (a, b) => newBig(big(a as number) & big(b as number)));
  def("bigInt.leftShift", (a, bits) => newBig(big(a as number) << BigInt((bits as number) & 0xff)));
  def("bigInt.rightShift", (a, bits) =>
    newBig(big(a as number) >> BigInt((bits as number) & 0xff)),
  );

  // --- BigDecimal
  def("bigDecimal.plus", (a, b) => newDec(decimal.plus(dec(a as number), dec(b as number))));
  def("bigDecimal.minus", (a, b) => newDec(decimal.minus(dec(a as number), dec(b as number))));
  def("bigDecimal.times", (a, b) => newDec(decimal.times(dec(a as number), dec(b as number))));
  def("bigDecimal.dividedBy", (a, b) => {
    const divisor = dec(b as number);
    if (divisor.digits === 0n) throw new MappingAbort("BigDecimal division by zero");
    return newDec(decimal.dividedBy(dec(a as number), divisor));
  });
  def("bigDecimal.equals", (a, b) => (decimal.equals(dec(a as number), dec(b as number)) ? 1 : 0));
  def("bigDecimal.toString", (a) => h().newString(decimal.format(dec(a as number))));
  def("bigDecimal.fromString", (s) => {
    const text = str(s as number);
    try {
      return newDec(decimal.parse(text));
    } catch {
      throw new MappingAbort(`BigDecimal.fromString: invalid number "${text}"`);
    }
  });

  // --- type conversions
  def("typeConversion.bytesToString", (b) =>
    h().newString(trimTrailingNuls(utf8.decode(h().readBytes(b as number)))),
  );
  def("typeConversion.bytesToHex", (b) => h().newString(toHexString(h().readBytes(b as number))));
  def("typeConversion.bigIntToString", (b) => h().newString(big(b as number).toString()));
  def("typeConversion.bigIntToHex", (b) => {
    const value = big(b as number);
    return h().newString(value < 0n ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`);
  });
  def("typeConversion.stringToH160", (s) => {
    // Like graph-node: hex with or without 0x, checksum not enforced.
    const text = str(s as number);
    const digits = text.startsWith("0x") ? text.slice(2) : text;
    if (!/^[0-9a-fA-F]{40}$/.test(digits))
      throw new MappingAbort(`stringToH160: "${text}" is not an address`);
    return h().newBytes(Uint8Array.from(Buffer.from(digits, "hex")));
  });
  def("typeConversion.bytesToBase58", (b) =>
    h().newString(encodeBase58(h().readBytes(b as number))),
  );

  // --- crypto
  def("crypto.keccak256", (b) =>
    h().newBytes(
      Uint8Array.from(Buffer.from(keccak256(h().readBytes(b as number)).slice(2), "hex")),
    ),
  );

  // --- data source
  def("dataSource.address", () =>
    h().newBytes(Uint8Array.from(Buffer.from(ctx.dataSource.address.slice(2), "hex"))),
  );
  def("dataSource.network", () => h().newString(ctx.dataSource.network));
  def("dataSource.context", () => {
    const data: EntityData = new Map();
    for (const [key, value] of Object.entries(ctx.dataSource.context))
      data.set(key, contextValue(value));
    return writeEntity(h(), data);
  });

  // --- JSON
  const parseJson = (ptr: number) => parseJsonTree(h().readBytes(ptr));
  def("json.fromBytes", (b) => {
    try {
      return writeJson(h(), parseJson(b as number));
    } catch (error) {
      if (error instanceof MappingAbort) throw error;
      throw new MappingAbort(
        `json.fromBytes: invalid JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  });
  def("json.try_fromBytes", (b) => {
    const heap = h();
    let value: number | null = null;
    try {
      value = writeJson(heap, parseJson(b as number));
    } catch (error) {
      if (error instanceof MappingAbort) throw error;
    }
    if (value !== null) {
      return heap.newObject("ResultJsonValueBool", [
        heap.newObject("WrappedJsonValue", [value]),
        0,
      ]);
    }
    const wrappedTrue = heap.alloc(4, "WrappedBool");
    heap.setU32(wrappedTrue, 1);
    return heap.newObject("ResultJsonValueBool", [0, wrappedTrue]);
  });
  const integerText = (name: string, ptr: number): bigint => {
    const text = str(ptr);
    if (!/^-?\d+$/.test(text)) throw new MappingAbort(`${name}: "${text}" is not an integer`);
    return BigInt(text);
  };
  def("json.toI64", (s) => {
    const value = integerText("json.toI64", s as number);
    if (BigInt.asIntN(64, value) !== value)
      throw new MappingAbort(`json.toI64: ${value} does not fit in i64`);
    return value;
  });
  def("json.toU64", (s) => {
    const value = integerText("json.toU64", s as number);
    if (value < 0n || BigInt.asUintN(64, value) !== value)
      throw new MappingAbort(`json.toU64: ${value} does not fit in u64`);
    // A u64 crosses the WASM boundary as the i64 with the same bits.
    return BigInt.asIntN(64, value);
  });
  def("json.toF64", (s) => {
    const text = str(s as number);
    const value = Number(text);
    if (text.trim() === "" || Number.isNaN(value))
      throw new MappingAbort(`json.toF64: "${text}" is not a number`);
    return value;
  });
  def("json.toBigInt", (s) => newBig(integerText("json.toBigInt", s as number)));

  // --- ENS: graph-node answers only with a preloaded rainbow table; we have none.
  def("ens.nameByHash", () => 0);

  return fns;
}
