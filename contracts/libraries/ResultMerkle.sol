// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title ResultMerkle
/// @notice The result-root format providers commit to: an OpenZeppelin standard Merkle tree
/// (`StandardMerkleTree.of(leaves, ["uint256", "bytes32"])` of the merkle-tree npm package)
/// whose leaves are `(taskIndex, outputHash)` for every task of one replica group, where
/// `outputHash` is the task's canonical output hash. The market only compares roots; this
/// library lets anyone — a requester, an auditor, another contract — prove a single task's
/// output against a revealed root.
library ResultMerkle {
    /// @notice The leaf of one task: double-hashed, as the standard tree does, so that a leaf
    /// can never be mistaken for an inner node.
    /// @param taskIndex The task's index in the job (`TASK_INDEX`).
    /// @param outputHash The task's canonical output hash.
    /// @return The leaf hash, as in the standard tree.
    function leaf(uint256 taskIndex, bytes32 outputHash) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(taskIndex, outputHash))));
    }

    /// @notice Whether `proof` shows that task `taskIndex` produced `outputHash` under `root`.
    /// @param proof Sibling hashes from the leaf up to the root, as the standard tree's
    /// `getProof` returns them.
    /// @param root A revealed result root.
    /// @param taskIndex The task's index in the job.
    /// @param outputHash The claimed output hash of the task.
    /// @return True when the leaf of `(taskIndex, outputHash)` is in the tree of `root`.
    function verifyTask(
        bytes32[] memory proof,
        bytes32 root,
        uint256 taskIndex,
        bytes32 outputHash
    ) internal pure returns (bool) {
        return MerkleProof.verify(proof, root, leaf(taskIndex, outputHash));
    }
}
