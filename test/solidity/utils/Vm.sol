// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Vm
/// @notice The few cheatcodes our Solidity tests use, declared as Foundry's `Vm` declares them.
/// forge-std cannot be installed from npm, and Hardhat's test runner (EDR) answers the same
/// cheatcodes at the same address, so this local subset is all the tests need.
interface Vm {
    /// @notice Sets `block.timestamp`.
    function warp(uint256 newTimestamp) external;
    /// @notice Sets `block.prevrandao`.
    function prevrandao(bytes32 newPrevrandao) external;
    /// @notice Makes the next call come from `msgSender`.
    function prank(address msgSender) external;
    /// @notice Expects the next call to revert with exactly `revertData`.
    function expectRevert(bytes calldata revertData) external;
    /// @notice Names an address in traces.
    function label(address account, string calldata newLabel) external;

    function assertTrue(bool condition, string calldata error) external pure;
    function assertEq(uint256 left, uint256 right, string calldata error) external pure;
    function assertEq(address left, address right, string calldata error) external pure;
    function assertEq(bytes32 left, bytes32 right, string calldata error) external pure;
    function assertLe(uint256 left, uint256 right, string calldata error) external pure;
    function assertGe(uint256 left, uint256 right, string calldata error) external pure;
    function assertGt(uint256 left, uint256 right, string calldata error) external pure;
    function assertLt(uint256 left, uint256 right, string calldata error) external pure;
    function toString(uint256 value) external pure returns (string memory);
}

/// @dev The cheatcode address: `address(uint160(uint256(keccak256("hevm cheat code"))))`.
Vm constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
