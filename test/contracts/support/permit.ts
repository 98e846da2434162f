import type { Signer } from "ethers";
import { type Connection, type PermitSignature, signPermit } from "../../../devnet/protocol.ts";
import type { ConunToken } from "../../../types/ethers-contracts/index.js";

/** Signs `owner`'s permit for `value`; the deadline comes back with the signature. */
export type SignPermitTo = (
  owner: Signer,
  value: bigint,
  options?: { validFor?: bigint; claimedOwner?: string },
) => Promise<PermitSignature>;

/**
 * What the `permit` and `...WithPermit` tests sign with: permits of `token` that let `spender`
 * pull, valid for `validFor` seconds after the latest block (an hour unless told). `claimedOwner`
 * forges one, as in `signPermit`.
 */
export function permitsTo(
  connection: Connection,
  token: ConunToken,
  spender: string,
): SignPermitTo {
  return async (owner, value, { validFor = 3600n, claimedOwner } = {}) => {
    const deadline = BigInt(await connection.networkHelpers.time.latest()) + validFor;
    return signPermit(connection, token, owner, spender, value, deadline, claimedOwner);
  };
}
