import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { readDeployment } from "../../scripts/deployments.ts";
import { RequesterError } from "../lib/errors.ts";
import { faucet, formatConun } from "../lib/manage.ts";
import { runAction } from "./common.ts";

export default async function faucetAction(
  args: { to: string; amount: string },
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runAction(async () => {
    if (args.to === "")
      throw new RequesterError("invalid-argument", "pass the recipient: --to 0x…");
    const { ethers } = await hre.network.create();
    const [holder] = await ethers.getSigners();
    if (holder === undefined)
      throw new RequesterError("invalid-argument", "this network has no accounts");
    const chainId = Number((await ethers.provider.getNetwork()).chainId);
    const deployment = await readDeployment(chainId).catch((cause: unknown) => {
      throw new RequesterError(
        "wrong-network",
        `CONUN is not deployed on chain ${chainId}: run npm run deploy:local`,
        { cause },
      );
    });
    const result = await faucet(holder, deployment.token, args.to, args.amount);
    console.log(
      `sent ${formatConun(result.amount)} to ${args.to} (tx ${result.txHash}); it now holds ${formatConun(result.balance)}`,
    );
  });
}
