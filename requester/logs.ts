// Event queries over long block ranges, split into pieces: public JSON-RPC endpoints cap how
// many blocks one eth_getLogs may span (commonly 1 000 to 10 000).
import type { Provider } from "ethers";

/** Blocks per eth_getLogs request. */
export const LOG_RANGE = 5_000;

/** Runs `query` over [fromBlock, head] in ranges of LOG_RANGE blocks and concatenates. */
export async function inRanges<T>(
  provider: Provider,
  fromBlock: number,
  query: (from: number, to: number) => Promise<T[]>,
): Promise<T[]> {
  const head = await provider.getBlockNumber();
  const found: T[] = [];
  for (let from = fromBlock; from <= head; from += LOG_RANGE) {
    found.push(...(await query(from, Math.min(head, from + LOG_RANGE - 1))));
  }
  return found;
}
