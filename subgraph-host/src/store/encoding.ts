/**
 * How entity values live in SQLite columns.
 *
 * SQLite has 64-bit integers only, and token amounts are uint256. Rather than registering a
 * comparison function (which no index can use), BigInt, Int8 and BigDecimal values are stored
 * as *order-preserving text*: the byte order of the encoding is the numeric order of the value,
 * so `=`, `<`, `IN`, `ORDER BY` and ordinary B-tree indexes are exact, with no arithmetic in
 * SQL. Values are decoded back exactly (the encoding is a bijection on canonical values).
 *
 * - BigInt: sign digit, 3-digit length, then the decimal digits; negatives store the length
 *   and digits nine's-complemented so that larger magnitudes sort lower.
 * - BigDecimal: normalized to 0.<mantissa> × 10^exponent (no leading or trailing zeros);
 *   sign digit, 5-digit biased exponent, mantissa; negatives complement exponent and mantissa
 *   and end with `~` (above every digit) so that a longer mantissa sorts lower.
 *
 * Other kinds: ID/String/enums are TEXT, Bytes are BLOBs (memcmp order and `instr` work on
 * bytes, like Postgres `bytea`), Int is INTEGER, Boolean is 0/1, lists are JSON arrays.
 */
import { StoreError } from "./errors.ts";
import type { EntityModel, FieldModel, SubgraphSchema } from "./schema.ts";
import type { EntityData, EntityValue } from "./types.ts";

export type SqlValue = string | number | bigint | Uint8Array | null;

function complement(digits: string): string {
  let out = "";
  for (let i = 0; i < digits.length; i++) out += String(9 - (digits.charCodeAt(i) - 48));
  return out;
}

/** Order-preserving text for a bigint (up to 999 decimal digits). */
export function encodeBigInt(n: bigint): string {
  if (n >= 0n) {
    const digits = n.toString();
    return `1${String(digits.length).padStart(3, "0")}${digits}`;
  }
  const digits = (-n).toString();
  return `0${String(999 - digits.length).padStart(3, "0")}${complement(digits)}`;
}

export function decodeBigInt(s: string): bigint {
  if (s[0] === "1") return BigInt(s.slice(4));
  return -BigInt(complement(s.slice(4)));
}

const DECIMAL = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const EXP_BIAS = 50000;

interface Decimal {
  negative: boolean;
  /** Significant digits, no leading or trailing zeros; "" for zero. */
  mantissa: string;
  /** value = 0.mantissa × 10^exponent */
  exponent: number;
}

function parseDecimal(text: string): Decimal {
  const m = DECIMAL.exec(text.trim());
  if (!m || (m[2] === "" && (m[3] ?? "") === ""))
    throw new StoreError("store-bad-value", `not a decimal number: ${JSON.stringify(text)}`);
  const intPart = m[2] ?? "";
  const fracPart = m[3] ?? "";
  let digits = intPart + fracPart;
  let exponent = intPart.length + Number(m[4] ?? "0");
  const lead = digits.search(/[1-9]/);
  if (lead < 0) return { negative: false, mantissa: "", exponent: 0 };
  digits = digits.slice(lead);
  exponent -= lead;
  digits = digits.replace(/0+$/, "");
  return { negative: m[1] === "-", mantissa: digits, exponent };
}

function formatDecimal(d: Decimal): string {
  if (d.mantissa === "") return "0";
  const { mantissa: m, exponent: e } = d;
  let body: string;
  if (e <= 0) body = `0.${"0".repeat(-e)}${m}`;
  else if (e >= m.length) body = m + "0".repeat(e - m.length);
  else body = `${m.slice(0, e)}.${m.slice(e)}`;
  return d.negative ? `-${body}` : body;
}

/** graph-node's canonical text of a decimal ("12.5", "-0.001", "100"). */
export function canonicalBigDecimal(text: string): string {
  return formatDecimal(parseDecimal(text));
}

export function encodeBigDecimal(text: string): string {
  const d = parseDecimal(text);
  if (d.mantissa === "") return "1";
  const exp = d.exponent + EXP_BIAS;
  if (exp < 0 || exp > 99999)
    throw new StoreError("store-bad-value", `decimal exponent out of range: ${text}`);
  if (!d.negative) return `2${String(exp).padStart(5, "0")}${d.mantissa}`;
  return `0${String(99999 - exp).padStart(5, "0")}${complement(d.mantissa)}~`;
}

