import { ConunError, errorCodes } from "../../../sdk/errors.ts";

export const STORE_ERROR_CODES = errorCodes("store", [
  /** A schema.graphql the store cannot map. */
  "schema-invalid",
  "schema-unsupported",
  /** The database was written with another schema. */
  "store-schema-changed",
  "store-bad-option",
  /** A value of the wrong kind for a field. */
  "store-bad-value",
  "store-unknown-entity",
  "store-unknown-field",
  "store-derived-field",
  "store-missing-value",
  "store-id-mismatch",
  /** A write graph-node would also reject: updating or removing an immutable entity. */
  "store-immutable",
  /** Misuse of the block protocol: a write outside an open block, blocks out of order. */
  "store-no-open-block",
  "store-block-open",
  "store-block-order",
  "store-closed",
  "store-write-failed",
] as const);

/**
 * Failures of the entity store: a schema it cannot map, a value of the wrong kind for a field,
 * a write that graph-node would also reject (updating an immutable entity), misuse of the
 * block protocol (a write outside an open block). Codes start with `store-` or `schema-`.
 */
export class StoreError extends ConunError<(typeof STORE_ERROR_CODES)[number]> {}

export const QUERY_ERROR_CODES = errorCodes("store-query", [
  "query-bad-filter",
  "query-bad-order",
  "query-bad-value",
  "query-unknown-entity",
  "query-unsupported",
] as const);

/**
 * A query the store cannot answer correctly (bad filter, block not indexed yet). The GraphQL
 * layer turns it into a GraphQL error rather than a partial or wrong answer.
 */
export class QueryError extends ConunError<(typeof QUERY_ERROR_CODES)[number]> {}

declare module "../../../sdk/errors.ts" {
  interface ConunErrorDomains {
    store: StoreError;
    "store-query": QueryError;
  }
}
