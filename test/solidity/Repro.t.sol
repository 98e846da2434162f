// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ConunToken} from "../../contracts/ConunToken.sol";
import {JobMarket} from "../../contracts/JobMarket.sol";
import {ProviderRegistry} from "../../contracts/ProviderRegistry.sol";
import {IJobMarket} from "../../contracts/interfaces/IJobMarket.sol";
import {IProviderRegistry} from "../../contracts/interfaces/IProviderRegistry.sol";
import {vm} from "./utils/Vm.sol";

contract ReproTest {
    ConunToken token;
    ProviderRegistry registry;
    JobMarket market;
    address requester = address(0xA11CE);
    address treasury = address(0x7EA);
    address griefer = address(0xBAD);
    address honest = address(0x600D);

    function setUp() public {
        token = new ConunToken(address(this), 1e27);
        registry = new ProviderRegistry(token, 25 days, address(this));
        market = new JobMarket(token, registry, treasury, 100, address(this));
        registry.setMarket(address(market));
        token.transfer(requester, 1e24);
        vm.prank(requester);
        token.approve(address(market), type(uint256).max);
        _provider(griefer);
        _provider(honest);
    }

    function _provider(address p) internal {
        token.transfer(p, 1e21);
        vm.prank(p);
        registry.register(IProviderRegistry.Capabilities(1000, 1024, 0), "");
        vm.prank(p);
        token.approve(address(registry), type(uint256).max);
        vm.prank(p);
        registry.stake(1e21);
    }

    function _post(uint32 tasks, uint8 k) internal returns (uint256) {
        vm.prank(requester);
        return market.postJob(IJobMarket.JobSpec("cid", bytes32(0), "img", bytes32(0), tasks, k, k, 100, 1e18, 1 days, 1 days, 1 days, 1, 1, 0));
    }

    // Interface: claim returns "payment: Tokens sent to the caller."
    function test_claimReturnsWhatItSends() public {
        uint256 jobId = _post(1, 1);
        vm.prank(honest);
        market.placeBid(jobId, 100, 1);
        vm.warp(block.timestamp + 1 days + 1);
        market.closeBidding(jobId);
        bytes32 root = keccak256("r");
        bytes32[] memory c = new bytes32[](1);
        c[0] = market.commitmentFor(jobId, 0, honest, root, bytes32(0));
        vm.prank(honest);
        market.commit(jobId, c);
        c[0] = root;
        vm.prank(honest);
        market.reveal(jobId, c, bytes32(0), "cid");
        market.finalize(jobId);
        uint256 before = token.balanceOf(honest);
        vm.prank(honest);
        uint256 returned = market.claim(jobId);
        vm.assertEq(returned, token.balanceOf(honest) - before, "claim's return value = tokens sent");
    }

    /// A bid cap that counts withdrawn bids lets one provider shut everyone else out of a job.
    function testFuzz_oneProviderCannotShutOthersOut(uint8 rounds) public {
        uint256 jobId = _post(1, 1);
        for (uint256 i = 0; i < rounds; ++i) {
            vm.prank(griefer);
            market.placeBid(jobId, 100, 1);
            vm.prank(griefer);
            market.withdrawBid(jobId);
        }
        vm.prank(honest);
        market.placeBid(jobId, 100, 1); // "a job already holds MAX_BIDS_PER_JOB bids"? it holds none
    }

    /// IJobMarket.cancelJob: "bidders can `claim` their stake"; claim: "for cancelled or
    /// unfilled jobs it only releases stake".
    function test_bidderCanClaimAfterCancel() public {
        uint256 jobId = _post(1, 1);
        vm.prank(honest);
        market.placeBid(jobId, 100, 1);
        vm.prank(requester);
        market.cancelJob(jobId);
        vm.prank(honest);
        market.claim(jobId);
    }
}
contract Repro2Test is ReproTest {
    function test_rounds100() public { testFuzz_oneProviderCannotShutOthersOut(100); }
    function test_count() public {
        uint256 jobId = _post(1, 1);
        for (uint256 i = 0; i < 70; ++i) {
            vm.prank(griefer);
            market.placeBid(jobId, 100, 1);
            vm.prank(griefer);
            market.withdrawBid(jobId);
        }
    }
}
