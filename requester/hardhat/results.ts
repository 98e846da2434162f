import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { fetchResults, formatResultsReport } from "../results.ts";
import { parseJobId, runAction, withRequester } from "./common.ts";

export default async function results(
  args: { job: string; out: string; store: string; account: number },
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runAction(async () => {
    const jobId = parseJobId(args.job);
    await withRequester(hre, args, async (ctx) => {
      const report = await fetchResults(ctx, jobId, args.out || `results-${jobId}`);
      // Every line is escaped: reasons and stderr come from bundles that anyone can craft.
      for (const line of formatResultsReport(report)) console.log(line);
      if (!report.complete) process.exitCode = 1;
    });
  });
}
