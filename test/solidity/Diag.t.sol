// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
import "hardhat/console.sol";
import {JobMarketInvariantTest} from "./JobMarket.invariant.t.sol";
import {JobMarketHandler} from "./handlers/JobMarketHandler.sol";
import {vm} from "./utils/Vm.sol";
contract DiagTest is JobMarketInvariantTest {
    function _pick(uint256 r) internal pure returns (uint256) {
        uint8[17] memory w = [2,1,8,1,2,5,5,2,3,2,1,1,1,4,1,1,3];
        for (uint256 i = 0; i < 17; ++i) { if (r < w[i]) return i; r -= w[i]; }
        return 15;
    }
    function test_diag() public {
        JobMarketHandler h = JobMarketHandler(targetContracts()[0]);
        uint256 runs = 32; uint256 depth = 200;
        uint256[6] memory statusTotals;
        uint256[16] memory totals;
        uint256[4] memory skips;
        for (uint256 r = 0; r < runs; ++r) {
            uint256 snap = vm.snapshotState();
            for (uint256 d = 0; d < depth; ++d) {
                uint256 e = uint256(keccak256(abi.encode(r, d)));
                uint256 a = _pick(e % 43);
                uint256 x = uint256(keccak256(abi.encode(e, 1))); uint256 y = uint256(keccak256(abi.encode(e, 2)));
                uint256 z = uint256(keccak256(abi.encode(e, 3))); uint256 w = uint256(keccak256(abi.encode(e, 4)));
                if (a == 0) h.postJob(x, y, z, w, e);
                else if (a == 1) h.cancelJob(x);
                else if (a == 2) h.placeBid(x, y, z, w);
                else if (a == 3) h.withdrawBid(x, y);
                else if (a == 4) h.closeBidding(x, y, bytes32(z));
                else if (a == 5) h.commit(x, y, z);
                else if (a == 6) h.reveal(x, y);
                else if (a == 7) h.finalize(x, y);
                else if (a == 8) h.claim(x, y);
                else if (a == 9) h.withdraw(x);
                else if (a == 10) h.stake(x, y);
                else if (a == 11) h.requestUnstake(x, y);
                else if (a == 12) h.withdrawUnstaked(x);
                else if (a == 13) h.warp(x);
                else if (a == 14) h.setProtocolFee(x);
                else if (a == 15) h.pause(x); else h.unpause();
            }
            string[16] memory names = ["postJob","cancelJob","placeBid","withdrawBid","closeBidding","commit","reveal","finalize","claim","withdraw","stake","requestUnstake","withdrawUnstaked","warp","setProtocolFee","pause"];
            string memory line = "";
            for (uint256 i = 0; i < 16; ++i) line = string.concat(line, names[i], "=", vm.toString(h.calls(names[i])), " ");
            for (uint256 i = 0; i < 16; ++i) totals[i] += h.calls(names[i]);
            skips[0] += h.calls("skipPaused"); skips[1] += h.calls("skipNoJobYet"); skips[2] += h.calls("skipNoJob"); skips[3] += h.calls("skipNoProvider");
            for (uint256 id = 1; id <= JobMarketHandlerView(address(h)).market().jobCount(); ++id) statusTotals[uint256(JobMarketHandlerView(address(h)).market().getJob(id).status)]++;
            {
                JobMarketFull m = JobMarketFull(address(JobMarketHandlerView(address(h)).market()));
                for (uint256 id = 1; id <= m.jobCount(); ++id) {
                    address[] memory bs = m.biddersOf(id);
                    uint256 cap;
                    for (uint256 i = 0; i < bs.length; ++i) cap += m.getBid(id, bs[i]).capacity;
                    Job memory j = MarketView(address(m)).getJob(id);
                    if (r < 8 && j.status == 3) console.log(string.concat("job status ", vm.toString(uint256(j.status)), " k ", vm.toString(uint256(j.b)), string.concat(" T ", vm.toString(uint256(j.c)), " bidders ", vm.toString(bs.length), " cap ", vm.toString(cap)), string.concat(" gpu ", vm.toString(uint256(j.p)), " cpu ", vm.toString(uint256(j.n)), " mem ", vm.toString(uint256(j.o)))));
                }
            }
            h.endEverything();
            vm.revertToState(snap);
        }
        {
            string[16] memory names = ["postJob","cancelJob","placeBid","withdrawBid","closeBidding","commit","reveal","finalize","claim","withdraw","stake","requestUnstake","withdrawUnstaked","warp","setProtocolFee","pause"];
            string memory line = "TOTAL ";
            for (uint256 i = 0; i < 16; ++i) line = string.concat(line, names[i], "=", vm.toString(totals[i]), " ");
            console.log(line);
        }
        console.log("open", statusTotals[1], "cancelled", statusTotals[2]);
        console.log("skips paused/nojobyet", skips[0], skips[1]);
        console.log("skips nojob/noprovider", skips[2], skips[3]);
        console.log("unfilled", statusTotals[3], "awarded", statusTotals[4]);
        console.log("finalized", statusTotals[5]);
    }
}
import {JobMarket as JobMarketFull} from "../../contracts/JobMarket.sol";
interface JobMarketHandlerView { function market() external view returns (MarketView); }
interface MarketView { function jobCount() external view returns (uint256); function getJob(uint256) external view returns (Job memory); }
struct Job { address requester; uint8 status; uint8 a; uint8 b; uint32 c; uint8 d; uint16 e; uint16 f; uint96 g; uint96 h; uint64 i; uint32 j; uint32 k; uint64 l; uint64 m; uint32 n; uint32 o; uint16 p; uint128 q; }
