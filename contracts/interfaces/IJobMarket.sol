// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IJobMarket
/// @notice The CONUN order book. A requester posts a job — `taskCount` tasks of one container
/// image, each to be run by `replication` (k) independent providers — and escrows
/// `taskCount * k * maxPrice` CONUN. Providers bid; the cheapest bids win and are shuffled into
/// replica groups; each provider commits to, then reveals, the Merkle root of its results;
/// roots that `quorum` (q > k/2) members of a group agree on are paid, the rest are slashed.
///
/// ## Job lifecycle
///
/// ```
///            cancel (requester, up to and including biddingDeadline)
///   Open ───────────────────────────────────────────────► Cancelled   (escrow refunded)
///    │ closeBidding (anyone, after biddingDeadline)
///    ├── bids cover taskCount × k ──► Awarded ──finalize──► Finalized (payments due, refunds)
///    └── they do not ───────────────────────────────────► Unfilled    (escrow refunded)
/// ```
///
/// `Awarded` has two deadlines set at `closeBidding`: `commitDeadline = close time +
/// executionWindow` and `revealDeadline = commitDeadline + revealWindow`. `finalize` is open to
/// anyone once every group has settled its reveals (see `isFinalizable`) and in any case after
/// `revealDeadline`. Every non-terminal state therefore has a deadline after which anyone can
/// move it on, and every terminal state leaves only pull payments: nothing can stay locked.
///
/// ## Assignment: lanes and replica groups
///
/// Winning bids are chosen cheapest first (earlier bid first on equal price) until their
/// capacities cover `taskCount * k` task-replicas; the most expensive winner may get less than
/// it offered. Winners are then shuffled with `block.prevrandao` and laid end to end over k
/// *lanes*, each lane one copy of tasks `0 .. taskCount-1`; every winner gets one contiguous
/// segment (which may continue from the end of one lane into the start of the next). Because
/// a segment is never longer than `taskCount`, no provider holds two replicas of one task.
/// Segment boundaries cut the task range into **replica groups**: contiguous task ranges run by
/// the same k distinct providers, one per lane. Providers cannot choose their co-replicas.
///
/// ## Commit and reveal, per group membership
///
/// For each group it belongs to, a provider commits
/// `keccak256(abi.encode(jobId, groupId, provider, resultRoot, salt))` before `commitDeadline`,
/// where `resultRoot` is the Merkle root of the group's task results (see `ResultMerkle`: an
/// OpenZeppelin standard Merkle tree over `(uint256 taskIndex, bytes32 outputHash)` leaves,
/// so any single task can be proven against it). Binding the provider's address makes a
/// copied commitment useless. A group's members may reveal once all k have committed, or after
/// `commitDeadline`, until `revealDeadline`.
///
/// ## Finalisation, payment and slashing
///
/// A root revealed by at least q members of a group wins: those members are owed their bid
/// price per task of the group. Members that revealed another root, or did not commit or did
/// not reveal, are slashed `stakePerTaskReplica` per task of the group, and the requester is
/// refunded their price. A group without quorum refunds the requester in full and slashes only
/// members that did not commit or reveal (a nondeterministic job is not the providers' fault).
/// Slashed stake goes to the treasury, so no participant of a job profits from another's
/// slash. Providers collect payment and free their stake with `claim`; requesters and the
/// treasury collect refunds, fees and slashes with `withdraw`. No function loops to push tokens.
///
/// ## Threat model
///
/// `block.prevrandao` can be biased by the block proposer (it can withhold a block), and a
/// Sybil with many staked identities can win many lanes; both are priced by
/// `stakePerTaskReplica`, which every identity must lock per task-replica it takes.
///
/// The bid book cannot be jammed: a bid offers at least `minBidCapacity` task-replicas, so
/// `MAX_BIDS_PER_JOB` bids always cover the job, and on a full book a cheaper bid evicts the
/// worst one. Filling the book at the lowest price therefore means winning, and serving, the
/// whole job with its stake locked. A job's stake per task-replica is at least its max price,
/// so winning capacity and never serving it always costs more than serving would have paid.
interface IJobMarket {
    /// @notice Lifecycle of a job. The zero value means "no such job".
    enum JobStatus {
        None,
        Open,
        Cancelled,
        Unfilled,
        Awarded,
        Finalized
    }

    /// @notice Outcome of a replica group. The zero value means "not finalized yet".
    enum GroupOutcome {
        Pending,
        Agreed,
        NoQuorum
    }

    /// @notice Why a group member was slashed.
    enum SlashReason {
        None,
        WrongResult,
        NoCommit,
        NoReveal
    }

    /// @notice What a claimable-balance credit is for.
    enum CreditKind {
        Refund,
        Fee,
        Slash
    }

