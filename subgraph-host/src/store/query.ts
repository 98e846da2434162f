/**
 * Collection queries → SQL. The input is graph-node's query vocabulary (a `where` object with
 * operator suffixes, `orderBy`, `orderDirection`, `first`, `skip`, a block), already parsed by
 * the GraphQL layer into JS values (bigint for BigInt/Int8, text for BigDecimal, 0x hex for
 * Bytes). Everything is checked against the schema model here as well: a filter the SQL cannot
 * express exactly is a QueryError, never a silently different answer.
 */
import {
  encodeBigDecimal,
  encodeBigInt,
  hexToBytes,
  idParam,
  type SqlValue,
  storageScalar,
} from "./encoding.ts";
import { QueryError, StoreError } from "./errors.ts";
import type { EntityModel, FieldModel, SubgraphSchema } from "./schema.ts";

export type OrderDirection = "asc" | "desc";

export interface CollectionQuery {
  entity: string;
  where?: Record<string, unknown> | null;
  /** A field name, or `<reference>__<field>` to order by a referenced entity's field. */
  orderBy?: string | null;
  orderDirection?: OrderDirection | null;
  first: number;
  skip: number;
  /** Block number to read at; undefined reads the latest indexed state. */
  block?: number;
  /** Only entities whose reference `field` points at `id` (resolving `@derivedFrom`). */
  parentRef?: { field: string; id: string };
  /** Only entities with these ids (resolving a stored list of references). */
  ids?: string[];
}

/** Suffixes longest first, so `_not_in` wins over `_in` and `_not`. */
const SUFFIXES = [
  "_not_starts_with_nocase",
  "_not_ends_with_nocase",
  "_not_contains_nocase",
  "_starts_with_nocase",
  "_ends_with_nocase",
  "_contains_nocase",
  "_not_starts_with",
  "_not_ends_with",
  "_not_contains",
  "_starts_with",
  "_ends_with",
  "_contains",
  "_not_in",
  "_not",
  "_gte",
  "_lte",
  "_gt",
  "_lt",
  "_in",
  "_",
] as const;

export const STRING_OPS = [
  "_contains",
  "_contains_nocase",
  "_not_contains",
  "_not_contains_nocase",
  "_starts_with",
  "_starts_with_nocase",
  "_not_starts_with",
  "_not_starts_with_nocase",
  "_ends_with",
  "_ends_with_nocase",
  "_not_ends_with",
  "_not_ends_with_nocase",
] as const;

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** SQL restricting alias `a` to the entity versions visible at `block` (or the latest). */
export function blockCondition(a: string, block: number | undefined): string {
  if (block === undefined) return `${a}.__to IS NULL`;
  const n = Math.trunc(block);
  return `${a}.__from <= ${n} AND (${a}.__to IS NULL OR ${a}.__to > ${n})`;
}

/** Text of an id as a JSON array item holds it (how stored reference lists are written). */
function idAsJsonText(entity: EntityModel, expr: string): string {
  if (entity.idType === "Bytes") return `'0x' || lower(hex(${expr}))`;
  if (entity.idType === "Int8")
    throw new QueryError("query-unsupported", `list filters on Int8 ids (${entity.name})`);
  return expr;
}

class SqlBuilder {
  readonly params: SqlValue[] = [];
  private aliasCount = 0;
  readonly schema: SubgraphSchema;
  readonly block: number | undefined;

  constructor(schema: SubgraphSchema, block: number | undefined) {
    this.schema = schema;
    this.block = block;
  }

  alias(): string {
    this.aliasCount += 1;
    return `c${this.aliasCount}`;
  }

  param(v: SqlValue): string {
    this.params.push(v);
    return "?";
  }

  entity(name: string): EntityModel {
    const e = this.schema.entities.get(name);
    if (!e) throw new QueryError("query-unknown-entity", `unknown entity type ${name}`);
    return e;
  }

