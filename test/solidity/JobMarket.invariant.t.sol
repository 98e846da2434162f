// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ConunToken} from "../../contracts/ConunToken.sol";
import {JobMarket} from "../../contracts/JobMarket.sol";
import {ProviderRegistry} from "../../contracts/ProviderRegistry.sol";
import {IJobMarket} from "../../contracts/interfaces/IJobMarket.sol";
import {IProviderRegistry} from "../../contracts/interfaces/IProviderRegistry.sol";
import {JobMarketHandler} from "./handlers/JobMarketHandler.sol";
import {vm} from "./utils/Vm.sol";

/// @notice What must hold after any sequence of protocol actions: every token the market and
/// the registry hold is owed to someone, no token appears or disappears, locked stake backs
/// exactly the open positions, honest providers are never slashed, and every job can be driven
/// to its end by anyone, leaving the market empty.
///
/// The runner calls only the handler's actions (`targetContracts` / `targetSelectors`, the
/// convention of forge-std's StdInvariant, which Hardhat's runner follows), each with fuzzed
/// seeds; `failOnRevert` makes any revert of an action the rules allow a failure.
///
/// Run counts are set here rather than in hardhat.config.ts, and kept modest so that the whole
/// Solidity suite stays fast on a 2-core machine; raise them locally for a deeper campaign.
/// hardhat-config: invariant.runs = 16
/// hardhat-config: invariant.depth = 200
/// hardhat-config: invariant.failOnRevert = true
contract JobMarketInvariantTest {
    /// @dev The shape forge-std's `targetSelectors()` returns.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    uint256 private constant SUPPLY = 1_000_000_000e18;
    uint64 private constant COOLDOWN = 25 days; // > 7 + 14 + 3 days of job windows
    uint16 private constant FEE_BPS = 100;
    uint256 private constant REQUESTER_FUNDS = 1_000_000e18;
    uint256 private constant PROVIDER_FUNDS = 2_000e18;
    uint256 private constant PROVIDER_STAKE = 1_000e18;
    uint256 private constant WEIGHTED_ACTIONS = 43;

    ConunToken private token;
    ProviderRegistry private registry;
    JobMarket private market;
    JobMarketHandler private handler;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        address owner = _actor("owner");
        address treasury = _actor("treasury");
        token = new ConunToken(address(this), SUPPLY);
        registry = new ProviderRegistry(token, COOLDOWN, address(this));
        market = new JobMarket(token, registry, treasury, FEE_BPS, owner);
        registry.setMarket(address(market));

        address[] memory requesters = new address[](2);
        for (uint256 i = 0; i < requesters.length; ++i) {
            requesters[i] = _actor(string.concat("requester", vm.toString(i)));
            token.transfer(requesters[i], REQUESTER_FUNDS);
            vm.prank(requesters[i]);
            token.approve(address(market), type(uint256).max);
        }
        address[] memory providers = new address[](5);
        for (uint256 i = 0; i < providers.length; ++i) {
            providers[i] = _actor(string.concat("provider", vm.toString(i)));
            token.transfer(providers[i], PROVIDER_FUNDS);
            // Unequal machines, so that some providers cannot bid on some jobs.
            IProviderRegistry.Capabilities memory caps = IProviderRegistry.Capabilities({
                cpuMillicores: uint32(1000 * (i + 1)),
                memoryMiB: uint32(1024 * (i + 1)),
                gpuCount: uint16(i % 2)
            });
            vm.prank(providers[i]);
            registry.register(caps, "");
            vm.prank(providers[i]);
            token.approve(address(registry), type(uint256).max);
            vm.prank(providers[i]);
            registry.stake(PROVIDER_STAKE);
        }
        handler = new JobMarketHandler(
            token, registry, market, owner, treasury, _actor("stranger"), requesters, providers
        );
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @dev Only the actions: `endEverything` and the views are not fuzzing targets. The runner
    /// draws a selector uniformly from this list, so repeating one weighs it: lifecycle steps
    /// that need several calls (bids, commits, reveals) come up more often than owner tweaks.
    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](WEIGHTED_ACTIONS);
        uint256 n;
        n = _add(selectors, n, JobMarketHandler.postJob.selector, 2);
        n = _add(selectors, n, JobMarketHandler.cancelJob.selector, 1);
        n = _add(selectors, n, JobMarketHandler.placeBid.selector, 8);
        n = _add(selectors, n, JobMarketHandler.withdrawBid.selector, 1);
        n = _add(selectors, n, JobMarketHandler.closeBidding.selector, 2);
        n = _add(selectors, n, JobMarketHandler.commit.selector, 5);
        n = _add(selectors, n, JobMarketHandler.reveal.selector, 5);
        n = _add(selectors, n, JobMarketHandler.finalize.selector, 2);
        n = _add(selectors, n, JobMarketHandler.claim.selector, 3);
        n = _add(selectors, n, JobMarketHandler.withdraw.selector, 2);
        n = _add(selectors, n, JobMarketHandler.stake.selector, 1);
        n = _add(selectors, n, JobMarketHandler.requestUnstake.selector, 1);
        n = _add(selectors, n, JobMarketHandler.withdrawUnstaked.selector, 1);
        n = _add(selectors, n, JobMarketHandler.warp.selector, 4);
        n = _add(selectors, n, JobMarketHandler.setProtocolFee.selector, 1);
        n = _add(selectors, n, JobMarketHandler.pause.selector, 1);
        n = _add(selectors, n, JobMarketHandler.unpause.selector, 3);
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector(address(handler), selectors);
    }

    // ------------------------------------------------------------------ invariants

    /// @notice The market's balance is exactly the jobs' escrow plus every claimable balance.
    function invariant_marketHoldsExactlyWhatItOwes() public view {
        uint256 owed;
        uint256 jobs = market.jobCount();
        for (uint256 id = 1; id <= jobs; ++id) owed += market.getJob(id).escrow;
        address[] memory accounts = handler.everyone();
        for (uint256 i = 0; i < accounts.length; ++i) owed += market.claimableBalance(accounts[i]);
        vm.assertEq(token.balanceOf(address(market)), owed, "market balance = escrow + claimable");
        _checkEscrowOfEveryJob();
    }

    /// @notice The registry's balance is its total stake, which is every provider's stake plus
    /// unbonding; locked stake is exactly what the market's positions hold.
    function invariant_registryHoldsEveryStake() public view {
        address[] memory providers = handler.providers();
        IJobMarket.Job[] memory jobs = _jobs();
        uint256 sum;
        for (uint256 i = 0; i < providers.length; ++i) {
            IProviderRegistry.Provider memory p = registry.getProvider(providers[i]);
            sum += p.stake + p.unbonding;
            vm.assertLe(p.locked, p.stake, "locked stake is part of the stake");
            vm.assertEq(
                p.locked, _lockedByMarket(jobs, providers[i]), "locked = what open positions hold"
            );
        }
        vm.assertEq(registry.totalStaked(), sum, "totalStaked = stake + unbonding of everyone");
        vm.assertEq(token.balanceOf(address(registry)), sum, "registry balance = totalStaked");
    }

    /// @notice No token is created or destroyed: every holder's balance adds up to the supply.
    function invariant_tokensAreConserved() public view {
        address[] memory accounts = handler.everyone();
        uint256 sum = token.balanceOf(address(this)) + token.balanceOf(address(handler))
            + token.balanceOf(address(market)) + token.balanceOf(address(registry));
        for (uint256 i = 0; i < accounts.length; ++i) sum += token.balanceOf(accounts[i]);
        vm.assertEq(sum, token.totalSupply(), "balances add up to the supply");
        vm.assertEq(token.totalSupply(), SUPPLY, "the supply is fixed");
    }

    /// @notice A provider that always revealed the honest result keeps all its stake: it only
    /// ever shrinks by its own unstake requests.
    function invariant_honestProvidersAreNeverSlashed() public view {
        address[] memory providers = handler.providers();
        for (uint256 i = 0; i < providers.length; ++i) {
            if (handler.faulty(providers[i])) continue;
            vm.assertEq(
                registry.getProvider(providers[i]).stake,
                handler.netStaked(providers[i]),
                "honest stake = staked - unstake requested"
            );
        }
    }

    /// @notice From any state, anyone can take every job to its end once the deadlines pass;
    /// after every claim and withdrawal the market holds nothing. (The runner does not keep
    /// the state changes of an invariant check, so the campaign goes on from where it was.)
    /// The check drives a dozen transactions, so this campaign is the smaller one.
    /// hardhat-config: invariant.runs = 12
    /// hardhat-config: invariant.depth = 150
    function invariant_everyJobEndsAndTheMarketEmpties() public {
        handler.endEverything();
    }

    // ------------------------------------------------------------------ helpers

    /// @dev Each job's escrow is what its state says is still owed.
    function _checkEscrowOfEveryJob() private view {
        address[] memory providers = handler.providers();
        uint256 jobs = market.jobCount();
        for (uint256 id = 1; id <= jobs; ++id) {
            IJobMarket.Job memory job = market.getJob(id);
            uint256 expected;
            if (job.status == IJobMarket.JobStatus.Open) {
                expected = uint256(job.taskCount) * job.replication * job.maxPrice;
            } else if (job.status == IJobMarket.JobStatus.Awarded) {
                for (uint256 i = 0; i < providers.length; ++i) {
                    IJobMarket.Bid memory bid = market.getBid(id, providers[i]);
                    expected += uint256(bid.allotted) * bid.price;
                }
            } else if (job.status == IJobMarket.JobStatus.Finalized) {
                for (uint256 i = 0; i < providers.length; ++i) {
                    (uint256 payment,,) = market.claimableFor(id, providers[i]);
                    expected += payment;
                }
            }
            vm.assertEq(job.escrow, expected, "job escrow = what the job still owes");
        }
    }

    /// @dev The stake the market's jobs keep locked for `provider`: full capacity behind an
    /// open bid, the allotment behind an award, the unslashed allotment until claimed.
    function _lockedByMarket(IJobMarket.Job[] memory jobs, address provider)
        private
        view
        returns (uint256 locked)
    {
        for (uint256 i = 0; i < jobs.length; ++i) {
            uint256 id = i + 1;
            IJobMarket.Job memory job = jobs[i];
            if (job.status == IJobMarket.JobStatus.Open) {
                locked += uint256(market.getBid(id, provider).capacity) * job.stakePerTaskReplica;
            } else if (job.status == IJobMarket.JobStatus.Awarded) {
                locked += uint256(market.getBid(id, provider).allotted) * job.stakePerTaskReplica;
            } else if (job.status == IJobMarket.JobStatus.Finalized) {
                (,, uint256 stakeReleased) = market.claimableFor(id, provider);
                locked += stakeReleased;
            }
        }
    }

    /// @dev Every job, `jobs[i]` being job id `i + 1`.
    function _jobs() private view returns (IJobMarket.Job[] memory jobs) {
        jobs = new IJobMarket.Job[](market.jobCount());
        for (uint256 i = 0; i < jobs.length; ++i) jobs[i] = market.getJob(i + 1);
    }

    function _add(bytes4[] memory selectors, uint256 n, bytes4 selector, uint256 weight)
        private
        pure
        returns (uint256)
    {
        for (uint256 i = 0; i < weight; ++i) selectors[n++] = selector;
        return n;
    }

    function _actor(string memory name) private returns (address account) {
        account = address(uint160(uint256(keccak256(abi.encode("conun actor", name)))));
        vm.label(account, name);
    }
}
