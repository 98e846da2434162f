/**
 * The mapping API versions (`mapping.apiVersion`) the host runs, and what changes between
 * them, as graph-node defines them in graph/src/data/subgraph/api_version.rs:
 *
 * - 0.0.5: the AssemblyScript ≥ 0.19 memory layout (runtime/wasm/src/asc_abi/v0_0_5.rs), which is
 *   the only one the host's heap speaks; and all data sources must share one apiVersion;
 * - 0.0.6: `ethereum.Transaction` gains `nonce`, `ethereum.Block` gains `baseFeePerGas`;
 * - 0.0.7: `ethereum.Event` gains `receipt`;
 * - 0.0.8: `store.set` of a field the schema does not define fails the handler (before, such
 *   fields are dropped);
 * - 0.0.9: `ethereum.getBalance` and `ethereum.hasCode` (which this host does not provide).
 *
 * Versions up to 0.0.4 use the older AssemblyScript layout (runtime/wasm/src/asc_abi/v0_0_4.rs)
 * and are refused.
 */
export const SUPPORTED_API_VERSIONS = ["0.0.5", "0.0.6", "0.0.7", "0.0.8", "0.0.9"] as const;

/** The apiVersion the host assumes when none is given (CONUN's, and graph-cli 0.98's default). */
export const LATEST_API_VERSION = "0.0.9";

function parts(version: string): [number, number, number] {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (match === null) return [Number.NaN, Number.NaN, Number.NaN];
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** `version >= minimum`, both `x.y.z` (semver order, as graph-node compares them). */
export function apiVersionAtLeast(version: string, minimum: string): boolean {
  const a = parts(version);
  const b = parts(minimum);
  for (let i = 0; i < 3; i++) {
    if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) > (b[i] as number);
  }
  return true;
}
