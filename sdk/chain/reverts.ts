/**
 * What each contract revert means to the people who hit it, in one table: the requester CLI's
 * error code and message naming the fix (requester/tx.ts), and the dApp's short hint
 * (`explainError`). Pure (ethers only), so the browser imports it as the CLI does. A revert
 * missing from the table is still named, with its arguments (sdk/chain/errors.ts
 * `formatRevert`).
 */
import { formatUnits, isError } from "ethers";
import { describeError } from "../errors.ts";
import { type DecodedRevert, decodeRevert, formatRevert } from "./errors.ts";

/** The requester error code a known revert becomes. */
export type RevertCode =
  | "unknown-job"
  | "not-requester"
  | "deadline-passed"
  | "wrong-status"
  | "nothing-to-withdraw"
  | "insufficient-tokens"
  | "insufficient-allowance"
  | "transaction-reverted";

type Args = readonly unknown[];

interface RevertText {
  /** For the requester CLI: its error code and what happened, with the fix. */
  cli?: { code: RevertCode; message: (a: Args) => string };
  /** For the dApp: a short clause (`the market is paused: …`). */
  hint?: (a: Args) => string;
}

const tokens = (wei: unknown): string => formatUnits(BigInt(wei as bigint), 18);
const cnn = (wei: unknown): string => `${tokens(wei)} CONUN`;

const REVERTS: Record<string, RevertText> = {
  JobMarketUnknownJob: {
    cli: {
      code: "unknown-job",
      message: (a) => `job ${a[0]} does not exist on this chain; check the id`,
    },
  },
  JobMarketNotRequester: {
    cli: {
      code: "not-requester",
      message: (a) =>
        `job ${a[0]} belongs to another account; sign with the account that posted it`,
    },
    hint: (a) => `job ${a[0]} belongs to another account`,
  },
  JobMarketDeadlinePassed: {
    cli: {
      code: "deadline-passed",
      message: (a) =>
        `job ${a[0]}'s deadline (${new Date(Number(a[1]) * 1000).toISOString()}) has passed`,
    },
    hint: (a) => `the deadline of job ${a[0]} has passed`,
  },
  JobMarketDeadlineNotReached: {
    hint: (a) => `job ${a[0]} has not reached its deadline yet`,
  },
  JobMarketWrongStatus: {
    cli: {
      code: "wrong-status",
      message: (a) => `job ${a[0]} is not in the state this action needs`,
    },
    hint: (a) => `job ${a[0]} is not in the state this action needs`,
  },
  JobMarketNothingToWithdraw: {
    cli: { code: "nothing-to-withdraw", message: (a) => `${a[0]} has no claimable balance` },
    hint: () => "there is nothing to withdraw",
  },
  JobMarketStakeTooLow: {
    hint: (a) =>
      `the stake per task-replica (${cnn(a[0])}) must be at least the max price (${cnn(a[1])}), so a provider that never serves loses more than it could earn`,
  },
  JobMarketBookFull: {
    hint: (a) =>
      `job ${a[0]}'s bid book is full; a bid below ${cnn(a[1])}, its dearest, takes that bid's place`,
  },
  JobMarketInvalidCapacity: {
    hint: (a) => `job ${a[0]} takes bids of ${a[2]} to ${a[3]} task-replicas, not ${a[1]}`,
  },
  JobMarketNotFinalizable: {
    hint: (a) => `job ${a[0]} cannot be finalized yet`,
  },
  ERC20InsufficientBalance: {
    cli: {
      code: "insufficient-tokens",
      message: (a) =>
        `${a[0]} holds ${cnn(a[1])} but ${cnn(a[2])} is needed; get more CONUN ` +
        "(on a local chain: npx hardhat conun:faucet --network localhost --to <address> --amount <CONUN>)",
    },
    hint: (a) => `the account holds ${tokens(a[1])} CONUN but ${tokens(a[2])} are needed`,
  },
  ERC20InsufficientAllowance: {
    cli: {
      code: "insufficient-allowance",
      message: (a) =>
        `the market may spend ${cnn(a[1])} of your CONUN but needs ${cnn(a[2])}; ` +
        "post with --approval permit or --approval approve",
    },
    hint: (a) =>
      `the market may spend ${tokens(a[1])} CONUN but needs ${tokens(a[2])}: approve first or use a permit`,
  },
  EnforcedPause: {
    hint: () => "the market is paused: no new jobs or bids for now",
  },
};

/**
 * The requester's reading of a revert: its error code and the message, `<what> failed:
 * <what happened and the fix> [<revert name>]`; a revert not in the table is
 * `transaction-reverted` with its arguments.
 */
export function requesterRevert(
  what: string,
  revert: DecodedRevert,
): { code: RevertCode; message: string } {
  const cli = REVERTS[revert.name]?.cli;
  const { code, text } =
    cli !== undefined
      ? { code: cli.code, text: cli.message(revert.args) }
      : {
          code: "transaction-reverted" as const,
          text: `the contract refused it (${revert.args.map(String).join(", ")})`,
        };
  return { code, message: `${what} failed: ${text} [${revert.name}]` };
}

/**
 * One sentence a person can act on for anything thrown while talking to the wallet, the
 * chain, the subgraph or the gateway. Reverts are decoded with the SDK's error interface
 * (every CONUN contract's custom errors), so the user sees e.g. `JobMarketDeadlinePassed`
 * rather than "execution reverted".
 */
export function explainError(error: unknown): string {
  const code = (error as { code?: unknown; info?: { error?: { code?: unknown } } } | null) ?? {};
  if (isError(error, "ACTION_REJECTED") || code.code === 4001 || code.info?.error?.code === 4001) {
    return "You rejected the request in your wallet. Nothing was sent.";
  }
  const revert = decodeRevert(error);
  if (revert !== undefined && revert.name !== "unknown") {
    const hint = REVERTS[revert.name]?.hint?.(revert.args);
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