export function decodeBigDecimal(s: string): string {
  if (s === "1") return "0";
  if (s[0] === "2")
    return formatDecimal({
      negative: false,
      exponent: Number(s.slice(1, 6)) - EXP_BIAS,
      mantissa: s.slice(6),
    });
  return formatDecimal({
    negative: true,
    exponent: 99999 - Number(s.slice(1, 6)) - EXP_BIAS,
    mantissa: complement(s.slice(6, -1)),
  });
}

const HEX = /^0x([0-9a-fA-F]{2})*$/;

export function bytesToHex(b: Uint8Array): string {
  return `0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex")}`;
}

export function hexToBytes(hex: string): Uint8Array {
  if (!HEX.test(hex))
    throw new StoreError("store-bad-value", `not 0x-prefixed hex bytes: ${JSON.stringify(hex)}`);
  return new Uint8Array(Buffer.from(hex.slice(2), "hex"));
}

/** The scalar a field's column holds: references take the referenced entity's id type. */
export function storageScalar(schema: SubgraphSchema, field: FieldModel): string {
  if (field.kind === "enum") return "String";
  if (field.kind === "entity") return schema.entities.get(field.type)?.idType ?? "ID";
  return field.type;
}

export function sqlColumnType(scalar: string, list: boolean): string {
  if (list) return "TEXT";
  switch (scalar) {
    case "Int":
    case "Boolean":
      return "INTEGER";
    case "Bytes":
      return "BLOB";
    default:
      return "TEXT";
  }
}

function kindError(entity: string, field: string, scalar: string, value: EntityValue): StoreError {
  return new StoreError(
    "store-bad-value",
    `${entity}.${field} is ${scalar} but was given a ${value.kind} value`,
    { details: { entity, field } },
  );
}

/** An EntityValue as the column of a (non-list) field of storage scalar `scalar`. */
export function scalarToSql(
  entity: string,
  field: string,
  scalar: string,
  value: EntityValue,
): SqlValue {
  switch (scalar) {
    case "ID":
    case "String":
      if (value.kind === "string") return value.value;
      break;
    case "Bytes":
      if (value.kind === "bytes") return value.value;
      // A Bytes id given as hex text (some mappings build ids with toHexString()).
      if (value.kind === "string" && HEX.test(value.value)) return hexToBytes(value.value);
      break;
    case "Int":
      if (value.kind === "int") return value.value;
      break;
    case "Int8":
    case "Timestamp":
    case "BigInt":
      if (value.kind === "bigint" || value.kind === "int8") return encodeBigInt(value.value);
      if (value.kind === "int") return encodeBigInt(BigInt(value.value));
      break;
    case "BigDecimal":
      if (value.kind === "bigdecimal") return encodeBigDecimal(value.value);
      break;
    case "Boolean":
      if (value.kind === "bool") return value.value ? 1 : 0;
      break;
  }
  throw kindError(entity, field, scalar, value);
}

function scalarToJson(entity: string, field: string, scalar: string, value: EntityValue): unknown {
  const sql = scalarToSql(entity, field, scalar, value);
  if (sql instanceof Uint8Array) return bytesToHex(sql);
  // JSON keeps big numbers as decimal text, which json_each compares as text.
  if (value.kind === "bigint" || value.kind === "int8" || value.kind === "int")
    if (scalar !== "Int") return value.value.toString();
  if (value.kind === "bigdecimal") return canonicalBigDecimal(value.value);
  if (value.kind === "bool") return value.value;
  return sql;
}

