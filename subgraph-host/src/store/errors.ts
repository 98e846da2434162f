import { ConunError } from "../../../sdk/errors.ts";

/**
 * Failures of the entity store: a schema it cannot map, a value of the wrong kind for a field,
 * a write that graph-node would also reject (updating an immutable entity), misuse of the
 * block protocol (a write outside an open block). Codes start with `store-` or `schema-`.
 */
export class StoreError extends ConunError {}

/**
 * A query the store cannot answer correctly (bad filter, block not indexed yet). The GraphQL
 * layer turns it into a GraphQL error rather than a partial or wrong answer.
 */
export class QueryError extends ConunError {}
