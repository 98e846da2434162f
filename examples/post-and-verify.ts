// Post a job, watch it, and verify its results with the requester library (requester/index.ts)
// — the whole requester side of CONUN in one script, without the Hardhat CLI.
//
// Against a running `npm run demo -- --keep`, with nothing to set (it posts the demo's
// Mandelbrot job and its three workers run it):
//
//   npx node examples/post-and-verify.ts [--manifest demo/job.json] [--out results/] [--price auto]
//
// (`npx node` is the project's Node 22, which runs TypeScript as is.) Elsewhere: CONUN_RPC_URL
// (default: the running demo's chain, else http://127.0.0.1:8545); the requester is
// CONUN_PRIVATE_KEY, else the node's unlocked account CONUN_ACCOUNT (default 2, the demo's
// requester; local nodes only); the content store and subgraph are the demo's, or
// CONUN_CONTENT_DIR and SUBGRAPH_URL. Exit code 0 when every task is verified, 1 otherwise.
import { mkdtemp } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { JsonRpcProvider, type Signer, Wallet } from "ethers";
import {
  advisePrice,
  connectRequester,
  DEFAULT_SUBGRAPH_URL,
  escapeUntrusted,
  fetchResults,
  formatConun,
  formatResultsReport,
  isConunError,
  postJob,
  priceRequestOf,
  readDevnet,
  readSourceManifest,
  watchJobEvents,
} from "../requester/index.ts";

const { values } = parseArgs({
  options: {
    manifest: { type: "string", default: path.join(import.meta.dirname, "..", "demo", "job.json") },
    out: { type: "string" },
    price: { type: "string" },
  },
});

async function main(): Promise<number> {
  const rpcUrl = process.env.CONUN_RPC_URL || readDevnet()?.rpcUrl || "http://127.0.0.1:8545";
  const provider = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 });
  const signer: Signer = process.env.CONUN_PRIVATE_KEY
    ? new Wallet(process.env.CONUN_PRIVATE_KEY, provider)
    : await provider.getSigner(Number(process.env.CONUN_ACCOUNT ?? 2));
  // The deployment and content store: the running demo's when rpcUrl is its chain, else
  // Ignition's record for this chain and .conun/content (or CONUN_CONTENT_DIR).
  const ctx = await connectRequester({ signer, rpcUrl });
  try {
    const manifestPath = values.manifest;
    let maxPrice: bigint | undefined;
    if (values.price === "auto") {
      const { source } = await readSourceManifest({ manifestPath });
      const advice = await advisePrice(ctx, priceRequestOf(source), {
        subgraph: ctx.subgraphUrl ?? DEFAULT_SUBGRAPH_URL,
      });
      for (const line of advice.lines) console.log(`price: ${line}`);
      if (advice.guidance.kind !== "proposal") return 1;
      maxPrice = advice.guidance.maxPrice;
    }

    const posted = await postJob(ctx, { manifestPath, ...(maxPrice ? { maxPrice } : {}) });
    console.log(`job ${posted.jobId} posted, escrow ${formatConun(posted.escrow)}`);

    // Each event as it happens; the loop ends when the job does. Not passive: the requester
    // closes bidding and finalizes when due, as conun:watch does.
    let status = "Open";
    for await (const event of watchJobEvents(ctx, posted.jobId, { timeoutMs: 15 * 60_000 })) {
      console.log(`  ${event.text}`);
      status = event.progress.status;
    }
    console.log(`job ${posted.jobId} ended ${status}`);
    if (status !== "Finalized") return 1;

    // Every task's files are checked against the winning on-chain root before being written.
    const out = values.out ?? (await mkdtemp(path.join(process.cwd(), `results-${posted.jobId}-`)));
    const report = await fetchResults(ctx, posted.jobId, out);
    for (const line of formatResultsReport(report)) console.log(line);
    return report.complete ? 0 : 1;
  } finally {
    await ctx.store.close();
    provider.destroy();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A ConunError is a sentence naming the fix, with a stable code; anything else is a bug.
    if (isConunError(error)) {
      console.error(
        `error: ${escapeUntrusted(error.message, { multiline: true })} [${error.code}]`,
      );
    } else console.error(error);
    process.exitCode = 1;
  },
);