    /// @notice What a requester posts.
    /// @param manifestCid CID (CIDv1, sha2-256) of the job manifest in the content store.
    /// @param manifestDigest SHA-256 digest of the manifest bytes (the CID's multihash digest).
    /// @param imageRef Container image: `name@sha256:…` or the CID of a `docker save` archive.
    /// @param imageDigest The image's digest (registry digest or image ID), checked by workers.
    /// @param taskCount Number of tasks; task i runs with `TASK_INDEX=i`.
    /// @param replication k: providers that run each task.
    /// @param quorum q: matching results a group needs (k/2 < q <= k).
    /// @param maxPrice Most the requester pays per task-replica.
    /// @param stakePerTaskReplica Stake a provider locks per task-replica it offers; at least
    /// maxPrice (`JobMarketStakeTooLow`), so a winner that never serves loses more than it
    /// could have earned.
    /// @param biddingWindow Seconds from posting during which bids are accepted.
    /// @param executionWindow Seconds from the award in which results must be committed.
    /// @param revealWindow Seconds after the commit deadline in which results must be revealed.
    /// @param cpuMillicores CPU each task needs, in thousandths of a core.
    /// @param memoryMiB Memory each task needs, in MiB.
    /// @param gpuCount GPUs each task needs.
    struct JobSpec {
        string manifestCid;
        bytes32 manifestDigest;
        string imageRef;
        bytes32 imageDigest;
        uint32 taskCount;
        uint8 replication;
        uint8 quorum;
        uint96 maxPrice;
        uint96 stakePerTaskReplica;
        uint32 biddingWindow;
        uint32 executionWindow;
        uint32 revealWindow;
        uint32 cpuMillicores;
        uint32 memoryMiB;
        uint16 gpuCount;
    }

    /// @notice A job as stored on chain. The manifest and image references and digests are only
    /// in the `JobPosted` event: logs are chain data as trustworthy as storage, and keeping
    /// them out of storage saves two slots per job.
    /// @param requester Who posted the job and receives refunds.
    /// @param status Lifecycle state.
    /// @param escrow Tokens still held for this job (owed to providers or to be refunded).
    /// @param bidCount Bids currently standing.
    /// @param groupCount Replica groups formed at the award (zero before).
    /// @param biddingDeadline Last second at which bids are accepted.
    /// @param commitDeadline Last second for commits (zero before the award).
    /// @param revealDeadline Last second for reveals (zero before the award).
    /// @param feeBps Protocol fee on provider payments, fixed when the job was posted.
    struct Job {
        address requester;
        JobStatus status;
        uint8 replication;
        uint8 quorum;
        uint32 taskCount;
        uint8 bidCount;
        uint16 groupCount;
        uint16 feeBps;
        uint96 maxPrice;
        uint96 stakePerTaskReplica;
        uint64 biddingDeadline;
        uint32 executionWindow;
        uint32 revealWindow;
        uint64 commitDeadline;
        uint64 revealDeadline;
        uint32 cpuMillicores;
        uint32 memoryMiB;
        uint16 gpuCount;
        uint128 escrow;
    }

    /// @notice A provider's bid, and after the award its assignment.
    /// @param price Price per task-replica (<= the job's maxPrice).
    /// @param capacity Task-replicas offered (<= taskCount); stake is locked for all of them.
    /// @param allotted Task-replicas won at the award (zero for losing bids).
    /// @param segmentStart Global offset `lane * taskCount + task` where the segment starts.
    /// @param firstGroup First replica group of the segment (groups wrap modulo groupCount).
    /// @param groupCount Number of replica groups the segment spans.
    /// @param claimed Whether the provider has claimed (payment and stake) for this job.
    struct Bid {
        uint96 price;
        uint32 capacity;
        uint32 allotted;
        uint40 segmentStart;
        uint16 firstGroup;
        uint16 groupCount;
        bool claimed;
    }

    /// @notice A replica group.
    /// @param taskStart First task of the group's range.
    /// @param taskCount Number of tasks in the range.
    /// @param commitCount Members that have committed.
    /// @param revealCount Members that have revealed.
    /// @param outcome Pending until finalized.
    /// @param winningRoot The root that reached quorum (zero otherwise).
    /// @param members Provider per lane (k entries).
    struct Group {
        uint32 taskStart;
        uint32 taskCount;
        uint8 commitCount;
        uint8 revealCount;
        GroupOutcome outcome;
        bytes32 winningRoot;
        address[] members;
    }

