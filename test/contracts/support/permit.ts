import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import type { BaseContract, ContractTransactionResponse, Signer } from "ethers";
import { type Connection, type PermitSignature, signPermit } from "../../../devnet/protocol.ts";
import type { ConunToken } from "../../../types/ethers-contracts/index.js";

/** Signs `owner`'s permit for `value`; the deadline comes back with the signature. */
export type SignPermitTo = (
  owner: Signer,
  value: bigint,
  options?: { validFor?: bigint; claimedOwner?: string; submittedFirstBy?: Signer },
) => Promise<PermitSignature>;

/**
 * What the `permit` and `...WithPermit` tests sign with: permits of `token` that let `spender`
 * pull, valid for `validFor` seconds after the latest block (an hour unless told). `claimedOwner`
 * forges one, as in `signPermit`; `submittedFirstBy` has someone copy the permit from the mempool
 * and submit it before the owner does (its nonce spent, the allowance in place).
 */
export function permitsTo(
  connection: Connection,
  token: ConunToken,
  spender: string,
): SignPermitTo {
  return async (owner, value, { validFor = 3600n, claimedOwner, submittedFirstBy } = {}) => {
    const deadline = BigInt(await connection.networkHelpers.time.latest()) + validFor;
    const signature = await signPermit(
      connection,
      token,
      owner,
      spender,
      value,
      deadline,
      claimedOwner,
    );
    if (submittedFirstBy !== undefined) {
      const { v, r, s } = signature;
      const ownerAddress = claimedOwner ?? (await owner.getAddress());
      await token.connect(submittedFirstBy).permit(ownerAddress, spender, value, deadline, v, r, s);
    }
    return signature;
  };
}

/**
 * Asserts that `tx`, a `...WithPermit` call, pulled `value` of `owner`'s tokens into `spender`
 * through the permit: the balances moved, the permit's nonce is spent and its allowance used up.
 */
export async function expectPulledWithPermit(
  connection: Connection,
  tx: ContractTransactionResponse,
  token: ConunToken,
  owner: HardhatEthersSigner,
  spender: BaseContract,
  value: bigint,
): Promise<void> {
  const { ethers } = connection;
  await expect(tx).to.changeTokenBalances(ethers, token, [owner, spender], [-value, value]);
  expect(await token.nonces(owner.address)).to.equal(1n);
  expect(await token.allowance(owner.address, await spender.getAddress())).to.equal(0n);
}
