import { ConunError } from "../../../sdk/errors.ts";

/**
 * Errors of the embedded subgraph host. Codes:
 * - `manifest-invalid`, `manifest-unsupported`: the build cannot be run by this host;
 * - `host-import-unsupported`: the mapping WASM imports a host function we do not provide;
 * - `mapping-failed`: a handler trapped, aborted, logged a critical message or ran too long;
 * - `rpc-failed`: the JSON-RPC node did not answer usefully within the retry budget.
 */
export class SubgraphHostError extends ConunError {}
