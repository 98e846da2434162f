// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev Thrown by `bound` when the range is empty.
error BoundEmptyRange(uint256 min, uint256 max);

/// @dev Maps any fuzzed `x` onto `[min, max]`. Modulo rather than rejection (`vm.assume`), so
/// no input is wasted; the small bias does not matter for these tests.
function bound(uint256 x, uint256 min, uint256 max) pure returns (uint256) {
    if (min > max) revert BoundEmptyRange(min, max);
    uint256 span = max - min;
    if (span == type(uint256).max) return x;
    return min + x % (span + 1);
}