    /// @notice One group membership of a provider: the tasks it must run and report.
    /// @param groupId The replica group.
    /// @param lane The member's lane in the group.
    /// @param taskStart First task of the group.
    /// @param taskCount Tasks in the group.
    /// @param commitment Commitment submitted (zero if none), replaced by the root on reveal.
    /// @param revealed Whether `commitment` now holds the revealed root.
    struct Assignment {
        uint16 groupId;
        uint8 lane;
        uint32 taskStart;
        uint32 taskCount;
        bytes32 commitment;
        bool revealed;
    }

    /// @notice Emitted when a job is posted; carries the full spec so indexers need no calls.
    /// @param jobId The new job's id.
    /// @param requester The account that posted the job, paid the escrow and receives refunds.
    /// @param spec The job as posted, including the manifest and image references and digests,
    /// which are stored nowhere else on chain.
    /// @param biddingDeadline Last second (unix time) at which bids are accepted.
    /// @param escrow Tokens pulled into escrow, in token wei: `taskCount * replication * maxPrice`.
    /// @param feeBps Protocol fee, in basis points of provider payments, fixed for this job.
    event JobPosted(
        uint256 indexed jobId,
        address indexed requester,
        JobSpec spec,
        uint64 biddingDeadline,
        uint256 escrow,
        uint16 feeBps
    );
    /// @notice Emitted when the requester cancels an open job; `refund` is credited to it.
    /// @param jobId The cancelled job.
    /// @param refund The whole escrow, in token wei, credited to the requester's claimable
    /// balance.
    event JobCancelled(uint256 indexed jobId, uint256 refund);
    /// @notice Emitted when a provider bids; `stakeLocked` is `capacity * stakePerTaskReplica`.
    /// @param jobId The job bid on.
    /// @param provider The bidding provider.
    /// @param price Price asked per task-replica, in token wei.
    /// @param capacity Task-replicas offered.
    /// @param stakeLocked Stake locked in the registry behind the bid, in token wei.
    event BidPlaced(
        uint256 indexed jobId,
        address indexed provider,
        uint96 price,
        uint32 capacity,
        uint256 stakeLocked
    );
    /// @notice Emitted when a provider withdraws its bid before bidding closes.
    /// @param jobId The job the bid was on.
    /// @param provider The provider that withdrew.
    /// @param stakeUnlocked Stake released in the registry, in token wei: everything the bid
    /// had locked.
    event BidWithdrawn(uint256 indexed jobId, address indexed provider, uint256 stakeUnlocked);
    /// @notice Emitted when a cheaper bid on a full book takes the place of the worst standing
    /// bid (the highest price, of equal prices the latest); the evicted bid's stake is released
    /// in the same transaction, and its provider may bid again.
    /// @param jobId The job the bid was on.
    /// @param provider The provider whose bid was evicted.
    /// @param by The provider whose cheaper bid took its place.
    /// @param stakeUnlocked Stake released in the registry, in token wei.
    event BidEvicted(
        uint256 indexed jobId, address indexed provider, address indexed by, uint256 stakeUnlocked
    );
    /// @notice Emitted when a bid ends without an assignment — it lost at the award, or the job
    /// was cancelled or unfilled — and its stake is released in the same transaction.
    /// @param jobId The job the bid was on.
    /// @param provider The bidder.
    /// @param stakeReleased Stake released in the registry, in token wei.
    event BidReleased(uint256 indexed jobId, address indexed provider, uint256 stakeReleased);
    /// @notice Emitted when bidding closes without enough capacity; `refund` goes to the
    /// requester and the stake of every standing bid is released in the same transaction.
    /// @param jobId The job that could not be filled.
    /// @param refund The whole escrow, in token wei, credited to the requester's claimable
    /// balance.
    event JobUnfilled(uint256 indexed jobId, uint256 refund);
    /// @notice Emitted when bidding closes successfully. `cost` is what the winners' bids add up
    /// to, `refund` the unused escrow credited back to the requester.
    /// @param jobId The awarded job.
    /// @param commitDeadline Last second (unix time) for commits: the award time plus the
    /// job's executionWindow.
    /// @param revealDeadline Last second (unix time) for reveals: `commitDeadline` plus the
    /// job's revealWindow.
    /// @param groupCount Number of replica groups formed.
    /// @param cost Sum over the winners of allotted task-replicas times bid price, in token wei;
    /// the escrow kept for the job.
    /// @param refund Escrow minus `cost`, in token wei, credited to the requester.
    event JobAwarded(
        uint256 indexed jobId,
        uint64 commitDeadline,
        uint64 revealDeadline,
        uint16 groupCount,
        uint256 cost,
        uint256 refund
    );
    /// @notice Emitted for each winning bid at the award.
    /// @param jobId The awarded job.
    /// @param provider The winning provider.
    /// @param allotted Task-replicas won (at most the bid's capacity).
    /// @param segmentStart Global offset `lane * taskCount + task` where the provider's segment
    /// starts.
    /// @param stakeReleased Stake for the capacity not allotted, in token wei, released in the
    /// registry now.
    event BidAccepted(
        uint256 indexed jobId,
        address indexed provider,
        uint32 allotted,
        uint40 segmentStart,
        uint256 stakeReleased
    );
    /// @notice Emitted for each replica group formed at the award, members in lane order.
    /// @param jobId The awarded job.
    /// @param groupId The group's id, from 0 to `groupCount - 1` in task order.
    /// @param taskStart First task of the group's range.
    /// @param taskCount Number of tasks in the range.
    /// @param members The provider of each lane (k entries, all distinct).
    event GroupFormed(
        uint256 indexed jobId,
        uint16 indexed groupId,
        uint32 taskStart,
        uint32 taskCount,
        address[] members
    );
    /// @notice Emitted when a group member commits to a result.
    /// @param jobId The job.
    /// @param groupId The group the commitment is for.
    /// @param provider The committing member.
    /// @param commitment The hash committed (see `commitmentFor`).
    event ResultCommitted(
        uint256 indexed jobId, uint16 indexed groupId, address indexed provider, bytes32 commitment
    );
    /// @notice Emitted when a group member reveals its result root and results bundle CID.
    /// @param jobId The job.
    /// @param groupId The group the root is for.
    /// @param provider The revealing member.
    /// @param resultRoot The revealed Merkle root of the group's task results (see
    /// `ResultMerkle`).
    /// @param resultsCid CID of the results bundle; logged only, never stored or checked.
    event ResultRevealed(
        uint256 indexed jobId,
        uint16 indexed groupId,
        address indexed provider,
        bytes32 resultRoot,
        string resultsCid
    );
    /// @notice Emitted when a group member is slashed at finalisation.
    /// @param jobId The finalized job.
    /// @param groupId The group in which the member failed.
    /// @param provider The slashed member.
    /// @param amount Stake slashed, in token wei: the group's task count times
    /// stakePerTaskReplica; it goes to the treasury.
    /// @param reason Why: wrong result, no commit or no reveal.
    event ProviderSlashed(
        uint256 indexed jobId,
        uint16 indexed groupId,
        address indexed provider,
        uint256 amount,
        SlashReason reason
    );
    /// @notice Emitted for each group at finalisation. `agreeing` is the number of members
    /// that revealed `winningRoot` (zero without quorum); `refund` is credited to the requester.
    /// @param jobId The finalized job.
    /// @param groupId The group.
    /// @param outcome `Agreed` if a root reached quorum, `NoQuorum` otherwise.
    /// @param winningRoot The root that reached quorum (zero without quorum).
    /// @param agreeing Members that revealed `winningRoot`.
    /// @param winnersMask Bit r set when the member in lane r (see `GroupFormed`) is paid.
    /// @param refund Prices, in token wei, of the group's members that will not be paid; part of
    /// the refund in `JobFinalized`.
    event GroupFinalized(
        uint256 indexed jobId,
        uint16 indexed groupId,
        GroupOutcome outcome,
        bytes32 winningRoot,
        uint8 agreeing,
        uint8 winnersMask,
        uint256 refund
    );
    /// @notice Emitted when a job is finalized; `refund` is the total credited to the requester
    /// and `slashed` the total stake slashed, credited to the treasury.
    /// @param jobId The finalized job.
    /// @param refund Sum of the groups' refunds, in token wei.
    /// @param slashed Sum of the stake slashed in all groups, in token wei.
    event JobFinalized(uint256 indexed jobId, uint256 refund, uint256 slashed);
    /// @notice Emitted when a provider claims: `payment - fee` sent to it, `fee` credited to the
    /// treasury, `stakeReleased` unlocked in the registry.
    /// @param jobId The finalized job.
    /// @param provider The claiming provider.
    /// @param payment Payment earned before the fee, in token wei: bid price times the tasks of
    /// the groups in which the provider's root won.
    /// @param fee Protocol fee taken from `payment` at the job's feeBps, in token wei.
    /// @param stakeReleased Stake released in the registry, in token wei: the allotted
    /// task-replicas that were not slashed, times stakePerTaskReplica.
    event Claimed(
        uint256 indexed jobId,
        address indexed provider,
        uint256 payment,
        uint256 fee,
        uint256 stakeReleased
    );
    /// @notice Emitted when an account's claimable balance grows (refunds, fees, slashes).
    /// @param account The requester or the treasury credited.
    /// @param jobId The job the credit comes from.
    /// @param amount Tokens credited, in token wei.
    /// @param kind `Refund` of unused or unpaid escrow to the requester, protocol `Fee` or
    /// slashed stake (`Slash`) to the treasury.
    event BalanceCredited(
        address indexed account, uint256 indexed jobId, uint256 amount, CreditKind kind
    );
    /// @notice Emitted when an account withdraws its claimable balance.
    /// @param account The withdrawing account.
    /// @param amount Tokens sent, in token wei: its whole claimable balance.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Emitted when the owner changes the protocol fee for future jobs, and once at
    /// deployment.
    /// @param feeBps The new fee, in basis points (at most `MAX_FEE_BPS`).
    event ProtocolFeeSet(uint16 feeBps);
    /// @notice Emitted when the owner changes the treasury, and once at deployment.
    /// @param treasury The new treasury.
    event TreasurySet(address indexed treasury);

