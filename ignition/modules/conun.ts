// Deploys the CONUN protocol in one Ignition module: the token, the provider registry, the
// Assignment library, the market linked against it, and the registry's one-time connection to
// the market. Per-network values live in ignition/parameters/<network>.json; every parameter
// has a default (the protocol's, in sdk/protocol/limits.ts, which sdk/chain/deploy.ts reads too),
// so the module also deploys with no parameters file at all.
//
// Parameters (module "Conun"):
// - supply:          total CONUN minted to `tokenHolder`, 18 decimals (default 1e9 CONUN).
// - tokenHolder:     receives the whole supply (default: the deployer, account 0).
// - unstakeCooldown: registry unstake cooldown in seconds (default 28 days). The market's
//                    constructor requires more than 24 days (the longest bidding + execution
//                    + reveal windows), so that no provider can unstake before a pending slash.
// - feeBps:          protocol fee on provider payments, basis points (default 100 = 1%,
//                    at most JobMarket.MAX_FEE_BPS = 500).
// - treasury:        receives protocol fees and slashed stake (default: the deployer).
// - owner:           owns the registry and the market: connects the market, pauses, sets the
//                    fee and the treasury (default: the deployer). The module calls
//                    `registry.setMarket` from the deploying account, which Ignition cannot
//                    switch to a parameter, so `owner` must be the deployer. To hand the
//                    protocol to another owner (a multisig), call `transferOwnership` on both
//                    contracts afterwards; Ownable2Step makes the new owner `acceptOwnership`.
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { DEPLOY_DEFAULTS } from "../../sdk/protocol/limits.ts";

export default buildModule("Conun", (m) => {
  const deployer = m.getAccount(0);
  const supply = m.getParameter("supply", DEPLOY_DEFAULTS.supply);
  const tokenHolder = m.getParameter("tokenHolder", deployer);
  const unstakeCooldown = m.getParameter("unstakeCooldown", DEPLOY_DEFAULTS.unstakeCooldown);
  const feeBps = m.getParameter("feeBps", DEPLOY_DEFAULTS.feeBps);
  const treasury = m.getParameter("treasury", deployer);
  const owner = m.getParameter("owner", deployer);

  // Fully qualified names: test and mock sources may declare contracts of the same name. The
  // future ids (and so the keys of deployed_addresses.json) stay `Conun#<ContractName>`.
  const token = m.contract("contracts/ConunToken.sol:ConunToken", [tokenHolder, supply]);
  const registry = m.contract("contracts/ProviderRegistry.sol:ProviderRegistry", [
    token,
    unstakeCooldown,
    owner,
  ]);
  const assignment = m.library("contracts/libraries/Assignment.sol:Assignment");
  const market = m.contract(
    "contracts/JobMarket.sol:JobMarket",
    [token, registry, treasury, feeBps, owner],
    { libraries: { Assignment: assignment } },
  );
  // Only the registry's owner may connect the market, and only once: sent by the deployer.
  m.call(registry, "setMarket", [market]);

  return { token, registry, assignment, market };
});
