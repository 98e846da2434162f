/**
 * One sentence a person can act on for anything thrown while talking to the wallet, the
 * chain, the subgraph or the gateway. Reverts are decoded with the SDK's error interface
 * (every CONUN contract's custom errors), so the user sees e.g. `JobMarketDeadlinePassed`
 * rather than "execution reverted".
 */
import { formatUnits, isError } from "ethers";
import { decodeRevert, formatRevert } from "../../../sdk/chain/errors.ts";
import { describeError } from "../../../sdk/errors.ts";

const HINTS: Record<string, (args: unknown[]) => string> = {
  JobMarketDeadlinePassed: (a) => `the deadline of job ${a[0]} has passed`,
  JobMarketDeadlineNotReached: (a) => `job ${a[0]} has not reached its deadline yet`,
  JobMarketNotRequester: (a) => `job ${a[0]} belongs to another account`,
  JobMarketWrongStatus: (a) => `job ${a[0]} is not in the state this action needs`,
  JobMarketNothingToWithdraw: () => "there is nothing to withdraw",
  JobMarketNotFinalizable: (a) => `job ${a[0]} cannot be finalized yet`,
  ERC20InsufficientBalance: (a) =>
    `the account holds ${formatUnits(a[1] as bigint, 18)} CONUN but ${formatUnits(a[2] as bigint, 18)} are needed`,
  ERC20InsufficientAllowance: (a) =>
    `the market may spend ${formatUnits(a[1] as bigint, 18)} CONUN but needs ${formatUnits(a[2] as bigint, 18)}: approve first or use a permit`,
  EnforcedPause: () => "the market is paused: no new jobs or bids for now",
};

export function explainError(error: unknown): string {
  const code = (error as { code?: unknown; info?: { error?: { code?: unknown } } } | null) ?? {};
  if (isError(error, "ACTION_REJECTED") || code.code === 4001 || code.info?.error?.code === 4001) {
    return "You rejected the request in your wallet. Nothing was sent.";
  }
  const revert = decodeRevert(error);
  if (revert !== undefined && revert.name !== "unknown") {
    const hint = HINTS[revert.name]?.(revert.args);
    return `The contract refused the transaction: ${hint ? `${hint} ` : ""}[${formatRevert(revert)}]`;
  }
  if (isError(error, "CALL_EXCEPTION")) {
    return `The transaction reverted: ${error.shortMessage}`;
  }
  if (isError(error, "NETWORK_ERROR") || isError(error, "TIMEOUT")) {
    return `Cannot reach the network: ${error.shortMessage}`;
  }
  const short = (error as { shortMessage?: unknown } | null)?.shortMessage;
  if (typeof short === "string") return short;
  return describeError(error);
}
