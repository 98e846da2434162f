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

/** The fields of `T` that hold a BigInt (or a nullable one). */
type BigKey<T> = { [K in keyof T]-?: NonNullable<T[K]> extends bigint ? K : never }[keyof T];

type WireRef<V> = V extends readonly string[]
  ? { id: string }[]
  : null extends V
    ? { id: string } | null
    : { id: string };

/**
 * How GraphQL sends a parsed entity `T`: its BigInt fields as decimal strings, and the references
 * named in `Refs` (parsed as the referenced entity's id) as `{ id }` objects.
 */
export type Wire<T, Refs extends keyof T = never> = {
  [K in keyof T]: K extends Refs
    ? WireRef<T[K]>
    : T[K] extends bigint
      ? string
      : T[K] extends bigint | null
        ? string | null
        : T[K];
};

/**
 * Parses a GraphQL entity: every BigInt field of `T` (the `bigs` record must name them all, so the
 * compiler catches a forgotten one) and every reference in `refs` to its id; the other fields
 * pass through. Errors name `entity.field`.
 */
export function fromWire<T, Refs extends keyof T = never>(
  raw: Wire<T, Refs>,
  entity: string,
  bigs: { readonly [K in BigKey<T>]: true },
  refs: { readonly [K in Refs]: true } = {} as { readonly [K in Refs]: true },
): T {
  const out: Record<string, unknown> = { ...raw };
  for (const field of Object.keys(bigs)) {
    out[field] = toOptBig(out[field] as string | null, `${entity}.${field}`);
  }
  for (const field of Object.keys(refs)) {
    const ref = out[field] as { id: string } | { id: string }[] | null;
    out[field] = Array.isArray(ref) ? ref.map((r) => r.id) : (ref?.id ?? null);
  }
  return out as T;
}
