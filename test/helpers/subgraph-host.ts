// Runs the embedded subgraph host against a Hardhat network in tests: the in-process
// network (`network.create()`) served over HTTP on 127.0.0.1 by a small JSON-RPC bridge —
// faster to start than a `hardhat node` child process and it keeps `evm_snapshot`, time
// travel and the contract helpers of ./protocol.ts — and an indexer writing into a SQLite
// store, with helpers to wait until the chain's head is indexed and read entities back.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { request } from "graphql-request";
import type { Connection, Protocol } from "../../devnet/protocol.ts";
import { createLogger, type Logger, silentLogger } from "../../sdk/logger.ts";
import {
  overridesForDeployment,
  type SubgraphHost,
  startSubgraphHost,
} from "../../subgraph-host/src/host.ts";
import { toPlain } from "../../subgraph-host/src/store/index.ts";
import type { EntityData } from "../../subgraph-host/src/store/types.ts";

export const BUILD_DIR = path.join(import.meta.dirname, "..", "..", "subgraph", "build");

interface RpcEnvelope {
  id?: unknown;
  method: string;
  params?: unknown[];
}

export interface HttpRpcBridge {
  url: string;
  /** While false, requests are refused with HTTP 503, as an RPC that went away. */
  setAvailable(available: boolean): void;
  close(): Promise<void>;
}

/** A JSON-RPC error to answer instead of forwarding the request, or undefined to forward it. */
export type RpcInterceptor = (
  method: string,
  params: unknown[],
) => { code: number; message: string } | undefined;

/**
 * Serves `connection.provider` as a JSON-RPC endpoint (single and batch requests), with CORS so
 * a browser page (the dApp's tests) can call it too. Errors keep their revert `data`.
 */
