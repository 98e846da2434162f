import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { accountStatus, describeJob, formatConun, jobStatus } from "../manage.ts";
import { parseJobId, runAction, withRequester } from "./common.ts";

export default async function status(
  args: { job: string; store: string; account: number },
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runAction(async () => {
    await withRequester(hre, args, async (ctx) => {
      if (args.job !== "") {
        console.log(describeJob(await jobStatus(ctx, parseJobId(args.job))).join("\n"));
        return;
      }
      const s = await accountStatus(ctx);
      console.log(
        [
          `account ${s.account} on chain ${s.chainId}`,
          `  balance    ${formatConun(s.balance)}`,
          `  allowance  ${formatConun(s.allowance)} (to the market)`,
          `  claimable  ${formatConun(s.claimable)}${s.claimable > 0n ? " — run conun:withdraw" : ""}`,
          `  jobs       ${s.jobs.length === 0 ? "none" : s.jobs.map((j) => `${j.jobId} ${j.status}`).join(", ")}`,
        ].join("\n"),
      );
    });
  });
}
