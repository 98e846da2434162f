// Sending the requester's transactions: bounded waits, and reverts turned into RequesterErrors
// that name the custom error and say what to do about it (the table is sdk/chain/reverts.ts).
import type { ContractTransactionResponse, TransactionReceipt } from "ethers";
import { type DecodedRevert, decodeRevert } from "../sdk/chain/index.ts";
import { requesterRevert } from "../sdk/chain/reverts.ts";
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

function revertToError(what: string, revert: DecodedRevert, cause: unknown): RequesterError {
  const { code, message } = requesterRevert(what, revert);
  const details = { revert: revert.name, args: revert.args.map(String) };
  return new RequesterError(code, message, { cause, details });
}
