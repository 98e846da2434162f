// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title ConunToken
/// @notice The CONUN token: a fixed-supply ERC-20 with EIP-2612 permits. The whole supply is
/// minted once, at deployment, to `holder`; there is no mint or burn function afterwards.
contract ConunToken is ERC20, ERC20Permit {
    /// @param holder Receives the whole supply.
    /// @param supply Total supply, in the token's smallest unit (18 decimals).
    constructor(address holder, uint256 supply) ERC20("CONUN", "CONUN") ERC20Permit("CONUN") {
        _mint(holder, supply);
    }
}
