// What the contract tests import, from one place: the protocol's deploy and step helpers
// (devnet/protocol.ts), the market test helpers (test/helpers/market.ts), the per-file chain and
// the set-ups several files share.
export * from "../../../devnet/protocol.ts";
export * from "../../helpers/market.ts";
export * from "./fixtures.ts";
export * from "./network.ts";
export * from "./ownable.ts";
export * from "./permit.ts";
