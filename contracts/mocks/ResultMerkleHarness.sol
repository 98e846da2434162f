// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ResultMerkle} from "../libraries/ResultMerkle.sol";

/// @notice Test-only: exposes the internal ResultMerkle functions.
contract ResultMerkleHarness {
    function leaf(uint256 taskIndex, bytes32 outputHash) external pure returns (bytes32) {
        return ResultMerkle.leaf(taskIndex, outputHash);
    }

    function verifyTask(
        bytes32[] calldata proof,
        bytes32 root,
        uint256 taskIndex,
        bytes32 outputHash
    ) external pure returns (bool) {
        return ResultMerkle.verifyTask(proof, root, taskIndex, outputHash);
    }
}
