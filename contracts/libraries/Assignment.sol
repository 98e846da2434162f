// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Assignment
/// @notice Turns the standing bids of a job into replica groups (see {IJobMarket}, "Assignment:
/// lanes and replica groups"). Pure and memory-only, so it can be tested and fuzzed apart
/// from the market's storage. `plan` is external: the library is deployed once and linked,
/// which keeps the market under the 24 KiB contract size limit.
library Assignment {
    /// @notice A standing bid going in; the assignment fields are filled in by `plan`.
    struct Bid {
        uint8 bidIndex;
        uint96 price;
        uint32 capacity;
        uint32 allotted;
        uint40 segmentStart;
        uint16 firstGroup;
        uint16 groupCount;
    }

    /// @notice A replica group: a task range and, in byte r of `members`, the bid index of
    /// lane r's provider.
    struct Group {
        uint32 taskStart;
        uint32 taskCount;
        uint64 members;
    }

    /// @notice The outcome: whether the bids cover every task-replica and, if so, the bids
    /// with their assignment fields filled in and the groups.
    struct Plan {
        bool filled;
        Bid[] bids;
        Group[] groups;
    }

    /// @notice Chooses winners cheapest first, shuffles them with `seed`, lays their segments
    /// over `replication` lanes of `taskCount` tasks and cuts the lanes into groups.
    /// @param bids Standing bids in bid order (the tie-break order for equal prices); each
    /// capacity must be between 1 and `taskCount`. An external library call gets a copy, so
    /// the filled-in bids come back in the plan.
    /// @param taskCount Tasks in the job: the length of each lane.
    /// @param replication Number of lanes, k: replicas per task.
    /// @param seed Randomness for the shuffle (the market derives it from `block.prevrandao`
    /// and the job id).
    /// @return result `filled` false, and no groups, when the bids' capacities cannot cover
    /// `taskCount * replication` task-replicas; otherwise the bids with `allotted`,
    /// `segmentStart`, `firstGroup` and `groupCount` filled in (zero `allotted` for losers)
    /// and the groups in task order.
    function plan(Bid[] memory bids, uint32 taskCount, uint8 replication, uint256 seed)
        external
        pure
        returns (Plan memory result)
    {
        result.bids = bids;
        uint256[] memory winners = _selectCheapest(bids, uint256(taskCount) * replication);
        if (winners.length == 0) return result;
        result.filled = true;
        _shuffle(winners, seed);
        uint256[] memory bounds = _layOut(bids, winners, taskCount);
        result.groups = _formGroups(bids, winners, bounds, taskCount, replication);
    }

    /// @dev Allots capacity cheapest first; returns the winners, or nothing if the bids
    /// cannot cover `needed` task-replicas.
    function _selectCheapest(Bid[] memory bids, uint256 needed)
        private
        pure
        returns (uint256[] memory winners)
    {
        uint256 n = bids.length;
        uint256[] memory order = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            order[i] = i;
            // Stable insertion sort by price: equal prices keep bid order.
            for (uint256 j = i; j > 0 && bids[order[j - 1]].price > bids[order[j]].price; --j) {
                (order[j - 1], order[j]) = (order[j], order[j - 1]);
            }
        }
        uint256 count;
        for (; count < n && needed != 0; ++count) {
            Bid memory bid = bids[order[count]];
            uint256 take = bid.capacity < needed ? bid.capacity : needed;
            bid.allotted = uint32(take);
            needed -= take;
        }
        if (needed != 0) return new uint256[](0);
        winners = order;
        // Keep the first `count` entries: the winners.
        // Shrinking in place avoids copying into a second array.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(winners, count)
        }
    }

    /// @dev Fisher-Yates shuffle driven by `seed`.
    function _shuffle(uint256[] memory items, uint256 seed) private pure {
        for (uint256 i = items.length; i > 1; --i) {
            uint256 j = uint256(keccak256(abi.encode(seed, i))) % i;
            (items[i - 1], items[j]) = (items[j], items[i - 1]);
        }
    }

    /// @dev Lays segments end to end; returns the sorted distinct task indices where a segment
    /// starts in some lane: the group boundaries (the first is always 0).
    function _layOut(Bid[] memory bids, uint256[] memory winners, uint32 taskCount)
        private
        pure
        returns (uint256[] memory bounds)
    {
        uint256 w = winners.length;
        bounds = new uint256[](w);
        uint256 offset;
        uint256 distinct;
        for (uint256 i = 0; i < w; ++i) {
            Bid memory bid = bids[winners[i]];
            bid.segmentStart = uint40(offset);
            uint256 cut = offset % taskCount;
            offset += bid.allotted;
            // Insert `cut` into the sorted distinct prefix bounds[0 .. distinct).
            uint256 at = distinct;
            while (at > 0 && bounds[at - 1] > cut) --at;
            if (at > 0 && bounds[at - 1] == cut) continue;
            for (uint256 j = distinct; j > at; --j) {
                bounds[j] = bounds[j - 1];
            }
            bounds[at] = cut;
            ++distinct;
        }
        // Shrinking in place avoids copying into a second array.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(bounds, distinct)
        }
    }

    /// @dev Walks lanes and groups in global-offset order alongside the segments, which are in
    /// the same order, to find each group's member per lane.
    function _formGroups(
        Bid[] memory bids,
        uint256[] memory winners,
        uint256[] memory bounds,
        uint32 taskCount,
        uint8 replication
    ) private pure returns (Group[] memory groups) {
        uint256 groupCount = bounds.length;
        groups = new Group[](groupCount);
        for (uint256 g = 0; g < groupCount; ++g) {
            uint256 end = g + 1 < groupCount ? bounds[g + 1] : taskCount;
            groups[g].taskStart = uint32(bounds[g]);
            groups[g].taskCount = uint32(end - bounds[g]);
        }
        uint256 segment;
        for (uint256 lane = 0; lane < replication; ++lane) {
            for (uint256 g = 0; g < groupCount; ++g) {
                uint256 position = lane * taskCount + bounds[g];
                Bid memory bid = bids[winners[segment]];
                while (bid.segmentStart + bid.allotted <= position) {
                    bid = bids[winners[++segment]];
                }
                groups[g].members |= uint64(bid.bidIndex) << uint64(8 * lane);
                if (bid.groupCount == 0) bid.firstGroup = uint16(g);
                ++bid.groupCount;
            }
        }
    }
}
