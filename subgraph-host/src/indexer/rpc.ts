/**
 * A minimal Ethereum JSON-RPC client over fetch: JSON-RPC batches (one HTTP round trip for
 * many block requests, which is what makes indexing fast), a timeout on every request and a
 * bounded number of retries with exponential backoff for transport failures.
 */
import { sleep } from "../../../sdk/async.ts";
import type { Logger } from "../../../sdk/logger.ts";
import { SubgraphHostError } from "../runtime/errors.ts";

export interface RpcOptions {
  url: string;
  logger: Logger;
  /** Per HTTP request; default 10 s. */
  timeoutMs?: number;
  /** Attempts per request before giving up; default 3. */
  attempts?: number;
  /** Aborts waits and requests when the host stops. */
  signal?: AbortSignal;
}

export interface RpcRequest {
  method: string;
  params: unknown[];
}

interface RpcResponse {
  id: number;
  result?: unknown;
  error?: { code: number; message: string };
}

export class JsonRpcClient {
  readonly url: string;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #signal: AbortSignal | undefined;
  #nextId = 1;

  constructor(options: RpcOptions) {
    this.url = options.url;
    this.#logger = options.logger;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#attempts = options.attempts ?? 3;
    this.#signal = options.signal;
  }

  async call<T>(method: string, params: unknown[]): Promise<T> {
    const [result] = await this.batch<T>([{ method, params }]);
    return result as T;
  }

  /** Sends the requests as one JSON-RPC batch; results come back in request order. */
  async batch<T>(requests: RpcRequest[]): Promise<T[]> {
    if (requests.length === 0) return [];
    const firstId = this.#nextId;
    this.#nextId += requests.length;
    const body = JSON.stringify(
      requests.map((r, i) => ({
        jsonrpc: "2.0",
        id: firstId + i,
        method: r.method,
        params: r.params,
      })),
    );
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      try {
        const signals = [AbortSignal.timeout(this.#timeoutMs)];
        if (this.#signal !== undefined) signals.push(this.#signal);
        const response = await fetch(this.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          signal: AbortSignal.any(signals),
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const replies = (await response.json()) as RpcResponse[] | RpcResponse;
        const list = Array.isArray(replies) ? replies : [replies];
        const byId = new Map(list.map((reply) => [reply.id, reply]));
        return requests.map((request, i) => {
          const reply = byId.get(firstId + i);
          if (reply === undefined) throw new Error(`no reply to ${request.method}`);
          if (reply.error !== undefined) {
            // A node-side error (bad params, range too large) will not heal by retrying.
            throw new SubgraphHostError("rpc-failed", `${request.method}: ${reply.error.message}`, {
              details: { code: reply.error.code },
            });
          }
          return reply.result as T;
        });
      } catch (error) {
        if (error instanceof SubgraphHostError || this.#signal?.aborted) throw error;
        lastError = error;
        if (attempt < this.#attempts) {
          const delay = 100 * 2 ** (attempt - 1);
          this.#logger.debug("rpc request failed, retrying", {
            url: this.url,
            attempt,
            delayMs: delay,
            error: error instanceof Error ? error.message : String(error),
          });
          await sleep(delay, this.#signal);
        }
      }
    }
    throw new SubgraphHostError(
      "rpc-failed",
      `JSON-RPC ${this.url} unreachable after ${this.#attempts} attempts`,
      {
        cause: lastError,
      },
    );
  }
}
