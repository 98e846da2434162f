// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";

/// @title ReentrantToken
/// @notice Test-only ERC-20 whose `transfer` and `transferFrom`, once armed, call back into a
/// market after moving the tokens (as an ERC-777 hook or a malicious token would). The call
/// fires once per arming. With `swallow` set the callback's failure is caught and recorded, so
/// the outer call can complete; otherwise the failure bubbles up and reverts the outer call.
contract ReentrantToken is ERC20, ERC20Permit {
    /// @notice Which market function the callback calls.
    enum Reentry {
        None,
        Withdraw,
        Claim,
        Finalize
    }

    /// @notice The market to call back into.
    IJobMarket public market;
    /// @notice The armed callback (`None` when disarmed).
    Reentry public reentry;
    /// @notice The job id passed to `claim` and `finalize`.
    uint256 public reentryJobId;
    /// @notice Whether a failing callback is caught instead of bubbling up.
    bool public swallow;
    /// @notice Revert data of the last caught callback failure.
    bytes public lastRevertData;
    /// @notice Callbacks attempted so far.
    uint256 public attempts;

    /// @notice Emitted after a callback.
    /// @param reentry The market function called back.
    /// @param succeeded Whether the callback succeeded.
    /// @param revertData Its revert data when it failed and was caught.
    event ReentryAttempted(Reentry reentry, bool succeeded, bytes revertData);

    /// @param holder Receives the whole supply.
    /// @param supply Tokens minted.
    constructor(address holder, uint256 supply)
        ERC20("Reentrant", "RENT")
        ERC20Permit("Reentrant")
    {
        _mint(holder, supply);
    }

    /// @notice Arms a single callback into `market_` for the next transfer.
    /// @param market_ The market to call.
    /// @param reentry_ The function to call.
    /// @param jobId The job id for `claim` and `finalize`.
    /// @param swallow_ Whether to catch and record the callback's failure.
    function arm(IJobMarket market_, Reentry reentry_, uint256 jobId, bool swallow_) external {
        market = market_;
        reentry = reentry_;
        reentryJobId = jobId;
        swallow = swallow_;
    }

    /// @inheritdoc ERC20
    function transfer(address to, uint256 value) public override returns (bool) {
        bool moved = super.transfer(to, value);
        _reenter();
        return moved;
    }

    /// @inheritdoc ERC20
    function transferFrom(address from, address to, uint256 value)
        public
        override
        returns (bool)
    {
        bool moved = super.transferFrom(from, to, value);
        _reenter();
        return moved;
    }

    function _reenter() private {
        Reentry armed = reentry;
        if (armed == Reentry.None) return;
        reentry = Reentry.None;
        ++attempts;
        if (!swallow) {
            _call(armed);
            emit ReentryAttempted(armed, true, "");
            return;
        }
        try this.callMarket(armed) {
            emit ReentryAttempted(armed, true, "");
        } catch (bytes memory revertData) {
            lastRevertData = revertData;
            emit ReentryAttempted(armed, false, revertData);
        }
    }

    /// @notice Makes the callback; external only so that `_reenter` can catch its failure.
    /// @param armed The function to call.
    function callMarket(Reentry armed) external {
        _call(armed);
    }

    function _call(Reentry armed) private {
        if (armed == Reentry.Withdraw) {
            market.withdraw();
        } else if (armed == Reentry.Claim) {
            market.claim(reentryJobId);
        } else {
            market.finalize(reentryJobId);
        }
    }
}
