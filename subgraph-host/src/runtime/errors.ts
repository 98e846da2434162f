import { ConunError, errorCodes } from "../../../sdk/errors.ts";

/** Codes of the embedded subgraph host. */
export const SUBGRAPH_HOST_ERROR_CODES = errorCodes("subgraph-host", [
  /** The build (subgraph.yaml, its ABIs and WASM) cannot be run by this host. */
  "subgraph-manifest-invalid",
  "subgraph-manifest-unsupported",
  /** The mapping WASM imports a host function we do not provide. */
  "host-import-unsupported",
  /** A handler trapped, aborted, logged a critical message or ran too long. */
  "mapping-failed",
  /** Event or call data that does not decode with the ABI. */
  "abi-decode-failed",
  /** The JSON-RPC node did not answer usefully within the retry budget. */
  "rpc-failed",
  /** The chain moved under the indexer while it fetched (a block vanished or changed fork). */
  "chain-moved",
  /** The indexer was stopped (also what its pending waits reject with). */
  "stopped",
  /** A block was not indexed within a wait's time limit. */
  "timeout",
  /** Building the subgraph (a command the host CLI runs) failed. */
  "build-failed",
  /** A bad command-line option of the host. */
  "host-config-invalid",
] as const);

export type SubgraphHostErrorCode = (typeof SUBGRAPH_HOST_ERROR_CODES)[number];

export class SubgraphHostError extends ConunError<SubgraphHostErrorCode> {}

declare module "../../../sdk/errors.ts" {
  interface ConunErrorDomains {
    "subgraph-host": SubgraphHostError;
  }
}
