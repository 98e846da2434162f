// The subgraph queries the worker makes. The subgraph only helps a worker find jobs quickly
// (and find them at all after a long absence without scanning logs); every decision is checked
// against the chain afterwards.
import { GraphQLClient, gql } from "graphql-request";

export interface OpenJobSummary {
  jobId: bigint;
  manifestCid: string;
  imageRef: string;
  taskCount: number;
  cpuMillicores: bigint;
  memoryMiB: bigint;
  gpuCount: number;
  maxPrice: bigint;
  biddingDeadline: bigint;
}

const OPEN_JOBS = gql`
  query OpenJobs($now: BigInt!, $first: Int!, $skip: Int!) {
    jobs(
      where: { status: Open, biddingDeadline_gt: $now }
      orderBy: biddingDeadline
      orderDirection: asc
      first: $first
      skip: $skip
    ) {
      jobId
      manifestCid
      imageRef
      taskCount
      cpuMillicores
      memoryMiB
      gpuCount
      maxPrice
      biddingDeadline
    }
  }
`;

interface OpenJobsResponse {
  jobs: {
    jobId: string;
    manifestCid: string;
    imageRef: string;
    taskCount: number;
    cpuMillicores: string;
    memoryMiB: string;
    gpuCount: number;
    maxPrice: string;
    biddingDeadline: string;
  }[];
}

export function subgraphClient(url: string, timeoutMs = 10_000): GraphQLClient {
  return new GraphQLClient(url, {
    fetch: (input: string | URL | Request, init?: RequestInit) =>
      fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) }),
  });
}

/** Jobs still open for bids at `now` (unix seconds), soonest deadline first, up to `limit`. */
export async function queryOpenJobs(
  client: GraphQLClient,
  now: bigint,
  limit = 500,
): Promise<OpenJobSummary[]> {
  const jobs: OpenJobSummary[] = [];
  const page = 100;
  for (let skip = 0; skip < limit; skip += page) {
    const response = await client.request<OpenJobsResponse>(OPEN_JOBS, {
      now: now.toString(),
      first: Math.min(page, limit - skip),
      skip,
    });
    for (const job of response.jobs) {
      jobs.push({
        jobId: BigInt(job.jobId),
        manifestCid: job.manifestCid,
        imageRef: job.imageRef,
        taskCount: job.taskCount,
        cpuMillicores: BigInt(job.cpuMillicores),
        memoryMiB: BigInt(job.memoryMiB),
        gpuCount: job.gpuCount,
        maxPrice: BigInt(job.maxPrice),
        biddingDeadline: BigInt(job.biddingDeadline),
      });
    }
    if (response.jobs.length < page) break;
  }
  return jobs;
}
