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
/// seeds. The handler only takes steps the rules allow, so `failOnRevert` turns any revert into
/// a failure. Besides the invariants below, every action checks its own effects, and each
/// finalisation is checked against the settlement rules (see `JobMarketHandler._finalize`).
///
/// Run counts are set here rather than in hardhat.config.ts, and kept modest so that the whole
/// Solidity suite stays fast on a 2-core machine; raise them locally for a deeper campaign.
/// hardhat-config: invariant.runs = 32
/// hardhat-config: invariant.depth = 200
/// hardhat-config: invariant.failOnRevert = true
contract JobMarketInvariantTest {
    /// @dev The shape forge-std's `targetSelectors()` returns.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    uint256 private constant _SUPPLY = 1_000_000_000e18;
    uint64 private constant _COOLDOWN = 25 days; // > 7 + 14 + 3 days of job windows
    uint16 private constant _FEE_BPS = 100;
    uint256 private constant _REQUESTER_FUNDS = 1_000_000e18;
    uint256 private constant _PROVIDER_FUNDS = 2_000e18;
    uint256 private constant _PROVIDER_STAKE = 1_000e18;
    uint256 private constant _WEIGHTED_ACTIONS = 45;

    ConunToken private _token;
    ProviderRegistry private _registry;
    JobMarket private _market;
    JobMarketHandler private _handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        address owner = _actor("owner");
        address treasury = _actor("treasury");
        _token = new ConunToken(address(this), _SUPPLY);
        _registry = new ProviderRegistry(_token, _COOLDOWN, address(this));
        _market = new JobMarket(_token, _registry, treasury, _FEE_BPS, owner);
        _registry.setMarket(address(_market));

        address[] memory requesters = new address[](2);
        for (uint256 i = 0; i < requesters.length; ++i) {
            requesters[i] = _actor(string.concat("requester", vm.toString(i)));
            _token.transfer(requesters[i], _REQUESTER_FUNDS);
            vm.prank(requesters[i]);
            _token.approve(address(_market), type(uint256).max);
        }
        address[] memory providers = new address[](5);
        for (uint256 i = 0; i < providers.length; ++i) {
            providers[i] = _actor(string.concat("provider", vm.toString(i)));
            _token.transfer(providers[i], _PROVIDER_FUNDS);
            // Unequal machines, so that some providers cannot bid on some jobs.
            IProviderRegistry.Capabilities memory caps = IProviderRegistry.Capabilities({
                cpuMillicores: uint32(1000 * (i + 1)),
                memoryMiB: uint32(1024 * (i + 1)),
                gpuCount: uint16(i % 2)
            });
            vm.prank(providers[i]);
            _registry.register(caps, "");
            vm.prank(providers[i]);
            _token.approve(address(_registry), type(uint256).max);
            vm.prank(providers[i]);
            _registry.stake(_PROVIDER_STAKE);
        }
        _handler = new JobMarketHandler(
            _token, _registry, _market, owner, treasury, _actor("stranger"), requesters, providers
        );
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(_handler);
    }

    /// @dev Only the actions: `endEverything` and the views are not fuzzing targets. The runner
    /// draws a selector uniformly from this list, so repeating one weighs it: lifecycle steps
    /// that need several calls (bids, commits, reveals) come up more often than owner tweaks.
    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](_WEIGHTED_ACTIONS);
        uint256 n;
        n = _add(selectors, n, JobMarketHandler.postJob.selector, 2);
        n = _add(selectors, n, JobMarketHandler.cancelJob.selector, 1);
        n = _add(selectors, n, JobMarketHandler.placeBid.selector, 8);
        n = _add(selectors, n, JobMarketHandler.withdrawBid.selector, 1);
        n = _add(selectors, n, JobMarketHandler.closeBidding.selector, 2);
        n = _add(selectors, n, JobMarketHandler.commit.selector, 4);
        n = _add(selectors, n, JobMarketHandler.commitAll.selector, 2);
        n = _add(selectors, n, JobMarketHandler.reveal.selector, 4);
        n = _add(selectors, n, JobMarketHandler.revealAll.selector, 2);
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
        targets[0] = FuzzSelector(address(_handler), selectors);
    }

    // ------------------------------------------------------------------ invariants

    /// @notice The market's balance is exactly the jobs' escrow plus every claimable balance,
    /// and each job's escrow is what its state says it still owes.
    function invariant_marketHoldsExactlyWhatItOwes() public view {
        uint256 owed;
        uint256 jobs = _market.jobCount();
        for (uint256 id = 1; id <= jobs; ++id) owed += _market.getJob(id).escrow;
        address[] memory accounts = _handler.everyone();
        for (uint256 i = 0; i < accounts.length; ++i) owed += _market.claimableBalance(accounts[i]);
        vm.assertEq(_token.balanceOf(address(_market)), owed, "_market balance = escrow + claimable");
        _checkEscrowOfEveryJob();
    }

    /// @notice The registry's balance is its total stake, which is every provider's stake plus
    /// unbonding; locked stake is exactly what the market's positions hold.
    function invariant_registryHoldsEveryStake() public view {
        address[] memory providers = _handler.providers();
        IJobMarket.Job[] memory jobs = _jobs();
        uint256 sum;
        for (uint256 i = 0; i < providers.length; ++i) {
            IProviderRegistry.Provider memory p = _registry.getProvider(providers[i]);
            sum += p.stake + p.unbonding;
            vm.assertLe(p.locked, p.stake, "locked stake is part of the stake");
            vm.assertEq(
                p.locked, _lockedByMarket(jobs, providers[i]), "locked = what open positions hold"
            );
        }
        vm.assertEq(_registry.totalStaked(), sum, "totalStaked = stake + unbonding of everyone");
        vm.assertEq(_token.balanceOf(address(_registry)), sum, "_registry balance = totalStaked");
    }

    /// @notice No token is created or destroyed: every holder's balance adds up to the supply.
    function invariant_tokensAreConserved() public view {
        address[] memory accounts = _handler.everyone();
        uint256 sum = _token.balanceOf(address(this)) + _token.balanceOf(address(_handler))
            + _token.balanceOf(address(_market)) + _token.balanceOf(address(_registry));
        for (uint256 i = 0; i < accounts.length; ++i) sum += _token.balanceOf(accounts[i]);
        vm.assertEq(sum, _token.totalSupply(), "balances add up to the supply");
        vm.assertEq(_token.totalSupply(), _SUPPLY, "the supply is fixed");
    }

    /// @notice A provider that always revealed the honest result keeps all its stake: it only
    /// ever shrinks by its own unstake requests. Every provider's stake is what it staked, less
    /// its unstake requests, less the slashes the rules impose (recomputed by the handler).
    function invariant_honestProvidersAreNeverSlashed() public view {
        address[] memory providers = _handler.providers();
        for (uint256 i = 0; i < providers.length; ++i) {
            address provider = providers[i];
            uint256 stake = _registry.getProvider(provider).stake;
            vm.assertEq(
                stake,
                _handler.netStaked(provider) - _handler.slashedOf(provider),
                "stake = staked - unstake requested - slashed"
            );
            if (_handler.faulty(provider)) continue;
            vm.assertEq(_handler.slashedOf(provider), 0, "the rules never slash an honest provider");
            vm.assertEq(stake, _handler.netStaked(provider), "honest stake = staked - unstaked");
        }
    }

    /// @notice From any state, anyone can take every job to its end once the deadlines pass;
    /// after every claim and withdrawal the market holds nothing. (The runner does not keep
    /// the state changes of an invariant check, so the campaign goes on from where it was.)
    /// The check drives a dozen transactions, so this campaign is the smaller one.
    /// hardhat-config: invariant.runs = 16
    /// hardhat-config: invariant.depth = 150
    function invariant_everyJobEndsAndTheMarketEmpties() public {
        _handler.endEverything();
    }

    // ------------------------------------------------------------------ helpers

    /// @dev Each job's escrow is what its state says is still owed.
    function _checkEscrowOfEveryJob() private view {
        address[] memory providers = _handler.providers();
        uint256 jobs = _market.jobCount();
        for (uint256 id = 1; id <= jobs; ++id) {
            IJobMarket.Job memory job = _market.getJob(id);
            uint256 expected;
            if (job.status == IJobMarket.JobStatus.Open) {
                expected = uint256(job.taskCount) * job.replication * job.maxPrice;
            } else if (job.status == IJobMarket.JobStatus.Awarded) {
                for (uint256 i = 0; i < providers.length; ++i) {
                    IJobMarket.Bid memory bid = _market.getBid(id, providers[i]);
                    expected += uint256(bid.allotted) * bid.price;
                }
            } else if (job.status == IJobMarket.JobStatus.Finalized) {
                for (uint256 i = 0; i < providers.length; ++i) {
                    (uint256 payment,,) = _market.claimableFor(id, providers[i]);
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
                locked += uint256(_market.getBid(id, provider).capacity) * job.stakePerTaskReplica;
            } else if (job.status == IJobMarket.JobStatus.Awarded) {
                locked += uint256(_market.getBid(id, provider).allotted) * job.stakePerTaskReplica;
            } else if (job.status == IJobMarket.JobStatus.Finalized) {
                (,, uint256 stakeReleased) = _market.claimableFor(id, provider);
                locked += stakeReleased;
            }
        }
    }

    /// @dev Every job, `jobs[i]` being job id `i + 1`.
    function _jobs() private view returns (IJobMarket.Job[] memory jobs) {
        jobs = new IJobMarket.Job[](_market.jobCount());
        for (uint256 i = 0; i < jobs.length; ++i) jobs[i] = _market.getJob(i + 1);
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
