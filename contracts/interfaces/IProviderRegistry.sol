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
/// every provider's stake plus unbonding amounts. Slashed tokens are sent to the market,
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
    event ProviderRegistered(
        address indexed provider, Capabilities capabilities, string metadataURI
    );
    /// @notice Emitted when a registered provider changes its capabilities or metadata URI.
    event ProviderUpdated(address indexed provider, Capabilities capabilities, string metadataURI);
    /// @notice Emitted when a provider adds stake. `stake` is the provider's new total stake.
    event Staked(address indexed provider, uint256 amount, uint256 stake);
    /// @notice Emitted when a provider moves free stake into unbonding.
    /// `unbonding` is the new unbonding total, withdrawable from `releaseAt`.
    event UnstakeRequested(
        address indexed provider, uint256 amount, uint256 unbonding, uint64 releaseAt
    );
    /// @notice Emitted when a provider withdraws its unbonded stake.
    event Unstaked(address indexed provider, uint256 amount);
    /// @notice Emitted when the market locks stake behind a bid. `locked` is the new total.
    event StakeLocked(address indexed provider, uint256 indexed jobId, uint256 amount, uint256 locked);
    /// @notice Emitted when the market releases locked stake. `locked` is the new total.
    event StakeUnlocked(
        address indexed provider, uint256 indexed jobId, uint256 amount, uint256 locked
    );
    /// @notice Emitted when the market slashes locked stake; the tokens go to the market.
    event StakeSlashed(
        address indexed provider, uint256 indexed jobId, uint256 amount, uint256 stake
    );
    /// @notice Emitted once, when the owner connects the registry to its market.
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
    /// @notice Thrown when the market address is set a second time or set to zero.
    error ProviderRegistryMarketAlreadySet(address market);
    /// @notice Thrown when the cooldown given at deployment is zero.
    error ProviderRegistryInvalidCooldown(uint64 cooldown);

    /// @notice Registers the caller as a provider.
    /// @param capabilities What the caller's machine offers; CPU and memory must be non-zero.
    /// @param metadataURI Optional description URI (may be empty).
    function register(Capabilities calldata capabilities, string calldata metadataURI) external;

    /// @notice Replaces the caller's capabilities and metadata URI. Existing bids are not
    /// re-checked: the market checks capabilities when a bid is placed.
    function updateProvider(Capabilities calldata capabilities, string calldata metadataURI)
        external;

    /// @notice Adds `amount` tokens to the caller's stake (needs an allowance for the registry).
    function stake(uint256 amount) external;

    /// @notice Like `stake`, with an EIP-2612 permit instead of a prior approval. A failing
    /// permit is ignored when the allowance already suffices, so a front-run permit cannot
    /// block the call.
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;

    /// @notice Moves `amount` of the caller's free stake into unbonding, restarting the
    /// cooldown for the whole unbonding amount.
    function requestUnstake(uint256 amount) external;

    /// @notice Sends the caller's unbonded stake back once the cooldown has passed.
    /// @return amount The amount sent.
    function withdrawUnstaked() external returns (uint256 amount);

    /// @notice Locks `amount` of `provider`'s free stake behind a bid on `jobId`. Market only.
    function lockStake(address provider, uint256 jobId, uint256 amount) external;

    /// @notice Releases `amount` of `provider`'s locked stake. Market only.
    function unlockStake(address provider, uint256 jobId, uint256 amount) external;

    /// @notice Removes `amount` from `provider`'s locked stake and sends the tokens to the
    /// market. Market only.
    function slashStake(address provider, uint256 jobId, uint256 amount) external;

    /// @notice Connects the registry to its market. Owner only, once.
    function setMarket(address market) external;

    /// @notice The staking token (CONUN).
    function token() external view returns (address);

    /// @notice The market allowed to lock, unlock and slash stake (zero until set).
    function market() external view returns (address);

    /// @notice Seconds between an unstake request and the withdrawal it allows.
    function unstakeCooldown() external view returns (uint64);

    /// @notice Everything known about `provider` (all zero when not registered).
    function getProvider(address provider) external view returns (Provider memory);

    /// @notice `provider`'s capabilities and whether it is registered, in one cheap call.
    function capabilitiesOf(address provider)
        external
        view
        returns (bool registered, Capabilities memory capabilities);

    /// @notice Stake that may back new bids or be unstaked: `stake - locked`.
    function freeStakeOf(address provider) external view returns (uint256);

    /// @notice Total stake held for all providers, unbonding included.
    function totalStaked() external view returns (uint256);
}