    /// @notice Thrown when a job id does not exist.
    error JobMarketUnknownJob(uint256 jobId);
    /// @notice Thrown when a job is not in the state an action needs.
    error JobMarketWrongStatus(uint256 jobId, JobStatus status, JobStatus expected);
    /// @notice Thrown when taskCount is zero or above `MAX_TASK_COUNT`.
    error JobMarketInvalidTaskCount(uint32 taskCount);
    /// @notice Thrown when replication is zero or above `MAX_REPLICATION`.
    error JobMarketInvalidReplication(uint8 replication);
    /// @notice Thrown when quorum is not in (replication/2, replication].
    error JobMarketInvalidQuorum(uint8 quorum, uint8 replication);
    /// @notice Thrown when maxPrice is zero.
    error JobMarketInvalidMaxPrice(uint96 maxPrice);
    /// @notice Thrown when a window is zero or above its maximum.
    error JobMarketInvalidWindow(uint32 window, uint32 max);
    /// @notice Thrown when a job needs no CPU or no memory.
    error JobMarketInvalidResources(uint32 cpuMillicores, uint32 memoryMiB);
    /// @notice Thrown when the manifest CID or image reference is empty.
    error JobMarketEmptyReference();
    /// @notice Thrown when someone other than the requester acts on its job.
    error JobMarketNotRequester(uint256 jobId, address caller);
    /// @notice Thrown when an action comes after the deadline it must meet.
    error JobMarketDeadlinePassed(uint256 jobId, uint64 deadline);
    /// @notice Thrown when an action comes before the deadline it must wait for.
    error JobMarketDeadlineNotReached(uint256 jobId, uint64 deadline);
    /// @notice Thrown when a bid's price is above the job's max price.
    error JobMarketBidTooHigh(uint256 jobId, uint96 price, uint96 maxPrice);
    /// @notice Thrown when a job's stake per task-replica is below its max price: a provider
    /// that wins and never serves must lose more than it could have earned.
    error JobMarketStakeTooLow(uint96 stakePerTaskReplica, uint96 maxPrice);
    /// @notice Thrown when a bid's price is zero.
    error JobMarketZeroPrice(uint256 jobId);
    /// @notice Thrown when a bid's capacity is below the job's `minBidCapacity` or above its
    /// task count.
    error JobMarketInvalidCapacity(
        uint256 jobId, uint32 capacity, uint32 minCapacity, uint32 maxCapacity
    );
    /// @notice Thrown when a provider bids twice on one job.
    error JobMarketDuplicateBid(uint256 jobId, address provider);
    /// @notice Thrown when a job already holds `MAX_BIDS_PER_JOB` standing bids and the new
    /// bid's price does not beat the worst of them (`worstPrice`); a bid below it takes its place.
    error JobMarketBookFull(uint256 jobId, uint96 worstPrice);
    /// @notice Thrown when a provider has no bid on the job or, in `commit`, `reveal` and
    /// `claim`, no winning one.
    error JobMarketNoBid(uint256 jobId, address provider);
    /// @notice Thrown when a bidder is not a registered provider.
    error JobMarketNotProvider(address provider);
    /// @notice Thrown when a provider's capabilities do not meet the job's needs.
    error JobMarketInsufficientCapabilities(uint256 jobId, address provider);
    /// @notice Thrown when the number of commitments or roots does not match the memberships.
    error JobMarketWrongMembershipCount(uint256 jobId, uint256 given, uint256 expected);
    /// @notice Thrown when a commitment is zero.
    error JobMarketZeroCommitment(uint256 jobId);
    /// @notice Thrown when a membership already holds a commitment.
    error JobMarketAlreadyCommitted(uint256 jobId, uint16 groupId, address provider);
    /// @notice Thrown when a reveal reveals nothing because the first membership it had to skip
    /// is in a group whose members have not all committed, before the commit deadline.
    error JobMarketRevealTooEarly(uint256 jobId, uint16 groupId);
    /// @notice Thrown when a reveal reveals nothing because the first membership it had to skip
    /// has no commitment or was already revealed.
    error JobMarketNothingToReveal(uint256 jobId, uint16 groupId, address provider);
    /// @notice Thrown when a revealed root and salt do not hash to the commitment.
    error JobMarketRevealMismatch(uint256 jobId, uint16 groupId, address provider);
    /// @notice Thrown when finalizing before reveals are settled and the reveal deadline passed.
    error JobMarketNotFinalizable(uint256 jobId);
    /// @notice Thrown when a provider has already claimed for a job.
    error JobMarketAlreadyClaimed(uint256 jobId, address provider);
    /// @notice Thrown when withdrawing with a zero claimable balance.
    error JobMarketNothingToWithdraw(address account);
    /// @notice Thrown when setting a fee above `MAX_FEE_BPS`.
    error JobMarketFeeTooHigh(uint16 feeBps, uint16 maxFeeBps);
    /// @notice Thrown when the treasury would be the zero address.
    error JobMarketZeroTreasury();
    /// @notice Thrown at deployment when the registry's cooldown does not outlast job windows.
    error JobMarketCooldownTooShort(uint64 cooldown, uint64 required);
    /// @notice Thrown at deployment when the registry stakes another token than the market's.
    error JobMarketTokenMismatch(address marketToken, address registryToken);