/** An entity's fields as column values in `entity.stored` order; validates kinds and nulls. */
export function entityToRow(
  schema: SubgraphSchema,
  entity: EntityModel,
  data: EntityData,
): SqlValue[] {
  for (const key of data.keys()) {
    const f = entity.fieldMap.get(key);
    if (!f) throw new StoreError("store-unknown-field", `${entity.name} has no field ${key}`);
    if (f.derivedFrom !== undefined && data.get(key)?.kind !== "null")
      throw new StoreError(
        "store-derived-field",
        `${entity.name}.${key} is @derivedFrom and cannot be set`,
      );
  }
  return entity.stored.map((f) => {
    const v = data.get(f.name);
    if (v === undefined || v.kind === "null") {
      if (f.nonNull)
        throw new StoreError(
          "store-missing-value",
          `${entity.name}.${f.name} is non-nullable but has no value`,
          { details: { entity: entity.name, field: f.name } },
        );
      return null;
    }
    const scalar = storageScalar(schema, f);
    if (!f.list) return scalarToSql(entity.name, f.name, scalar, v);
    if (v.kind !== "array") throw kindError(entity.name, f.name, `[${scalar}]`, v);
    return JSON.stringify(v.value.map((item) => scalarToJson(entity.name, f.name, scalar, item)));
  });
}

function sqlToScalar(scalar: string, raw: SqlValue): EntityValue {
  switch (scalar) {
    case "Int":
      return { kind: "int", value: Number(raw) };
    case "Boolean":
      return { kind: "bool", value: Number(raw) !== 0 };
    case "Bytes":
      return { kind: "bytes", value: raw as Uint8Array };
    case "BigInt":
      return { kind: "bigint", value: decodeBigInt(raw as string) };
    case "Int8":
    case "Timestamp":
      return { kind: "int8", value: decodeBigInt(raw as string) };
    case "BigDecimal":
      return { kind: "bigdecimal", value: decodeBigDecimal(raw as string) };
    default:
      return { kind: "string", value: raw as string };
  }
}

function jsonToScalar(scalar: string, raw: unknown): EntityValue {
  switch (scalar) {
    case "Int":
      return { kind: "int", value: raw as number };
    case "Boolean":
      return { kind: "bool", value: raw as boolean };
    case "Bytes":
      return { kind: "bytes", value: hexToBytes(raw as string) };
    case "BigInt":
      return { kind: "bigint", value: BigInt(raw as string) };
    case "Int8":
    case "Timestamp":
      return { kind: "int8", value: BigInt(raw as string) };
    case "BigDecimal":
      return { kind: "bigdecimal", value: raw as string };
    default:
      return { kind: "string", value: raw as string };
  }
}

/** One column back into an EntityValue (null columns give `{ kind: "null" }`). */
export function columnToValue(
  schema: SubgraphSchema,
  field: FieldModel,
  raw: SqlValue,
): EntityValue {
  if (raw === null || raw === undefined) return { kind: "null" };
  const scalar = storageScalar(schema, field);
  if (!field.list) return sqlToScalar(scalar, raw);
  const items = JSON.parse(raw as string) as unknown[];
  return { kind: "array", value: items.map((i) => jsonToScalar(scalar, i)) };
}

/** A row (column name → raw value) back into EntityData; null fields are left out. */
export function rowToEntity(
  schema: SubgraphSchema,
  entity: EntityModel,
  row: Record<string, SqlValue>,
): EntityData {
  const data: EntityData = new Map();
  for (const f of entity.stored) {
    const raw = row[f.name];
    if (raw === null || raw === undefined) continue;
    data.set(f.name, columnToValue(schema, f, raw));
  }
  return data;
}

/** The text key of an id value (hex for Bytes ids), used for caches and GraphQL. */
export function idKey(value: EntityValue | SqlValue): string {
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && "kind" in value) {
    if (value.kind === "bytes") return bytesToHex(value.value);
    if (value.kind === "int8" || value.kind === "bigint" || value.kind === "int")
      return value.value.toString();
    if (value.kind === "string") return value.value;
  }
  return String(value);
}

/** The id column value for a text id key. */
export function idParam(entity: EntityModel, key: string): SqlValue {
  if (entity.idType === "Bytes") return hexToBytes(key);
  if (entity.idType === "Int8") return encodeBigInt(BigInt(key));
  return key;
}

/** A value as JSON-ish JS for GraphQL: bigints stay bigint (the scalars print them). */
export type PlainValue = string | number | boolean | bigint | null | PlainValue[];

export function toPlain(value: EntityValue): PlainValue {
  switch (value.kind) {
    case "bytes":
      return bytesToHex(value.value);
    case "array":
      return value.value.map(toPlain);
    case "null":
      return null;
    default:
      return value.value;
  }
}