export async function serveOverHttp(
  connection: Connection,
  intercept?: RpcInterceptor,
): Promise<HttpRpcBridge> {
  const provider = connection.provider;
  let available = true;
  const answer = async (request: RpcEnvelope) => {
    const refusal = intercept?.(request.method, request.params ?? []);
    if (refusal !== undefined) return { jsonrpc: "2.0", id: request.id, error: refusal };
    try {
      const result = await provider.request({
        method: request.method,
        params: request.params ?? [],
      });
      return { jsonrpc: "2.0", id: request.id, result };
    } catch (error) {
      const e = error as { code?: number; message?: string; data?: unknown };
      return {
        jsonrpc: "2.0",
        id: request.id,
        error: { code: e.code ?? -32603, message: e.message ?? String(error), data: e.data },
      };
    }
  };
  const cors = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "POST, OPTIONS",
    "access-control-allow-headers": "content-type",
  };
  const server: Server = createServer((req, res) => {
    if (req.method === "OPTIONS") {
      res.writeHead(204, cors).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (!available) {
        res.writeHead(503).end();
        return;
      }
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as
          | RpcEnvelope
          | RpcEnvelope[];
        const reply = Array.isArray(body)
          ? await Promise.all(body.map(answer))
          : await answer(body);
        res.writeHead(200, { ...cors, "content-type": "application/json" });
        res.end(
          JSON.stringify(reply, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v)),
        );
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    setAvailable: (value) => {
      available = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface DeployedAddresses {
  market: string;
  registry: string;
  token: string;
  startBlock: number;
}

export async function addressesOf(p: Protocol, startBlock = 0): Promise<DeployedAddresses> {
  return {
    market: await p.market.getAddress(),
    registry: await p.registry.getAddress(),
    token: await p.token.getAddress(),
    startBlock,
  };
}

export interface TestIndexer extends SubgraphHost {
  dbPath: string;
  /** A GraphQL query against the host's HTTP endpoint (graphql-request). */
  query<T = Record<string, unknown>>(
    document: string,
    variables?: Record<string, unknown>,
  ): Promise<T>;
  /**
   * Waits until the store's head is the node's latest block, same number and hash (so a
   * rewound chain counts as synced only once re-indexed); fails on an indexing error.
   */
  sync(timeoutMs?: number): Promise<void>;
  /** An entity as plain values (bytes as hex, bigints as bigint), or null. */
  entity(type: string, id: string): Record<string, unknown> | null;
  /** Every current entity of a type, as plain values. */
  all(type: string): Record<string, unknown>[];
  /** close() and deletes the database directory. */
  destroy(): Promise<void>;
}

/** `headOf` for a Hardhat connection. */
export function latestBlockOf(
  connection: Connection,
): () => Promise<{ number: number; hash: string }> {
  return async () => {
    const block = await connection.ethers.provider.getBlock("latest");
    if (block === null || block.hash === null) throw new Error("no latest block");
    return { number: block.number, hash: block.hash };
  };
}

export function plain(data: EntityData | null): Record<string, unknown> | null {
  if (data === null) return null;
  return Object.fromEntries([...data].map(([k, v]) => [k, toPlain(v)]));
}

export interface StartTestIndexerOptions {
  rpcUrl: string;
  addresses: DeployedAddresses;
  /** Reopen an existing database (restart tests). */
  dbPath?: string;
  logger?: Logger;
  /** The node's latest block. */
  headOf: () => Promise<{ number: number; hash: string }>;
  maxBackoffMs?: number;
}

/**
 * An indexer of `p`'s contracts (from `startBlock`, default 0) on `connection`, reading the
 * chain through `rpcUrl` (a serveOverHttp bridge).
 */
export async function indexProtocol(
  connection: Connection,
  p: Protocol,
  rpcUrl: string,
  options: { dbPath?: string; startBlock?: number } = {},
): Promise<TestIndexer> {
  return startTestIndexer({
    rpcUrl,
    addresses: await addressesOf(p, options.startBlock ?? 0),
    headOf: latestBlockOf(connection),
    ...(options.dbPath === undefined ? {} : { dbPath: options.dbPath }),
  });
}

export async function startTestIndexer(options: StartTestIndexerOptions): Promise<TestIndexer> {
  const dbPath =
    options.dbPath ??
    path.join(mkdtempSync(path.join(tmpdir(), "conun-subgraph-")), "subgraph.sqlite");
  const logger =
    options.logger ??
    (process.env.SUBGRAPH_HOST_DEBUG ? createLogger({ level: "debug" }) : silentLogger);
  const host = await startSubgraphHost({
    buildDir: BUILD_DIR,
    rpcUrl: options.rpcUrl,
    dbPath,
    name: "conun",
    port: 0,
    logger,
    dataSourceOverrides: overridesForDeployment(options.addresses),
    pollIntervalMs: 20,
    maxBackoffMs: options.maxBackoffMs ?? 200,
    rpcTimeoutMs: 5_000,
  });
  const { store, indexer } = host;
  return {
    ...host,
    dbPath,
    query: <T>(document: string, variables?: Record<string, unknown>) =>
      request<T>({ url: host.url, document, variables, signal: AbortSignal.timeout(10_000) }),
    sync: async (timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const failure = indexer.failure;
        if (failure !== null) throw failure;
        const latest = await options.headOf();
        const head = store.head();
        if (
          head !== null &&
          head.number === latest.number &&
          head.hash === latest.hash.toLowerCase()
        )
          return;
        if (Date.now() > deadline) {
          throw new Error(
            `indexer did not reach block ${latest.number} within ${timeoutMs} ms (head ${head?.number})`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    entity: (type, id) => plain(store.get(type, id)),
    all: (type) =>
      store
        .findMany({ entity: type, first: 1_000_000, skip: 0 })
        .map((data) => plain(data) as Record<string, unknown>),
    destroy: async () => {
      await host.close();
      rmSync(path.dirname(dbPath), { recursive: true, force: true });
    },
  };
}
