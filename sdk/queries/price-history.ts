// The price history price guidance (./price-guidance.ts) reads: recent decided jobs whose CPU,
// memory and GPUs are close to a new job's, with the bids they accepted. The timeout of each
// job is in its manifest, not in the subgraph: the caller reads it by `manifestCid`.
import type { PostedJobStatus } from "../protocol/states.ts";
import type { SubgraphClient } from "./client.ts";
import { fromWire, type Wire } from "./convert.ts";
import type { BidStatus } from "./jobs.ts";
import { type PastJob, type PriceRequest, similarResourceBounds } from "./price-guidance.ts";

export const PRICE_HISTORY_QUERY = `
  query PriceHistory($where: Job_filter!, $first: Int!) {
    jobs(where: $where, first: $first, orderBy: postedAt, orderDirection: desc) {
      jobId status postedAt cpuMillicores memoryMiB gpuCount maxPrice manifestCid
      bids(first: 1000, orderBy: price) { price allotted status }
    }
  }
`;

/** A past job as indexed: `PastJob` without the timeout, with its manifest's CID. */
export interface PriceHistoryJob extends Omit<PastJob, "timeoutSeconds"> {
  manifestCid: string;
}

interface PriceHistoryRaw extends Wire<Omit<PriceHistoryJob, "accepted" | "status">, never> {
  status: PostedJobStatus;
  bids: { price: string; allotted: number; status: BidStatus }[];
}

export interface PriceHistoryOptions {
  /** Unix seconds: only jobs posted at or after (default: 30 days ago). */
  since?: bigint;
  /** At most 1000 (graph-node's limit); default 200. */
  first?: number;
}

/**
 * Decided jobs (Unfilled, Awarded, Finalized) with the same GPU count and CPU and memory within
 * the factor of `isSimilarJob`, newest first, each with its accepted bids.
 */
export async function listPriceHistory(
  client: SubgraphClient,
  request: Pick<PriceRequest, "cpuMillicores" | "memoryMiB" | "gpuCount">,
  options: PriceHistoryOptions = {},
): Promise<PriceHistoryJob[]> {
  const { cpu, memory } = similarResourceBounds(request);
  const since = options.since ?? BigInt(Math.floor(Date.now() / 1000) - 30 * 24 * 3600);
  const res = await client.request<{ jobs: PriceHistoryRaw[] }>(PRICE_HISTORY_QUERY, {
    where: {
      status_in: ["Unfilled", "Awarded", "Finalized"],
      gpuCount: request.gpuCount,
      cpuMillicores_gte: cpu[0].toString(),
      cpuMillicores_lte: cpu[1].toString(),
      memoryMiB_gte: memory[0].toString(),
      memoryMiB_lte: memory[1].toString(),
      postedAt_gte: since.toString(),
    },
    first: options.first ?? 200,
  });
  return res.jobs.map(({ bids, status, ...job }) => ({
    ...fromWire<Omit<PriceHistoryJob, "accepted" | "status">>(job, "Job", {
      jobId: true,
      postedAt: true,
      cpuMillicores: true,
      memoryMiB: true,
      maxPrice: true,
    }),
    status,
    accepted: bids
      .filter((b) => b.status === "Accepted")
      .map((b) => ({ price: BigInt(b.price), allotted: b.allotted })),
  }));
}
