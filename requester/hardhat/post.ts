import { formatUnits, parseUnits } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { hardhatCommand } from "../context.ts";
import { RequesterError } from "../errors.ts";
import { formatConun } from "../manage.ts";
import { type ApprovalMode, postJob, readSourceManifest } from "../post.ts";
import { advisePrice, DEFAULT_SUBGRAPH_URL, priceRequestOf } from "../price.ts";
import { runAction, withRequester } from "./common.ts";

const MODES: readonly string[] = ["permit", "approve", "existing"];

/** `--price`: "" (the manifest's), "auto", or CONUN per task-replica. */
function parsePrice(value: string): "manifest" | "auto" | bigint {
  const text = value.trim();
  if (text === "") return "manifest";
  if (text === "auto") return "auto";
  try {
    if (!/^\d+(\.\d{1,18})?$/.test(text)) throw new Error("not a decimal");
    const wei = parseUnits(text, 18);
    if (wei === 0n) throw new Error("zero");
    return wei;
  } catch {
    throw new RequesterError(
      "invalid-argument",
      `--price must be auto or a positive amount of CONUN per task-replica (e.g. 0.5), got "${text}"`,
    );
  }
}

export default async function post(
  args: {
    manifest: string;
    approval: string;
    price: string;
    yes: boolean;
    subgraph: string;
    store: string;
    account: number;
  },
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await runAction(async () => {
    if (args.manifest === "") {
      throw new RequesterError("invalid-argument", "pass the job's manifest: --manifest job.json");
    }
    if (!MODES.includes(args.approval)) {
      throw new RequesterError("invalid-argument", `--approval must be one of ${MODES.join(", ")}`);
    }
    const price = parsePrice(args.price ?? "");
    if (args.yes && price !== "auto") {
      throw new RequesterError("invalid-argument", "--yes goes with --price auto");
    }
    await withRequester(hre, args, async (ctx) => {
      let maxPrice = typeof price === "bigint" ? price : undefined;
      if (price === "auto") {
        // The manifest is checked first: a bad one is reported before the subgraph is asked.
        const { source } = await readSourceManifest({ manifestPath: args.manifest });
        const advice = await advisePrice(ctx, priceRequestOf(source), {
          subgraph: ctx.subgraphUrl ?? DEFAULT_SUBGRAPH_URL,
        });
        if (advice.guidance.kind === "no-history") {
          throw new RequesterError("no-price-history", advice.lines.join("\n  "), {
            details: { sampleSize: advice.guidance.sampleSize },
          });
        }
        console.log(`price guidance:\n  ${advice.lines.join("\n  ")}`);
        const proposed = advice.guidance.maxPrice;
        if (!args.yes) {
          console.log(
            [
              "",
              "not posted. To post at this price (escrow shown above):",
              `  ${hardhatCommand(ctx, `conun:post --manifest ${args.manifest} --price ${formatUnits(proposed, 18)}`)}`,
              "or accept the proposal as it stands when you post: add --yes to --price auto",
            ].join("\n"),
          );
          return;
        }
        maxPrice = proposed;
      }
      const result = await postJob(ctx, {
        manifestPath: args.manifest,
        approval: args.approval as ApprovalMode,
        ...(maxPrice === undefined ? {} : { maxPrice }),
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
          `  max price ${formatConun(BigInt(result.spec.maxPrice))} per task-replica`,
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