    /// @notice Posts a job and pulls `taskCount * replication * maxPrice` into escrow
    /// (needs an allowance). Reverts while the market is paused.
    /// @dev Reverts with `JobMarketInvalidTaskCount`, `JobMarketInvalidReplication`,
    /// `JobMarketInvalidQuorum`, `JobMarketInvalidMaxPrice`, `JobMarketInvalidWindow`,
    /// `JobMarketInvalidResources` or `JobMarketEmptyReference` on an invalid spec. The
    /// current `protocolFeeBps()` is fixed for the job.
    /// @param spec The job: references, task count, replication and quorum, prices in token
    /// wei, windows in seconds and the resources each task needs.
    /// @return jobId The new job's id (ids start at 1).
    function postJob(JobSpec calldata spec) external returns (uint256 jobId);

    /// @notice Like `postJob`, with an EIP-2612 permit for the escrow instead of an approval.
    /// A failing permit is ignored when the allowance already suffices, so a front-run permit
    /// cannot block the call.
    /// @param spec The job, as for `postJob`.
    /// @param deadline The permit's deadline (unix time).
    /// @param v The permit signature's recovery byte.
    /// @param r The permit signature's r value.
    /// @param s The permit signature's s value.
    /// @return jobId The new job's id (ids start at 1).
    function postJobWithPermit(
        JobSpec calldata spec,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 jobId);

