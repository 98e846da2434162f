// The price auction both assignment models share: winners chosen cheapest first.

/** A standing bid, in bid order (its index is the bid index, the tie-break on equal prices). */
export interface Bid {
  /** Price per task-replica, in token wei (only the order matters here). */
  price: bigint;
  /** Units offered: task-replicas in v1; converted to group slots by the v2 model. */
  capacity: number;
}

/** What the auction gives each bid; `winners` are bid indices, cheapest first. */
export interface Allotment {
  /** Units won per bid index (zero for a losing bid). */
  allotted: number[];
  /** The winning bid indices in price order (stable: equal prices keep bid order). */
  winners: number[];
}

/**
 * `Assignment._selectCheapest`: allots `capacities[i]` units to bids cheapest first (a stable
 * sort, so an earlier bid wins a tie) until `needed` units are covered; the last winner may
 * get less than it offered. A bid offering nothing is passed over. Undefined when the bids
 * cannot cover `needed`.
 */
export function allotCheapest(
  prices: readonly bigint[],
  capacities: readonly number[],
  needed: number,
): Allotment | undefined {
  const order = prices.map((_, i) => i);
  // Array.prototype.sort is stable, as the contract's insertion sort is.
  order.sort((a, b) => {
    const pa = prices[a] as bigint;
    const pb = prices[b] as bigint;
    return pa < pb ? -1 : pa > pb ? 1 : 0;
  });
  const allotted = prices.map(() => 0);
  const winners: number[] = [];
  let left = needed;
  for (const index of order) {
    if (left === 0) break;
    // Never true on chain (a bid's capacity is at least 1); a v2 bid too small for one group.
    if (capacities[index] === 0) continue;
    const take = Math.min(capacities[index] as number, left);
    allotted[index] = take;
    winners.push(index);
    left -= take;
  }
  return left === 0 ? { allotted, winners } : undefined;
}
