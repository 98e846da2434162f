// Sending the requester's transactions: bounded waits, and reverts turned into RequesterErrors
// that name the custom error and say what to do about it.
import type { ContractTransactionResponse, TransactionReceipt } from "ethers";
import { formatUnits } from "ethers";
import { type DecodedRevert, decodeRevert } from "../sdk/chain/index.ts";
import type { RequesterContext } from "./context.ts";
import { RequesterError } from "./errors.ts";

/** How long a transaction may take to be mined before we give up waiting. */
export const TX_TIMEOUT_MS = 120_000;

/** Sends a transaction and waits for its receipt; a revert becomes a RequesterError. */
export async function send(
  ctx: RequesterContext,
  what: string,
  sendTx: () => Promise<ContractTransactionResponse>,
): Promise<TransactionReceipt> {
  try {
    const tx = await sendTx();
    ctx.log.debug("transaction sent", { what, hash: tx.hash });
    const receipt = await tx.wait(1, TX_TIMEOUT_MS);
    if (receipt === null) throw new Error(`${what}: no receipt for ${tx.hash}`);
    return receipt;
  } catch (error) {
    throw explainRevert(what, error);
  }
}

/** Turns a thrown revert into a RequesterError naming the fix; other errors pass through. */
export function explainRevert(what: string, error: unknown): unknown {
  if (error instanceof RequesterError) return error;
  const decoded = decodeRevert(error);
  if (decoded === undefined || decoded.name === "unknown") return error;
  return revertToError(what, decoded, error);
}

function cnn(wei: unknown): string {
  return `${formatUnits(BigInt(wei as bigint), 18)} CONUN`;
}

function revertToError(what: string, revert: DecodedRevert, cause: unknown): RequesterError {
  const a = revert.args;
  const details = { revert: revert.name, args: a.map(String) };
  const fail = (code: ConstructorParameters<typeof RequesterError>[0], message: string) =>
    new RequesterError(code, `${what} failed: ${message} [${revert.name}]`, { cause, details });
  switch (revert.name) {
    case "JobMarketUnknownJob":
      return fail("unknown-job", `job ${a[0]} does not exist on this chain; check the id`);
    case "JobMarketNotRequester":
      return fail(
        "not-requester",
        `job ${a[0]} belongs to another account; sign with the account that posted it`,
      );
    case "JobMarketDeadlinePassed":
      return fail(
        "deadline-passed",
        `job ${a[0]}'s deadline (${new Date(Number(a[1]) * 1000).toISOString()}) has passed`,
      );
    case "JobMarketWrongStatus":
      return fail("wrong-status", `job ${a[0]} is not in the state this action needs`);
    case "JobMarketNothingToWithdraw":
      return fail("nothing-to-withdraw", `${a[0]} has no claimable balance`);
    case "ERC20InsufficientBalance":
      return fail(
        "insufficient-tokens",
        `${a[0]} holds ${cnn(a[1])} but ${cnn(a[2])} is needed; get more CONUN ` +
          "(on a local chain: npx hardhat conun:faucet --network localhost --to <address> --amount <CONUN>)",
      );
    case "ERC20InsufficientAllowance":
      return fail(
        "insufficient-allowance",
        `the market may spend ${cnn(a[1])} of your CONUN but needs ${cnn(a[2])}; ` +
          "post with --approval permit or --approval approve",
      );
    default:
      return fail("transaction-reverted", `the contract refused it (${a.map(String).join(", ")})`);
  }
}
