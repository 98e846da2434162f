import { errorClass } from "../errors.ts";

declare module "../errors.ts" {
  interface ConunErrorDomains
    extends Record<"subgraph-query", SubgraphQueryError>,
      Record<"subgraph-data", SubgraphDataError> {}
}

/**
 * Why a subgraph query failed; every failure names the subgraph URL. Codes:
 * `subgraph-url-invalid` (not a URL), `subgraph-unreachable` (connection refused, DNS),
 * `subgraph-timeout`, `subgraph-not-found` (HTTP 404: wrong subgraph name), `subgraph-http`
 * (another HTTP status), `subgraph-query-failed` (the server answered with GraphQL errors).
 */
// biome-ignore format: a domain's codes stay on one line
export class SubgraphQueryError extends errorClass("subgraph-query", ["subgraph-url-invalid", "subgraph-unreachable", "subgraph-timeout", "subgraph-not-found", "subgraph-http", "subgraph-query-failed"]) {
  readonly url: string;
  constructor(
    code: SubgraphQueryError["code"],
    message: string,
    url: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, { ...options, details: { url, ...options.details } });
    this.url = url;
  }
}

/** A subgraph answered a value that is not what its schema says (a BigInt that is not one). */
export class SubgraphDataError extends errorClass("subgraph-data", ["subgraph-bad-value"]) {}
