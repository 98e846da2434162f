import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { hardhatCommand } from "../context.ts";
import { RequesterError } from "../errors.ts";
import { formatConun } from "../manage.ts";
import { type ApprovalMode, postJob } from "../post.ts";
import { runAction, withRequester } from "./common.ts";

const MODES: readonly string[] = ["permit", "approve", "existing"];

export default async function post(
  args: { manifest: string; approval: string; store: string; account: number },
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runAction(async () => {
    if (args.manifest === "") {
      throw new RequesterError("invalid-argument", "pass the job's manifest: --manifest job.json");
    }
    if (!MODES.includes(args.approval)) {
      throw new RequesterError("invalid-argument", `--approval must be one of ${MODES.join(", ")}`);
    }
    await withRequester(hre, args, async (ctx) => {
      const result = await postJob(ctx, {
        manifestPath: args.manifest,
        approval: args.approval as ApprovalMode,
        // Printed before the transaction; only a job that cannot fill is worth a warning.
        onFillCheck: (check, lines) => {
          if (check.canFill) return;
          console.error(`warning: ${lines.join("\n  ")}`);
        },
      });
      console.log(
        [
          `job ${result.jobId} posted (tx ${result.txHash})`,
          `  manifest ${result.manifestCid}`,
          `  escrow   ${formatConun(result.escrow)} (${result.approval})`,
          `  bidding closes ${new Date(Number(result.biddingDeadline) * 1000).toISOString()}`,
          "",
          `watch it:   ${hardhatCommand(ctx, `conun:watch --job ${result.jobId}`)}`,
          `results:    ${hardhatCommand(ctx, `conun:results --job ${result.jobId} --out results-${result.jobId}`)}`,
          ...(result.fillCheck.canFill
            ? []
            : [
                `it may end Unfilled (see the warning above); to take the escrow back before bidding closes: ${hardhatCommand(ctx, `conun:cancel --job ${result.jobId}`)}`,
              ]),
        ].join("\n"),
      );
    });
  });
}
