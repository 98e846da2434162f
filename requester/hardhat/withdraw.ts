import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { formatConun, withdraw } from "../manage.ts";
import { runAction, withRequester } from "./common.ts";

export default async function withdrawAction(
  args: { store: string; account: number },
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runAction(async () => {
    await withRequester(hre, args, async (ctx) => {
      const { amount, txHash } = await withdraw(ctx);
      console.log(`withdrew ${formatConun(amount)} to ${ctx.account} (tx ${txHash})`);
    });
  });
}
