import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { ResultsError } from "./errors.ts";

/** One task's entry in a replica group's result tree. */
export interface ResultEntry {
  /** The task's index in the job (`TASK_INDEX`). */
  index: number | bigint;
  /** The task's canonical output hash, `0x` + 64 hex. */
  outputHash: string;
}

/** The leaf encoding of contracts/libraries/ResultMerkle.sol. */
export const RESULT_LEAF_ENCODING = ["uint256", "bytes32"];

type Leaf = [bigint, string];

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

function toLeaves(entries: readonly ResultEntry[]): Leaf[] {
  if (entries.length === 0) {
    throw new ResultsError("results-empty", "a result tree needs at least one task");
  }
  const seen = new Set<bigint>();
  return entries.map(({ index, outputHash }) => {
    const taskIndex = BigInt(index);
    if (taskIndex < 0n) {
      throw new ResultsError("results-invalid", `negative task index ${taskIndex}`);
    }
    if (seen.has(taskIndex)) {
      throw new ResultsError("results-invalid", `task ${taskIndex} appears twice`, {
        details: { taskIndex },
      });
    }
    if (!BYTES32.test(outputHash)) {
      throw new ResultsError("results-invalid", `task ${taskIndex} has a malformed output hash`, {
        details: { taskIndex, outputHash },
      });
    }
    seen.add(taskIndex);
    return [taskIndex, outputHash.toLowerCase()];
  });
}

/**
 * The result tree of a replica group: OpenZeppelin's standard Merkle tree over the leaves
 * `(taskIndex, outputHash)`, exactly what ResultMerkle.sol verifies. The library sorts leaves,
 * so the root does not depend on the order in which tasks finished.
 */
export function resultTree(entries: readonly ResultEntry[]): StandardMerkleTree<Leaf> {
  return StandardMerkleTree.of(toLeaves(entries), RESULT_LEAF_ENCODING);
}

/** The result root a provider commits to and reveals (`0x` + 64 hex). */
export function resultRoot(entries: readonly ResultEntry[]): string {
  return resultTree(entries).root;
}

/** The proof of one task's leaf, as ResultMerkle.verifyTask expects it. */
export function proofFor(
  treeOrEntries: StandardMerkleTree<Leaf> | readonly ResultEntry[],
  taskIndex: number | bigint,
): string[] {
  const tree = Array.isArray(treeOrEntries)
    ? resultTree(treeOrEntries as readonly ResultEntry[])
    : (treeOrEntries as StandardMerkleTree<Leaf>);
  const wanted = BigInt(taskIndex);
  for (const [i, [index]] of tree.entries()) {
    if (index === wanted) return tree.getProof(i);
  }
  throw new ResultsError("results-invalid", `task ${wanted} is not in the result tree`, {
    details: { taskIndex: wanted },
  });
}

/** Whether `proof` shows that task `taskIndex` produced `outputHash` under `root`. */
export function verifyTaskProof(
  root: string,
  taskIndex: number | bigint,
  outputHash: string,
  proof: readonly string[],
): boolean {
  if (!BYTES32.test(root) || !BYTES32.test(outputHash)) return false;
  try {
    return StandardMerkleTree.verify(
      root,
      RESULT_LEAF_ENCODING,
      [BigInt(taskIndex), outputHash.toLowerCase()],
      [...proof],
    );
  } catch {
    return false;
  }
}
