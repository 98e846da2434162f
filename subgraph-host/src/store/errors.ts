import { errorClass } from "../../../sdk/errors.ts";

declare module "../../../sdk/errors.ts" {
  interface ConunErrorDomains
    extends Record<"store", StoreError>,
      Record<"store-query", QueryError> {}
}

/**
 * Failures of the entity store: a schema it cannot map, a value of the wrong kind for a field,
 * a write that graph-node would also reject (updating an immutable entity), misuse of the
 * block protocol (a write outside an open block). Codes start with `store-` or `schema-`.
 */
// biome-ignore format: a domain's codes stay on one line
export class StoreError extends errorClass("store", ["schema-invalid", "schema-unsupported", "store-schema-changed", "store-bad-option", "store-bad-value", "store-unknown-entity", "store-unknown-field", "store-derived-field", "store-missing-value", "store-id-mismatch", "store-immutable", "store-no-open-block", "store-block-open", "store-block-order", "store-closed", "store-write-failed"]) {}

/**
 * A query the store cannot answer correctly (bad filter, block not indexed yet). The GraphQL
 * layer turns it into a GraphQL error rather than a partial or wrong answer.
 */
// biome-ignore format: a domain's codes stay on one line
export class QueryError extends errorClass("store-query", ["query-bad-filter", "query-bad-order", "query-bad-value", "query-unknown-entity", "query-unsupported"]) {}