  /** A filter value as the column holds it. */
  sqlValue(entity: EntityModel, field: FieldModel, value: unknown): SqlValue {
    const scalar = storageScalar(this.schema, field);
    try {
      switch (scalar) {
        case "Bytes":
          if (typeof value !== "string") break;
          return hexToBytes(value.toLowerCase());
        case "BigInt":
        case "Int8":
        case "Timestamp":
          if (typeof value === "bigint") return encodeBigInt(value);
          if (typeof value === "number" && Number.isInteger(value))
            return encodeBigInt(BigInt(value));
          if (typeof value === "string" && /^-?\d+$/.test(value))
            return encodeBigInt(BigInt(value));
          break;
        case "BigDecimal":
          if (typeof value === "string" || typeof value === "number")
            return encodeBigDecimal(String(value));
          break;
        case "Boolean":
          if (typeof value === "boolean") return value ? 1 : 0;
          break;
        case "Int":
          if (typeof value === "number" && Number.isInteger(value)) return value;
          break;
        default:
          if (typeof value === "string") return value;
      }
    } catch (e) {
      if (e instanceof StoreError)
        throw new QueryError("query-bad-value", `${entity.name}.${field.name}: ${e.message}`);
      throw e;
    }
    throw new QueryError(
      "query-bad-value",
      `${entity.name}.${field.name} is ${scalar}: cannot compare it with ${JSON.stringify(String(value))}`,
    );
  }

  /** A filter value as a JSON list item holds it (json_each yields text for these). */
  jsonItem(entity: EntityModel, field: FieldModel, value: unknown): SqlValue {
    const scalar = storageScalar(this.schema, field);
    if (scalar === "Bytes") {
      if (typeof value !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(value))
        throw new QueryError("query-bad-value", `${entity.name}.${field.name}: not hex bytes`);
      return value.toLowerCase();
    }
    if (scalar === "BigInt" || scalar === "Int8" || scalar === "Timestamp") return String(value);
    if (scalar === "Boolean") return value ? 1 : 0;
    return value as SqlValue;
  }

  listLiteral(entity: EntityModel, field: FieldModel, value: unknown): string {
    if (!Array.isArray(value))
      throw new QueryError("query-bad-value", `${entity.name}.${field.name}: expected a list`);
    return JSON.stringify(
      value.map((v) => {
        const item = this.jsonItem(entity, field, v);
        return field.type === "Boolean" ? Boolean(item) : item;
      }),
    );
  }

  where(entity: EntityModel, a: string, where: Record<string, unknown>): string {
    const parts: string[] = [];
    for (const [key, value] of Object.entries(where)) {
      if (value === undefined) continue;
      if (key === "and" || key === "or") {
        if (!Array.isArray(value))
          throw new QueryError("query-bad-filter", `\`${key}\` takes a list of filters`);
        const subs = value.map((w) => `(${this.where(entity, a, w as Record<string, unknown>)})`);
        if (subs.length > 0) parts.push(`(${subs.join(key === "and" ? " AND " : " OR ")})`);
        else parts.push(key === "and" ? "1" : "0");
        continue;
      }
      if (key === "_change_block") {
        const n = (value as { number_gte?: unknown }).number_gte;
        if (typeof n !== "number")
          throw new QueryError("query-bad-filter", "_change_block needs number_gte");
        parts.push(`${a}.__from >= ${this.param(n)}`);
        continue;
      }
      parts.push(this.condition(entity, a, key, value));
    }
    return parts.length === 0 ? "1" : parts.join(" AND ");
  }

  private resolveKey(entity: EntityModel, key: string): { field: FieldModel; op: string } {
    const direct = entity.fieldMap.get(key);
    if (direct) return { field: direct, op: "" };
    for (const suffix of SUFFIXES) {
      if (!key.endsWith(suffix)) continue;
      const field = entity.fieldMap.get(key.slice(0, -suffix.length));
      if (field) return { field, op: suffix };
    }
    throw new QueryError("query-bad-filter", `${entity.name} has no filter \`${key}\``);
  }

