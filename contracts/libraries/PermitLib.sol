// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/// @title PermitLib
/// @notice Applies an EIP-2612 permit without letting a front-runner break the call.
/// @dev Anyone who sees a permit in the mempool can submit it first; the victim's own
/// `permit` then reverts on the used nonce. The allowance it granted is in place either way,
/// so the failure is ignored here and the token transfer that follows decides.
library PermitLib {
    function tryPermit(
        IERC20Permit token,
        uint256 value,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) internal {
        // solhint-disable-next-line no-empty-blocks
        try token.permit(msg.sender, address(this), value, deadline, v, r, s) {} catch {}
    }
}
