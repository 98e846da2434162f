import { errorClass } from "../../../sdk/errors.ts";

declare module "../../../sdk/errors.ts" {
  interface ConunErrorDomains extends Record<"subgraph-host", SubgraphHostError> {}
}

/**
 * Errors of the embedded subgraph host:
 * - `subgraph-manifest-invalid`, `subgraph-manifest-unsupported`: the build (subgraph.yaml, its
 *   ABIs and WASM) cannot be run by this host;
 * - `host-import-unsupported`: the mapping WASM imports a host function we do not provide;
 * - `mapping-failed`: a handler trapped, aborted, logged a critical message or ran too long;
 * - `abi-decode-failed`: event or call data that does not decode with the ABI;
 * - `rpc-failed`: the JSON-RPC node did not answer usefully within the retry budget;
 * - `chain-moved`: the chain moved under the indexer while it fetched (a block vanished or
 *   changed fork);
 * - `stopped`: the indexer was stopped (also what its pending waits reject with);
 * - `timeout`: a block was not indexed within a wait's time limit;
 * - `build-failed`: building the subgraph (a command the host CLI runs) failed;
 * - `host-config-invalid`: a bad command-line option of the host;
 * - `deployment-hash-unavailable`: graph-cli's js-yaml, which writes the manifest graph-cli
 *   uploads, cannot be loaded, so the deployment hash cannot be computed.
 */
// biome-ignore format: a domain's codes stay on one line
export class SubgraphHostError extends errorClass("subgraph-host", ["subgraph-manifest-invalid", "subgraph-manifest-unsupported", "host-import-unsupported", "mapping-failed", "abi-decode-failed", "rpc-failed", "chain-moved", "stopped", "timeout", "build-failed", "host-config-invalid", "deployment-hash-unavailable"]) {}

export type SubgraphHostErrorCode = SubgraphHostError["code"];
