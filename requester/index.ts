/**
 * The requester library: what the `conun:*` Hardhat tasks, `npm run demo` and the benchmarks
 * do, for your own programs (a pipeline, a notebook). The guide is requester/README.md; a
 * runnable script is examples/post-and-verify.ts.
 *
 * ```ts
 * import { connectRequester, fetchResults, postJob, watchJobEvents } from "./requester/index.ts";
 *
 * const ctx = await connectRequester({ signer, rpcUrl });   // contracts, content store
 * const { jobId, escrow } = await postJob(ctx, { manifestPath: "job.json" });
 * for await (const event of watchJobEvents(ctx, jobId)) console.log(event.text);
 * const report = await fetchResults(ctx, jobId, "results/"); // verified against the chain
 * await ctx.store.close();
 * ```
 *
 * Everything here runs under Node (it reads files and opens the content store); the pure cores
 * it builds on (sdk/queries price guidance, sdk/results verification, sdk/chain diagnosis)
 * import no Node built-in and run in a browser too. Errors are `RequesterError` (or another
 * domain's ConunError) with a stable `code`: test them with `isConunError(e, "unknown-job")`.
 */

// From the sdk, for convenience: the running demo's record, the error test, the proposal.
export { type DevnetRecord, readDevnet } from "../sdk/devnet.ts";
export { isConunError } from "../sdk/errors.ts";
export {
  isSimilarJob,
  type PriceGuidance,
  type PriceProposal,
  type PriceRequest,
  proposePrice,
} from "../sdk/queries/price-guidance.ts";
// Untrusted text (task stderr, names from bundles, revert strings) is shown through this.
export { escapeUntrusted } from "../sdk/text.ts";
// Connecting: the signer, its chain's CONUN deployment, the content store.
export {
  type ConnectOptions,
  connectRequester,
  DEFAULT_CONTENT_DIR,
  type RequesterContext,
  resolveStoreDir,
} from "./context.ts";
export { RequesterError, type RequesterErrorCode } from "./errors.ts";
// Cancelling, withdrawing refunds, status, the local faucet.
export {
  type AccountStatus,
  accountStatus,
  cancelJob,
  describeJob,
  faucet,
  formatConun,
  jobStatus,
  withdraw,
} from "./manage.ts";
// Posting: validate, upload, escrow (permit), post.
export {
  type ApprovalMode,
  type PostOptions,
  type PostResult,
  postJob,
  readManifestFile,
  readSourceManifest,
} from "./post.ts";
// Price guidance: a proposed max price from the subgraph's recent similar jobs.
export {
  type AdvisePriceOptions,
  advisePrice,
  DEFAULT_SUBGRAPH_URL,
  type PriceAdvice,
  type ProviderFloor,
  priceRequestOf,
} from "./price.ts";
// Explaining an Unfilled job or a group without quorum, and the pre-post check.
export { checkFillable, describeFillCheck, explainJob, type JobReasons } from "./reasons.ts";
// Results: fetch each group's bundle and verify every task against the winning root.
export {
  fetchResults,
  formatResultsReport,
  type ResultsReport,
  type TaskResult,
  type TaskState,
} from "./results.ts";
// Watching: an async iterator of events, or a callback.
export {
  fractionDone,
  type JobEvent,
  type JobProgress,
  paidProviders,
  readJobProgress,
  type WatchEvent,
  type WatchEventsOptions,
  type WatchOptions,
  watchJob,
  watchJobEvents,
} from "./watch.ts";
