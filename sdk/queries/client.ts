/**
 * A GraphQL client for a CONUN subgraph — the embedded host or any graph-node — with every
 * request bounded by a timeout and every failure turned into a SubgraphQueryError that names
 * the subgraph URL (so a CLI can say which endpoint is down or wrong).
 */
import { ClientError, GraphQLClient } from "graphql-request";
import { SubgraphQueryError } from "./errors.ts";

export { SubgraphQueryError };

export interface SubgraphClientOptions {
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
}

function classify(err: unknown, url: string, timeoutMs: number): SubgraphQueryError {
  if (err instanceof SubgraphQueryError) return err;
  if (err instanceof ClientError) {
    const messages = (err.response.errors ?? []).map((e) => e.message);
    if (err.response.status === 404)
      return new SubgraphQueryError(
        "subgraph-not-found",
        `no subgraph at ${url} (HTTP 404)${messages.length ? `: ${messages.join("; ")}` : ""}`,
        url,
        { cause: err },
      );
    if (messages.length > 0)
      return new SubgraphQueryError(
        "subgraph-query-failed",
        `subgraph ${url} answered with an error: ${messages.join("; ")}`,
        url,
        { cause: err, details: { errors: messages } },
      );
    return new SubgraphQueryError(
      "subgraph-http",
      `subgraph ${url} answered HTTP ${err.response.status}`,
      url,
      { cause: err },
    );
  }
  const name = (err as { name?: string } | null)?.name;
  if (name === "TimeoutError" || name === "AbortError")
    return new SubgraphQueryError(
      "subgraph-timeout",
      `subgraph ${url} did not answer within ${timeoutMs} ms`,
      url,
      { cause: err },
    );
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  return new SubgraphQueryError(
    "subgraph-unreachable",
    `cannot reach subgraph ${url}: ${cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err)}`,
    url,
    { cause: err },
  );
}

/** A thin, typed wrapper around graphql-request's GraphQLClient. */
export class SubgraphClient {
  readonly url: string;
  readonly timeoutMs: number;
  private readonly client: GraphQLClient;

  constructor(url: string, options: SubgraphClientOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (err) {
      throw new SubgraphQueryError("subgraph-url-invalid", `not a URL: ${url}`, url, {
        cause: err,
      });
    }
    this.url = parsed.toString();
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const timeoutMs = this.timeoutMs;
    this.client = new GraphQLClient(this.url, {
      fetch: (input: string | URL | Request, init?: RequestInit) => {
        const timeout = AbortSignal.timeout(timeoutMs);
        const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
        return fetch(input, { ...init, signal });
      },
    });
  }

  /** Runs one query; throws SubgraphQueryError on any failure. */
  async request<T>(document: string, variables?: Record<string, unknown>): Promise<T> {
    try {
      return await this.client.request<T>(document, variables);
    } catch (err) {
      throw classify(err, this.url, this.timeoutMs);
    }
  }
}

export function createSubgraphClient(
  url: string,
  options: SubgraphClientOptions = {},
): SubgraphClient {
  return new SubgraphClient(url, options);
}