  private condition(entity: EntityModel, a: string, key: string, value: unknown): string {
    const { field, op } = this.resolveKey(entity, key);
    if (op === "_") return this.childFilter(entity, a, field, value as Record<string, unknown>);
    if (field.derivedFrom !== undefined)
      throw new QueryError(
        "query-bad-filter",
        `${entity.name}.${field.name} is derived: filter it with \`${field.name}_\``,
      );
    const col = `${a}.${quoteIdent(field.name)}`;
    if (field.list) return this.listCondition(entity, col, field, op, value);
    if (value === null) {
      if (op === "") return `${col} IS NULL`;
      if (op === "_not") return `${col} IS NOT NULL`;
      throw new QueryError("query-bad-filter", `\`${key}\` cannot be null`);
    }
    const scalar = storageScalar(this.schema, field);
    switch (op) {
      case "":
        return `${col} = ${this.param(this.sqlValue(entity, field, value))}`;
      case "_not":
        return `${col} != ${this.param(this.sqlValue(entity, field, value))}`;
      case "_gt":
      case "_gte":
      case "_lt":
      case "_lte": {
        const sym = { _gt: ">", _gte: ">=", _lt: "<", _lte: "<=" }[op];
        return `${col} ${sym} ${this.param(this.sqlValue(entity, field, value))}`;
      }
      case "_in":
      case "_not_in": {
        if (!Array.isArray(value))
          throw new QueryError("query-bad-filter", `\`${key}\` takes a list`);
        if (value.length === 0) return op === "_in" ? "0" : "1";
        const ps = value.map((v) => this.param(this.sqlValue(entity, field, v))).join(", ");
        return `${col} ${op === "_in" ? "IN" : "NOT IN"} (${ps})`;
      }
    }
    const negate = op.startsWith("_not_");
    const base = negate ? `_${op.slice(5)}` : op;
    const nocase = base.endsWith("_nocase");
    const kind = nocase ? base.slice(0, -7) : base;
    if (scalar === "Bytes") {
      if (kind !== "_contains" || nocase)
        throw new QueryError("query-bad-filter", `\`${key}\` is not a Bytes filter`);
      const cond = `instr(${col}, ${this.param(this.sqlValue(entity, field, value))}) > 0`;
      return negate ? `NOT (${cond})` : cond;
    }
    if (scalar !== "String" && scalar !== "ID")
      throw new QueryError("query-bad-filter", `\`${key}\` needs a String field`);
    if (typeof value !== "string")
      throw new QueryError("query-bad-filter", `\`${key}\` takes a string`);
    const subject = nocase ? `lower(${col})` : col;
    const needle = nocase ? value.toLowerCase() : value;
    const chars = [...needle].length;
    let cond: string;
    if (kind === "_contains") cond = `instr(${subject}, ${this.param(needle)}) > 0`;
    else if (chars === 0) cond = `${col} IS NOT NULL`;
    else if (kind === "_starts_with")
      cond = `substr(${subject}, 1, ${chars}) = ${this.param(needle)}`;
    else cond = `substr(${subject}, -${chars}) = ${this.param(needle)}`;
    return negate ? `NOT (${cond})` : cond;
  }

  private listCondition(
    entity: EntityModel,
    col: string,
    field: FieldModel,
    op: string,
    value: unknown,
  ): string {
    if (value === null) {
      if (op === "") return `${col} IS NULL`;
      if (op === "_not") return `${col} IS NOT NULL`;
    }
    switch (op) {
      case "":
        return `${col} = ${this.param(this.listLiteral(entity, field, value))}`;
      case "_not":
        return `${col} != ${this.param(this.listLiteral(entity, field, value))}`;
      case "_contains":
      case "_not_contains": {
        if (!Array.isArray(value))
          throw new QueryError("query-bad-filter", `${field.name}${op} takes a list`);
        const all = value.map(
          (v) =>
            `EXISTS (SELECT 1 FROM json_each(${col}) WHERE value = ${this.param(this.jsonItem(entity, field, v))})`,
        );
        const cond = all.length === 0 ? `${col} IS NOT NULL` : all.join(" AND ");
        return op === "_contains" ? `(${cond})` : `${col} IS NOT NULL AND NOT (${cond})`;
      }
    }
    throw new QueryError(
      "query-bad-filter",
      `${entity.name}.${field.name} is a list: \`${op}\` is not supported on it`,
    );
  }

  private childFilter(
    entity: EntityModel,
    a: string,
    field: FieldModel,
    value: Record<string, unknown>,
  ): string {
    if (field.kind !== "entity" || value === null || typeof value !== "object")
      throw new QueryError("query-bad-filter", `${field.name}_ needs a reference and a filter`);
    const child = this.entity(field.type);
    const c = this.alias();
    const inner = () => `${blockCondition(c, this.block)} AND ${this.where(child, c, value)}`;
    const from = `${quoteIdent(child.name)} ${c}`;
    if (field.derivedFrom !== undefined) {
      const back = child.fieldMap.get(field.derivedFrom) as FieldModel;
      const backCol = `${c}.${quoteIdent(back.name)}`;
      if (!back.list) return `${a}.id IN (SELECT ${backCol} FROM ${from} WHERE ${inner()})`;
      return `EXISTS (SELECT 1 FROM ${from}, json_each(${backCol}) j WHERE j.value = ${idAsJsonText(entity, `${a}.id`)} AND ${inner()})`;
    }
    const col = `${a}.${quoteIdent(field.name)}`;
    if (!field.list) return `${col} IN (SELECT ${c}.id FROM ${from} WHERE ${inner()})`;
    return `EXISTS (SELECT 1 FROM json_each(${col}) j WHERE j.value IN (SELECT ${idAsJsonText(child, `${c}.id`)} FROM ${from} WHERE ${inner()}))`;
  }

