/**
 * The embedded subgraph host: the build's manifest and mapping WASM, the SQLite store, the
 * indexer following a JSON-RPC node, and the GraphQL server at graph-node's path
 * (`/subgraphs/name/<name>`).
 */
import { readFileSync } from "node:fs";
import type { Logger } from "../../sdk/logger.ts";
import { deploymentHash } from "./deployment-hash.ts";
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
      dataSource: {
        name: ds.name,
        address: ds.address,
        network: ds.network,
        context: ds.context,
        apiVersion: ds.apiVersion,
      },
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

/** One subgraph of a host: where its build is and where its entities go. */
export interface HostedSubgraphOptions {
  /** graph-cli's build directory (subgraph.yaml, schema.graphql, <DataSource>/*.wasm), or its subgraph.yaml. */
  buildDir: string;
  /** SQLite database file (created if missing); ":memory:" for throwaway runs. */
  dbPath: string;
  /** The subgraph name in the URL: /subgraphs/name/<name>. */
  name: string;
  /**
   * What `_meta.deployment` reports and /subgraphs/id/<deployment> answers to; default the
   * build's deployment hash as graph-node computes it (deployment-hash.ts).
   */
  deployment?: string;
  dataSourceOverrides?: Record<string, DataSourceOverride>;
}

/** What every subgraph of a host shares: the chain, the port and the indexing settings. */
export interface HostSharedOptions {
  rpcUrl: string;
  /** GraphQL port; 0 picks a free one. */
  port?: number;
  /** Interface to bind; default 127.0.0.1. */
  hostname?: string;
  logger: Logger;
  pollIntervalMs?: number;
  blockRange?: number;
  handlerTimeoutMs?: number;
  maxBackoffMs?: number;
  rpcTimeoutMs?: number;
}

export interface SubgraphHostOptions extends HostedSubgraphOptions, HostSharedOptions {}

export interface SubgraphHost {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:8000/subgraphs/name/conun. */
  url: string;
  /** The same subgraph by deployment: http://127.0.0.1:8000/subgraphs/id/<deployment>. */
  idUrl: string;
  name: string;
  deployment: string;
  store: SqliteStore;
  indexer: Indexer;
  manifest: SubgraphManifest;
  /** Resolves when block `number` is indexed; rejects if indexing fails or on timeout. */
  waitForBlock(number: number, timeoutMs?: number): Promise<void>;
  /** Stops indexing, then the server, then closes the store. */
  close(): Promise<void>;
}

export interface MultiSubgraphHost {
  /** `http://<host>:<port>`, shared by every subgraph. */
  origin: string;
  /** In the order given. */
  subgraphs: SubgraphHost[];
  /** Stops every indexer, then the server, then closes the stores. */
  close(): Promise<void>;
}

interface OpenedSubgraph {
  options: HostedSubgraphOptions;
  deployment: string;
  schemaSource: string;
  store: SqliteStore;
  indexing: SubgraphIndexing;
}

/**
 * graph-node's deployment hash of the build (deployment-hash.ts). Without graph-cli's js-yaml
 * it cannot be computed: the subgraph is then served under its name, as before, with a warning.
 */
async function deploymentOf(manifestPath: string, name: string, log: Logger): Promise<string> {
  try {
    return await deploymentHash(manifestPath);
  } catch (error) {
    if (!(error instanceof SubgraphHostError) || error.code !== "deployment-hash-unavailable")
      throw error;
    log.warn("deployment hash unavailable: _meta.deployment reports the name", {
      name,
      reason: error.message,
    });
    return name;
  }
}

async function openSubgraph(
  sub: HostedSubgraphOptions,
  shared: HostSharedOptions,
): Promise<OpenedSubgraph> {
  const { schemaPath, manifestPath } = loadManifest(sub.buildDir, sub.dataSourceOverrides);
  const deployment = sub.deployment ?? (await deploymentOf(manifestPath, sub.name, shared.logger));
  const schemaSource = readFileSync(schemaPath, "utf8");
  const store = openSqliteStore({ path: sub.dbPath, schema: schemaSource, logger: shared.logger });
  try {
    const indexing = createSubgraphIndexing({
      ...shared,
      buildDir: sub.buildDir,
      dataSourceOverrides: sub.dataSourceOverrides,
      store,
      logger: shared.logger.child(sub.name),
    });
    return { options: sub, deployment, schemaSource, store, indexing };
  } catch (error) {
    store.close();
    throw error;
  }
}

/**
 * Starts several subgraphs on one port: each has its own store and indexer (all following
 * `rpcUrl`) and is served at /subgraphs/name/<name> and /subgraphs/id/<deployment>.
 */
export async function startSubgraphHosts(
  options: HostSharedOptions & { subgraphs: HostedSubgraphOptions[] },
): Promise<MultiSubgraphHost> {
  const log = options.logger.child("subgraph-host");
  const names = new Set<string>();
  for (const sub of options.subgraphs) {
    if (names.has(sub.name)) {
      throw new SubgraphHostError(
        "host-config-invalid",
        `two subgraphs are named "${sub.name}": give each its own name`,
      );
    }
    names.add(sub.name);
  }
  const opened: OpenedSubgraph[] = [];
  let server: GraphqlServer;
  try {
    for (const sub of options.subgraphs) opened.push(await openSubgraph(sub, options));
    server = await startGraphqlServer({
      subgraphs: opened.map((o) => ({
        store: o.store,
        schemaSource: o.schemaSource,
        name: o.options.name,
        deployment: o.deployment,
      })),
      host: options.hostname,
      port: options.port ?? 0,
      logger: options.logger,
    });
  } catch (error) {
    for (const o of opened) o.store.close();
    throw error;
  }
  for (const o of opened) {
    o.indexing.indexer.start();
    log.info("subgraph started", {
      name: o.options.name,
      deployment: o.deployment,
      url: `${server.origin}/subgraphs/name/${o.options.name}`,
      rpc: options.rpcUrl,
      db: o.options.dbPath,
      head: o.store.head()?.number ?? null,
    });
  }
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      await Promise.all(opened.map((o) => o.indexing.indexer.stop()));
      await server.close();
      for (const o of opened) o.store.close();
      log.info("subgraph host stopped");
    })();
    return closing;
  };
  return {
    origin: server.origin,
    subgraphs: opened.map((o) => ({
      url: `${server.origin}/subgraphs/name/${o.options.name}`,
      idUrl: `${server.origin}/subgraphs/id/${o.deployment}`,
      name: o.options.name,
      deployment: o.deployment,
      store: o.store,
      indexer: o.indexing.indexer,
      manifest: o.indexing.manifest,
      waitForBlock: (number, timeoutMs) => o.indexing.indexer.waitForBlock(number, timeoutMs),
      close,
    })),
    close,
  };
}

/** Starts the whole host for one subgraph: store, indexer (already following the chain) and GraphQL server. */
export async function startSubgraphHost(options: SubgraphHostOptions): Promise<SubgraphHost> {
  const { buildDir, dbPath, name, deployment, dataSourceOverrides, ...shared } = options;
  const host = await startSubgraphHosts({
    ...shared,
    subgraphs: [{ buildDir, dbPath, name, deployment, dataSourceOverrides }],
  });
  return host.subgraphs[0] as SubgraphHost;
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