    /// @notice Cancels an open job, at the latest at its bidding deadline; the escrow is
    /// credited back to the requester and the stake of every standing bid is released in the
    /// registry at once. Requester only; works while paused.
    /// @dev Reverts with `JobMarketNotRequester`, `JobMarketWrongStatus` when the job is not
    /// `Open`, or `JobMarketDeadlinePassed` after the bidding deadline.
    /// @param jobId The job to cancel.
    function cancelJob(uint256 jobId) external;

    /// @notice Bids on an open job, locking `capacity * stakePerTaskReplica` of free stake.
    /// One bid per provider per job; reverts while the market is paused.
    /// @dev The caller must be a registered provider (`JobMarketNotProvider`) whose
    /// capabilities meet the job's (`JobMarketInsufficientCapabilities`) and whose free stake
    /// covers the lock (the registry's `ProviderRegistryInsufficientFreeStake`). Also reverts
    /// with `JobMarketDeadlinePassed`, `JobMarketZeroPrice`, `JobMarketBidTooHigh`,
    /// `JobMarketInvalidCapacity`, `JobMarketDuplicateBid` or `JobMarketBookFull`.
    /// When the book already holds `MAX_BIDS_PER_JOB` bids, a bid cheaper than the worst
    /// standing one (the highest price, of equal prices the latest) evicts it (`BidEvicted`),
    /// so a book filled by an attacker's dear bids cannot keep honest, cheaper ones out.
    /// @param jobId The job to bid on.
    /// @param price Price per task-replica, at most the job's maxPrice.
    /// @param capacity Task-replicas offered, from `minBidCapacity(jobId)` to taskCount.
    function placeBid(uint256 jobId, uint96 price, uint32 capacity) external;

    /// @notice Withdraws the caller's bid while bidding is open, unlocking its stake.
    /// Works while paused.
    /// @dev The bid's slot is freed for other bidders and the later bids move up, keeping the
    /// list in bid order. Reverts with `JobMarketDeadlinePassed` after the bidding deadline and
    /// with `JobMarketNoBid` when the caller has no bid.
    /// @param jobId The job the bid is on.
    function withdrawBid(uint256 jobId) external;

