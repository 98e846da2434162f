// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {PermitLib} from "./libraries/PermitLib.sol";

/// @title ProviderRegistry
/// @notice See {IProviderRegistry}.
contract ProviderRegistry is IProviderRegistry, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @dev Packed so that the market's lock/unlock touches a single slot.
    struct StakeRecord {
        uint128 stake;
        uint128 locked;
    }

    struct ProfileRecord {
        bool registered;
        Capabilities capabilities;
    }

    struct UnbondingRecord {
        uint128 amount;
        uint64 releaseAt;
    }

    IERC20 private immutable _token;
    uint64 private immutable _unstakeCooldown;
    address private _market;
    uint256 private _totalStaked;

    mapping(address provider => StakeRecord) private _stakes;
    mapping(address provider => ProfileRecord) private _profiles;
    mapping(address provider => UnbondingRecord) private _unbonding;
    mapping(address provider => string) private _metadataURIs;

    modifier onlyMarket() {
        if (msg.sender != _market) revert ProviderRegistryCallerNotMarket(msg.sender);
        _;
    }

    modifier onlyRegistered() {
        if (!_profiles[msg.sender].registered) revert ProviderRegistryNotRegistered(msg.sender);
        _;
    }

    /// @param token_ The staking token (CONUN).
    /// @param unstakeCooldown_ Seconds between an unstake request and its withdrawal.
    /// @param owner_ The account allowed to connect the market.
    constructor(IERC20 token_, uint64 unstakeCooldown_, address owner_) Ownable(owner_) {
        if (unstakeCooldown_ == 0) revert ProviderRegistryInvalidCooldown(unstakeCooldown_);
        _token = token_;
        _unstakeCooldown = unstakeCooldown_;
    }

    /// @inheritdoc IProviderRegistry
    function register(Capabilities calldata capabilities, string calldata metadataURI) external {
        ProfileRecord storage profile = _profiles[msg.sender];
        if (profile.registered) revert ProviderRegistryAlreadyRegistered(msg.sender);
        _checkCapabilities(capabilities);
        profile.registered = true;
        profile.capabilities = capabilities;
        _metadataURIs[msg.sender] = metadataURI;
        emit ProviderRegistered(msg.sender, capabilities, metadataURI);
    }

    /// @inheritdoc IProviderRegistry
    function updateProvider(Capabilities calldata capabilities, string calldata metadataURI)
        external
        onlyRegistered
    {
        _checkCapabilities(capabilities);
        _profiles[msg.sender].capabilities = capabilities;
        _metadataURIs[msg.sender] = metadataURI;
        emit ProviderUpdated(msg.sender, capabilities, metadataURI);
    }

    /// @inheritdoc IProviderRegistry
    function stake(uint256 amount) external onlyRegistered nonReentrant {
        _stake(amount);
    }

    /// @inheritdoc IProviderRegistry
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        onlyRegistered
        nonReentrant
    {
        PermitLib.tryPermit(IERC20Permit(address(_token)), amount, deadline, v, r, s);
        _stake(amount);
    }

    /// @inheritdoc IProviderRegistry
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert ProviderRegistryZeroAmount();
        StakeRecord storage record = _stakes[msg.sender];
        uint256 free = record.stake - record.locked;
        if (amount > free) revert ProviderRegistryInsufficientFreeStake(msg.sender, amount, free);
        // amount <= free <= stake, and unbonding + stake never exceeds the token supply.
        unchecked {
            record.stake -= uint128(amount);
        }
        UnbondingRecord storage unbonding = _unbonding[msg.sender];
        unbonding.amount += uint128(amount);
        unbonding.releaseAt = uint64(block.timestamp) + _unstakeCooldown;
        emit UnstakeRequested(
            msg.sender, amount, record.stake, unbonding.amount, unbonding.releaseAt
        );
    }

    /// @inheritdoc IProviderRegistry
    function withdrawUnstaked() external nonReentrant returns (uint256 amount) {
        UnbondingRecord memory unbonding = _unbonding[msg.sender];
        if (unbonding.amount == 0 || block.timestamp < unbonding.releaseAt) {
            revert ProviderRegistryUnbondingNotReleased(msg.sender, unbonding.releaseAt);
        }
        amount = unbonding.amount;
        delete _unbonding[msg.sender];
        _totalStaked -= amount;
        emit Unstaked(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IProviderRegistry
    function lockStake(address provider, uint256 jobId, uint256 amount) external onlyMarket {
        StakeRecord storage record = _stakes[provider];
        uint256 free = record.stake - record.locked;
        if (amount > free) revert ProviderRegistryInsufficientFreeStake(provider, amount, free);
        // amount <= free = stake - locked, so locked + amount <= stake fits in uint128.
        unchecked {
            record.locked += uint128(amount);
        }
        emit StakeLocked(provider, jobId, amount, record.locked);
    }

    /// @inheritdoc IProviderRegistry
    function unlockStake(address provider, uint256 jobId, uint256 amount) external onlyMarket {
        StakeRecord storage record = _stakes[provider];
        _checkLocked(provider, record, amount);
        // Checked above: amount <= locked.
        unchecked {
            record.locked -= uint128(amount);
        }
        emit StakeUnlocked(provider, jobId, amount, record.locked);
    }

    /// @inheritdoc IProviderRegistry
    function slashStake(address provider, uint256 jobId, uint256 amount)
        external
        onlyMarket
        nonReentrant
    {
        StakeRecord storage record = _stakes[provider];
        _checkLocked(provider, record, amount);
        // Checked above: amount <= locked <= stake.
        unchecked {
            record.locked -= uint128(amount);
            record.stake -= uint128(amount);
        }
        _totalStaked -= amount;
        emit StakeSlashed(provider, jobId, amount, record.stake, record.locked);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IProviderRegistry
    function setMarket(address market_) external onlyOwner {
        if (_market != address(0)) revert ProviderRegistryMarketAlreadySet(_market);
        if (market_ == address(0)) revert ProviderRegistryZeroMarket();
        _market = market_;
        emit MarketSet(market_);
    }

    /// @inheritdoc IProviderRegistry
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IProviderRegistry
    function market() external view returns (address) {
        return _market;
    }

    /// @inheritdoc IProviderRegistry
    function unstakeCooldown() external view returns (uint64) {
        return _unstakeCooldown;
    }

    /// @inheritdoc IProviderRegistry
    function getProvider(address provider) external view returns (Provider memory) {
        ProfileRecord memory profile = _profiles[provider];
        StakeRecord memory record = _stakes[provider];
        UnbondingRecord memory unbonding = _unbonding[provider];
        return Provider({
            registered: profile.registered,
            capabilities: profile.capabilities,
            stake: record.stake,
            locked: record.locked,
            unbonding: unbonding.amount,
            unbondingReleaseAt: unbonding.releaseAt,
            metadataURI: _metadataURIs[provider]
        });
    }

    /// @inheritdoc IProviderRegistry
    function capabilitiesOf(address provider)
        external
        view
        returns (bool registered, Capabilities memory capabilities)
    {
        ProfileRecord memory profile = _profiles[provider];
        return (profile.registered, profile.capabilities);
    }

    /// @inheritdoc IProviderRegistry
    function freeStakeOf(address provider) external view returns (uint256) {
        StakeRecord memory record = _stakes[provider];
        return record.stake - record.locked;
    }

    /// @inheritdoc IProviderRegistry
    function totalStaked() external view returns (uint256) {
        return _totalStaked;
    }

    function _stake(uint256 amount) private {
        if (amount == 0) revert ProviderRegistryZeroAmount();
        StakeRecord storage record = _stakes[msg.sender];
        record.stake = (record.stake + amount).toUint128();
        _totalStaked += amount;
        emit Staked(msg.sender, amount, record.stake);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _checkLocked(address provider, StakeRecord storage record, uint256 amount)
        private
        view
    {
        if (amount > record.locked) {
            revert ProviderRegistryInsufficientLockedStake(provider, amount, record.locked);
        }
    }

    function _checkCapabilities(Capabilities calldata capabilities) private pure {
        if (capabilities.cpuMillicores == 0 || capabilities.memoryMiB == 0) {
            revert ProviderRegistryInvalidCapabilities(
                capabilities.cpuMillicores, capabilities.memoryMiB
            );
        }
    }
}
