/**
 * Runs one GraphQL request against the store: parse, validate against the generated schema,
 * execute. Returns graph-node shaped results (`{ data }` and/or `{ errors }`); a malformed or
 * invalid query is an error result, never a thrown exception.
 */
import {
  type DocumentNode,
  type ExecutionResult,
  execute,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  parse,
  validate,
} from "graphql";
import type { QueryContext } from "./api-schema.ts";

export interface GraphqlRequest {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/** graph-node rejects deeply nested queries; so do we (each level costs a round of lookups). */
export const MAX_QUERY_DEPTH = 32;

function depth(doc: DocumentNode): number {
  const walk = (node: { selectionSet?: { selections: readonly unknown[] } }, d: number): number => {
    if (!node.selectionSet) return d;
    let max = d;
    for (const sel of node.selectionSet.selections as {
      kind: string;
      selectionSet?: { selections: readonly unknown[] };
    }[])
      max = Math.max(max, walk(sel, sel.kind === Kind.FIELD ? d + 1 : d));
    return max;
  };
  return Math.max(
    0,
    ...doc.definitions.map((def) =>
      "selectionSet" in def ? walk(def as unknown as Parameters<typeof walk>[0], 0) : 0,
    ),
  );
}

/**
 * Documents that parsed and validated, per schema and query text: clients (workers polling,
 * the dApp, the auditor) send the same few queries again and again, and parsing plus
 * validation costs as much as running a small query.
 */
const validated = new WeakMap<GraphQLSchema, Map<string, DocumentNode>>();
const MAX_CACHED_DOCUMENTS = 500;

function prepare(schema: GraphQLSchema, query: string): DocumentNode | readonly GraphQLError[] {
  let cache = validated.get(schema);
  if (!cache) {
    cache = new Map();
    validated.set(schema, cache);
  }
  const hit = cache.get(query);
  if (hit) return hit;
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch (err) {
    if (err instanceof GraphQLError) return [err];
    throw err;
  }
  const validationErrors = validate(schema, document);
  if (validationErrors.length > 0) return validationErrors;
  if (depth(document) > MAX_QUERY_DEPTH)
    return [new GraphQLError(`query is nested deeper than ${MAX_QUERY_DEPTH} levels`)];
  if (cache.size >= MAX_CACHED_DOCUMENTS) cache.clear();
  cache.set(query, document);
  return document;
}

export function executeGraphql(
  schema: GraphQLSchema,
  context: QueryContext,
  request: GraphqlRequest,
): ExecutionResult {
  const document = prepare(schema, request.query);
  if (Array.isArray(document)) return { errors: document as readonly GraphQLError[] };
  const result = execute({
    schema,
    document: document as DocumentNode,
    contextValue: context,
    variableValues: request.variables ?? undefined,
    operationName: request.operationName ?? undefined,
  });
  if (result instanceof Promise)
    // Resolvers are synchronous by design (one consistent store state per query).
    throw new Error("a resolver returned a promise");
  return result;
}
