import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { fetchResults } from "../lib/results.ts";
import { parseJobId, requesterFromHre, runAction } from "./common.ts";

export default async function results(
  args: { job: string; out: string; store: string; account: number },
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runAction(async () => {
    const jobId = parseJobId(args.job);
    const ctx = await requesterFromHre(hre, args);
    try {
      const report = await fetchResults(ctx, jobId, args.out || `results-${jobId}`);
      const counts = new Map<string, number>();
      for (const task of report.tasks) counts.set(task.state, (counts.get(task.state) ?? 0) + 1);
      console.log(
        `job ${jobId}: ${[...counts].map(([state, n]) => `${n} ${state}`).join(", ")} → ${report.outDir}`,
      );
      for (const task of report.tasks) {
        if (task.state !== "verified")
          console.log(`  task ${task.index}: ${task.state} — ${task.reason}`);
      }
      if (!report.complete) process.exitCode = 1;
    } finally {
      await ctx.store.close();
    }
  });
}
