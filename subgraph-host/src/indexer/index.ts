export { Indexer, type IndexerOptions, type IndexerState, type IndexerStats } from "./indexer.ts";
export { JsonRpcClient } from "./rpc.ts";
