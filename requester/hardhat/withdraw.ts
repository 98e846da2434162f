import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { formatConun, withdraw } from "../manage.ts";
import { requesterFromHre, runAction } from "./common.ts";

export default async function withdrawAction(
  args: { store: string; account: number },
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runAction(async () => {
    const ctx = await requesterFromHre(hre, args);
    try {
      const { amount, txHash } = await withdraw(ctx);
      console.log(`withdrew ${formatConun(amount)} to ${ctx.account} (tx ${txHash})`);
    } finally {
      await ctx.store.close();
    }
  });
}
