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

export function executeGraphql(
  schema: GraphQLSchema,
  context: QueryContext,
  request: GraphqlRequest,
): ExecutionResult {
  let document: DocumentNode;
  try {
    document = parse(request.query);
  } catch (err) {
    if (err instanceof GraphQLError) return { errors: [err] };
    throw err;
  }
  const validationErrors = validate(schema, document);
  if (validationErrors.length > 0) return { errors: validationErrors };
  if (depth(document) > MAX_QUERY_DEPTH)
    return {
      errors: [new GraphQLError(`query is nested deeper than ${MAX_QUERY_DEPTH} levels`)],
    };
  const result = execute({
    schema,
    document,
    contextValue: context,
    variableValues: request.variables ?? undefined,
    operationName: request.operationName ?? undefined,
  });
  if (result instanceof Promise)
    // Resolvers are synchronous by design (one consistent store state per query).
    throw new Error("a resolver returned a promise");
  return result;
}
