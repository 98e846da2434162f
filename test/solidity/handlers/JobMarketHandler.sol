// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ConunToken} from "../../../contracts/ConunToken.sol";
import {JobMarket} from "../../../contracts/JobMarket.sol";
import {ProviderRegistry} from "../../../contracts/ProviderRegistry.sol";
import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IProviderRegistry} from "../../../contracts/interfaces/IProviderRegistry.sol";
import {bound} from "../utils/Bound.sol";
import {vm} from "../utils/Vm.sol";

/// @notice Drives the whole protocol through random but valid sequences of actions for the
/// invariant tests: a few jobs, two requesters, five providers, time passing.
///
/// Every action picks its actors and job from fuzzed seeds, bounds its parameters, and acts only
/// when the protocol's rules allow it (checked against the documented rules and ghost state),
/// so the campaign runs with `failOnRevert`: any revert of an action the rules allow is a
/// failure, not noise. Providers follow a per-job script chosen at commit time: commit the
/// honest result, commit a wrong one, or (by never being picked) commit nothing; reveal or not.
///
/// Ghost state: `netStaked` (what a provider's stake must be if it is never slashed) and
/// `faulty` (a provider that committed a wrong root, or was awarded work and did not reveal the
/// honest root by finalisation). Honest results are the same for every member of a group;
/// wrong results are unique per provider, so wrong roots never form a quorum and an honest
/// provider never loses its stake.
contract JobMarketHandler {
    uint256 public constant MAX_JOBS = 6;
    uint256 private constant _MAX_BIDS_PER_JOB = 64;

    /// @dev Where a job is, as far as an action cares.
    enum Phase {
        Bidding,
        BiddingShort,
        BiddingOver,
        Committing,
        Revealing,
        Awarded,
        Finalized
    }

    /// @dev What a provider must be able to do.
    enum Need {
        CanBid,
        Bid,
        Uncommitted,
        Unrevealed,
        Unclaimed
    }

    enum Script {
        None,
        Honest,
        AllWrong,
        FirstWrong
    }

    ConunToken public immutable token;
    ProviderRegistry public immutable registry;
    JobMarket public immutable market;
    address public immutable owner;
    address public immutable treasury;
    address public immutable stranger;

    address[] private _requesters;
    address[] private _providers;

    uint256 public currentTime;
    mapping(address provider => uint256) public netStaked;
    mapping(address provider => bool) public faulty;
    mapping(uint256 jobId => uint256) public bidsPlaced;
    mapping(uint256 jobId => mapping(address provider => Script)) public scriptOf;
    mapping(uint256 jobId => mapping(address provider => bool)) public revealed;
    mapping(string action => uint256) public calls;

    constructor(
        ConunToken token_,
        ProviderRegistry registry_,
        JobMarket market_,
        address owner_,
        address treasury_,
        address stranger_,
        address[] memory requesters_,
        address[] memory providers_
    ) {
        token = token_;
        registry = registry_;
        market = market_;
        owner = owner_;
        treasury = treasury_;
        stranger = stranger_;
        _requesters = requesters_;
        _providers = providers_;
        currentTime = block.timestamp;
        for (uint256 i = 0; i < providers_.length; ++i) {
            netStaked[providers_[i]] = registry_.getProvider(providers_[i]).stake;
        }
    }

    /// @dev Block time is ghost state: every action starts from it, whatever the runner did
    /// with the block between calls.
    modifier atCurrentTime() {
        vm.warp(currentTime);
        _;
    }

    // ------------------------------------------------------------------ requesters

    function postJob(
        uint256 requesterSeed,
        uint256 shapeSeed,
        uint256 priceSeed,
        uint256 stakeSeed,
        uint256 windowSeed
    ) external atCurrentTime {
        if (market.jobCount() >= MAX_JOBS || market.paused()) return;
        address requester = _requesters[requesterSeed % _requesters.length];
        // Fuzzed seeds are often small or special values; spread them before slicing.
        shapeSeed = uint256(keccak256(abi.encode(shapeSeed)));
        windowSeed = uint256(keccak256(abi.encode(windowSeed)));
        // Up to four lanes; four (of five providers) only now and then, as it rarely fills.
        uint8 replication = uint8(shapeSeed % 4 == 0 ? 4 : bound(shapeSeed >> 2, 1, 3));
        IJobMarket.JobSpec memory spec = IJobMarket.JobSpec({
            manifestCid: "bafkreimanifest",
            manifestDigest: keccak256("manifest"),
            imageRef: "bafkreiimage",
            imageDigest: keccak256("image"),
            taskCount: uint32(bound(shapeSeed >> 8, 1, 10)),
            replication: replication,
            quorum: uint8(bound(shapeSeed >> 16, replication / 2 + 1, replication)),
            maxPrice: uint96(bound(priceSeed, 1, 1e18)),
            stakePerTaskReplica: stakeSeed % 4 == 0 ? 0 : uint96(bound(stakeSeed >> 2, 1, 2e19)),
            biddingWindow: uint32(bound(windowSeed, 2 hours, 1 days)),
            executionWindow: uint32(bound(windowSeed >> 32, 2 hours, 2 days)),
            revealWindow: uint32(bound(windowSeed >> 64, 2 hours, 1 days)),
            // Most jobs run anywhere; some need more than the smaller machines have.
            cpuMillicores: (shapeSeed >> 24) % 2 == 0 ? 1 : uint32(bound(shapeSeed >> 25, 1, 2500)),
            memoryMiB: (shapeSeed >> 56) % 2 == 0 ? 1 : uint32(bound(shapeSeed >> 57, 1, 2500)),
            gpuCount: (shapeSeed >> 88) % 8 == 0 ? 1 : 0
        });
        uint256 escrow = uint256(spec.taskCount) * spec.replication * spec.maxPrice;
        uint256 marketBalance = token.balanceOf(address(market));
        vm.prank(requester);
        uint256 jobId = market.postJob(spec);
        vm.assertEq(jobId, market.jobCount(), "job ids count up");
        vm.assertEq(token.balanceOf(address(market)), marketBalance + escrow, "escrow pulled in");
        ++calls["postJob"];
    }

    function cancelJob(uint256 jobSeed) external atCurrentTime {
        if (jobSeed % 4 != 0) return; // requesters rarely change their minds
        (uint256 jobId, IJobMarket.Job memory job) = _findJob(jobSeed >> 2, Phase.Bidding);
        if (jobId == 0) return;
        vm.prank(job.requester);
        market.cancelJob(jobId);
        vm.assertEq(market.getJob(jobId).escrow, 0, "a cancelled job holds nothing");
        ++calls["cancelJob"];
    }

    // ------------------------------------------------------------------ bidding

    function placeBid(uint256 jobSeed, uint256 providerSeed, uint256 priceSeed, uint256 capacitySeed)
        external
        atCurrentTime
    {
        if (market.paused()) return;
        // Mostly bid where capacity is still short, so that jobs with several lanes fill too.
        Phase phase = jobSeed % 4 == 0 ? Phase.Bidding : Phase.BiddingShort;
        (uint256 jobId, IJobMarket.Job memory job, address provider) =
            _findBidder(jobSeed >> 2, providerSeed, phase);
        if (jobId == 0) (jobId, job, provider) = _findBidder(jobSeed >> 2, providerSeed, Phase.Bidding);
        if (jobId == 0) return;
        // Mostly full capacity, or jobs with several lanes would rarely fill.
        uint256 capacity =
            capacitySeed % 4 != 0 ? job.taskCount : bound(capacitySeed >> 2, 1, job.taskCount);
        uint256 free = registry.freeStakeOf(provider);
        if (job.stakePerTaskReplica != 0 && capacity * job.stakePerTaskReplica > free) {
            capacity = free / job.stakePerTaskReplica; // bid what the free stake allows
            if (capacity == 0) return;
        }
        // Half the bids at one of two round prices, so that equal prices meet often.
        uint256 price = priceSeed % 2 == 0
            ? (priceSeed % 4 == 0 ? job.maxPrice : job.maxPrice / 2 + 1)
            : bound(priceSeed >> 2, 1, job.maxPrice);
        uint256 lockedBefore = registry.getProvider(provider).locked;
        vm.prank(provider);
        market.placeBid(jobId, uint96(price), uint32(capacity));
        ++bidsPlaced[jobId];
        vm.assertEq(
            registry.getProvider(provider).locked,
            lockedBefore + capacity * job.stakePerTaskReplica,
            "a bid locks capacity * stakePerTaskReplica"
        );
        ++calls["placeBid"];
    }

    function withdrawBid(uint256 jobSeed, uint256 providerSeed) external atCurrentTime {
        if (jobSeed % 2 != 0) return; // providers rarely change their minds either
        (uint256 jobId, IJobMarket.Job memory job) = _findJob(jobSeed >> 1, Phase.Bidding);
        if (jobId == 0) return;
        address provider = _findProvider(providerSeed, jobId, job, Need.Bid);
        if (provider == address(0)) return;
        vm.prank(provider);
        market.withdrawBid(jobId);
        ++calls["withdrawBid"];
    }

    function closeBidding(uint256 jobSeed, uint256 callerSeed, bytes32 randomness)
        external
        atCurrentTime
    {
        (uint256 jobId,) = _findJob(jobSeed, Phase.BiddingOver);
        if (jobId == 0) return;
        _close(jobId, _pickAnyone(callerSeed), randomness);
        ++calls["closeBidding"];
    }

    // ------------------------------------------------------------------ results

    function commit(uint256 jobSeed, uint256 providerSeed, uint256 scriptSeed)
        external
        atCurrentTime
    {
        (uint256 jobId, IJobMarket.Job memory job) = _findJob(jobSeed, Phase.Committing);
        if (jobId == 0) return;
        address provider = _findProvider(providerSeed, jobId, job, Need.Uncommitted);
        if (provider == address(0)) return;
        // Honest half the time; otherwise wrong everywhere or in the first membership only.
        Script script = scriptSeed % 2 == 0
            ? Script.Honest
            : (scriptSeed % 4 == 1 ? Script.AllWrong : Script.FirstWrong);
        IJobMarket.Assignment[] memory assignments = market.assignmentsOf(jobId, provider);
        bytes32[] memory roots = _roots(jobId, provider, assignments, script);
        bytes32[] memory commitments = new bytes32[](roots.length);
        for (uint256 j = 0; j < roots.length; ++j) {
            // The documented commitment, computed here rather than by the market's helper.
            commitments[j] = keccak256(
                abi.encode(jobId, assignments[j].groupId, provider, roots[j], _salt(jobId, provider))
            );
        }
        scriptOf[jobId][provider] = script;
        if (script != Script.Honest) faulty[provider] = true;
        vm.prank(provider);
        market.commit(jobId, commitments);
        ++calls["commit"];
    }

    function reveal(uint256 jobSeed, uint256 providerSeed) external atCurrentTime {
        (uint256 jobId, IJobMarket.Job memory job) = _findJob(jobSeed, Phase.Revealing);
        if (jobId == 0) return;
        address provider = _findProvider(providerSeed, jobId, job, Need.Unrevealed);
        if (provider == address(0)) return;
        Script script = scriptOf[jobId][provider];
        IJobMarket.Assignment[] memory assignments = market.assignmentsOf(jobId, provider);
        if (currentTime <= job.commitDeadline) {
            // Before the commit deadline a group reveals only once all its members committed.
            for (uint256 j = 0; j < assignments.length; ++j) {
                if (market.getGroup(jobId, assignments[j].groupId).commitCount != job.replication) {
                    return;
                }
            }
        }
        bytes32[] memory roots = _roots(jobId, provider, assignments, script);
        revealed[jobId][provider] = true;
        vm.prank(provider);
        market.reveal(jobId, roots, _salt(jobId, provider), "bafkreiresults");
        ++calls["reveal"];
    }

    function finalize(uint256 jobSeed, uint256 callerSeed) external atCurrentTime {
        (uint256 jobId, IJobMarket.Job memory job) = _findJob(jobSeed, Phase.Awarded);
        if (jobId == 0) return;
        bool finalizable = market.isFinalizable(jobId);
        if (currentTime > job.revealDeadline) {
            vm.assertTrue(finalizable, "finalizable once the reveal deadline passed");
        }
        if (!finalizable) return;
        _finalize(jobId, _pickAnyone(callerSeed));
        ++calls["finalize"];
    }

    // ------------------------------------------------------------------ payouts

    function claim(uint256 jobSeed, uint256 providerSeed) external atCurrentTime {
        (uint256 jobId, IJobMarket.Job memory job) = _findJob(jobSeed, Phase.Finalized);
        if (jobId == 0) return;
        address provider = _findProvider(providerSeed, jobId, job, Need.Unclaimed);
        if (provider == address(0)) return;
        _claim(jobId, provider);
        ++calls["claim"];
    }

    function withdraw(uint256 accountSeed) external atCurrentTime {
        address[] memory accounts = everyone();
        address account;
        for (uint256 i = 0; i < accounts.length && account == address(0); ++i) {
            address candidate = accounts[(accountSeed % accounts.length + i) % accounts.length];
            if (market.claimableBalance(candidate) != 0) account = candidate;
        }
        if (account == address(0)) return;
        _withdraw(account);
        ++calls["withdraw"];
    }

    // ------------------------------------------------------------------ stake

    function stake(uint256 providerSeed, uint256 amountSeed) external atCurrentTime {
        address provider = _pickProvider(providerSeed);
        uint256 balance = token.balanceOf(provider);
        if (balance == 0) return;
        uint256 amount = bound(amountSeed, 1, balance);
        netStaked[provider] += amount;
        vm.prank(provider);
        registry.stake(amount);
        ++calls["stake"];
    }

    function requestUnstake(uint256 providerSeed, uint256 amountSeed) external atCurrentTime {
        address provider = _pickProvider(providerSeed);
        uint256 free = registry.freeStakeOf(provider);
        if (free == 0) return;
        // Mostly a slice, sometimes everything that is free.
        uint256 amount = amountSeed % 8 == 0 ? free : bound(amountSeed >> 3, 1, free / 4 + 1);
        netStaked[provider] -= amount;
        vm.prank(provider);
        registry.requestUnstake(amount);
        ++calls["requestUnstake"];
    }

    function withdrawUnstaked(uint256 providerSeed) external atCurrentTime {
        address provider;
        IProviderRegistry.Provider memory p;
        for (uint256 i = 0; i < _providers.length && provider == address(0); ++i) {
            address candidate = _providers[(providerSeed % _providers.length + i) % _providers.length];
            p = registry.getProvider(candidate);
            if (p.unbonding != 0 && currentTime >= p.unbondingReleaseAt) provider = candidate;
        }
        if (provider == address(0)) return;
        uint256 balance = token.balanceOf(provider);
        vm.prank(provider);
        registry.withdrawUnstaked();
        vm.assertEq(token.balanceOf(provider), balance + p.unbonding, "unbonded stake paid out");
        ++calls["withdrawUnstaked"];
    }

    // ------------------------------------------------------------------ time and owner

    function warp(uint256 secondsSeed) external {
        // Mostly short steps; sometimes long ones that jump whole windows, and now and then
        // one past the unstake cooldown.
        uint256 kind = secondsSeed % 32;
        uint256 step = secondsSeed >> 5;
        if (kind == 0) currentTime += bound(step, 10 days, 30 days);
        else if (kind < 5) currentTime += bound(step, 6 hours, 2 days);
        else currentTime += bound(step, 1, 2 hours);
        vm.warp(currentTime);
        ++calls["warp"];
    }

    function setProtocolFee(uint256 feeSeed) external atCurrentTime {
        uint16 fee = uint16(bound(feeSeed, 0, market.MAX_FEE_BPS()));
        vm.prank(owner);
        market.setProtocolFee(fee);
        ++calls["setProtocolFee"];
    }

    /// @dev Pausing must never block an exit: the final drain runs in whatever pause state the
    /// sequence left. Pauses are short (unpausing is drawn more often), so bidding goes on.
    function pause(uint256 seed) external atCurrentTime {
        if (market.paused() || seed % 4 != 0) return;
        vm.prank(owner);
        market.pause();
        ++calls["pause"];
    }

    function unpause() external atCurrentTime {
        if (!market.paused()) return;
        vm.prank(owner);
        market.unpause();
        ++calls["unpause"];
    }

    // ------------------------------------------------------------------ the end of everything

    /// @notice Not a fuzzing target. Moves every job to a terminal state the way anyone could —
    /// a stranger closes bidding and finalizes once the deadlines have passed — then lets every
    /// provider claim and every account withdraw. Asserts that every job ended and that the
    /// market is left holding nothing and the registry locking nothing.
    function endEverything() external {
        uint256 jobs = market.jobCount();
        uint256 latest = currentTime;
        for (uint256 id = 1; id <= jobs; ++id) {
            IJobMarket.Job memory job = market.getJob(id);
            if (job.status == IJobMarket.JobStatus.Open && job.biddingDeadline + 1 > latest) {
                latest = job.biddingDeadline + 1;
            }
        }
        currentTime = latest;
        vm.warp(currentTime);
        for (uint256 id = 1; id <= jobs; ++id) {
            if (market.getJob(id).status == IJobMarket.JobStatus.Open) {
                _close(id, stranger, keccak256(abi.encode("end", id)));
            }
        }
        for (uint256 id = 1; id <= jobs; ++id) {
            IJobMarket.Job memory job = market.getJob(id);
            if (job.status == IJobMarket.JobStatus.Awarded && job.revealDeadline + 1 > latest) {
                latest = job.revealDeadline + 1;
            }
        }
        currentTime = latest;
        vm.warp(currentTime);
        for (uint256 id = 1; id <= jobs; ++id) {
            if (market.getJob(id).status == IJobMarket.JobStatus.Awarded) {
                vm.assertTrue(market.isFinalizable(id), "finalizable after the reveal deadline");
                _finalize(id, stranger);
            }
        }
        for (uint256 id = 1; id <= jobs; ++id) {
            IJobMarket.JobStatus status = market.getJob(id).status;
            vm.assertTrue(
                status == IJobMarket.JobStatus.Cancelled || status == IJobMarket.JobStatus.Unfilled
                    || status == IJobMarket.JobStatus.Finalized,
                "every job ends"
            );
            if (status != IJobMarket.JobStatus.Finalized) continue;
            for (uint256 i = 0; i < _providers.length; ++i) {
                IJobMarket.Bid memory bid = market.getBid(id, _providers[i]);
                if (bid.allotted != 0 && !bid.claimed) _claim(id, _providers[i]);
            }
        }
        address[] memory accounts = everyone();
        for (uint256 i = 0; i < accounts.length; ++i) {
            if (market.claimableBalance(accounts[i]) != 0) _withdraw(accounts[i]);
        }
        vm.assertEq(token.balanceOf(address(market)), 0, "the market ends up holding nothing");
        for (uint256 id = 1; id <= jobs; ++id) {
            vm.assertEq(market.getJob(id).escrow, 0, "no escrow is left");
        }
        for (uint256 i = 0; i < _providers.length; ++i) {
            IProviderRegistry.Provider memory p = registry.getProvider(_providers[i]);
            vm.assertEq(p.locked, 0, "no stake stays locked");
            if (!faulty[_providers[i]]) {
                vm.assertEq(p.stake, netStaked[_providers[i]], "honest providers keep their stake");
            }
        }
    }

    // ------------------------------------------------------------------ views for the tests

    function providers() external view returns (address[] memory) {
        return _providers;
    }

    function requesters() external view returns (address[] memory) {
        return _requesters;
    }

    /// @notice Every account the handler ever acts as.
    function everyone() public view returns (address[] memory accounts) {
        accounts = new address[](_requesters.length + _providers.length + 3);
        uint256 n;
        for (uint256 i = 0; i < _requesters.length; ++i) accounts[n++] = _requesters[i];
        for (uint256 i = 0; i < _providers.length; ++i) accounts[n++] = _providers[i];
        accounts[n++] = treasury;
        accounts[n++] = owner;
        accounts[n++] = stranger;
    }

    /// @notice The result every honest member of a group reports.
    function honestRoot(uint256 jobId, uint16 groupId) public pure returns (bytes32) {
        return keccak256(abi.encode("honest", jobId, groupId));
    }

    // ------------------------------------------------------------------ internals

    function _close(uint256 jobId, address caller, bytes32 randomness) private {
        vm.prevrandao(randomness);
        IJobMarket.Job memory job = market.getJob(jobId);
        address[] memory bidders = market.biddersOf(jobId);
        uint256 offered;
        for (uint256 i = 0; i < bidders.length; ++i) {
            offered += market.getBid(jobId, bidders[i]).capacity;
        }
        uint256 needed = uint256(job.taskCount) * job.replication;
        vm.prank(caller);
        market.closeBidding(jobId);
        IJobMarket.Job memory closed = market.getJob(jobId);
        if (offered < needed) {
            vm.assertTrue(closed.status == IJobMarket.JobStatus.Unfilled, "short of capacity: unfilled");
            return;
        }
        vm.assertTrue(closed.status == IJobMarket.JobStatus.Awarded, "enough capacity: awarded");
        uint256 allotted;
        uint256 cost;
        for (uint256 i = 0; i < bidders.length; ++i) {
            IJobMarket.Bid memory bid = market.getBid(jobId, bidders[i]);
            allotted += bid.allotted;
            cost += uint256(bid.allotted) * bid.price;
        }
        vm.assertEq(allotted, needed, "the award covers every task-replica");
        vm.assertEq(closed.escrow, cost, "escrow keeps exactly the winners' cost");
    }

    function _finalize(uint256 jobId, address caller) private {
        // Whoever was awarded work and did not reveal the honest result is at fault.
        for (uint256 i = 0; i < _providers.length; ++i) {
            address provider = _providers[i];
            if (market.getBid(jobId, provider).allotted == 0) continue;
            if (scriptOf[jobId][provider] != Script.Honest || !revealed[jobId][provider]) {
                faulty[provider] = true;
            }
        }
        vm.prank(caller);
        market.finalize(jobId);
        vm.assertTrue(
            market.getJob(jobId).status == IJobMarket.JobStatus.Finalized, "finalize finalizes"
        );
    }

    function _claim(uint256 jobId, address provider) private {
        (uint256 payment, uint256 fee, uint256 stakeReleased) = market.claimableFor(jobId, provider);
        uint256 balance = token.balanceOf(provider);
        uint256 locked = registry.getProvider(provider).locked;
        vm.prank(provider);
        market.claim(jobId);
        vm.assertEq(token.balanceOf(provider), balance + payment - fee, "claim pays payment - fee");
        vm.assertEq(
            registry.getProvider(provider).locked, locked - stakeReleased, "claim frees the stake"
        );
    }

    function _withdraw(address account) private {
        uint256 amount = market.claimableBalance(account);
        uint256 balance = token.balanceOf(account);
        vm.prank(account);
        market.withdraw();
        vm.assertEq(token.balanceOf(account), balance + amount, "withdraw pays the balance");
        vm.assertEq(market.claimableBalance(account), 0, "withdraw empties the balance");
    }

    function _roots(
        uint256 jobId,
        address provider,
        IJobMarket.Assignment[] memory assignments,
        Script script
    ) private pure returns (bytes32[] memory roots) {
        roots = new bytes32[](assignments.length);
        for (uint256 j = 0; j < assignments.length; ++j) {
            bool wrong = script == Script.AllWrong || (script == Script.FirstWrong && j == 0);
            roots[j] = wrong
                ? keccak256(abi.encode("wrong", jobId, assignments[j].groupId, provider))
                : honestRoot(jobId, assignments[j].groupId);
        }
    }

    function _salt(uint256 jobId, address provider) private pure returns (bytes32) {
        return keccak256(abi.encode("salt", jobId, provider));
    }

    /// @dev The first job, counting from a seeded one, in `phase` (id 0 when there is none), so
    /// that an action finds something to act on whenever something is there.
    function _findJob(uint256 seed, Phase phase)
        private
        view
        returns (uint256 jobId, IJobMarket.Job memory job)
    {
        uint256 jobs = market.jobCount();
        for (uint256 i = 0; i < jobs; ++i) {
            uint256 id = 1 + (seed % jobs + i) % jobs;
            IJobMarket.Job memory candidate = market.getJob(id);
            if (_inPhase(candidate, phase)) return (id, candidate);
        }
    }

    function _inPhase(IJobMarket.Job memory job, Phase phase) private view returns (bool) {
        if (phase <= Phase.BiddingOver) {
            if (job.status != IJobMarket.JobStatus.Open) return false;
            return (currentTime <= job.biddingDeadline) == (phase != Phase.BiddingOver);
        }
        if (phase == Phase.Finalized) return job.status == IJobMarket.JobStatus.Finalized;
        if (job.status != IJobMarket.JobStatus.Awarded) return false;
        if (phase == Phase.Committing) return currentTime <= job.commitDeadline;
        if (phase == Phase.Revealing) return currentTime <= job.revealDeadline;
        return true; // Phase.Awarded
    }

    /// @dev The first job in `phase`, counting from a seeded one, on which some provider can
    /// bid, and that provider (zeros when there is none).
    function _findBidder(uint256 jobSeed, uint256 providerSeed, Phase phase)
        private
        view
        returns (uint256 jobId, IJobMarket.Job memory job, address provider)
    {
        uint256 jobs = market.jobCount();
        for (uint256 i = 0; i < jobs; ++i) {
            uint256 id = 1 + (jobSeed % jobs + i) % jobs;
            IJobMarket.Job memory candidate = market.getJob(id);
            if (!_inPhase(candidate, phase) || bidsPlaced[id] == _MAX_BIDS_PER_JOB) continue;
            if (phase == Phase.BiddingShort && !_short(id, candidate)) continue;
            address bidder = _findProvider(providerSeed, id, candidate, Need.CanBid);
            if (bidder != address(0)) return (id, candidate, bidder);
        }
    }

    /// @dev Whether the standing bids of an open job offer less than it needs.
    function _short(uint256 jobId, IJobMarket.Job memory job) private view returns (bool) {
        address[] memory bidders = market.biddersOf(jobId);
        uint256 offered;
        for (uint256 i = 0; i < bidders.length; ++i) {
            offered += market.getBid(jobId, bidders[i]).capacity;
        }
        return offered < uint256(job.taskCount) * job.replication;
    }

    /// @dev The first provider, counting from a seeded one, that can take the step `need`
    /// describes in `jobId` (zero when none can).
    function _findProvider(uint256 seed, uint256 jobId, IJobMarket.Job memory job, Need need)
        private
        view
        returns (address)
    {
        for (uint256 i = 0; i < _providers.length; ++i) {
            address provider = _providers[(seed % _providers.length + i) % _providers.length];
            if (_can(provider, jobId, job, need)) return provider;
        }
        return address(0);
    }

    function _can(address provider, uint256 jobId, IJobMarket.Job memory job, Need need)
        private
        view
        returns (bool)
    {
        IJobMarket.Bid memory bid = market.getBid(jobId, provider);
        if (need == Need.CanBid) {
            if (bid.capacity != 0) return false;
            (, IProviderRegistry.Capabilities memory caps) = registry.capabilitiesOf(provider);
            return caps.cpuMillicores >= job.cpuMillicores && caps.memoryMiB >= job.memoryMiB
                && caps.gpuCount >= job.gpuCount
                && registry.freeStakeOf(provider) >= job.stakePerTaskReplica;
        }
        if (need == Need.Bid) return bid.capacity != 0;
        if (need == Need.Uncommitted) {
            return bid.allotted != 0 && scriptOf[jobId][provider] == Script.None;
        }
        if (need == Need.Unrevealed) {
            return scriptOf[jobId][provider] != Script.None && !revealed[jobId][provider];
        }
        return bid.allotted != 0 && !bid.claimed; // Need.Unclaimed
    }

    function _pickProvider(uint256 seed) private view returns (address) {
        return _providers[seed % _providers.length];
    }

    function _pickAnyone(uint256 seed) private view returns (address) {
        address[] memory accounts = everyone();
        return accounts[seed % accounts.length];
    }
}
