// Turns what ethers throws into something a provider can act on: the custom error a contract
// reverted with (`JobMarketBidTooHigh(7, 2000000000000000000, 1000000000000000000)`), or a
// verdict that the failure was the transport's and is worth retrying.
import { Interface, isError, type JsonFragment } from "ethers";
import { ConunToken__factory } from "../../types/ethers-contracts/factories/ConunToken__factory.ts";
import { JobMarket__factory } from "../../types/ethers-contracts/factories/JobMarket__factory.ts";
import { Assignment__factory } from "../../types/ethers-contracts/factories/libraries/Assignment__factory.ts";
import { ProviderRegistry__factory } from "../../types/ethers-contracts/factories/ProviderRegistry__factory.ts";
import { errorClass } from "../errors.ts";

declare module "../errors.ts" {
  interface ConunErrorDomains extends Record<"chain", ChainError> {}
}

/**
 * A failed chain interaction; `revert` holds the decoded custom error when there was one.
 * Codes: `tx-reverted` (the contract refused: `revert` names the custom error), `tx-failed` and
 * `tx-timeout` (sending failed, or timed out, after every attempt), `rpc-unavailable` (the
 * JSON-RPC node does not answer), `chain-id-mismatch` (it serves another chain than configured).
 */
// biome-ignore format: a domain's codes stay on one line
export class ChainError extends errorClass("chain", ["tx-reverted", "tx-failed", "tx-timeout", "rpc-unavailable", "chain-id-mismatch"]) {
  readonly revert: DecodedRevert | undefined;

  constructor(
    code: ChainErrorCode,
    message: string,
    options: { cause?: unknown; revert?: DecodedRevert; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
    this.revert = options.revert;
  }
}

export type ChainErrorCode = ChainError["code"];

/** A custom error (or `Error(string)` / `Panic(uint256)`) decoded from revert data. */
export interface DecodedRevert {
  /** `JobMarketBidTooHigh`, `Error`, `Panic`, or `unknown` when the selector is not ours. */
  name: string;
  /** Positional arguments, bigints for integers. */
  args: unknown[];
  /** `JobMarketBidTooHigh(uint256,uint96,uint96)`. */
  signature: string;
  /** The raw revert data. */
  data: string;
}

// Errors can surface from any contract a call passes through (a JobMarket call reverting in the
// registry, OpenZeppelin's ERC-20 errors in the token), so every ABI's errors are pooled.
const ERROR_INTERFACE = new Interface(
  dedupeErrors([
    ...JobMarket__factory.abi,
    ...ProviderRegistry__factory.abi,
    ...ConunToken__factory.abi,
    ...Assignment__factory.abi,
  ]),
);

function dedupeErrors(
  abi: readonly { type: string; name?: string; inputs?: unknown }[],
): JsonFragment[] {
  const seen = new Set<string>();
  return (abi as readonly JsonFragment[]).filter((fragment) => {
    if (fragment.type !== "error") return false;
    const key = `${fragment.name}:${JSON.stringify(fragment.inputs)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Finds revert data anywhere in an ethers error (or its causes); undefined when none. */
export function revertDataOf(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): string | undefined => {
    if (value === null || typeof value !== "object" || seen.has(value) || depth > 6) {
      return undefined;
    }
    seen.add(value);
    const record = value as Record<string, unknown>;
    const data = record.data;
    if (typeof data === "string" && /^0x[0-9a-fA-F]{8}/.test(data)) return data;
    for (const key of ["data", "error", "info", "cause", "revert"]) {
      const found = visit(record[key], depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(error, 0);
}

/** Decodes the revert carried by `error` (an ethers error or raw revert data). */
export function decodeRevert(error: unknown): DecodedRevert | undefined {
  const data = typeof error === "string" ? error : revertDataOf(error);
  if (data === undefined || data.length < 10) return undefined;
  try {
    const parsed = ERROR_INTERFACE.parseError(data);
    if (parsed !== null) {
      return { name: parsed.name, args: [...parsed.args], signature: parsed.signature, data };
    }
  } catch {
    // Fall through: the selector is known but the payload is malformed.
  }
  return { name: "unknown", args: [], signature: data.slice(0, 10), data };
}

/** `JobMarketBidTooHigh(7, 2000000000000000000, 1000000000000000000)`. */
export function formatRevert(revert: DecodedRevert): string {
  if (revert.name === "unknown") return `unknown error ${revert.signature}`;
  return `${revert.name}(${revert.args.map((a) => formatArg(a)).join(", ")})`;
}

function formatArg(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(formatArg).join(", ")}]`;
  return typeof value === "string" ? value : String(value);
}

const TRANSIENT_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EAI_AGAIN"]);

/**
 * Whether a failed RPC call may succeed if simply tried again: timeouts, dropped or refused
 * connections, a node answering 5xx. A revert or a bad argument is never transient.
 */
export function isTransientRpcError(error: unknown): boolean {
  if (isError(error, "CALL_EXCEPTION") || isError(error, "INVALID_ARGUMENT")) return false;
  if (
    isError(error, "TIMEOUT") ||
    isError(error, "NETWORK_ERROR") ||
    isError(error, "SERVER_ERROR")
  ) {
    return true;
  }
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== null && typeof current === "object" && !seen.has(current)) {
    seen.add(current);
    const record = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof record.code === "string" && TRANSIENT_CODES.has(record.code)) return true;
    if (
      typeof record.message === "string" &&
      /fetch failed|socket hang up|ECONNREFUSED|ECONNRESET|other side closed|request timeout/i.test(
        record.message,
      )
    ) {
      return true;
    }
    current = record.cause;
  }
  return false;
}