    /// @notice Closes bidding after the deadline: awards the job or marks it unfilled.
    /// Anyone may call it.
    /// @dev On award: the stake of capacity not allotted (all of it for losing bids) is
    /// released, the unused escrow is credited to the requester and the commit and reveal
    /// deadlines are set. Unfilled: the whole escrow is credited to the requester and every
    /// standing bid's stake released. Reverts with `JobMarketDeadlineNotReached` up to and
    /// including the bidding deadline.
    /// @param jobId The job whose bidding to close.
    function closeBidding(uint256 jobId) external;

    /// @notice Commits the caller's results, one commitment per group membership in the order
    /// returned by `assignmentsOf`.
    /// @dev All memberships are committed in one call, up to and including the commit
    /// deadline (`JobMarketDeadlinePassed`). Reverts with `JobMarketNoBid` when the caller won
    /// nothing, `JobMarketWrongMembershipCount`, `JobMarketZeroCommitment` or
    /// `JobMarketAlreadyCommitted`.
    /// @param jobId The awarded job.
    /// @param commitments One non-zero `commitmentFor(jobId, groupId, caller, resultRoot, salt)`
    /// per membership.
    function commit(uint256 jobId, bytes32[] calldata commitments) external;

    /// @notice Reveals the caller's result roots, one per group membership in the order of
    /// `assignmentsOf`, with the salt used in the commitments and the CID of the results bundle.
    /// @dev Up to and including the reveal deadline (`JobMarketDeadlinePassed`). Before the
    /// commit deadline a membership can only be revealed once every member of its group has
    /// committed. Memberships that cannot be revealed yet, or were revealed already, are
    /// skipped, so the caller simply calls again with the same arguments later; the call
    /// reverts only when it reveals nothing (`JobMarketRevealTooEarly` or
    /// `JobMarketNothingToReveal`, naming the first skipped group). A root that does not match
    /// its commitment always reverts (`JobMarketRevealMismatch`). Also reverts with
    /// `JobMarketNoBid` or `JobMarketWrongMembershipCount`.
    /// @param jobId The awarded job.
    /// @param resultRoots One result root per membership (see `ResultMerkle`).
    /// @param salt The salt used in every one of the caller's commitments for this job.
    /// @param resultsCid CID of the bundle holding the caller's task outputs; only logged.
    function reveal(
        uint256 jobId,
        bytes32[] calldata resultRoots,
        bytes32 salt,
        string calldata resultsCid
    ) external;

    /// @notice Settles every group of an awarded job: quorum, payments due, slashes and
    /// refunds. Anyone may call it once `isFinalizable` is true.
    /// @dev Refunds are credited to the requester and slashed stake, moved from the registry
    /// to the market, to the treasury; payments wait for `claim`. Reverts with
    /// `JobMarketWrongStatus` unless the job is `Awarded`, and `JobMarketNotFinalizable`.
    /// @param jobId The job to finalize.
    function finalize(uint256 jobId) external;

    /// @notice Collects the caller's payment for a finalized job, minus the protocol fee, and
    /// releases the stake of its allotted task-replicas that were not slashed. Only for
    /// finalized jobs: the stake of bids on cancelled or unfilled jobs, and of capacity not
    /// allotted, was released when the job left bidding.
    /// @dev Reverts with `JobMarketWrongStatus` unless the job is `Finalized`,
    /// `JobMarketNoBid` when the caller won nothing, and `JobMarketAlreadyClaimed`.
    /// @param jobId The finalized job.
    /// @return payment Payment before the fee, in token wei; the caller receives
    /// `payment - fee` and the fee is credited to the treasury.
    function claim(uint256 jobId) external returns (uint256 payment);

    /// @notice Sends the caller its claimable balance (refunds, fees, slashes).
    /// Reverts with `JobMarketNothingToWithdraw` when it is zero. Works while paused.
    /// @return amount Tokens sent, in token wei.
    function withdraw() external returns (uint256 amount);

    /// @notice Sets the protocol fee, in basis points of provider payments, for jobs posted
    /// from now on (at most `MAX_FEE_BPS`). Owner only.
    /// @param feeBps The new fee, in basis points; above `MAX_FEE_BPS` reverts with
    /// `JobMarketFeeTooHigh`.
    function setProtocolFee(uint16 feeBps) external;

    /// @notice Sets the account credited with fees and slashed stake. Owner only.
    /// Balances already credited to the old treasury stay with it.
    /// @param treasury The new treasury; the zero address reverts with `JobMarketZeroTreasury`.
    function setTreasury(address treasury) external;

