import { network } from "hardhat";
import type { Connection } from "../../../devnet/protocol.ts";

/**
 * The in-process chain of one contract test file: a connection of its own (files never share
 * chain state) with the helpers the tests destructure from it.
 */
export async function contractsNetwork() {
  const connection: Connection = await network.create({ chainType: "l1" });
  const { ethers, ignition, networkHelpers } = connection;
  const { loadFixture, time } = networkHelpers;
  return { connection, ethers, ignition, networkHelpers, loadFixture, time };
}
