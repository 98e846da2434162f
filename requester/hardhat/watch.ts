import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { hardhatCommand } from "../context.ts";
import { formatConun } from "../manage.ts";
import { explainJob } from "../reasons.ts";
import { createProgressPrinter } from "../render.ts";
import { watchJob } from "../watch.ts";
import { parseJobId, requesterFromHre, runAction } from "./common.ts";

export default async function watch(
  args: { job: string; passive: boolean; account: number },
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runAction(async () => {
    const jobId = parseJobId(args.job);
    const ctx = await requesterFromHre(hre, args);
    const printer = createProgressPrinter();
    const controller = new AbortController();
    const stop = () => controller.abort(new Error("interrupted"));
    process.once("SIGINT", stop);
    try {
      const final = await watchJob(ctx.provider, ctx.deployment.market, jobId, {
        onEvent: printer.onEvent,
        signal: controller.signal,
        fromBlock: ctx.deployment.startBlock,
        // Providers commit, reveal and finalize, but nobody is bound to close bidding: the
        // requester, who wants the job to run, does it unless told to only observe.
        ...(args.passive ? {} : { drive: ctx.signer }),
      });
      printer.done();
      console.log(`job ${jobId} ended ${final.status}`);
      if (final.status === "Unfilled" || final.groups.some((g) => g?.outcome === "NoQuorum")) {
        for (const line of (await explainJob(ctx, jobId)).lines) console.log(`  ${line}`);
      }
      const refund = (final.awardRefund ?? 0n) + (final.refund ?? 0n);
      if (refund > 0n) {
        console.log(
          `  credited back to the requester: ${formatConun(refund)} (run conun:withdraw)`,
        );
      }
      if (final.status === "Finalized") {
        console.log(
          `  fetch results: ${hardhatCommand(ctx, `conun:results --job ${jobId} --out results-${jobId}`)}`,
        );
      }
    } finally {
      process.off("SIGINT", stop);
      await ctx.store.close();
    }
  });
}
