/**
 * BigDecimal arithmetic with graph-node's rules: a value is `digits × 10^exp`, kept
 * canonical after every operation — at most 34 significant digits (rounded half to even)
 * and no trailing zeros in `digits` — so the same computation gives the same stored value
 * and the same string here and on graph-node. Strings are plain notation, never exponents.
 */

export interface Decimal {
  digits: bigint;
  exp: number;
}

export const DECIMAL_PRECISION = 34;
/** How many significant digits a quotient is computed to before it is rounded. */
const DIVISION_DIGITS = DECIMAL_PRECISION + 6;

function digitCount(value: bigint): number {
  return (value < 0n ? -value : value).toString().length;
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Divides by 10^drop, rounding half to even. */
function roundDrop(digits: bigint, drop: number): bigint {
  if (drop <= 0) return digits;
  const divisor = pow10(drop);
  const negative = digits < 0n;
  const magnitude = negative ? -digits : digits;
  let quotient = magnitude / divisor;
  const remainder = magnitude % divisor;
  const twice = remainder * 2n;
  if (twice > divisor || (twice === divisor && quotient % 2n === 1n)) quotient += 1n;
  return negative ? -quotient : quotient;
}

export function normalize(value: Decimal): Decimal {
  let { digits, exp } = value;
  if (digits === 0n) return { digits: 0n, exp: 0 };
  const excess = digitCount(digits) - DECIMAL_PRECISION;
  if (excess > 0) {
    digits = roundDrop(digits, excess);
    exp += excess;
  }
  while (digits % 10n === 0n) {
    digits /= 10n;
    exp += 1;
  }
  return { digits, exp };
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  if (a.exp === b.exp) return [a.digits, b.digits, a.exp];
  if (a.exp > b.exp) return [a.digits * pow10(a.exp - b.exp), b.digits, b.exp];
  return [a.digits, b.digits * pow10(b.exp - a.exp), a.exp];
}

export function plus(a: Decimal, b: Decimal): Decimal {
  const [x, y, exp] = align(a, b);
  return normalize({ digits: x + y, exp });
}

export function minus(a: Decimal, b: Decimal): Decimal {
  const [x, y, exp] = align(a, b);
  return normalize({ digits: x - y, exp });
}

export function times(a: Decimal, b: Decimal): Decimal {
  return normalize({ digits: a.digits * b.digits, exp: a.exp + b.exp });
}

export function dividedBy(a: Decimal, b: Decimal): Decimal {
  if (b.digits === 0n) throw new RangeError("BigDecimal division by zero");
  if (a.digits === 0n) return { digits: 0n, exp: 0 };
  // Scale the dividend so the integer quotient carries enough digits to round correctly.
  const shift = Math.max(0, DIVISION_DIGITS - digitCount(a.digits) + digitCount(b.digits));
  const quotient = (a.digits * pow10(shift)) / b.digits;
  return normalize({ digits: quotient, exp: a.exp - b.exp - shift });
}

export function equals(a: Decimal, b: Decimal): boolean {
  const x = normalize(a);
  const y = normalize(b);
  return x.digits === y.digits && x.exp === y.exp;
}

export function fromBigInt(value: bigint): Decimal {
  return normalize({ digits: value, exp: 0 });
}

export function format(value: Decimal): string {
  const { digits, exp } = normalize(value);
  if (digits === 0n) return "0";
  const negative = digits < 0n;
  const text = (negative ? -digits : digits).toString();
  let out: string;
  if (exp >= 0) out = text + "0".repeat(exp);
  else if (-exp < text.length)
    out = `${text.slice(0, text.length + exp)}.${text.slice(text.length + exp)}`;
  else out = `0.${"0".repeat(-exp - text.length)}${text}`;
  return negative ? `-${out}` : out;
}

/** Parses plain or scientific notation ("12.5", "-0.001", "1e-3"); throws on anything else. */
export function parse(text: string): Decimal {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (match === null || (match[2] === "" && (match[3] ?? "") === "")) {
    throw new SyntaxError(`invalid BigDecimal "${text}"`);
  }
  const [, sign, whole, fraction = "", exponent = "0"] = match;
  const digits = BigInt(`${whole}${fraction}` || "0");
  return normalize({
    digits: sign === "-" ? -digits : digits,
    exp: Number(exponent) - fraction.length,
  });
}
