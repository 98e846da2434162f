// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IProviderRegistry
/// @notice Providers of computing power register what their machine offers and stake CONUN
/// tokens as collateral for the work they take on.
///
/// A provider's stake is split three ways:
/// - **free**: may back new bids or be unstaked;
/// - **locked**: backs bids and assignments in the market; only the market can lock, unlock
///   or slash it, so a provider cannot walk away from a pending slash;
/// - **unbonding**: requested for withdrawal, released after `unstakeCooldown()` seconds. The
///   cooldown is longer than every job window the market allows (the market checks this when
///   it is deployed), so stake that was free when a job started stays reachable for its
///   whole life.
///
/// All stake tokens are held by the registry; its token balance always equals the sum of
/// every provider's stake plus unbonding amounts (`totalStaked`), plus whatever anyone sends it
/// directly, outside this interface. Slashed tokens are sent to the market,
/// which credits them to the protocol treasury.
interface IProviderRegistry {
    /// @notice What a provider's machine offers. Jobs state their needs in the same units.
    /// @param cpuMillicores CPU offered, in thousandths of a core (4 cores = 4000).
    /// @param memoryMiB Memory offered, in MiB.
    /// @param gpuCount Number of GPUs offered.
    struct Capabilities {
        uint32 cpuMillicores;
        uint32 memoryMiB;
        uint16 gpuCount;
    }

    /// @notice Everything the registry knows about one provider.
    /// @param registered Whether the provider has registered.
    /// @param capabilities The machine's declared capabilities.
    /// @param stake Total staked amount, locked part included, unbonding part excluded.
    /// @param locked Part of `stake` that backs bids and assignments in the market.
    /// @param unbonding Amount requested for withdrawal and not yet withdrawn.
    /// @param unbondingReleaseAt Time from which `unbonding` can be withdrawn.
    /// @param metadataURI Optional URI with a human-readable description of the provider.
    struct Provider {
        bool registered;
        Capabilities capabilities;
        uint256 stake;
        uint256 locked;
        uint256 unbonding;
        uint64 unbondingReleaseAt;
        string metadataURI;
    }

    /// @notice Emitted when an account registers as a provider.
    /// @param provider The newly registered account.
    /// @param capabilities What its machine offers.
    /// @param metadataURI Its description URI (may be empty).
    event ProviderRegistered(
        address indexed provider, Capabilities capabilities, string metadataURI
    );
    /// @notice Emitted when a registered provider changes its capabilities or metadata URI.
    /// @param provider The provider.
    /// @param capabilities Its new capabilities.
    /// @param metadataURI Its new description URI (may be empty).
    event ProviderUpdated(address indexed provider, Capabilities capabilities, string metadataURI);
    /// @notice Emitted when a provider adds stake. `stake` is the provider's new total stake.
    /// @param provider The provider.
    /// @param amount Tokens added, in token wei.
    /// @param stake The provider's total stake afterwards, in token wei.
    event Staked(address indexed provider, uint256 amount, uint256 stake);
    /// @notice Emitted when a provider moves free stake into unbonding.
    /// `unbonding` is the new unbonding total, withdrawable from `releaseAt`.
    /// @param provider The provider.
    /// @param amount Free stake moved into unbonding by this request, in token wei.
    /// @param stake The provider's total stake afterwards (unbonding excluded), in token wei.
    /// @param unbonding The provider's whole unbonding amount afterwards, in token wei.
    /// @param releaseAt Unix time from which all of `unbonding` can be withdrawn.
    event UnstakeRequested(
        address indexed provider, uint256 amount, uint256 stake, uint256 unbonding, uint64 releaseAt
    );
    /// @notice Emitted when a provider withdraws its unbonded stake.
    /// @param provider The provider.
    /// @param amount Tokens sent back to it, in token wei: its whole unbonding amount.
    event Unstaked(address indexed provider, uint256 amount);
    /// @notice Emitted when the market locks stake behind a bid. `locked` is the new total.
    /// @param provider The bidding provider.
    /// @param jobId The job bid on.
    /// @param amount Stake locked now, in token wei.
    /// @param locked The provider's total locked stake afterwards, over all jobs, in token wei.
    event StakeLocked(
        address indexed provider, uint256 indexed jobId, uint256 amount, uint256 locked
    );
    /// @notice Emitted when the market releases locked stake. `locked` is the new total.
    /// @param provider The provider.
    /// @param jobId The job the stake backed.
    /// @param amount Stake released now, in token wei.
    /// @param locked The provider's total locked stake afterwards, over all jobs, in token wei.
    event StakeUnlocked(
        address indexed provider, uint256 indexed jobId, uint256 amount, uint256 locked
    );
    /// @notice Emitted when the market slashes locked stake; the tokens go to the market.
    /// @param provider The slashed provider.
    /// @param jobId The job it failed.
    /// @param amount Stake removed and sent to the market, in token wei.
    /// @param stake The provider's total stake afterwards, in token wei.
    /// @param locked The provider's total locked stake afterwards, in token wei.
    event StakeSlashed(
        address indexed provider,
        uint256 indexed jobId,
        uint256 amount,
        uint256 stake,
        uint256 locked
    );
    /// @notice Emitted once, when the owner connects the registry to its market.
    /// @param market The market, from now on the only caller of the market-only functions.
    event MarketSet(address indexed market);

