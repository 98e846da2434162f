// Pricing as a strategy: a function the bidder calls with what a task costs and what the job
// pays at most, which answers with the price to bid or why not (golem-js's price filters are the
// model). The daemon builds one at start-up and the bidder never looks inside it, so another
// policy (a market-following one, a per-requester one) is another function, not new fields
// the bidder must learn to read.
import { formatUnits } from "ethers";
import {
  type PricingPolicy,
  quotePerTaskReplica,
  type TaskCost,
} from "../../../sdk/chain/pricing.ts";

export type PriceDecision = { bid: true; price: bigint } | { bid: false; reason: string };

/** Decides the bid price per task-replica for a task of `task`'s cost on a job paying `maxPrice`. */
export type PricingStrategy = (task: TaskCost, maxPrice: bigint) => PriceDecision;

/**
 * The published policy (sdk/chain/pricing.ts, the one formula the requester tools and the
 * dApp use too): bid the quote, and skip jobs whose max price is lower. The worker bids the
 * quote, not the job's max: the auction picks the cheapest bids, so asking more would only lose.
 */
export function floorPricing(policy: PricingPolicy): PricingStrategy {
  return (task, maxPrice) => {
    const price = quotePerTaskReplica(policy, task);
    if (price > maxPrice) {
      return {
        bid: false,
        reason: `the job pays at most ${formatUnits(maxPrice, 18)} CONUN per task-replica, the policy asks ${formatUnits(price, 18)} CONUN`,
      };
    }
    return { bid: true, price };
  };
}

/** Accepts any price (bids 0): for checks that must not depend on the price at all. */
export const anyPrice: PricingStrategy = () => ({ bid: true, price: 0n });
