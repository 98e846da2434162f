// `conun:post --price auto` as a function: reads the recent similar jobs and their winning
// bids from the subgraph (sdk/queries listPriceHistory), each one's timeout from its manifest
// in the content store, and proposes a max price (sdk/queries proposePrice, where "similar"
// is defined). Without history it says so and what to pass instead: an explicit price, or the
// price at which k registered providers' published floors would let them bid.
import { floorForJob } from "../sdk/chain/diagnose.ts";
import { publishedPricing } from "../sdk/chain/pricing.ts";
import type { ContentStore } from "../sdk/content/types.ts";
import { createSubgraphClient, type SubgraphClient } from "../sdk/queries/client.ts";
import {
  describePriceGuidance,
  type PastJob,
  type PriceGuidance,
  type PriceGuidanceOptions,
  type PriceRequest,
  priceFromFloors,
  proposePrice,
} from "../sdk/queries/price-guidance.ts";
import { listPriceHistory } from "../sdk/queries/price-history.ts";
import { formatConun } from "./manage.ts";
import { type ChainFacts, manifestTimeout, readProviders } from "./reasons.ts";

/** The subgraph URL used when nothing names one (the auditor CLI's default too). */
export const DEFAULT_SUBGRAPH_URL = "http://127.0.0.1:8000/subgraphs/name/conun";

/** A registered provider's least price for the job, from the pricing it publishes. */
export interface ProviderFloor {
  provider: string;
  floor: bigint;
}

export interface PriceAdvice {
  request: PriceRequest;
  guidance: PriceGuidance;
  /** Set only without history: the published floors of providers whose resources fit. */
  floors?: ProviderFloor[];
  /** The k-th cheapest of `floors`: the least max price k distinct providers would bid at. */
  floorPrice?: bigint;
  /** What to show, one fact per line (the escrow among them when there is a proposal). */
  lines: string[];
}

export interface AdvisePriceOptions extends PriceGuidanceOptions {
  /** The subgraph to read (a URL or a client). */
  subgraph: string | SubgraphClient;
}

/** The request a resolved or source manifest describes (its validated fields). */
export function priceRequestOf(manifest: {
  tasks: { count: number };
  replication: { k: number };
  resources: {
    cpuMillicores: number;
    memoryMiB: number;
    gpuCount?: number;
    timeoutSeconds: number;
  };
}): PriceRequest {
  return {
    cpuMillicores: manifest.resources.cpuMillicores,
    memoryMiB: manifest.resources.memoryMiB,
    gpuCount: manifest.resources.gpuCount ?? 0,
    timeoutSeconds: manifest.resources.timeoutSeconds,
    taskCount: manifest.tasks.count,
    replication: manifest.replication.k,
  };
}

/**
 * A proposed max price for `request`, from the subgraph's recent similar jobs (their manifests
 * read from `ctx.store` for the timeout), or, with no history, the providers' floors.
 */
export async function advisePrice(
  ctx: ChainFacts & { store: ContentStore },
  request: PriceRequest,
  options: AdvisePriceOptions,
): Promise<PriceAdvice> {
  const client =
    typeof options.subgraph === "string"
      ? createSubgraphClient(options.subgraph)
      : options.subgraph;
  const now = options.now ?? BigInt(Math.floor(Date.now() / 1000));
  const lookback = options.lookbackSeconds ?? 30 * 24 * 3600;
  const indexed = await listPriceHistory(client, request, { since: now - BigInt(lookback) });
  const history: PastJob[] = await Promise.all(
    indexed.map(async ({ manifestCid, ...job }) => {
      const timeoutSeconds = await manifestTimeout(ctx.store, manifestCid);
      return timeoutSeconds === undefined ? job : { ...job, timeoutSeconds };
    }),
  );
  const guidance = proposePrice(request, history, { ...options, now });
  const lines = describePriceGuidance(guidance, request);
  if (guidance.kind === "proposal") return { request, guidance, lines };

  const floors: ProviderFloor[] = [];
  for (const p of await readProviders(ctx)) {
    const pricing = publishedPricing(p.metadataURI);
    const fits =
      p.registered !== false &&
      BigInt(p.cpuMillicores) >= BigInt(request.cpuMillicores) &&
      BigInt(p.memoryMiB) >= BigInt(request.memoryMiB) &&
      p.gpuCount >= request.gpuCount;
    if (pricing === undefined || !fits) continue;
    floors.push({ provider: p.address, floor: floorForJob(pricing, request).floor });
  }
  floors.sort((a, b) => (a.floor < b.floor ? -1 : a.floor > b.floor ? 1 : 0));
  const floorPrice = priceFromFloors(
    floors.map((f) => f.floor),
    request.replication,
  );
  lines.push("pass a max price per task-replica instead: --price <CONUN> (e.g. --price 0.5)");
  if (floorPrice !== undefined) {
    const replicas = BigInt(request.taskCount) * BigInt(request.replication);
    lines.push(
      `the registered providers whose resources fit publish floors for this job of ${floors
        .map((f) => formatConun(f.floor))
        .join(
          ", ",
        )}: at ${formatConun(floorPrice)} k=${request.replication} of them would bid (--price ${formatConun(floorPrice).replace(" CONUN", "")}, escrow ${formatConun(replicas * floorPrice)})`,
    );
  } else {
    lines.push(
      `${floors.length === 0 ? "no" : `only ${floors.length}`} registered provider${floors.length === 1 ? "" : "s"} whose resources fit publish${floors.length === 1 ? "es" : ""} a price floor (k=${request.replication} needed), so the floors do not show a price either`,
    );
  }
  return { request, guidance, floors, ...(floorPrice === undefined ? {} : { floorPrice }), lines };
}
