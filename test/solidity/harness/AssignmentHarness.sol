// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Assignment} from "../../../contracts/libraries/Assignment.sol";

/// @notice Calls the linked `Assignment` library the way `JobMarket.closeBidding` does: an
/// external library call with bids in memory. The test runner deploys the library and links it
/// into this contract's bytecode, as it would link the market's.
contract AssignmentHarness {
    function plan(Assignment.Bid[] memory bids, uint32 taskCount, uint8 replication, uint256 seed)
        external
        pure
        returns (Assignment.Plan memory)
    {
        return Assignment.plan(bids, taskCount, replication, seed);
    }
}