    /// @notice Stops new jobs and bids. Withdrawals, claims and every lifecycle step that
    /// leads to them keep working. Owner only.
    function pause() external;

    /// @notice Lifts a pause. Owner only.
    function unpause() external;

    /// @notice The job `jobId` (status `None` when unknown).
    /// @param jobId The job.
    /// @return The job's stored fields; `bidCount` counts the bids standing now.
    function getJob(uint256 jobId) external view returns (Job memory);

    /// @notice Number of jobs posted so far; ids run from 1 to `jobCount()`.
    /// @return The number of jobs posted, which is also the latest job id.
    function jobCount() external view returns (uint256);

    /// @notice The providers with a standing bid on `jobId`, in bid order; once bidding has
    /// closed, the bids that stood at that moment (winners and losers).
    /// @param jobId The job.
    /// @return The bidders, withdrawn bids left out (empty for an unknown job).
    function biddersOf(uint256 jobId) external view returns (address[] memory);

    /// @notice `provider`'s bid on `jobId` (all zero when none).
    /// @param jobId The job.
    /// @param provider The bidder.
    /// @return The bid, with its assignment fields once the job is awarded.
    function getBid(uint256 jobId, address provider) external view returns (Bid memory);

    /// @notice Replica group `groupId` of `jobId`.
    /// @param jobId The job.
    /// @param groupId The group, from 0 to the job's `groupCount - 1`.
    /// @return The group; all zero, with no members, when it does not exist.
    function getGroup(uint256 jobId, uint16 groupId) external view returns (Group memory);

    /// @notice `provider`'s group memberships in `jobId`, in the order `commit` and `reveal`
    /// expect — the tasks it holds.
    /// @param jobId The job.
    /// @param provider The provider.
    /// @return One entry per membership; empty when the provider won nothing.
    function assignmentsOf(uint256 jobId, address provider)
        external
        view
        returns (Assignment[] memory);

    /// @notice Fewest task-replicas one bid on the job may offer:
    /// `ceil(taskCount * replication / MAX_BIDS_PER_JOB)`, so that a full book can always
    /// cover the job and bids of capacity 1 cannot jam it.
    /// @param jobId The job (`JobMarketUnknownJob` if there is none).
    /// @return The minimum capacity `placeBid` accepts.
    function minBidCapacity(uint256 jobId) external view returns (uint32);

    /// @notice Whether `finalize(jobId)` would succeed now.
    /// @param jobId The job.
    /// @return True when the job is `Awarded` and either its reveal deadline has passed or
    /// every group has settled its reveals: each member that committed has revealed, and
    /// all members have committed or the commit deadline has passed.
    function isFinalizable(uint256 jobId) external view returns (bool);

    /// @notice What `claim(jobId)` would give `provider` now: payment before fee, the fee,
    /// and the stake it would release. All three are zero unless the job is `Finalized` and
    /// the provider won task-replicas and has not claimed yet.
    /// @param jobId The job.
    /// @param provider The provider.
    /// @return payment Payment before the fee, in token wei.
    /// @return fee Protocol fee deducted from `payment`, in token wei.
    /// @return stakeReleased Stake `claim` would release in the registry, in token wei.
    function claimableFor(uint256 jobId, address provider)
        external
        view
        returns (uint256 payment, uint256 fee, uint256 stakeReleased);

    /// @notice `account`'s withdrawable balance (refunds, fees, slashes).
    /// @param account The requester, treasury or other account.
    /// @return The amount `withdraw` would send `account`, in token wei.
    function claimableBalance(address account) external view returns (uint256);

    /// @notice The commitment hash a provider must submit for one group membership:
    /// `keccak256(abi.encode(jobId, groupId, provider, resultRoot, salt))`.
    /// @param jobId The job.
    /// @param groupId The group of the membership.
    /// @param provider The committing provider, so a copied commitment is useless.
    /// @param resultRoot The Merkle root of the group's task results (see `ResultMerkle`).
    /// @param salt A secret random value, revealed with the roots.
    /// @return The commitment to pass to `commit`.
    function commitmentFor(
        uint256 jobId,
        uint16 groupId,
        address provider,
        bytes32 resultRoot,
        bytes32 salt
    ) external pure returns (bytes32);

    /// @notice The payment token (CONUN).
    /// @return The token's address.
    function token() external view returns (address);

    /// @notice The provider registry.
    /// @return The registry's address.
    function registry() external view returns (address);

    /// @notice The account credited with fees and slashed stake.
    /// @return The treasury's address.
    function treasury() external view returns (address);

    /// @notice The fee, in basis points, applied to jobs posted from now on.
    /// @return The fee in basis points (10000 = 100%).
    function protocolFeeBps() external view returns (uint16);
}
