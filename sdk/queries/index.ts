/**
 * Typed queries against a CONUN subgraph (the embedded host or any graph-node), shared by the
 * auditor CLI, the scripts and the dApp: one place for the query documents. Amounts come back
 * as bigint (token wei), addresses as lower-case hex.
 *
 *   const subgraph = createSubgraphClient("http://127.0.0.1:8000/subgraphs/name/conun");
 *   const job = await getJob(subgraph, 1n);
 *
 * The worker's own queries live in worker.ts.
 */
export {
  createSubgraphClient,
  SubgraphClient,
  type SubgraphClientOptions,
} from "./client.ts";
export { SubgraphDataError, SubgraphQueryError } from "./errors.ts";
export * from "./jobs.ts";
export * from "./network.ts";
export * from "./price-guidance.ts";
export * from "./price-history.ts";
export * from "./providers.ts";
export * from "./reasons.ts";
