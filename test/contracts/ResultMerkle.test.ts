import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { at, contractsNetwork } from "./support/index.ts";

const { ethers, networkHelpers } = await contractsNetwork();

/** The per-task output hashes of a 7-task group starting at task 40. */
function groupOutputs(): [bigint, string][] {
  return Array.from({ length: 7 }, (_, i) => {
    const taskIndex = 40n + BigInt(i);
    return [taskIndex, ethers.keccak256(ethers.toUtf8Bytes(`output of task ${taskIndex}`))];
  });
}

async function harnessFixture() {
  const harness = await ethers.deployContract("ResultMerkleHarness");
  const tree = StandardMerkleTree.of(groupOutputs(), ["uint256", "bytes32"]);
  return { harness, tree };
}

describe("ResultMerkle", () => {
  it("hashes a leaf exactly as OpenZeppelin's standard Merkle tree does", async () => {
    const { harness, tree } = await networkHelpers.loadFixture(harnessFixture);
    for (const [, [taskIndex, outputHash]] of tree.entries()) {
      expect(await harness.leaf(taskIndex, outputHash)).to.equal(
        tree.leafHash([taskIndex, outputHash]),
      );
    }
  });

  it("proves every task's output against the group's root", async () => {
    const { harness, tree } = await networkHelpers.loadFixture(harnessFixture);
    for (const [i, [taskIndex, outputHash]] of tree.entries()) {
      expect(await harness.verifyTask(tree.getProof(i), tree.root, taskIndex, outputHash)).to.equal(
        true,
      );
    }
  });

  it("rejects another output, another task index or another root", async () => {
    const { harness, tree } = await networkHelpers.loadFixture(harnessFixture);
    const [taskIndex, outputHash] = at([...tree.entries()], 2)[1];
    const proof = tree.getProof(2);
    const forged = ethers.keccak256(ethers.toUtf8Bytes("a made-up output"));
    expect(await harness.verifyTask(proof, tree.root, taskIndex, forged)).to.equal(false);
    expect(await harness.verifyTask(proof, tree.root, taskIndex + 1n, outputHash)).to.equal(false);
    const otherRoot = StandardMerkleTree.of(groupOutputs().slice(1), ["uint256", "bytes32"]).root;
    expect(await harness.verifyTask(proof, otherRoot, taskIndex, outputHash)).to.equal(false);
  });
});
