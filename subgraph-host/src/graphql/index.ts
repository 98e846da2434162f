/**
 * graph-node's GraphQL query dialect over the SQLite store: `buildApiSchema(schema)` makes the
 * executable schema, `executeGraphql(apiSchema, context, request)` answers one request.
 */
export {
  buildApiSchema,
  collectionFieldName,
  DEFAULT_FIRST,
  MAX_FIRST,
  type QueryableStore,
  type QueryContext,
  singleFieldName,
} from "./api-schema.ts";
export { executeGraphql, type GraphqlRequest, MAX_QUERY_DEPTH } from "./execute.ts";
