// EIP-2612 permits for CONUN, so a requester funds a job's escrow in the same transaction that
// posts it (`postJobWithPermit`) and leaves no standing allowance behind. Used by the requester
// tools and the dApp alike; browser-safe (ethers only).
import { Signature, type Signer } from "ethers";
import type { ConunToken } from "../../types/ethers-contracts/ConunToken.ts";

export interface EscrowPermit {
  deadline: bigint;
  v: number;
  r: string;
  s: string;
}

/** EIP-2612's typed-data types (the token's domain is read from the contract). */
export const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/**
 * Signs a permit for `spender` to pull `value` CONUN from the signer, valid for `ttlSeconds`
 * after the latest block's timestamp (chain time, not the local clock, which may differ on
 * development chains). The token's own EIP-712 domain is used, read from the contract.
 */
export async function signPermit(
  signer: Signer,
  token: ConunToken,
  spender: string,
  value: bigint,
  ttlSeconds = 3600,
): Promise<EscrowPermit> {
  const owner = await signer.getAddress();
  const latest = await signer.provider?.getBlock("latest");
  const now = BigInt(latest?.timestamp ?? Math.floor(Date.now() / 1000));
  const deadline = now + BigInt(ttlSeconds);
  const domain = await token.eip712Domain();
  const signature = await signer.signTypedData(
    {
      name: domain.name,
      version: domain.version,
      chainId: domain.chainId,
      verifyingContract: domain.verifyingContract,
    },
    PERMIT_TYPES,
    { owner, spender, value, nonce: await token.nonces(owner), deadline },
  );
  const { v, r, s } = Signature.from(signature);
  return { deadline, v, r, s };
}
