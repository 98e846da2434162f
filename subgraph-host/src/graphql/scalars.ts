/**
 * graph-node's custom scalars. Outputs: BigInt, BigDecimal, Int8 and Bytes are JSON strings
 * (Bytes as lower-case 0x hex). Inputs: BigInt/Int8 accept a decimal string or an Int literal
 * and become bigint; BigDecimal accepts a decimal string or number and stays canonical text;
 * Bytes accepts 0x hex (either case) and becomes lower-case hex.
 */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from "graphql";
import { canonicalBigDecimal } from "../store/index.ts";

function toBigInt(value: unknown, name: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
  throw new GraphQLError(`${name} cannot represent ${JSON.stringify(String(value))}`);
}

function literal(ast: ValueNode): unknown {
  if (ast.kind === Kind.STRING || ast.kind === Kind.INT || ast.kind === Kind.FLOAT)
    return ast.value;
  throw new GraphQLError(`expected a string or number literal, found ${ast.kind}`);
}

function bigIntScalar(name: string, description: string): GraphQLScalarType {
  return new GraphQLScalarType({
    name,
    description,
    serialize: (v) => toBigInt(v, name).toString(),
    parseValue: (v) => toBigInt(v, name),
    parseLiteral: (ast) => toBigInt(literal(ast), name),
  });
}

export const BigIntScalar = bigIntScalar("BigInt", "Arbitrary-size integer, as a decimal string.");
export const Int8Scalar = bigIntScalar("Int8", "64-bit integer, as a decimal string.");
export const TimestampScalar = bigIntScalar(
  "Timestamp",
  "Microseconds since the Unix epoch, as a decimal string.",
);

function toDecimal(value: unknown): string {
  if (typeof value === "string" || typeof value === "number" || typeof value === "bigint") {
    try {
      return canonicalBigDecimal(String(value));
    } catch {
      // fall through to the GraphQL error
    }
  }
  throw new GraphQLError(`BigDecimal cannot represent ${JSON.stringify(String(value))}`);
}

export const BigDecimalScalar = new GraphQLScalarType({
  name: "BigDecimal",
  description: "Arbitrary-precision decimal, as a string.",
  serialize: toDecimal,
  parseValue: toDecimal,
  parseLiteral: (ast) => toDecimal(literal(ast)),
});

function toBytes(value: unknown): string {
  if (typeof value === "string" && /^0x([0-9a-fA-F]{2})*$/.test(value)) return value.toLowerCase();
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString("hex")}`;
  throw new GraphQLError(
    `Bytes must be 0x-prefixed hex with an even number of digits, not ${JSON.stringify(String(value))}`,
  );
}

export const BytesScalar = new GraphQLScalarType({
  name: "Bytes",
  description: "Byte string, as 0x-prefixed lower-case hex.",
  serialize: toBytes,
  parseValue: toBytes,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError("Bytes must be a string literal");
    return toBytes(ast.value);
  },
});
