// The pricing policy as the bidder uses it: the quote (sdk/chain/pricing.ts, the one formula the
// requester tools and the dApp use too) against the job's max price. The worker bids this price (the auction picks the
// cheapest bids, so asking for the job's max would only lose) and skips jobs whose max price is lower.
import { formatUnits } from "ethers";
import {
  type PricingPolicy,
  quotePerTaskReplica,
  type TaskCost,
} from "../../../sdk/chain/pricing.ts";

export type PriceDecision = { bid: true; price: bigint } | { bid: false; reason: string };

/** The bid price for a job, or why the job pays too little. */
export function priceForJob(
  policy: PricingPolicy,
  task: TaskCost,
  maxPrice: bigint,
): PriceDecision {
  const price = quotePerTaskReplica(policy, task);
  if (price > maxPrice) {
    return {
      bid: false,
      reason: `the job pays at most ${formatUnits(maxPrice, 18)} CONUN per task-replica, the policy asks ${formatUnits(price, 18)} CONUN`,
    };
  }
  return { bid: true, price };
}
