import { expect } from "chai";
import type { BaseContract } from "ethers";

/** Asserts that `call` was refused because `caller` is not `contract`'s owner (OpenZeppelin's Ownable). */
export async function expectNotOwner(
  call: Promise<unknown>,
  contract: BaseContract,
  caller: { address: string },
): Promise<void> {
  await expect(call)
    .to.be.revertedWithCustomError(contract, "OwnableUnauthorizedAccount")
    .withArgs(caller.address);
}
