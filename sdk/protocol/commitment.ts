// The commitment a provider publishes for one replica group before anything derived from the
// group's outputs leaves its machine: the contract's `commitmentFor` view, computed off chain.
// Pure, free of Node built-ins (the worker, the test helpers and the browser can all import it).
import { AbiCoder, keccak256 } from "ethers";

/**
 * `keccak256(abi.encode(jobId, groupId, provider, resultRoot, salt))`, the value
 * `JobMarket.commit` stores and `reveal` checks (IJobMarket.commitmentFor).
 */
export function commitmentFor(
  jobId: bigint,
  groupId: number,
  provider: string,
  root: string,
  salt: string,
): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["uint256", "uint16", "address", "bytes32", "bytes32"],
      [jobId, groupId, provider, root, salt],
    ),
  );
}
