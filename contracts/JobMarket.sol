// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {Assignment as Layout} from "./libraries/Assignment.sol";
import {PermitLib} from "./libraries/PermitLib.sol";

/// @title JobMarket
/// @notice See {IJobMarket}.
/// @dev Gas grows with providers and groups, never with tasks: a group is one storage slot
/// whatever its task range, and a provider's position in a job is one slot. Nothing per task
/// is ever stored or looped over.
contract JobMarket is IJobMarket, Ownable2Step, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Most tasks a job may have (`JobMarketInvalidTaskCount`).
    uint32 public constant MAX_TASK_COUNT = 1_000_000;
    /// @notice Most replicas per task, k (`JobMarketInvalidReplication`); one bit per lane in
    /// a byte-wide mask.
    uint8 public constant MAX_REPLICATION = 8;
    /// @notice Most bids a job can hold at once; a withdrawn bid frees its slot, and a bid on a
    /// full book takes the worst bid's slot if it is cheaper (`JobMarketBookFull` if not). The
    /// bound keeps `closeBidding` within a block's gas.
    uint8 public constant MAX_BIDS_PER_JOB = 64;
    /// @notice Longest bidding window a job may ask for, in seconds (7 days).
    uint32 public constant MAX_BIDDING_WINDOW = 7 days;
    /// @notice Longest execution window (award to commit deadline), in seconds (14 days).
    uint32 public constant MAX_EXECUTION_WINDOW = 14 days;
    /// @notice Longest reveal window (commit deadline to reveal deadline), in seconds (3 days).
    uint32 public constant MAX_REVEAL_WINDOW = 3 days;
    /// @notice Highest protocol fee the owner may set, in basis points (500 = 5%).
    uint16 public constant MAX_FEE_BPS = 500;
    uint16 private constant _BPS = 10_000;

    /// @dev One slot each, in this order: who/what/how many; prices and the bid deadline;
    /// windows, deadlines and resource needs; escrow.
    struct JobRecord {
        address requester;
        JobStatus status;
        uint8 replication;
        uint8 quorum;
        uint32 taskCount;
        uint8 bidCount; // standing bids: the length of the bidder list
        uint16 groupCount;
        uint16 feeBps;
        uint96 maxPrice;
        uint96 stakePerTaskReplica;
        uint40 biddingDeadline;
        uint32 executionWindow;
        uint32 revealWindow;
        uint40 commitDeadline;
        uint40 revealDeadline;
        uint32 cpuMillicores;
        uint32 memoryMiB;
        uint16 gpuCount;
        uint128 escrow;
    }

    /// @dev A provider's bid and assignment in one job, in one slot. `capacity == 0` means no
    /// bid. `bidIndex` is its entry in the bidder list, which is kept dense and in bid order.
    struct Position {
        uint96 price;
        uint32 capacity;
        uint32 allotted;
        uint40 segmentStart;
        uint16 firstGroup;
        uint16 groupCount;
        uint8 bidIndex;
        bool claimed;
    }

    /// @dev A replica group in one slot. Masks have one bit per lane; `members` packs the bid
    /// index of lane r's provider in byte r.
    struct GroupRecord {
        uint32 taskStart;
        uint32 taskCount;
        uint8 committedMask;
        uint8 revealedMask;
        uint8 winnersMask;
        GroupOutcome outcome;
        uint64 members;
    }

    /// @dev Why `reveal` skipped a membership.
    enum RevealSkip {
        None,
        NothingToReveal,
        TooEarly
    }

    IERC20 private immutable _token;
    IProviderRegistry private immutable _registry;
    address private _treasury;
    uint16 private _protocolFeeBps;
    uint256 private _jobCount;

    mapping(uint256 jobId => JobRecord) private _jobs;
    mapping(uint256 jobId => mapping(uint256 index => address)) private _bidders;
    mapping(uint256 jobId => mapping(address provider => Position)) private _positions;
    mapping(uint256 jobId => mapping(uint256 groupId => GroupRecord)) private _groups;
    /// @dev Per group membership (key `groupId * MAX_REPLICATION + lane`): the commitment,
    /// replaced by the revealed root.
    mapping(uint256 jobId => mapping(uint256 membership => bytes32)) private _results;
    mapping(address account => uint256) private _claimable;

    /// @param token_ The payment token (CONUN); must be the registry's staking token
    /// (`JobMarketTokenMismatch`).
    /// @param registry_ The provider registry; its unstake cooldown must exceed the sum of the
    /// three maximum windows, 24 days (`JobMarketCooldownTooShort`). Its owner must then call
    /// `setMarket` with this contract.
    /// @param treasury_ Receives protocol fees and slashed stake; non-zero
    /// (`JobMarketZeroTreasury`).
    /// @param feeBps_ Initial protocol fee in basis points, at most `MAX_FEE_BPS`
    /// (`JobMarketFeeTooHigh`).
    /// @param owner_ May pause, set the fee and the treasury.
    constructor(
        IERC20 token_,
        IProviderRegistry registry_,
        address treasury_,
        uint16 feeBps_,
        address owner_
    ) Ownable(owner_) {
        if (registry_.token() != address(token_)) {
            revert JobMarketTokenMismatch(address(token_), registry_.token());
        }
        uint64 required =
            uint64(MAX_BIDDING_WINDOW) + MAX_EXECUTION_WINDOW + MAX_REVEAL_WINDOW;
        if (registry_.unstakeCooldown() <= required) {
            revert JobMarketCooldownTooShort(registry_.unstakeCooldown(), required);
        }
        _token = token_;
        _registry = registry_;
        _setTreasury(treasury_);
        _setProtocolFee(feeBps_);
    }

    // ---------------------------------------------------------------- requester

    /// @inheritdoc IJobMarket
    function postJob(JobSpec calldata spec) external nonReentrant returns (uint256) {
        return _postJob(spec);
    }

    /// @inheritdoc IJobMarket
    function postJobWithPermit(
        JobSpec calldata spec,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256) {
        uint256 escrow = uint256(spec.taskCount) * spec.replication * spec.maxPrice;
        PermitLib.tryPermit(IERC20Permit(address(_token)), escrow, deadline, v, r, s);
        return _postJob(spec);
    }

    /// @inheritdoc IJobMarket
    function cancelJob(uint256 jobId) external nonReentrant {
        JobRecord storage job = _job(jobId);
        _expectStatus(jobId, job, JobStatus.Open);
        if (msg.sender != job.requester) revert JobMarketNotRequester(jobId, msg.sender);
        if (block.timestamp > job.biddingDeadline) {
            revert JobMarketDeadlinePassed(jobId, job.biddingDeadline);
        }
        job.status = JobStatus.Cancelled;
        uint256 refund = job.escrow;
        job.escrow = 0;
        emit JobCancelled(jobId, refund);
        _credit(job.requester, jobId, refund, CreditKind.Refund);
        _releaseAllBids(jobId, job);
    }

    // ---------------------------------------------------------------- providers

    /// @inheritdoc IJobMarket
    function placeBid(uint256 jobId, uint96 price, uint32 capacity)
        external
        whenNotPaused
        nonReentrant
    {
        JobRecord storage job = _job(jobId);
        _expectStatus(jobId, job, JobStatus.Open);
        if (block.timestamp > job.biddingDeadline) {
            revert JobMarketDeadlinePassed(jobId, job.biddingDeadline);
        }
        if (price == 0) revert JobMarketZeroPrice(jobId);
        if (price > job.maxPrice) revert JobMarketBidTooHigh(jobId, price, job.maxPrice);
        uint32 minCapacity = _minBidCapacity(job);
        if (capacity < minCapacity || capacity > job.taskCount) {
            revert JobMarketInvalidCapacity(jobId, capacity, minCapacity, job.taskCount);
        }
        Position storage position = _positions[jobId][msg.sender];
        if (position.capacity != 0) revert JobMarketDuplicateBid(jobId, msg.sender);
        _checkCapabilities(jobId, job);
        if (job.bidCount == MAX_BIDS_PER_JOB) _evictWorstBid(jobId, job, price);
        uint8 bidIndex = job.bidCount;

        job.bidCount = bidIndex + 1;
        _bidders[jobId][bidIndex] = msg.sender;
        _positions[jobId][msg.sender] = Position({
            price: price,
            capacity: capacity,
            allotted: 0,
            segmentStart: 0,
            firstGroup: 0,
            groupCount: 0,
            bidIndex: bidIndex,
            claimed: false
        });
        uint256 stake = uint256(capacity) * job.stakePerTaskReplica;
        emit BidPlaced(jobId, msg.sender, price, capacity, stake);
        _registry.lockStake(msg.sender, jobId, stake);
    }

    /// @inheritdoc IJobMarket
    function withdrawBid(uint256 jobId) external nonReentrant {
        JobRecord storage job = _job(jobId);
        _expectStatus(jobId, job, JobStatus.Open);
        if (block.timestamp > job.biddingDeadline) {
            revert JobMarketDeadlinePassed(jobId, job.biddingDeadline);
        }
        Position storage position = _positions[jobId][msg.sender];
        uint256 capacity = position.capacity;
        if (capacity == 0) revert JobMarketNoBid(jobId, msg.sender);
        _removeBidder(jobId, job, position.bidIndex);
        delete _positions[jobId][msg.sender];
        uint256 stake = capacity * job.stakePerTaskReplica;
        emit BidWithdrawn(jobId, msg.sender, stake);
        _registry.unlockStake(msg.sender, jobId, stake);
    }

    /// @inheritdoc IJobMarket
    function closeBidding(uint256 jobId) external nonReentrant {
        JobRecord storage job = _job(jobId);
        _expectStatus(jobId, job, JobStatus.Open);
        if (block.timestamp <= job.biddingDeadline) {
            revert JobMarketDeadlineNotReached(jobId, job.biddingDeadline);
        }
        Layout.Plan memory plan = Layout.plan(
            _standingBids(jobId, job),
            job.taskCount,
            job.replication,
            uint256(keccak256(abi.encode(block.prevrandao, jobId)))
        );
        if (!plan.filled) {
            job.status = JobStatus.Unfilled;
            uint256 refund = job.escrow;
            job.escrow = 0;
            emit JobUnfilled(jobId, refund);
            _credit(job.requester, jobId, refund, CreditKind.Refund);
            _releaseAllBids(jobId, job);
            return;
        }
        _award(jobId, job, plan);
    }

    /// @inheritdoc IJobMarket
    function commit(uint256 jobId, bytes32[] calldata commitments) external nonReentrant {
        JobRecord storage job = _job(jobId);
        _expectStatus(jobId, job, JobStatus.Awarded);
        if (block.timestamp > job.commitDeadline) {
            revert JobMarketDeadlinePassed(jobId, job.commitDeadline);
        }
        Position memory position = _assignedPosition(jobId, commitments.length);
        for (uint256 j = 0; j < commitments.length; ++j) {
            (uint16 groupId, uint8 lane) = _membership(jobId, job, position, j);
            GroupRecord storage group = _groups[jobId][groupId];
            uint8 bit = uint8(1 << lane);
            if (group.committedMask & bit != 0) {
                revert JobMarketAlreadyCommitted(jobId, groupId, msg.sender);
            }
            if (commitments[j] == bytes32(0)) revert JobMarketZeroCommitment(jobId);
            group.committedMask |= bit;
            _results[jobId][_membershipKey(groupId, lane)] = commitments[j];
            emit ResultCommitted(jobId, groupId, msg.sender, commitments[j]);
        }
    }

    /// @inheritdoc IJobMarket
    function reveal(
        uint256 jobId,
        bytes32[] calldata resultRoots,
        bytes32 salt,
        string calldata resultsCid
    ) external nonReentrant {
        JobRecord storage job = _job(jobId);
        _expectStatus(jobId, job, JobStatus.Awarded);
        if (block.timestamp > job.revealDeadline) {
            revert JobMarketDeadlinePassed(jobId, job.revealDeadline);
        }
        Position memory position = _assignedPosition(jobId, resultRoots.length);
        // Before the commit deadline a group may only reveal once every member has committed.
        uint8 requiredMask = block.timestamp > job.commitDeadline ? 0 : _allLanes(job.replication);
        // Memberships that cannot be revealed yet (or were already) are skipped, so one slow
        // group does not hold back the provider's others; the call fails only if none reveals.
        bool revealedAny;
        uint16 skippedGroup;
        RevealSkip skipped;
        for (uint256 j = 0; j < resultRoots.length; ++j) {
            (uint16 groupId, uint8 lane) = _membership(jobId, job, position, j);
            RevealSkip skip =
                _revealMembership(jobId, groupId, lane, resultRoots[j], salt, requiredMask);
            if (skip == RevealSkip.None) {
                revealedAny = true;
                emit ResultRevealed(jobId, groupId, msg.sender, resultRoots[j], resultsCid);
            } else if (skipped == RevealSkip.None) {
                (skipped, skippedGroup) = (skip, groupId);
            }
        }
        if (revealedAny) return;
        if (skipped == RevealSkip.TooEarly) revert JobMarketRevealTooEarly(jobId, skippedGroup);
        revert JobMarketNothingToReveal(jobId, skippedGroup, msg.sender);
    }

    /// @inheritdoc IJobMarket
    function finalize(uint256 jobId) external nonReentrant {
        JobRecord storage job = _job(jobId);
        _expectStatus(jobId, job, JobStatus.Awarded);
        if (!_isFinalizable(jobId, job)) revert JobMarketNotFinalizable(jobId);
        job.status = JobStatus.Finalized;
        uint256 refund;
        uint256 slashed;
        for (uint16 g = 0; g < job.groupCount; ++g) {
            (uint256 groupRefund, uint256 groupSlashed) = _finalizeGroup(jobId, job, g);
            refund += groupRefund;
            slashed += groupSlashed;
        }
        // Refunds are the prices of lanes that will not be paid: part of the escrow.
        job.escrow -= uint128(refund);
        emit JobFinalized(jobId, refund, slashed);
        _credit(job.requester, jobId, refund, CreditKind.Refund);
        _credit(_treasury, jobId, slashed, CreditKind.Slash);
    }

    /// @inheritdoc IJobMarket
    function claim(uint256 jobId) external nonReentrant returns (uint256 payment) {
        JobRecord storage job = _job(jobId);
        _expectStatus(jobId, job, JobStatus.Finalized);
        Position storage position = _positions[jobId][msg.sender];
        if (position.allotted == 0) revert JobMarketNoBid(jobId, msg.sender);
        if (position.claimed) revert JobMarketAlreadyClaimed(jobId, msg.sender);
        position.claimed = true;
        uint256 stakeReleased;
        (payment, stakeReleased) = _settlement(jobId, job, position);
        uint256 fee = payment * job.feeBps / _BPS;
        // The payment was reserved in escrow at the award and not refunded at finalisation.
        job.escrow -= uint128(payment);
        emit Claimed(jobId, msg.sender, payment, fee, stakeReleased);
        _credit(_treasury, jobId, fee, CreditKind.Fee);
        if (stakeReleased != 0) _registry.unlockStake(msg.sender, jobId, stakeReleased);
        if (payment != fee) _token.safeTransfer(msg.sender, payment - fee);
    }

    /// @inheritdoc IJobMarket
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = _claimable[msg.sender];
        if (amount == 0) revert JobMarketNothingToWithdraw(msg.sender);
        _claimable[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- owner

    /// @inheritdoc IJobMarket
    function setProtocolFee(uint16 feeBps) external onlyOwner {
        _setProtocolFee(feeBps);
    }

    /// @inheritdoc IJobMarket
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    /// @inheritdoc IJobMarket
    function pause() external onlyOwner {
        _pause();
    }

    /// @inheritdoc IJobMarket
    function unpause() external onlyOwner {
        _unpause();
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IJobMarket
    function getJob(uint256 jobId) external view returns (Job memory) {
        JobRecord memory r = _jobs[jobId];
        return Job({
            requester: r.requester,
            status: r.status,
            replication: r.replication,
            quorum: r.quorum,
            taskCount: r.taskCount,
            bidCount: r.bidCount,
            groupCount: r.groupCount,
            feeBps: r.feeBps,
            maxPrice: r.maxPrice,
            stakePerTaskReplica: r.stakePerTaskReplica,
            biddingDeadline: r.biddingDeadline,
            executionWindow: r.executionWindow,
            revealWindow: r.revealWindow,
            commitDeadline: r.commitDeadline,
            revealDeadline: r.revealDeadline,
            cpuMillicores: r.cpuMillicores,
            memoryMiB: r.memoryMiB,
            gpuCount: r.gpuCount,
            escrow: r.escrow
        });
    }

    /// @inheritdoc IJobMarket
    function jobCount() external view returns (uint256) {
        return _jobCount;
    }

    /// @inheritdoc IJobMarket
    function biddersOf(uint256 jobId) external view returns (address[] memory bidders) {
        uint256 count = _jobs[jobId].bidCount;
        bidders = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            bidders[i] = _bidders[jobId][i];
        }
    }

    /// @inheritdoc IJobMarket
    function getBid(uint256 jobId, address provider) external view returns (Bid memory) {
        Position memory p = _positions[jobId][provider];
        return Bid({
            price: p.price,
            capacity: p.capacity,
            allotted: p.allotted,
            segmentStart: p.segmentStart,
            firstGroup: p.firstGroup,
            groupCount: p.groupCount,
            claimed: p.claimed
        });
    }

    /// @inheritdoc IJobMarket
    function getGroup(uint256 jobId, uint16 groupId) external view returns (Group memory group) {
        JobRecord memory job = _jobs[jobId];
        GroupRecord memory r = _groups[jobId][groupId];
        group.taskStart = r.taskStart;
        group.taskCount = r.taskCount;
        group.commitCount = _popCount(r.committedMask);
        group.revealCount = _popCount(r.revealedMask);
        group.outcome = r.outcome;
        group.members = new address[](groupId < job.groupCount ? job.replication : 0);
        for (uint8 lane = 0; lane < group.members.length; ++lane) {
            group.members[lane] = _bidders[jobId][_memberIndex(r, lane)];
            if (r.winnersMask & (1 << lane) != 0) {
                group.winningRoot = _results[jobId][_membershipKey(groupId, lane)];
            }
        }
    }

    /// @inheritdoc IJobMarket
    function assignmentsOf(uint256 jobId, address provider)
        external
        view
        returns (Assignment[] memory assignments)
    {
        JobRecord storage job = _jobs[jobId];
        Position memory position = _positions[jobId][provider];
        uint256 count = position.allotted == 0 ? 0 : position.groupCount;
        assignments = new Assignment[](count);
        for (uint256 j = 0; j < count; ++j) {
            (uint16 groupId, uint8 lane) = _membership(jobId, job, position, j);
            GroupRecord memory group = _groups[jobId][groupId];
            assignments[j] = Assignment({
                groupId: groupId,
                lane: lane,
                taskStart: group.taskStart,
                taskCount: group.taskCount,
                commitment: _results[jobId][_membershipKey(groupId, lane)],
                revealed: group.revealedMask & (1 << lane) != 0
            });
        }
    }

    /// @inheritdoc IJobMarket
    function minBidCapacity(uint256 jobId) external view returns (uint32) {
        return _minBidCapacity(_job(jobId));
    }

    /// @inheritdoc IJobMarket
    function isFinalizable(uint256 jobId) external view returns (bool) {
        JobRecord storage job = _jobs[jobId];
        return job.status == JobStatus.Awarded && _isFinalizable(jobId, job);
    }

    /// @inheritdoc IJobMarket
    function claimableFor(uint256 jobId, address provider)
        external
        view
        returns (uint256 payment, uint256 fee, uint256 stakeReleased)
    {
        JobRecord storage job = _jobs[jobId];
        Position storage position = _positions[jobId][provider];
        if (job.status != JobStatus.Finalized || position.allotted == 0 || position.claimed) {
            return (0, 0, 0);
        }
        (payment, stakeReleased) = _settlement(jobId, job, position);
        fee = payment * job.feeBps / _BPS;
    }

    /// @inheritdoc IJobMarket
    function claimableBalance(address account) external view returns (uint256) {
        return _claimable[account];
    }

    /// @inheritdoc IJobMarket
    function commitmentFor(
        uint256 jobId,
        uint16 groupId,
        address provider,
        bytes32 resultRoot,
        bytes32 salt
    ) external pure returns (bytes32) {
        return _commitment(jobId, groupId, provider, resultRoot, salt);
    }

    /// @inheritdoc IJobMarket
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IJobMarket
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IJobMarket
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IJobMarket
    function protocolFeeBps() external view returns (uint16) {
        return _protocolFeeBps;
    }

    // ---------------------------------------------------------------- internals

    function _postJob(JobSpec calldata spec) private whenNotPaused returns (uint256 jobId) {
        _validateSpec(spec);
        uint256 escrow = uint256(spec.taskCount) * spec.replication * spec.maxPrice;
        uint40 biddingDeadline = uint40(block.timestamp) + spec.biddingWindow;
        jobId = ++_jobCount;
        JobRecord storage job = _jobs[jobId];
        job.requester = msg.sender;
        job.status = JobStatus.Open;
        job.replication = spec.replication;
        job.quorum = spec.quorum;
        job.taskCount = spec.taskCount;
        job.feeBps = _protocolFeeBps;
        job.maxPrice = spec.maxPrice;
        job.stakePerTaskReplica = spec.stakePerTaskReplica;
        job.biddingDeadline = biddingDeadline;
        job.executionWindow = spec.executionWindow;
        job.revealWindow = spec.revealWindow;
        job.cpuMillicores = spec.cpuMillicores;
        job.memoryMiB = spec.memoryMiB;
        job.gpuCount = spec.gpuCount;
        // taskCount * replication * maxPrice < 2^20 * 2^3 * 2^96 fits in 128 bits.
        job.escrow = uint128(escrow);
        emit JobPosted(jobId, msg.sender, spec, biddingDeadline, escrow, _protocolFeeBps);
        _token.safeTransferFrom(msg.sender, address(this), escrow);
    }

    function _validateSpec(JobSpec calldata spec) private pure {
        if (spec.taskCount == 0 || spec.taskCount > MAX_TASK_COUNT) {
            revert JobMarketInvalidTaskCount(spec.taskCount);
        }
        if (spec.replication == 0 || spec.replication > MAX_REPLICATION) {
            revert JobMarketInvalidReplication(spec.replication);
        }
        if (spec.quorum > spec.replication || uint256(spec.quorum) * 2 <= spec.replication) {
            revert JobMarketInvalidQuorum(spec.quorum, spec.replication);
        }
        if (spec.maxPrice == 0) revert JobMarketInvalidMaxPrice(spec.maxPrice);
        if (spec.stakePerTaskReplica < spec.maxPrice) {
            revert JobMarketStakeTooLow(spec.stakePerTaskReplica, spec.maxPrice);
        }
        _checkWindow(spec.biddingWindow, MAX_BIDDING_WINDOW);
        _checkWindow(spec.executionWindow, MAX_EXECUTION_WINDOW);
        _checkWindow(spec.revealWindow, MAX_REVEAL_WINDOW);
        if (spec.cpuMillicores == 0 || spec.memoryMiB == 0) {
            revert JobMarketInvalidResources(spec.cpuMillicores, spec.memoryMiB);
        }
        if (bytes(spec.manifestCid).length == 0 || bytes(spec.imageRef).length == 0) {
            revert JobMarketEmptyReference();
        }
    }

    function _checkWindow(uint32 window, uint32 max) private pure {
        if (window == 0 || window > max) revert JobMarketInvalidWindow(window, max);
    }

    function _checkCapabilities(uint256 jobId, JobRecord storage job) private view {
        (bool registered, IProviderRegistry.Capabilities memory caps) =
            _registry.capabilitiesOf(msg.sender);
        if (!registered) revert JobMarketNotProvider(msg.sender);
        if (
            caps.cpuMillicores < job.cpuMillicores || caps.memoryMiB < job.memoryMiB
                || caps.gpuCount < job.gpuCount
        ) revert JobMarketInsufficientCapabilities(jobId, msg.sender);
    }

    /// @dev Standing bids in bid order (which is the tie-break order for equal prices).
    function _standingBids(uint256 jobId, JobRecord storage job)
        private
        view
        returns (Layout.Bid[] memory bids)
    {
        bids = new Layout.Bid[](job.bidCount);
        for (uint256 i = 0; i < bids.length; ++i) {
            Position memory position = _positions[jobId][_bidders[jobId][i]];
            bids[i] = Layout.Bid({
                bidIndex: uint8(i),
                price: position.price,
                capacity: position.capacity,
                allotted: 0,
                segmentStart: 0,
                firstGroup: 0,
                groupCount: 0
            });
        }
    }

    /// @dev Fewest task-replicas a bid may offer: enough that `MAX_BIDS_PER_JOB` bids can
    /// always cover the job's `taskCount * replication` task-replicas, so a full book of
    /// small bids cannot leave it unfilled.
    function _minBidCapacity(JobRecord storage job) private view returns (uint32) {
        uint256 needed = uint256(job.taskCount) * job.replication;
        // At most 2^20 * 8 / 64, so it fits; and below taskCount, since replication <= 8.
        return uint32((needed + MAX_BIDS_PER_JOB - 1) / MAX_BIDS_PER_JOB);
    }

    /// @dev Makes room in a full book for a bid at `price`: removes the worst standing bid —
    /// the highest price, and of equal prices the latest, the one the award would take last —
    /// and releases its stake, or reverts with `JobMarketBookFull` when `price` does not beat
    /// it. Reads every standing bid once; the newcomer pays for it.
    function _evictWorstBid(uint256 jobId, JobRecord storage job, uint96 price) private {
        uint8 worstIndex;
        uint96 worstPrice;
        for (uint8 i = 0; i < MAX_BIDS_PER_JOB; ++i) {
            uint96 bidPrice = _positions[jobId][_bidders[jobId][i]].price;
            if (bidPrice >= worstPrice) (worstIndex, worstPrice) = (i, bidPrice);
        }
        if (price >= worstPrice) revert JobMarketBookFull(jobId, worstPrice);
        address evicted = _bidders[jobId][worstIndex];
        uint256 stake = uint256(_positions[jobId][evicted].capacity) * job.stakePerTaskReplica;
        _removeBidder(jobId, job, worstIndex);
        delete _positions[jobId][evicted];
        emit BidEvicted(jobId, evicted, msg.sender, stake);
        _registry.unlockStake(evicted, jobId, stake);
    }

    /// @dev Removes entry `index` from the bidder list, shifting the later entries down so the
    /// list stays in bid order. At most `MAX_BIDS_PER_JOB` entries move, paid by the withdrawer.
    function _removeBidder(uint256 jobId, JobRecord storage job, uint8 index) private {
        uint8 last = job.bidCount - 1;
        for (uint8 i = index; i < last; ++i) {
            address next = _bidders[jobId][i + 1];
            _bidders[jobId][i] = next;
            _positions[jobId][next].bidIndex = i;
        }
        delete _bidders[jobId][last];
        job.bidCount = last;
    }

    function _award(uint256 jobId, JobRecord storage job, Layout.Plan memory plan) private {
        Layout.Bid[] memory bids = plan.bids;
        uint256 stakePerTaskReplica = job.stakePerTaskReplica;
        uint256 cost;
        for (uint256 i = 0; i < bids.length; ++i) {
            Layout.Bid memory bid = bids[i];
            address provider = _bidders[jobId][bid.bidIndex];
            // Stake beyond what was allotted is no longer at risk: release it now.
            uint256 release = uint256(bid.capacity - bid.allotted) * stakePerTaskReplica;
            if (bid.allotted != 0) {
                Position storage position = _positions[jobId][provider];
                position.allotted = bid.allotted;
                position.segmentStart = bid.segmentStart;
                position.firstGroup = bid.firstGroup;
                position.groupCount = bid.groupCount;
                cost += uint256(bid.allotted) * bid.price;
                emit BidAccepted(jobId, provider, bid.allotted, bid.segmentStart, release);
            } else {
                emit BidReleased(jobId, provider, release);
            }
            if (release != 0) _registry.unlockStake(provider, jobId, release);
        }
        uint16 groupCount = uint16(plan.groups.length);
        for (uint16 g = 0; g < groupCount; ++g) {
            Layout.Group memory group = plan.groups[g];
            _groups[jobId][g] = GroupRecord({
                taskStart: group.taskStart,
                taskCount: group.taskCount,
                committedMask: 0,
                revealedMask: 0,
                winnersMask: 0,
                outcome: GroupOutcome.Pending,
                members: group.members
            });
            address[] memory members = new address[](job.replication);
            for (uint256 lane = 0; lane < members.length; ++lane) {
                members[lane] = _bidders[jobId][uint8(group.members >> (8 * lane))];
            }
            emit GroupFormed(jobId, g, group.taskStart, group.taskCount, members);
        }
        uint40 commitDeadline = uint40(block.timestamp) + job.executionWindow;
        uint40 revealDeadline = commitDeadline + job.revealWindow;
        uint256 refund = job.escrow - cost;
        job.status = JobStatus.Awarded;
        job.groupCount = groupCount;
        job.commitDeadline = commitDeadline;
        job.revealDeadline = revealDeadline;
        // cost <= escrow: every allotted task-replica is priced at most maxPrice.
        job.escrow = uint128(cost);
        emit JobAwarded(jobId, commitDeadline, revealDeadline, groupCount, cost, refund);
        _credit(job.requester, jobId, refund, CreditKind.Refund);
    }

    /// @dev Reveals one membership, or says why it is skipped. A root that does not match the
    /// commitment is never skipped: it reverts.
    function _revealMembership(
        uint256 jobId,
        uint16 groupId,
        uint8 lane,
        bytes32 resultRoot,
        bytes32 salt,
        uint8 requiredMask
    ) private returns (RevealSkip) {
        GroupRecord storage group = _groups[jobId][groupId];
        uint8 bit = uint8(1 << lane);
        if (group.committedMask & bit == 0 || group.revealedMask & bit != 0) {
            return RevealSkip.NothingToReveal;
        }
        if (group.committedMask & requiredMask != requiredMask) return RevealSkip.TooEarly;
        uint256 key = _membershipKey(groupId, lane);
        if (_commitment(jobId, groupId, msg.sender, resultRoot, salt) != _results[jobId][key]) {
            revert JobMarketRevealMismatch(jobId, groupId, msg.sender);
        }
        group.revealedMask |= bit;
        _results[jobId][key] = resultRoot;
        return RevealSkip.None;
    }

    function _finalizeGroup(uint256 jobId, JobRecord storage job, uint16 groupId)
        private
        returns (uint256 refund, uint256 slashed)
    {
        GroupRecord storage group = _groups[jobId][groupId];
        (uint8 winnersMask, uint8 agreeing, bytes32 winningRoot) =
            _quorum(jobId, groupId, group.revealedMask, job.replication, job.quorum);
        GroupOutcome outcome = winnersMask != 0 ? GroupOutcome.Agreed : GroupOutcome.NoQuorum;
        group.winnersMask = winnersMask;
        group.outcome = outcome;
        for (uint8 lane = 0; lane < job.replication; ++lane) {
            if (winnersMask & (1 << lane) == 0) {
                (uint256 laneRefund, uint256 laneSlashed) = _settleLoser(jobId, job, groupId, lane);
                refund += laneRefund;
                slashed += laneSlashed;
            }
        }
        emit GroupFinalized(jobId, groupId, outcome, winningRoot, agreeing, winnersMask, refund);
    }

    /// @dev Refunds the requester a non-winning member's price and slashes the member if it is
    /// at fault. The group's outcome must already be stored.
    function _settleLoser(uint256 jobId, JobRecord storage job, uint16 groupId, uint8 lane)
        private
        returns (uint256 refund, uint256 slashed)
    {
        GroupRecord memory group = _groups[jobId][groupId];
        address provider = _bidders[jobId][_memberIndex(group, lane)];
        refund = uint256(group.taskCount) * _positions[jobId][provider].price;
        SlashReason reason = _slashReason(group, lane);
        if (reason == SlashReason.None) return (refund, 0);
        slashed = uint256(group.taskCount) * job.stakePerTaskReplica;
        emit ProviderSlashed(jobId, groupId, provider, slashed, reason);
        _registry.slashStake(provider, jobId, slashed);
    }

    /// @dev The lanes whose revealed root at least `quorum` lanes share, how many they are
    /// and the root. Because quorum > replication / 2, at most one root can qualify.
    function _quorum(
        uint256 jobId,
        uint16 groupId,
        uint8 revealedMask,
        uint8 replication,
        uint8 quorum
    ) private view returns (uint8 winnersMask, uint8 agreeing, bytes32 root) {
        bytes32[] memory roots = new bytes32[](replication);
        for (uint8 lane = 0; lane < replication; ++lane) {
            if (revealedMask & (1 << lane) != 0) {
                roots[lane] = _results[jobId][_membershipKey(groupId, lane)];
            }
        }
        for (uint8 a = 0; a < replication; ++a) {
            if (revealedMask & (1 << a) == 0) continue;
            uint8 mask;
            uint8 count;
            for (uint8 b = a; b < replication; ++b) {
                if (revealedMask & (1 << b) != 0 && roots[b] == roots[a]) {
                    mask |= uint8(1 << b);
                    ++count;
                }
            }
            if (count >= quorum) return (mask, count, roots[a]);
        }
        return (0, 0, bytes32(0));
    }

    /// @dev Why a non-winning member is slashed, or `None` when it is not: without quorum only
    /// members that failed to commit or reveal are at fault.
    function _slashReason(GroupRecord memory group, uint8 lane)
        private
        pure
        returns (SlashReason)
    {
        uint8 bit = uint8(1 << lane);
        if (group.committedMask & bit == 0) return SlashReason.NoCommit;
        if (group.revealedMask & bit == 0) return SlashReason.NoReveal;
        return group.outcome == GroupOutcome.Agreed ? SlashReason.WrongResult : SlashReason.None;
    }

    /// @dev Payment owed to a provider and the stake to release, over all its memberships.
    function _settlement(uint256 jobId, JobRecord storage job, Position storage position)
        private
        view
        returns (uint256 payment, uint256 stakeReleased)
    {
        Position memory p = position;
        uint256 slashedTasks;
        for (uint256 j = 0; j < p.groupCount; ++j) {
            (uint16 groupId, uint8 lane) = _membership(jobId, job, p, j);
            GroupRecord memory group = _groups[jobId][groupId];
            if (group.winnersMask & (1 << lane) != 0) {
                payment += uint256(group.taskCount) * p.price;
            } else if (_slashReason(group, lane) != SlashReason.None) {
                slashedTasks += group.taskCount;
            }
        }
        stakeReleased = uint256(p.allotted - slashedTasks) * job.stakePerTaskReplica;
    }

    function _isFinalizable(uint256 jobId, JobRecord storage job) private view returns (bool) {
        if (block.timestamp > job.revealDeadline) return true;
        uint8 allLanes = _allLanes(job.replication);
        bool commitClosed = block.timestamp > job.commitDeadline;
        for (uint16 g = 0; g < job.groupCount; ++g) {
            GroupRecord storage group = _groups[jobId][g];
            if (group.revealedMask != group.committedMask) return false;
            if (group.committedMask != allLanes && !commitClosed) return false;
        }
        return true;
    }

    /// @dev Releases the stake of every standing bid of a job that ended before an award.
    function _releaseAllBids(uint256 jobId, JobRecord storage job) private {
        uint256 stakePerTaskReplica = job.stakePerTaskReplica;
        for (uint256 i = 0; i < job.bidCount; ++i) {
            address provider = _bidders[jobId][i];
            uint256 stake = _positions[jobId][provider].capacity * stakePerTaskReplica;
            emit BidReleased(jobId, provider, stake);
            _registry.unlockStake(provider, jobId, stake);
        }
    }

    /// @dev The caller's position in an awarded job, checking that `given` matches its
    /// number of group memberships.
    function _assignedPosition(uint256 jobId, uint256 given)
        private
        view
        returns (Position memory position)
    {
        position = _positions[jobId][msg.sender];
        if (position.allotted == 0) revert JobMarketNoBid(jobId, msg.sender);
        if (given != position.groupCount) {
            revert JobMarketWrongMembershipCount(jobId, given, position.groupCount);
        }
    }

    /// @dev The j-th group membership of a segment: groups follow each other modulo
    /// groupCount, and the part of the segment that wrapped into the next lane holds the groups
    /// that start before the segment's first task.
    function _membership(
        uint256 jobId,
        JobRecord storage job,
        Position memory position,
        uint256 j
    ) private view returns (uint16 groupId, uint8 lane) {
        uint32 taskCount = job.taskCount;
        groupId = uint16((position.firstGroup + j) % job.groupCount);
        lane = uint8(position.segmentStart / taskCount);
        if (_groups[jobId][groupId].taskStart < position.segmentStart % taskCount) ++lane;
    }

    function _credit(address account, uint256 jobId, uint256 amount, CreditKind kind) private {
        if (amount == 0) return;
        _claimable[account] += amount;
        emit BalanceCredited(account, jobId, amount, kind);
    }

    function _setProtocolFee(uint16 feeBps) private {
        if (feeBps > MAX_FEE_BPS) revert JobMarketFeeTooHigh(feeBps, MAX_FEE_BPS);
        _protocolFeeBps = feeBps;
        emit ProtocolFeeSet(feeBps);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert JobMarketZeroTreasury();
        _treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    function _job(uint256 jobId) private view returns (JobRecord storage job) {
        job = _jobs[jobId];
        if (job.status == JobStatus.None) revert JobMarketUnknownJob(jobId);
    }

    function _expectStatus(uint256 jobId, JobRecord storage job, JobStatus expected)
        private
        view
    {
        if (job.status != expected) revert JobMarketWrongStatus(jobId, job.status, expected);
    }

    function _commitment(
        uint256 jobId,
        uint16 groupId,
        address provider,
        bytes32 resultRoot,
        bytes32 salt
    ) private pure returns (bytes32) {
        return keccak256(abi.encode(jobId, groupId, provider, resultRoot, salt));
    }

    function _membershipKey(uint16 groupId, uint8 lane) private pure returns (uint256) {
        return uint256(groupId) * MAX_REPLICATION + lane;
    }

    function _memberIndex(GroupRecord memory group, uint8 lane) private pure returns (uint8) {
        return uint8(group.members >> (8 * uint256(lane)));
    }

    function _allLanes(uint8 replication) private pure returns (uint8) {
        return uint8((uint256(1) << replication) - 1);
    }

    function _popCount(uint8 mask) private pure returns (uint8 count) {
        for (; mask != 0; mask &= mask - 1) ++count;
    }

}