    /// @notice Thrown when registering an account that is already registered.
    error ProviderRegistryAlreadyRegistered(address provider);
    /// @notice Thrown when an action needs a registered provider and `provider` is not one.
    error ProviderRegistryNotRegistered(address provider);
    /// @notice Thrown when capabilities offer no CPU or no memory.
    error ProviderRegistryInvalidCapabilities(uint32 cpuMillicores, uint32 memoryMiB);
    /// @notice Thrown when an amount that must be positive is zero.
    error ProviderRegistryZeroAmount();
    /// @notice Thrown when unstaking or locking more than the provider's free stake.
    error ProviderRegistryInsufficientFreeStake(address provider, uint256 requested, uint256 free);
    /// @notice Thrown when unlocking or slashing more than the provider's locked stake.
    error ProviderRegistryInsufficientLockedStake(
        address provider, uint256 requested, uint256 locked
    );
    /// @notice Thrown when withdrawing unbonded stake before its release time (or with none).
    error ProviderRegistryUnbondingNotReleased(address provider, uint64 releaseAt);
    /// @notice Thrown when someone other than the market calls a market-only function.
    error ProviderRegistryCallerNotMarket(address caller);
    /// @notice Thrown when the market address is set a second time.
    error ProviderRegistryMarketAlreadySet(address market);
    /// @notice Thrown when the market address given is the zero address.
    error ProviderRegistryZeroMarket();
    /// @notice Thrown when the cooldown given at deployment is zero.
    error ProviderRegistryInvalidCooldown(uint64 cooldown);

    /// @notice Registers the caller as a provider. Reverts with
    /// `ProviderRegistryAlreadyRegistered` when it already is, and with
    /// `ProviderRegistryInvalidCapabilities` when CPU or memory is zero.
    /// @param capabilities What the caller's machine offers; CPU and memory must be non-zero.
    /// @param metadataURI Optional description URI (may be empty).
    function register(Capabilities calldata capabilities, string calldata metadataURI) external;

    /// @notice Replaces the caller's capabilities and metadata URI. Existing bids are not
    /// re-checked: the market checks capabilities when a bid is placed. Registered providers
    /// only (`ProviderRegistryNotRegistered`).
    /// @param capabilities What the caller's machine now offers; CPU and memory must be
    /// non-zero (`ProviderRegistryInvalidCapabilities`).
    /// @param metadataURI The new description URI (may be empty).
    function updateProvider(Capabilities calldata capabilities, string calldata metadataURI)
        external;

    /// @notice Adds `amount` tokens to the caller's stake (needs an allowance for the registry).
    /// Registered providers only (`ProviderRegistryNotRegistered`).
    /// @param amount Tokens to pull from the caller, in token wei; zero reverts with
    /// `ProviderRegistryZeroAmount`.
    function stake(uint256 amount) external;

