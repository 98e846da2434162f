import { formatEther } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { readDevnet, sameRpcUrl } from "../../sdk/devnet.ts";
import { readDeployment } from "../../sdk/protocol/deployments.ts";
import { RequesterError } from "../errors.ts";
import { faucet, formatConun } from "../manage.ts";
import { runAction } from "./common.ts";

export default async function faucetAction(
  args: { to: string; amount: string },
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runAction(async () => {
    if (args.to === "")
      throw new RequesterError("invalid-argument", "pass the recipient: --to 0x…");
    const { ethers, networkConfig } = await hre.network.create();
    const [holder] = await ethers.getSigners();
    if (holder === undefined)
      throw new RequesterError("invalid-argument", "this network has no accounts");
    const chainId = Number((await ethers.provider.getNetwork()).chainId);
    // On a running demo's chain its record names the token (sdk/devnet.ts); else Ignition's.
    const url = networkConfig.type === "http" ? await networkConfig.url.get() : undefined;
    const devnet = url === undefined ? undefined : readDevnet();
    const token =
      devnet !== undefined &&
      url !== undefined &&
      devnet.chainId === chainId &&
      sameRpcUrl(devnet.rpcUrl, url)
        ? devnet.deployment.token
        : (
            await readDeployment(chainId).catch((cause: unknown) => {
              throw new RequesterError(
                "wrong-network",
                `CONUN is not deployed on chain ${chainId}: run npm run deploy:local (or npm run demo -- --keep)`,
                { cause },
              );
            })
          ).token;
    const result = await faucet(holder, token, args.to, args.amount);
    console.log(
      `sent ${formatConun(result.amount)} to ${args.to} (tx ${result.txHash}); it now holds ${formatConun(result.balance)}`,
    );
    const { gas } = result;
    console.log(
      gas.sent > 0n
        ? `sent ${formatEther(gas.sent)} ETH for gas (tx ${gas.txHash}); it now holds ${formatEther(gas.balance)} ETH`
        : `it already holds ${formatEther(gas.balance)} ETH for gas; none sent`,
    );
  });
}
