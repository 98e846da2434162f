import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { RequesterContext } from "../context.ts";
import { fetchResults, formatResultsReport } from "../results.ts";
import { parseJobId, runAction, withRequester } from "./common.ts";

export default async function results(
  args: { job: string; out: string; store: string; account: number },
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runAction(async () => {
    const jobId = parseJobId(args.job);
    await withRequester(hre, args, (ctx) =>
      printResults(ctx, jobId, args.out || `results-${jobId}`),
    );
  });
}

/** What `conun:results` does once connected: fetch, verify, print; exit code 1 unless complete. */
export async function printResults(
  ctx: RequesterContext,
  jobId: bigint,
  outDir: string,
): Promise<void> {
  const report = await fetchResults(ctx, jobId, outDir);
  // Every line is escaped: reasons and stderr come from bundles that anyone can craft.
  for (const line of formatResultsReport(report)) console.log(line);
  if (!report.complete) process.exitCode = 1;
}