  /**
   * graph-node keeps enums in Postgres enum types, which sort in declaration order, not
   * alphabetically; the CASE gives each value its position.
   */
  private sortable(field: FieldModel, col: string): string {
    if (field.kind !== "enum") return col;
    const values = this.schema.enums.get(field.type) ?? [];
    const whens = values.map((v, i) => `WHEN '${v.replace(/'/g, "''")}' THEN ${i}`).join(" ");
    return `(CASE ${col} ${whens} END)`;
  }

  orderExpr(entity: EntityModel, a: string, orderBy: string): string {
    const direct = entity.fieldMap.get(orderBy);
    if (direct) {
      if (direct.list || direct.derivedFrom !== undefined)
        throw new QueryError("query-bad-order", `cannot order ${entity.name} by a list field`);
      return this.sortable(direct, `${a}.${quoteIdent(direct.name)}`);
    }
    const sep = orderBy.indexOf("__");
    const ref = sep > 0 ? entity.fieldMap.get(orderBy.slice(0, sep)) : undefined;
    if (ref && ref.kind === "entity" && !ref.list && ref.derivedFrom === undefined) {
      const child = this.entity(ref.type);
      const sub = child.fieldMap.get(orderBy.slice(sep + 2));
      if (sub && !sub.list && sub.kind !== "entity" && sub.derivedFrom === undefined) {
        const c = this.alias();
        return `(SELECT ${this.sortable(sub, `${c}.${quoteIdent(sub.name)}`)} FROM ${quoteIdent(child.name)} ${c} WHERE ${c}.id = ${a}.${quoteIdent(ref.name)} AND ${blockCondition(c, this.block)})`;
      }
    }
    throw new QueryError("query-bad-order", `cannot order ${entity.name} by \`${orderBy}\``);
  }
}

/** SQL text and parameters selecting the rows of a collection query. */
export function buildCollectionSql(
  schema: SubgraphSchema,
  q: CollectionQuery,
): { sql: string; params: SqlValue[] } {
  const b = new SqlBuilder(schema, q.block);
  const entity = b.entity(q.entity);
  const conds = [blockCondition("t", q.block)];
  if (q.parentRef) {
    const field = entity.fieldMap.get(q.parentRef.field);
    if (field?.kind !== "entity")
      throw new QueryError(
        "query-bad-filter",
        `${entity.name}.${q.parentRef.field} is no reference`,
      );
    const col = `t.${quoteIdent(field.name)}`;
    if (field.list)
      conds.push(
        `EXISTS (SELECT 1 FROM json_each(${col}) WHERE value = ${b.param(b.jsonItem(entity, field, q.parentRef.id))})`,
      );
    else conds.push(`${col} = ${b.param(b.sqlValue(entity, field, q.parentRef.id))}`);
  }
  if (q.ids) {
    if (q.ids.length === 0) conds.push("0");
    else conds.push(`t.id IN (${q.ids.map((id) => b.param(idParam(entity, id))).join(", ")})`);
  }
  if (q.where) conds.push(b.where(entity, "t", q.where));
  const dir = q.orderDirection === "desc" ? "DESC" : "ASC";
  const nulls = dir === "ASC" ? "NULLS LAST" : "NULLS FIRST";
  const order = q.orderBy
    ? `${b.orderExpr(entity, "t", q.orderBy)} ${dir} ${nulls}, t.id ${dir}`
    : `t.id ${dir}`;
  const sql = `SELECT t.* FROM ${quoteIdent(entity.name)} t WHERE ${conds.join(" AND ")} ORDER BY ${order} LIMIT ${b.param(q.first)} OFFSET ${b.param(q.skip)}`;
  return { sql, params: b.params };
}
