// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Assignment} from "../../contracts/libraries/Assignment.sol";
import {AssignmentHarness} from "./harness/AssignmentHarness.sol";
import {bound} from "./utils/Bound.sol";
import {vm} from "./utils/Vm.sol";

/// @notice Fuzz tests of `Assignment.plan`: for any set of bids, a filled plan covers every
/// task-replica exactly once with replica groups of distinct providers, gives each winner the
/// tasks it was allotted, and picks the cheapest bids; a plan is filled exactly when the bids'
/// capacity covers `taskCount * replication`.
contract AssignmentPlanTest {
    uint256 private constant _MAX_BIDS = 64;
    uint256 private constant _MAX_BID_INDEX = 63;

    AssignmentHarness private _harness;

    function setUp() public {
        _harness = new AssignmentHarness();
    }

    /// hardhat-config: fuzz.runs = 256
    function testFuzz_planCoversEveryTaskReplicaWithTheCheapestBids(
        uint256 entropy,
        uint256 bidCount,
        uint256 taskCount,
        uint256 replication,
        uint256 seed
    ) public view {
        uint32 tasks = uint32(bound(taskCount, 1, 2000));
        uint8 k = uint8(bound(replication, 1, 8));
        Assignment.Bid[] memory bids = _randomBids(entropy, bound(bidCount, 1, _MAX_BIDS), tasks);
        _checkPlan(bids, tasks, k, seed);
    }

    /// @dev Tiny jobs make segment boundaries coincide across lanes and leave single-task
    /// groups: the corner cases of laying segments out and cutting groups.
    /// hardhat-config: fuzz.runs = 256
    function testFuzz_planHandlesTinyJobs(
        uint256 entropy,
        uint256 bidCount,
        uint256 taskCount,
        uint256 replication,
        uint256 seed
    ) public view {
        uint32 tasks = uint32(bound(taskCount, 1, 8));
        uint8 k = uint8(bound(replication, 1, 8));
        Assignment.Bid[] memory bids = _randomBids(entropy, bound(bidCount, 1, 24), tasks);
        _checkPlan(bids, tasks, k, seed);
    }

    /// @dev Total capacity within a few task-replicas of `taskCount * replication`, on either
    /// side: where "filled" flips.
    /// hardhat-config: fuzz.runs = 256
    function testFuzz_planIsFilledExactlyWhenCapacitySuffices(
        uint256 entropy,
        uint256 taskCount,
        uint256 replication,
        uint256 slack,
        uint256 seed
    ) public view {
        uint32 tasks = uint32(bound(taskCount, 1, 300));
        uint8 k = uint8(bound(replication, 1, 8));
        uint256 needed = uint256(tasks) * k;
        // Aim at needed - 2 .. needed + 2 task-replicas of capacity in total.
        uint256 target = needed + bound(slack, 0, 4);
        target = target < 2 ? 1 : target - 2;
        uint256 minBids = (target + tasks - 1) / tasks; // enough bids to hold `target`
        if (minBids > _MAX_BIDS) minBids = _MAX_BIDS;
        uint256 maxBids = target < _MAX_BIDS ? target : _MAX_BIDS; // every bid holds at least 1
        if (maxBids < minBids) maxBids = minBids;
        uint256 count = bound(uint256(keccak256(abi.encode(entropy, "count"))), minBids, maxBids);
        Assignment.Bid[] memory bids = _randomBids(entropy, count, tasks);
        _spreadCapacity(bids, target, tasks);
        _checkPlan(bids, tasks, k, seed);
    }

    /// @dev A concrete case worth reading: 10 tasks on two lanes, four bids; the third
    /// cheapest gets only what the two cheapest leave, the dearest nothing.
    function test_planSplitsOnlyTheDearestWinner() public view {
        Assignment.Bid[] memory bids = new Assignment.Bid[](4);
        bids[0] = _bid(0, 30, 10);
        bids[1] = _bid(2, 10, 8);
        bids[2] = _bid(5, 20, 10);
        bids[3] = _bid(7, 40, 10);
        Assignment.Plan memory p = _checkPlan(bids, 10, 2, 1234);
        vm.assertTrue(p.filled, "filled");
        vm.assertEq(p.bids[1].allotted, 8, "the cheapest takes all it offered");
        vm.assertEq(p.bids[2].allotted, 10, "the second cheapest takes all it offered");
        vm.assertEq(p.bids[0].allotted, 2, "the third takes what is left");
        vm.assertEq(p.bids[3].allotted, 0, "the dearest takes nothing");
    }

    // ------------------------------------------------------------------ properties

    function _checkPlan(Assignment.Bid[] memory bids, uint32 taskCount, uint8 k, uint256 seed)
        private
        view
        returns (Assignment.Plan memory p)
    {
        p = _harness.plan(bids, taskCount, k, seed);
        uint256 n = bids.length;
        vm.assertEq(p.bids.length, n, "every bid comes back");
        uint256 totalCapacity;
        for (uint256 i = 0; i < n; ++i) {
            vm.assertEq(p.bids[i].bidIndex, bids[i].bidIndex, "bid order is kept");
            vm.assertEq(p.bids[i].price, bids[i].price, "prices are kept");
            vm.assertEq(p.bids[i].capacity, bids[i].capacity, "capacities are kept");
            totalCapacity += bids[i].capacity;
        }
        uint256 needed = uint256(taskCount) * k;

        // (e) filled iff the bids can cover every task-replica.
        vm.assertTrue(p.filled == (totalCapacity >= needed), "(e) filled iff capacity >= tasks * k");
        if (!p.filled) {
            vm.assertEq(p.groups.length, 0, "an unfilled plan has no groups");
            return p;
        }

        _checkGroupsTileTheTasks(p.groups, taskCount);
        uint256[] memory positionOf = _positionsByBidIndex(p.bids);
        _checkMembersAndAllotments(p, positionOf, taskCount, k);
        _checkMembershipsAsTheMarketDerivesThem(p, taskCount, k);
        _checkSegmentsTileTheLanes(p.bids, needed);
        _checkWinnersAreTheCheapest(p.bids);
    }

    /// @dev (a) Groups are contiguous, non-empty, start at 0 and end at taskCount.
    function _checkGroupsTileTheTasks(Assignment.Group[] memory groups, uint32 taskCount)
        private
        pure
    {
        vm.assertGt(groups.length, 0, "(a) a filled plan has groups");
        uint256 next;
        for (uint256 g = 0; g < groups.length; ++g) {
            vm.assertEq(groups[g].taskStart, next, "(a) groups are contiguous from task 0");
            vm.assertGt(groups[g].taskCount, 0, "(a) groups are not empty");
            next += groups[g].taskCount;
        }
        vm.assertEq(next, taskCount, "(a) groups end at taskCount");
    }

    /// @dev (b) k distinct members per group, nothing beyond lane k-1; (c) each bid's allotment
    /// is the tasks of the groups it appears in, and the allotments add up to tasks * k.
    function _checkMembersAndAllotments(
        Assignment.Plan memory p,
        uint256[] memory positionOf,
        uint32 taskCount,
        uint8 k
    ) private pure {
        uint256 n = p.bids.length;
        uint256[] memory tasksHeld = new uint256[](n);
        uint256[] memory appearances = new uint256[](n);
        for (uint256 g = 0; g < p.groups.length; ++g) {
            uint256 members = p.groups[g].members;
            vm.assertEq(members >> (8 * uint256(k)), 0, "(b) no member beyond the last lane");
            for (uint256 lane = 0; lane < k; ++lane) {
                uint8 member = uint8(members >> (8 * lane));
                vm.assertTrue(positionOf[member] != 0, "(b) members are bids");
                for (uint256 other = 0; other < lane; ++other) {
                    vm.assertTrue(
                        member != uint8(members >> (8 * other)),
                        "(b) no provider holds two replicas of a task"
                    );
                }
                uint256 position = positionOf[member] - 1;
                tasksHeld[position] += p.groups[g].taskCount;
                ++appearances[position];
            }
        }
        uint256 totalAllotted;
        for (uint256 i = 0; i < n; ++i) {
            Assignment.Bid memory bid = p.bids[i];
            vm.assertEq(bid.allotted, tasksHeld[i], "(c) allotted = tasks of the bid's groups");
            vm.assertEq(bid.groupCount, appearances[i], "(c) groupCount = groups it is in");
            vm.assertLe(bid.allotted, bid.capacity, "(c) never more than offered");
            totalAllotted += bid.allotted;
        }
        vm.assertEq(totalAllotted, uint256(taskCount) * k, "(c) allotments add up to tasks * k");
    }

    /// @dev JobMarket never stores memberships: it derives the j-th as group
    /// `(firstGroup + j) % groupCount`, in lane `segmentStart / taskCount`, plus one when that
    /// group starts before the segment (the segment wrapped into the next lane). Check that
    /// this derivation lands on the bid in every membership.
    function _checkMembershipsAsTheMarketDerivesThem(
        Assignment.Plan memory p,
        uint32 taskCount,
        uint8 k
    ) private pure {
        uint256 groupCount = p.groups.length;
        for (uint256 i = 0; i < p.bids.length; ++i) {
            Assignment.Bid memory bid = p.bids[i];
            if (bid.allotted == 0) {
                vm.assertEq(bid.groupCount, 0, "losers are in no group");
                continue;
            }
            for (uint256 j = 0; j < bid.groupCount; ++j) {
                uint256 g = (uint256(bid.firstGroup) + j) % groupCount;
                uint256 lane = bid.segmentStart / taskCount;
                if (p.groups[g].taskStart < bid.segmentStart % taskCount) ++lane;
                vm.assertLt(lane, k, "derived lane exists");
                vm.assertEq(
                    uint8(p.groups[g].members >> (8 * lane)),
                    bid.bidIndex,
                    "derived membership holds the bid"
                );
            }
        }
    }

    /// @dev Winners' segments are disjoint, at most one lane long and inside the k lanes.
    function _checkSegmentsTileTheLanes(Assignment.Bid[] memory bids, uint256 needed)
        private
        pure
    {
        for (uint256 i = 0; i < bids.length; ++i) {
            if (bids[i].allotted == 0) continue;
            uint256 start = bids[i].segmentStart;
            uint256 end = start + bids[i].allotted;
            vm.assertLe(end, needed, "segment inside the lanes");
            for (uint256 j = 0; j < i; ++j) {
                if (bids[j].allotted == 0) continue;
                uint256 otherStart = bids[j].segmentStart;
                uint256 otherEnd = otherStart + bids[j].allotted;
                vm.assertTrue(end <= otherStart || otherEnd <= start, "segments do not overlap");
            }
        }
    }

    /// @dev (d) Losers cost at least as much as every winner (and on equal price bid later);
    /// only the most expensive winner, the last one taken, may get less than it offered.
    function _checkWinnersAreTheCheapest(Assignment.Bid[] memory bids) private pure {
        uint256 n = bids.length;
        uint256 maxWinnerPrice;
        uint256 partials;
        uint256 partialAt;
        for (uint256 i = 0; i < n; ++i) {
            Assignment.Bid memory bid = bids[i];
            if (bid.allotted == 0) continue;
            if (bid.price > maxWinnerPrice) maxWinnerPrice = bid.price;
            if (bid.allotted < bid.capacity) {
                ++partials;
                partialAt = i;
            }
        }
        uint256 lastWinnerAtMax; // in bid order, among the winners at the top price
        for (uint256 i = 0; i < n; ++i) {
            if (bids[i].allotted != 0 && bids[i].price == maxWinnerPrice) lastWinnerAtMax = i;
        }
        vm.assertLe(partials, 1, "(d) at most one winner is partially allotted");
        if (partials == 1) {
            vm.assertEq(bids[partialAt].price, maxWinnerPrice, "(d) the partial winner is the dearest");
            vm.assertEq(partialAt, lastWinnerAtMax, "(d) the partial winner was taken last");
        }
        for (uint256 i = 0; i < n; ++i) {
            Assignment.Bid memory bid = bids[i];
            if (bid.allotted != 0) continue;
            vm.assertGe(bid.price, maxWinnerPrice, "(d) no loser is cheaper than a winner");
            if (bid.price == maxWinnerPrice) {
                vm.assertGt(i, lastWinnerAtMax, "(d) on equal price the earlier bid wins");
            }
        }
    }

    // ------------------------------------------------------------------ inputs

    /// @dev `count` bids with strictly increasing bid indices in [0, 63], and prices and
    /// capacities drawn in one of several shapes. The market passes indices 0..n-1; gaps
    /// check that the library relies only on their order and echoes them into the groups.
    function _randomBids(uint256 entropy, uint256 count, uint32 taskCount)
        private
        pure
        returns (Assignment.Bid[] memory bids)
    {
        bids = new Assignment.Bid[](count);
        uint256 priceShape = uint256(keccak256(abi.encode(entropy, "prices"))) % 3;
        uint256 capacityShape = uint256(keccak256(abi.encode(entropy, "capacities"))) % 4;
        uint256 spareIndices = _MAX_BID_INDEX + 1 - count;
        uint256 index;
        for (uint256 i = 0; i < count; ++i) {
            uint256 r = uint256(keccak256(abi.encode(entropy, i)));
            uint256 gap = bound(r, 0, spareIndices) * ((r >> 200) % 4 == 0 ? 1 : 0);
            spareIndices -= gap;
            index += gap;
            uint256 price;
            if (priceShape == 0) price = bound(r >> 16, 1, 3); // many ties
            else if (priceShape == 1) price = bound(r >> 16, 1, 1000);
            else price = bound(r >> 16, 1, type(uint96).max);
            uint256 capacity;
            if (capacityShape == 0) capacity = bound(r >> 128, 1, taskCount);
            else if (capacityShape == 1) capacity = taskCount;
            else if (capacityShape == 2) capacity = bound(r >> 128, 1, taskCount / 8 + 1);
            else capacity = (r >> 128) % 2 == 0 ? taskCount : bound(r >> 129, 1, taskCount);
            if (capacity > taskCount) capacity = taskCount;
            bids[i] = _bid(uint8(index), uint96(price), uint32(capacity));
            ++index;
        }
    }

    /// @dev Sets capacities (each 1..taskCount) adding up to `target`, or as close as the
    /// number of bids allows.
    function _spreadCapacity(Assignment.Bid[] memory bids, uint256 target, uint32 taskCount)
        private
        pure
    {
        uint256 n = bids.length;
        uint256 remaining = target > n ? target - n : 0;
        for (uint256 i = 0; i < n; ++i) bids[i].capacity = 1;
        // Random share first, then fill up in order so that the total lands on the target.
        for (uint256 i = 0; i < n && remaining != 0; ++i) {
            uint256 room = taskCount - 1;
            uint256 add = bound(uint256(keccak256(abi.encode(bids[i].price, i))), 0, room);
            if (add > remaining) add = remaining;
            bids[i].capacity += uint32(add);
            remaining -= add;
        }
        for (uint256 i = 0; i < n && remaining != 0; ++i) {
            uint256 room = taskCount - bids[i].capacity;
            uint256 add = room < remaining ? room : remaining;
            bids[i].capacity += uint32(add);
            remaining -= add;
        }
    }

    /// @dev 1 + the bid's position, by bid index (0 when no bid has that index).
    function _positionsByBidIndex(Assignment.Bid[] memory bids)
        private
        pure
        returns (uint256[] memory positionOf)
    {
        positionOf = new uint256[](256);
        for (uint256 i = 0; i < bids.length; ++i) positionOf[bids[i].bidIndex] = i + 1;
    }

    function _bid(uint8 bidIndex, uint96 price, uint32 capacity)
        private
        pure
        returns (Assignment.Bid memory)
    {
        return Assignment.Bid({
            bidIndex: bidIndex,
            price: price,
            capacity: capacity,
            allotted: 0,
            segmentStart: 0,
            firstGroup: 0,
            groupCount: 0
        });
    }
}