    /// @notice Like `stake`, with an EIP-2612 permit instead of a prior approval. A failing
    /// permit is ignored when the allowance already suffices, so a front-run permit cannot
    /// block the call.
    /// @param amount Tokens to pull from the caller, in token wei, and the permit's value.
    /// @param deadline The permit's deadline (unix time).
    /// @param v The permit signature's recovery byte.
    /// @param r The permit signature's r value.
    /// @param s The permit signature's s value.
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;

    /// @notice Moves `amount` of the caller's free stake into unbonding, restarting the
    /// cooldown for the whole unbonding amount.
    /// @param amount Stake to unbond, in token wei; zero reverts with
    /// `ProviderRegistryZeroAmount`, more than the free stake with
    /// `ProviderRegistryInsufficientFreeStake`.
    function requestUnstake(uint256 amount) external;

    /// @notice Sends the caller's unbonded stake back once the cooldown has passed. Reverts
    /// with `ProviderRegistryUnbondingNotReleased` before `unbondingReleaseAt` or when nothing
    /// is unbonding.
    /// @return amount The amount sent: the whole unbonding amount, in token wei.
    function withdrawUnstaked() external returns (uint256 amount);

    /// @notice Locks `amount` of `provider`'s free stake behind a bid on `jobId`. Market only
    /// (`ProviderRegistryCallerNotMarket`).
    /// @param provider The bidding provider.
    /// @param jobId The job, for the event only: locked stake is one total per provider.
    /// @param amount Stake to lock, in token wei; more than the free stake reverts with
    /// `ProviderRegistryInsufficientFreeStake`.
    function lockStake(address provider, uint256 jobId, uint256 amount) external;

    /// @notice Releases `amount` of `provider`'s locked stake. Market only
    /// (`ProviderRegistryCallerNotMarket`).
    /// @param provider The provider.
    /// @param jobId The job the stake backed, for the event only.
    /// @param amount Stake to release, in token wei; more than the locked stake reverts with
    /// `ProviderRegistryInsufficientLockedStake`.
    function unlockStake(address provider, uint256 jobId, uint256 amount) external;

    /// @notice Removes `amount` from `provider`'s locked stake and sends the tokens to the
    /// market. Market only (`ProviderRegistryCallerNotMarket`).
    /// @param provider The provider to slash.
    /// @param jobId The job it failed, for the event only.
    /// @param amount Stake to remove and send to the market, in token wei; more than the
    /// locked stake reverts with `ProviderRegistryInsufficientLockedStake`.
    function slashStake(address provider, uint256 jobId, uint256 amount) external;

    /// @notice Connects the registry to its market. Owner only, once.
    /// @param market The market; reverts with `ProviderRegistryMarketAlreadySet` when a market
    /// is already set and with `ProviderRegistryZeroMarket` for the zero address.
    function setMarket(address market) external;

    /// @notice The staking token (CONUN).
    /// @return The token's address.
    function token() external view returns (address);

    /// @notice The market allowed to lock, unlock and slash stake (zero until set).
    /// @return The market's address.
    function market() external view returns (address);

    /// @notice Seconds between an unstake request and the withdrawal it allows.
    /// @return The cooldown in seconds, fixed at deployment.
    function unstakeCooldown() external view returns (uint64);

    /// @notice Everything known about `provider` (all zero when not registered).
    /// @param provider The account to look up.
    /// @return The provider's profile, stake, locked and unbonding amounts and metadata URI.
    function getProvider(address provider) external view returns (Provider memory);

    /// @notice `provider`'s capabilities and whether it is registered, in one cheap call.
    /// @param provider The account to look up.
    /// @return registered Whether `provider` has registered.
    /// @return capabilities Its declared capabilities (all zero when not registered).
    function capabilitiesOf(address provider)
        external
        view
        returns (bool registered, Capabilities memory capabilities);

    /// @notice Stake that may back new bids or be unstaked: `stake - locked`.
    /// @param provider The provider.
    /// @return The free stake, in token wei.
    function freeStakeOf(address provider) external view returns (uint256);

    /// @notice Total stake held for all providers, unbonding included.
    /// @return The total, in token wei.
    function totalStaked() external view returns (uint256);
}
