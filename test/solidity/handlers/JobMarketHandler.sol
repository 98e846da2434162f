// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ConunToken} from "../../../contracts/ConunToken.sol";
import {JobMarket} from "../../../contracts/JobMarket.sol";
import {ProviderRegistry} from "../../../contracts/ProviderRegistry.sol";
import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IProviderRegistry} from "../../../contracts/interfaces/IProviderRegistry.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {bound} from "../utils/Bound.sol";
import {vm} from "../utils/Vm.sol";

/// @notice Drives the whole protocol through random but valid sequences of actions for the
/// invariant tests: a few jobs, two requesters, five providers, time passing.
///
/// Every action picks its job and actors from fuzzed seeds — the first one, counting from the
/// seeded one, for which the step is allowed — bounds its parameters, and acts only when the
/// protocol's documented rules allow it (judged from views and ghost state, not by trying). So
/// the campaign runs with `failOnRevert`: any revert is a failure, not noise. The only calls
/// made to fail are reveals that must revert with a given error, under `expectRevert`.
/// Providers follow a per-job script chosen at commit time: commit the honest result, a wrong
/// one, or (by never being picked) nothing; reveal all, some or none of their memberships.
///
/// Ghost state: `currentTime`; `netStaked` (stake added minus unstake requested); `slashedOf`
/// (the slashes the documented rules impose, recomputed at each finalisation); `faulty` (a
/// provider that committed a wrong root, or was awarded work and had not revealed the honest
/// root in every membership by finalisation); the script and the revealed memberships of each
/// provider in each job. Honest results are the same for every member of
/// a group; wrong results are unique per provider, so wrong roots never form a quorum (q > k/2
/// means q >= 2 whenever k >= 2) and an honest provider must never lose stake.
contract JobMarketHandler {
    /// @dev Ghost state and the market disagree on a group's members.
    error JobMarketHandlerNotAMember(uint256 jobId, address provider, uint16 groupId);
    /// @dev A group member is none of the handler's providers.
    error JobMarketHandlerUnknownProvider(address provider);

    uint256 public constant MAX_JOBS = 6;

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
    mapping(address provider => uint256) public slashedOf;
    mapping(uint256 jobId => mapping(address provider => Script)) public scriptOf;
    mapping(uint256 jobId => mapping(address provider => mapping(uint16 groupId => bool))) public
        revealedIn;
    mapping(uint256 jobId => mapping(address provider => uint256)) public revealedCount;
    /// @notice How often each action really acted (skips not counted); read it in traces.
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
        if (market.jobCount() >= MAX_JOBS) return;
        address requester = _requesters[requesterSeed % _requesters.length];
        // Fuzzed seeds are often small or special values; spread them before slicing.
        shapeSeed = uint256(keccak256(abi.encode(shapeSeed)));
        windowSeed = uint256(keccak256(abi.encode(windowSeed)));
        // Up to four lanes; four (of five providers) only now and then, as it rarely fills.
        uint8 replication = uint8(shapeSeed % 4 == 0 ? 4 : bound(shapeSeed >> 2, 1, 3));
        uint96 maxPrice = uint96(bound(priceSeed, 1, 1e18));
        IJobMarket.JobSpec memory spec = IJobMarket.JobSpec({
            manifestCid: "bafkreimanifest",
            manifestDigest: keccak256("manifest"),
            imageRef: "bafkreiimage",
            imageDigest: keccak256("image"),
            taskCount: uint32(bound(shapeSeed >> 8, 1, 10)),
            replication: replication,
            quorum: uint8(bound(shapeSeed >> 16, replication / 2 + 1, replication)),
            maxPrice: maxPrice,
            // At least the max price (JobMarketStakeTooLow); often exactly it.
            stakePerTaskReplica: stakeSeed % 4 == 0
                ? maxPrice
                : uint96(bound(stakeSeed >> 2, maxPrice, 2e19)),
            biddingWindow: uint32(bound(windowSeed, 2 hours, 1 days)),
            executionWindow: uint32(bound(windowSeed >> 32, 2 hours, 2 days)),
            revealWindow: uint32(bound(windowSeed >> 64, 2 hours, 1 days)),
            // Most jobs run anywhere; some need more than the smaller machines have.
            cpuMillicores: (shapeSeed >> 24) % 2 == 0 ? 1 : uint32(bound(shapeSeed >> 25, 1, 2500)),
            memoryMiB: (shapeSeed >> 56) % 2 == 0 ? 1 : uint32(bound(shapeSeed >> 57, 1, 2500)),
            gpuCount: (shapeSeed >> 88) % 8 == 0 ? 1 : 0
        });
        if (market.paused()) {
            vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
            vm.prank(requester);
            market.postJob(spec);
            return;
        }
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
        if (capacity * job.stakePerTaskReplica > free) {
            capacity = free / job.stakePerTaskReplica; // bid what the free stake allows
            if (capacity == 0) return;
        }
        // Half the bids at one of two round prices, so that equal prices meet often.
        uint256 price = priceSeed % 2 == 0
            ? (priceSeed % 4 == 0 ? job.maxPrice : job.maxPrice / 2 + 1)
            : bound(priceSeed >> 2, 1, job.maxPrice);
        if (market.paused()) {
            vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
            vm.prank(provider);
            market.placeBid(jobId, uint96(price), uint32(capacity));
            return;
        }
        uint256 lockedBefore = registry.getProvider(provider).locked;
        vm.prank(provider);
        market.placeBid(jobId, uint96(price), uint32(capacity));
        vm.assertEq(
            registry.getProvider(provider).locked,
            lockedBefore + capacity * job.stakePerTaskReplica,
            "a bid locks capacity * stakePerTaskReplica"
        );
        ++calls["placeBid"];
    }

    function withdrawBid(uint256 jobSeed, uint256 providerSeed) external atCurrentTime {
        if (jobSeed % 2 != 0) return; // providers rarely change their minds either
        (uint256 jobId,, address provider) =
            _findJobAndProvider(jobSeed >> 1, Phase.Bidding, providerSeed, Need.Bid);
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
        (uint256 jobId,, address provider) =
            _findJobAndProvider(jobSeed, Phase.Committing, providerSeed, Need.Uncommitted);
        if (provider == address(0)) return;
        _commit(jobId, provider, scriptSeed);
    }

    /// @dev Every winner of a job that has not committed yet commits now, each with its own
    /// script: whole groups of committed members, which single commits rarely assemble.
    function commitAll(uint256 jobSeed, uint256 scriptSeed) external atCurrentTime {
        (uint256 jobId, IJobMarket.Job memory job) = _findJob(jobSeed, Phase.Committing);
        if (jobId == 0) return;
        for (uint256 i = 0; i < _providers.length; ++i) {
            if (_can(_providers[i], jobId, job, Need.Uncommitted)) {
                _commit(jobId, _providers[i], uint256(keccak256(abi.encode(scriptSeed, i))));
            }
        }
    }

    /// @dev A reveal reveals every membership it can — committed, not yet revealed and, before
    /// the commit deadline, in a fully committed group — and skips the others; it reverts only
    /// when it can reveal nothing, or when a root does not match its commitment. Both failures
    /// are driven too, expecting the exact error.
    function reveal(uint256 jobSeed, uint256 providerSeed, uint256 tamperSeed)
        external
        atCurrentTime
    {
        (uint256 jobId, IJobMarket.Job memory job, address provider) =
            _findJobAndProvider(jobSeed, Phase.Revealing, providerSeed, Need.Unrevealed);
        if (provider == address(0)) return;
        _reveal(jobId, job, provider, tamperSeed % 8 == 0);
    }

    /// @dev Every provider of a job with a membership it can reveal now reveals.
    function revealAll(uint256 jobSeed) external atCurrentTime {
        (uint256 jobId, IJobMarket.Job memory job) = _findJob(jobSeed, Phase.Revealing);
        if (jobId == 0) return;
        for (uint256 i = 0; i < _providers.length; ++i) {
            address provider = _providers[i];
            if (!_can(provider, jobId, job, Need.Unrevealed)) continue;
            (, uint256 dueCount,) =
                _dueReveals(jobId, job, provider, market.assignmentsOf(jobId, provider));
            if (dueCount != 0) _reveal(jobId, job, provider, false);
        }
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
        (uint256 jobId,, address provider) =
            _findJobAndProvider(jobSeed, Phase.Finalized, providerSeed, Need.Unclaimed);
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
        _endEveryJob();
        _payEveryone();
        vm.assertEq(token.balanceOf(address(market)), 0, "the market ends up holding nothing");
        for (uint256 id = 1; id <= market.jobCount(); ++id) {
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

    /// @dev Past every bidding deadline a stranger closes bidding; past every reveal deadline
    /// it finalizes. Every job must then have ended.
    function _endEveryJob() private {
        uint256 jobs = market.jobCount();
        currentTime = _pastLatestDeadline(IJobMarket.JobStatus.Open);
        vm.warp(currentTime);
        for (uint256 id = 1; id <= jobs; ++id) {
            if (market.getJob(id).status == IJobMarket.JobStatus.Open) {
                _close(id, stranger, keccak256(abi.encode("end", id)));
            }
        }
        currentTime = _pastLatestDeadline(IJobMarket.JobStatus.Awarded);
        vm.warp(currentTime);
        for (uint256 id = 1; id <= jobs; ++id) {
            if (market.getJob(id).status == IJobMarket.JobStatus.Awarded) {
                vm.assertTrue(market.isFinalizable(id), "finalizable after the reveal deadline");
                _finalize(id, stranger);
            }
            IJobMarket.JobStatus status = market.getJob(id).status;
            vm.assertTrue(
                status == IJobMarket.JobStatus.Cancelled || status == IJobMarket.JobStatus.Unfilled
                    || status == IJobMarket.JobStatus.Finalized,
                "every job ends"
            );
        }
    }

    /// @dev The first second after the deadline that ends `status` (bidding for open jobs,
    /// reveals for awarded ones) for every job in it, and not before now.
    function _pastLatestDeadline(IJobMarket.JobStatus status) private view returns (uint256 latest) {
        latest = currentTime;
        for (uint256 id = 1; id <= market.jobCount(); ++id) {
            IJobMarket.Job memory job = market.getJob(id);
            if (job.status != status) continue;
            uint256 deadline =
                status == IJobMarket.JobStatus.Open ? job.biddingDeadline : job.revealDeadline;
            if (deadline + 1 > latest) latest = deadline + 1;
        }
    }

    /// @dev Every winner claims every finalized job; every account withdraws its balance.
    function _payEveryone() private {
        for (uint256 id = 1; id <= market.jobCount(); ++id) {
            if (market.getJob(id).status != IJobMarket.JobStatus.Finalized) continue;
            for (uint256 i = 0; i < _providers.length; ++i) {
                IJobMarket.Bid memory bid = market.getBid(id, _providers[i]);
                if (bid.allotted != 0 && !bid.claimed) _claim(id, _providers[i]);
            }
        }
        address[] memory accounts = everyone();
        for (uint256 i = 0; i < accounts.length; ++i) {
            if (market.claimableBalance(accounts[i]) != 0) _withdraw(accounts[i]);
        }
    }

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

    /// @dev Finalizes and checks the settlement against the rules in IJobMarket, recomputed
    /// from ghost state: per group, a root revealed by at least `quorum` members wins and its
    /// members are owed their price per task; every other member's price is refunded to the
    /// requester, and it is slashed `stakePerTaskReplica` per task if it did not commit, did not
    /// reveal, or revealed a losing root in a group that agreed.
    function _finalize(uint256 jobId, address caller) private {
        // Whoever was awarded work and did not reveal the honest result everywhere is at fault.
        for (uint256 i = 0; i < _providers.length; ++i) {
            address provider = _providers[i];
            IJobMarket.Bid memory bid = market.getBid(jobId, provider);
            if (bid.allotted == 0) continue;
            if (
                scriptOf[jobId][provider] != Script.Honest
                    || revealedCount[jobId][provider] < bid.groupCount
            ) {
                faulty[provider] = true;
            }
        }
        IJobMarket.Job memory job = market.getJob(jobId);
        uint256[] memory stakeBefore = new uint256[](_providers.length);
        for (uint256 i = 0; i < _providers.length; ++i) {
            stakeBefore[i] = registry.getProvider(_providers[i]).stake;
        }
        uint256 requesterBefore = market.claimableBalance(job.requester);
        uint256 treasuryBefore = market.claimableBalance(treasury);

        vm.prank(caller);
        market.finalize(jobId);
        vm.assertTrue(
            market.getJob(jobId).status == IJobMarket.JobStatus.Finalized, "finalize finalizes"
        );

        Settlement memory expected = _expectedSettlement(jobId, job);
        uint256 slashedTotal;
        for (uint256 i = 0; i < _providers.length; ++i) {
            slashedTotal += expected.slash[i];
            slashedOf[_providers[i]] += expected.slash[i];
            vm.assertEq(
                registry.getProvider(_providers[i]).stake,
                stakeBefore[i] - expected.slash[i],
                "slashed exactly per the rules"
            );
            (uint256 payment,,) = market.claimableFor(jobId, _providers[i]);
            vm.assertEq(payment, expected.payment[i], "payment owed per the rules");
        }
        vm.assertEq(
            market.claimableBalance(job.requester) - requesterBefore,
            expected.refund,
            "requester refunded the prices of unpaid lanes"
        );
        vm.assertEq(
            market.claimableBalance(treasury) - treasuryBefore, slashedTotal, "slashes to treasury"
        );
    }

    /// @dev What finalisation owes, by provider index and to the requester.
    struct Settlement {
        uint256[] slash;
        uint256[] payment;
        uint256 refund;
    }

    function _expectedSettlement(uint256 jobId, IJobMarket.Job memory job)
        private
        view
        returns (Settlement memory expected)
    {
        expected.slash = new uint256[](_providers.length);
        expected.payment = new uint256[](_providers.length);
        for (uint16 g = 0; g < job.groupCount; ++g) {
            IJobMarket.Group memory group = market.getGroup(jobId, g);
            uint256 k = group.members.length;
            bytes32[] memory roots = new bytes32[](k);
            bool[] memory shown = new bool[](k);
            for (uint256 lane = 0; lane < k; ++lane) {
                address member = group.members[lane];
                shown[lane] = revealedIn[jobId][member][g];
                if (shown[lane]) roots[lane] = _rootIn(jobId, member, g);
            }
            (bool agreed, bytes32 winningRoot) = _quorum(roots, shown, job.quorum);
            vm.assertTrue(
                group.outcome
                    == (agreed ? IJobMarket.GroupOutcome.Agreed : IJobMarket.GroupOutcome.NoQuorum),
                "group outcome per the quorum rule"
            );
            vm.assertEq(group.winningRoot, winningRoot, "winning root per the quorum rule");
            for (uint256 lane = 0; lane < k; ++lane) {
                address member = group.members[lane];
                uint256 i = _providerIndex(member);
                uint256 price = uint256(group.taskCount) * market.getBid(jobId, member).price;
                if (agreed && shown[lane] && roots[lane] == winningRoot) {
                    expected.payment[i] += price;
                    continue;
                }
                expected.refund += price;
                bool committed = scriptOf[jobId][member] != Script.None;
                if (!committed || !shown[lane] || agreed) {
                    expected.slash[i] += uint256(group.taskCount) * job.stakePerTaskReplica;
                }
            }
        }
    }

    /// @dev A root that at least `quorum` shown lanes share (at most one can, as q > k/2).
    function _quorum(bytes32[] memory roots, bool[] memory shown, uint256 quorum)
        private
        pure
        returns (bool agreed, bytes32 root)
    {
        for (uint256 a = 0; a < roots.length; ++a) {
            if (!shown[a]) continue;
            uint256 count;
            for (uint256 b = 0; b < roots.length; ++b) {
                if (shown[b] && roots[b] == roots[a]) ++count;
            }
            if (count >= quorum) return (true, roots[a]);
        }
    }

    /// @dev The root `provider`'s script has it report for group `groupId`.
    function _rootIn(uint256 jobId, address provider, uint16 groupId)
        private
        view
        returns (bytes32)
    {
        IJobMarket.Assignment[] memory assignments = market.assignmentsOf(jobId, provider);
        bytes32[] memory roots = _roots(jobId, provider, assignments, scriptOf[jobId][provider]);
        for (uint256 j = 0; j < assignments.length; ++j) {
            if (assignments[j].groupId == groupId) return roots[j];
        }
        revert JobMarketHandlerNotAMember(jobId, provider, groupId);
    }

    function _providerIndex(address provider) private view returns (uint256) {
        for (uint256 i = 0; i < _providers.length; ++i) {
            if (_providers[i] == provider) return i;
        }
        revert JobMarketHandlerUnknownProvider(provider);
    }

    function _claim(uint256 jobId, address provider) private {
        (uint256 payment, uint256 fee, uint256 stakeReleased) = market.claimableFor(jobId, provider);
        uint256 balance = token.balanceOf(provider);
        uint256 locked = registry.getProvider(provider).locked;
        uint256 treasuryBefore = market.claimableBalance(treasury);
        vm.prank(provider);
        uint256 returned = market.claim(jobId);
        vm.assertEq(returned, payment, "claim returns the payment before the fee");
        vm.assertEq(token.balanceOf(provider), balance + payment - fee, "claim pays payment - fee");
        vm.assertEq(market.claimableBalance(treasury) - treasuryBefore, fee, "fee to treasury");
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

    /// @dev The memberships a reveal by `provider` would reveal now, how many, and the error it
    /// must fail with if none: the reason for skipping the first membership it skips.
    function _dueReveals(
        uint256 jobId,
        IJobMarket.Job memory job,
        address provider,
        IJobMarket.Assignment[] memory assignments
    ) private view returns (bool[] memory due, uint256 dueCount, bytes memory skipError) {
        due = new bool[](assignments.length);
        for (uint256 j = 0; j < assignments.length; ++j) {
            uint16 groupId = assignments[j].groupId;
            bool done = revealedIn[jobId][provider][groupId];
            bool ready = currentTime > job.commitDeadline
                || market.getGroup(jobId, groupId).commitCount == job.replication;
            if (!done && ready) {
                due[j] = true;
                ++dueCount;
            } else if (skipError.length == 0) {
                skipError = done
                    ? abi.encodeWithSelector(
                        IJobMarket.JobMarketNothingToReveal.selector, jobId, groupId, provider
                    )
                    : abi.encodeWithSelector(IJobMarket.JobMarketRevealTooEarly.selector, jobId, groupId);
            }
        }
    }

    /// @dev Commits all of `provider`'s memberships: honest half the time, otherwise wrong in
    /// every membership or in the first only.
    function _commit(uint256 jobId, address provider, uint256 scriptSeed) private {
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

    /// @dev Reveals what `provider` committed, checking that exactly the memberships due now
    /// are revealed; or, when none is due or `tamper` is set, that the call fails as documented.
    function _reveal(uint256 jobId, IJobMarket.Job memory job, address provider, bool tamper)
        private
    {
        IJobMarket.Assignment[] memory assignments = market.assignmentsOf(jobId, provider);
        bytes32[] memory roots = _roots(jobId, provider, assignments, scriptOf[jobId][provider]);
        (bool[] memory due, uint256 dueCount, bytes memory skipError) =
            _dueReveals(jobId, job, provider, assignments);
        bytes32 salt = _salt(jobId, provider);
        if (dueCount == 0) {
            vm.expectRevert(skipError);
            vm.prank(provider);
            market.reveal(jobId, roots, salt, "bafkreiresults");
            ++calls["revealTooEarly"];
            return;
        }
        if (tamper) {
            // A root that does not open its commitment fails the whole call.
            uint256 first;
            while (!due[first]) ++first;
            roots[first] = keccak256(abi.encode(roots[first]));
            vm.expectRevert(
                abi.encodeWithSelector(
                    IJobMarket.JobMarketRevealMismatch.selector,
                    jobId,
                    assignments[first].groupId,
                    provider
                )
            );
            vm.prank(provider);
            market.reveal(jobId, roots, salt, "bafkreiresults");
            ++calls["revealMismatch"];
            return;
        }
        vm.prank(provider);
        market.reveal(jobId, roots, salt, "bafkreiresults");
        IJobMarket.Assignment[] memory after_ = market.assignmentsOf(jobId, provider);
        for (uint256 j = 0; j < assignments.length; ++j) {
            uint16 groupId = assignments[j].groupId;
            if (due[j]) {
                revealedIn[jobId][provider][groupId] = true;
                ++revealedCount[jobId][provider];
            }
            vm.assertTrue(
                after_[j].revealed == revealedIn[jobId][provider][groupId],
                "reveal reveals exactly the memberships that were due"
            );
            if (after_[j].revealed) vm.assertEq(after_[j].commitment, roots[j], "root stored");
        }
        ++calls["reveal"];
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

    /// @dev A job in `phase` found by `jobSeed` and, on it, a provider found by `providerSeed` that
    /// can take the step `need` describes; the provider is zero when either is missing.
    function _findJobAndProvider(uint256 jobSeed, Phase phase, uint256 providerSeed, Need need)
        private
        view
        returns (uint256 jobId, IJobMarket.Job memory job, address provider)
    {
        (jobId, job) = _findJob(jobSeed, phase);
        if (jobId != 0) provider = _findProvider(providerSeed, jobId, job, need);
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
            if (!_inPhase(candidate, phase)) continue;
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
            return scriptOf[jobId][provider] != Script.None
                && revealedCount[jobId][provider] < bid.groupCount;
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
