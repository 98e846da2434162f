import { ConunError, errorCodes } from "../errors.ts";

/** Why a subgraph query failed (every failure names the subgraph URL). */
export const SUBGRAPH_QUERY_ERROR_CODES = errorCodes("subgraph-query", [
  /** The subgraph URL is not a URL. */
  "subgraph-url-invalid",
  /** Connection refused, DNS. */
  "subgraph-unreachable",
  "subgraph-timeout",
  /** HTTP 404: wrong subgraph name. */
  "subgraph-not-found",
  /** Another HTTP status. */
  "subgraph-http",
  /** The server answered with GraphQL errors. */
  "subgraph-query-failed",
] as const);

export class SubgraphQueryError extends ConunError<(typeof SUBGRAPH_QUERY_ERROR_CODES)[number]> {
  readonly url: string;
  constructor(
    code: (typeof SUBGRAPH_QUERY_ERROR_CODES)[number],
    message: string,
    url: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, { ...options, details: { url, ...options.details } });
    this.url = url;
  }
}

/** A subgraph answered a value that is not what its schema says (a BigInt that is not one). */
export const SUBGRAPH_DATA_ERROR_CODES = errorCodes("subgraph-data", [
  "subgraph-bad-value",
] as const);

export class SubgraphDataError extends ConunError<(typeof SUBGRAPH_DATA_ERROR_CODES)[number]> {}

declare module "../errors.ts" {
  interface ConunErrorDomains {
    "subgraph-query": SubgraphQueryError;
    "subgraph-data": SubgraphDataError;
  }
}
