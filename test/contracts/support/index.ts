// What the contract tests import, from one place: the protocol's deploy and step helpers
// (devnet/protocol.ts), the market test helpers (test/helpers/market.ts) and the per-file chain.
export * from "../../../devnet/protocol.ts";
export * from "../../helpers/market.ts";
export * from "./network.ts";
