/**
 * The embedded subgraph host: the build's manifest and mapping WASM, the SQLite store, the
 * indexer following a JSON-RPC node, and the GraphQL server at graph-node's path
 * (`/subgraphs/name/<name>`).
 */
import { readFileSync } from "node:fs";
import type { Logger } from "../../sdk/logger.ts";
import { Indexer } from "./indexer/indexer.ts";
import { type DataSourceOverride, loadManifest, type SubgraphManifest } from "./manifest.ts";
import { SubgraphHostError } from "./runtime/errors.ts";
import { MappingModule } from "./runtime/mapping-module.ts";
import { loadEntitySchema } from "./runtime/schema.ts";
import { type GraphqlServer, startGraphqlServer } from "./server.ts";
import { openSqliteStore, type SqliteStore } from "./store/index.ts";
import type { IndexingStore } from "./store/types.ts";

export interface SubgraphIndexingOptions {
  buildDir: string;
  rpcUrl: string;
  store: IndexingStore;
  logger: Logger;
  dataSourceOverrides?: Record<string, DataSourceOverride>;
  pollIntervalMs?: number;
  blockRange?: number;
  handlerTimeoutMs?: number;
  maxBackoffMs?: number;
  rpcTimeoutMs?: number;
}

export interface SubgraphIndexing {
  manifest: SubgraphManifest;
  modules: Map<string, MappingModule>;
  indexer: Indexer;
}

/** Loads the build and prepares (without starting) an indexer writing into `store`. */
export function createSubgraphIndexing(options: SubgraphIndexingOptions): SubgraphIndexing {
  const manifest = loadManifest(options.buildDir, options.dataSourceOverrides);
  const schema = loadEntitySchema(manifest.schemaPath);
  const logger = options.logger.child("mapping");
  const modules = new Map<string, MappingModule>();
  for (const ds of manifest.dataSources) {
    const module = MappingModule.fromFile(ds.wasmPath, {
      dataSource: { name: ds.name, address: ds.address, network: ds.network, context: ds.context },
      schema,
      logger,
      handlerTimeoutMs: options.handlerTimeoutMs,
    });
    for (const h of ds.eventHandlers) {
      if (!module.hasHandler(h.handler)) {
        throw new SubgraphHostError(
          "subgraph-manifest-invalid",
          `data source "${ds.name}": the WASM does not export handler ${h.handler}`,
        );
      }
    }
    modules.set(ds.name, module);
  }
  const indexer = new Indexer({
    manifest,
    modules,
    store: options.store,
    rpcUrl: options.rpcUrl,
    logger: options.logger,
    pollIntervalMs: options.pollIntervalMs,
    blockRange: options.blockRange,
    maxBackoffMs: options.maxBackoffMs,
    rpcTimeoutMs: options.rpcTimeoutMs,
  });
  return { manifest, modules, indexer };
}

export interface SubgraphHostOptions {
  /** graph-cli's build directory (subgraph.yaml, schema.graphql, <DataSource>/*.wasm). */
  buildDir: string;
  rpcUrl: string;
  /** SQLite database file (created if missing); ":memory:" for throwaway runs. */
  dbPath: string;
  /** The subgraph name in the URL: /subgraphs/name/<name>. */
  name: string;
  /** GraphQL port; 0 picks a free one. */
  port?: number;
  /** Interface to bind; default 127.0.0.1. */
  hostname?: string;
  dataSourceOverrides?: Record<string, DataSourceOverride>;
  logger: Logger;
  pollIntervalMs?: number;
  blockRange?: number;
  handlerTimeoutMs?: number;
  maxBackoffMs?: number;
  rpcTimeoutMs?: number;
}

export interface SubgraphHost {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:8000/subgraphs/name/conun. */
  url: string;
  store: SqliteStore;
  indexer: Indexer;
  manifest: SubgraphManifest;
  /** Resolves when block `number` is indexed; rejects if indexing fails or on timeout. */
  waitForBlock(number: number, timeoutMs?: number): Promise<void>;
  /** Stops indexing, then the server, then closes the store. */
  close(): Promise<void>;
}

/** Starts the whole host: store, indexer (already following the chain) and GraphQL server. */
export async function startSubgraphHost(options: SubgraphHostOptions): Promise<SubgraphHost> {
  const log = options.logger.child("subgraph-host");
  const schemaPath = loadManifest(options.buildDir, options.dataSourceOverrides).schemaPath;
  const schemaSource = readFileSync(schemaPath, "utf8");
  const store = openSqliteStore({
    path: options.dbPath,
    schema: schemaSource,
    logger: options.logger,
  });
  let indexing: SubgraphIndexing;
  let server: GraphqlServer;
  try {
    indexing = createSubgraphIndexing({ ...options, store });
    server = await startGraphqlServer({
      store,
      schemaSource,
      subgraphName: options.name,
      host: options.hostname,
      port: options.port ?? 0,
      logger: options.logger,
    });
  } catch (error) {
    store.close();
    throw error;
  }
  indexing.indexer.start();
  log.info("subgraph host started", {
    url: server.url,
    rpc: options.rpcUrl,
    db: options.dbPath,
    head: store.head()?.number ?? null,
  });
  let closing: Promise<void> | null = null;
  return {
    url: server.url,
    store,
    indexer: indexing.indexer,
    manifest: indexing.manifest,
    waitForBlock: (number, timeoutMs) => indexing.indexer.waitForBlock(number, timeoutMs),
    close: () => {
      closing ??= (async () => {
        await indexing.indexer.stop();
        await server.close();
        store.close();
        log.info("subgraph host stopped");
      })();
      return closing;
    },
  };
}

/** Addresses of a CONUN deployment (sdk/protocol/deployments.ts `Deployment` has these fields). */
export interface ConunAddresses {
  market: string;
  registry: string;
  token: string;
  startBlock: number;
}

/**
 * Overrides pointing the CONUN build's data sources at a deployment: the addresses, the start
 * block, and the token mapping's context (which addresses are the market and the registry).
 */
export function overridesForDeployment(d: ConunAddresses): Record<string, DataSourceOverride> {
  return {
    JobMarket: { address: d.market, startBlock: d.startBlock },
    ProviderRegistry: { address: d.registry, startBlock: d.startBlock },
    ConunToken: {
      address: d.token,
      startBlock: d.startBlock,
      context: {
        market: { type: "Bytes", data: d.market },
        registry: { type: "Bytes", data: d.registry },
      },
    },
  };
}
