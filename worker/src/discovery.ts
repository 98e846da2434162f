// Finds work. JSON-RPC log polling is the source of truth and the low-latency path: every
// market event since the last processed block, JobPosted ones becoming candidates and the rest
// waking the jobs they name. The subgraph, when configured, adds open jobs the log window may
// not reach (a worker back after a long absence); their specs are then read from the chain.
import type { GraphQLClient } from "graphql-request";
import {
  chainTime,
  type PostedJob,
  postedJobFromEvent,
  readPostedJob,
} from "../../sdk/chain/index.ts";
import { describeError } from "../../sdk/errors.ts";
import { queryOpenJobs, subgraphClient } from "../../sdk/queries/worker.ts";
import type { WorkerContext } from "./context.ts";

const MAX_RANGE = 5000;

export class Discovery {
  readonly #ctx: WorkerContext;
  #cursor: number;
  #head = 0;
  readonly #subgraph: GraphQLClient | undefined;
  #polls = 0;
  #subgraphFailing = false;

  constructor(ctx: WorkerContext, fromBlock: number) {
    this.#ctx = ctx;
    this.#cursor = fromBlock - 1;
    this.#subgraph =
      ctx.config.subgraphUrl === undefined
        ? undefined
        : subgraphClient(ctx.config.subgraphUrl, ctx.config.rpcTimeoutMs);
  }

  /** Blocks between the head and the last processed block. */
  get lag(): number {
    return Math.max(0, this.#head - this.#cursor);
  }

  /** New candidate jobs and the ids of jobs whose state changed on chain. */
  async poll(): Promise<{ posted: PostedJob[]; touched: Set<string> }> {
    const { market } = this.#ctx.contracts;
    const posted: PostedJob[] = [];
    const touched = new Set<string>();
    this.#head = await this.#ctx.provider.getBlockNumber();
    while (this.#cursor < this.#head) {
      const from = this.#cursor + 1;
      const to = Math.min(this.#head, from + MAX_RANGE - 1);
      const logs = await this.#ctx.provider.getLogs({
        address: await market.getAddress(),
        fromBlock: from,
        toBlock: to,
      });
      for (const log of logs) {
        const parsed = market.interface.parseLog(log);
        if (parsed === null) continue;
        if (parsed.name === "JobPosted") {
          posted.push(
            postedJobFromEvent(
              parsed.args as unknown as Parameters<typeof postedJobFromEvent>[0],
              log.blockNumber,
            ),
          );
        } else if ("jobId" in parsed.args.toObject()) {
          touched.add(String(parsed.args.getValue("jobId")));
        }
      }
      this.#cursor = to;
    }
    this.#polls++;
    if (this.#subgraph !== undefined && this.#polls % 5 === 1) {
      posted.push(...(await this.#fromSubgraph(new Set(posted.map((p) => p.jobId.toString())))));
    }
    return { posted, touched };
  }

  async #fromSubgraph(seen: Set<string>): Promise<PostedJob[]> {
    const ctx = this.#ctx;
    const found: PostedJob[] = [];
    try {
      const open = await queryOpenJobs(
        this.#subgraph as GraphQLClient,
        await chainTime(ctx.provider),
      );
      for (const summary of open) {
        const key = summary.jobId.toString();
        if (seen.has(key) || ctx.jobs.has(key)) continue;
        const job = await readPostedJob(ctx.contracts.market, summary.jobId, ctx.startBlock);
        if (job !== undefined) found.push(job);
      }
      if (this.#subgraphFailing) ctx.log.info("subgraph reachable again");
      this.#subgraphFailing = false;
    } catch (error) {
      if (!this.#subgraphFailing) {
        ctx.log.warn("subgraph query failed; relying on chain logs", {
          reason: describeError(error),
        });
      }
      this.#subgraphFailing = true;
    }
    return found;
  }
}
