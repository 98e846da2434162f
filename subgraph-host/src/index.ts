/**
 * The embedded subgraph host: runs a graph-cli build (manifest, schema, mapping WASM)
 * against a JSON-RPC node as graph-node does, stores entities in SQLite and serves them over
 * GraphQL at /subgraphs/name/<name>.
 *
 *   const host = await startSubgraphHost({ buildDir: "subgraph/build", rpcUrl, dbPath,
 *     name: "conun", port: 8000, logger, dataSourceOverrides });
 *   await host.waitForBlock(n); // host.url → GraphQL endpoint
 *   await host.close();
 */
export {
  type ConunAddresses,
  createSubgraphIndexing,
  type HostedSubgraphOptions,
  type HostSharedOptions,
  type MultiSubgraphHost,
  overridesForDeployment,
  type SubgraphHost,
  type SubgraphHostOptions,
  type SubgraphIndexing,
  type SubgraphIndexingOptions,
  startSubgraphHost,
  startSubgraphHosts,
} from "./host.ts";
export { Indexer, type IndexerState, type IndexerStats } from "./indexer/index.ts";
export {
  type DataSourceOverride,
  type DataSourceSpec,
  loadManifest,
  resolveManifestPath,
  type SubgraphManifest,
} from "./manifest.ts";
export { MappingModule, SubgraphHostError } from "./runtime/index.ts";
