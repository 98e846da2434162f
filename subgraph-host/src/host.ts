/**
 * The embedded subgraph host: the build's manifest and mapping WASM, the SQLite store, the
 * indexer following a JSON-RPC node, and the GraphQL server at graph-node's path
 * (`/subgraphs/name/<name>`).
 */
import type { Logger } from "../../sdk/logger.ts";
import { Indexer } from "./indexer/indexer.ts";
import { type DataSourceOverride, loadManifest, type SubgraphManifest } from "./manifest.ts";
import { MappingModule } from "./runtime/mapping-module.ts";
import { loadEntitySchema } from "./runtime/schema.ts";
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
        throw new Error(`data source "${ds.name}": the WASM does not export handler ${h.handler}`);
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
