import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { cancelJob, formatConun } from "../manage.ts";
import { parseJobId, runAction, withRequester } from "./common.ts";

export default async function cancel(
  args: { job: string; store: string; account: number },
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runAction(async () => {
    const jobId = parseJobId(args.job);
    await withRequester(hre, args, async (ctx) => {
      const { refund, txHash } = await cancelJob(ctx, jobId);
      console.log(
        `job ${jobId} cancelled (tx ${txHash}); ${formatConun(refund)} credited — run conun:withdraw`,
      );
    });
  });
}
