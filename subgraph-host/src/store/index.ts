/**
 * The embedded host's entity store: SQLite tables generated from the subgraph schema, with
 * graph-node style block-range versioning (exact rollback and time-travel queries).
 *
 *   const store = openSqliteStore({ path: "data/conun.sqlite", schema: schemaSource });
 *   store.beginBlock(block); store.set(...); store.commitBlock();
 *   store.setBatching({ maxBlocks: 500, maxMs: 1000 }); // while catching up; flush() after
 */
export {
  canonicalBigDecimal,
  decodeBigDecimal,
  decodeBigInt,
  encodeBigDecimal,
  encodeBigInt,
  type PlainValue,
  toPlain,
} from "./encoding.ts";
export { QueryError, StoreError } from "./errors.ts";
export type { CollectionQuery, OrderDirection } from "./query.ts";
export {
  type EntityModel,
  type FieldModel,
  parseSubgraphSchema,
  type ScalarName,
  type SubgraphSchema,
} from "./schema.ts";
export {
  type BatchOptions,
  openSqliteStore,
  SqliteStore,
  type SqliteStoreOptions,
} from "./sqlite-store.ts";
export type * from "./types.ts";
