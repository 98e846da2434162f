// One JSON-RPC connection with bounded requests. The network is pinned (no auto-detection
// loop that would hang while a node is down), and the node's chain id is checked against the
// configured one before anything is signed for it.
import { FetchRequest, JsonRpcProvider, Network } from "ethers";
import { ChainError } from "./errors.ts";

export interface RpcOptions {
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** How often ethers polls for receipts (default 250 ms; local chains mine instantly). */
  pollingIntervalMs?: number;
}

export function connectRpc(
  url: string,
  chainId: number,
  options: RpcOptions = {},
): JsonRpcProvider {
  const request = new FetchRequest(url);
  request.timeout = options.timeoutMs ?? 10_000;
  const network = Network.from(chainId);
  const provider = new JsonRpcProvider(request, network, {
    staticNetwork: network,
    batchMaxCount: 1,
    pollingInterval: options.pollingIntervalMs ?? 250,
    // ethers caches identical requests for 250 ms; a worker that just sent a transaction must
    // see the chain as it is now (nonces, commitments), not a quarter of a second ago.
    cacheTimeout: -1,
  });
  return provider;
}

/** Throws ChainError `chain-id-mismatch` when the node serves another chain. */
export async function checkChainId(provider: JsonRpcProvider, expected: number): Promise<void> {
  const actual = Number(BigInt(await provider.send("eth_chainId", [])));
  if (actual !== expected) {
    throw new ChainError(
      "chain-id-mismatch",
      `chainId: the node at the configured rpcUrl serves chain ${actual}, not ${expected}`,
      { details: { expected, actual } },
    );
  }
}

/**
 * The chain id a JSON-RPC node answers with, in one bounded request (an ethers provider
 * without a pinned network would retry its detection forever while the node is down).
 * Throws an Error naming the URL when nothing answers in time or the answer is not one.
 */
export async function rpcChainId(url: string, timeoutMs = 10_000): Promise<number> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    signal: AbortSignal.timeout(timeoutMs),
  }).catch((cause: unknown) => {
    throw new Error(`no JSON-RPC node answers at ${url}`, { cause });
  });
  const body = (await response.json().catch(() => ({}))) as { result?: unknown };
  if (typeof body.result !== "string") throw new Error(`${url} did not answer eth_chainId`);
  return Number(BigInt(body.result));
}
