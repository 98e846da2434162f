// Subgraph scalars arrive as JSON strings (BigInt, BigDecimal, Bytes); these turn them into the
// types the helpers promise, failing loudly on anything that is not what the schema says.
import { SubgraphDataError } from "./errors.ts";

export function toBig(value: string | number, field: string): bigint {
  try {
    return BigInt(value);
  } catch (err) {
    throw new SubgraphDataError(
      "subgraph-bad-value",
      `${field} is not an integer: ${String(value)}`,
      {
        cause: err,
      },
    );
  }
}

export function toOptBig(value: string | number | null | undefined, field: string): bigint | null {
  return value === null || value === undefined ? null : toBig(value, field);
}
